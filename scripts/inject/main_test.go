package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
)

const order = "ORD-13463b59-f6af-4e61-8631-e2a724ec9c59"

// What would be ignored, or is out of range, is refused as bad usage (exit 2) before the stack
// is reached, saying why: never an event other than the one asked for, never exit 1.
func TestUsageErrorsExit2(t *testing.T) {
	clitest.NoStack(t) // a call that got past parse must not reach a stack, let alone publish
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{}, "give either -duplicate ORD-... or -v1"},
		{[]string{"-v1", "-duplicate", order}, "give either"},
		{[]string{"-v1", "extra"}, "unexpected arguments"},
		{[]string{"-v1", "-qty", "0"}, "-qty must be 1 to 100"},
		{[]string{"-v1", "-qty", "-2"}, "-qty must be 1 to 100"},
		{[]string{"-v1", "-qty", "101"}, "-qty must be 1 to 100"},
		{[]string{"-v1", "-copies", "0"}, "-copies must be 1 to 50"},
		{[]string{"-v1", "-copies", "51"}, "-copies must be 1 to 50"},
		{[]string{"-v1", "-sku", "SKU-999"}, "SKU SKU-999 is not in the catalogue"},
		{[]string{"-v1", "-token", ""}, "-token must not be empty"},
		{[]string{"-v1", "-sku", ""}, "-sku must not be empty"},
		{[]string{"-v1", "-customer="}, "-customer must not be empty"},
		{[]string{"-v1", "-type", "OrderPlaced"}, "-type is for -duplicate"},
		{[]string{"-duplicate", order, "-copies", "3"}, "-copies is for -v1 only"},
		{[]string{"-duplicate", order, "-qty", "2", "-sku", "SKU-001"}, "-sku, -qty are for -v1 only"},
		{[]string{"-duplicate", "bogus"}, `"bogus" is not an order id`},
		{[]string{"-duplicate", order, "-type", "OrderNope"}, `unknown event type "OrderNope"`},
		{[]string{"-nope"}, "flag provided but not defined"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.says)
		}
	}
}

func TestParse(t *testing.T) {
	opt, code, done := parse([]string{"-duplicate", order, "-type", "OrderShipped, OrderPlaced"}, &bytes.Buffer{})
	if done || code != 0 || opt.dup != order || len(opt.types) != 2 || opt.types[0] != events.TypeOrderShipped {
		t.Errorf("parse(-duplicate) = %+v, %d, %v", opt, code, done)
	}
	opt, code, done = parse([]string{"-v1", "-qty", "3", "-copies", "2", "-sku", "SKU-001"}, &bytes.Buffer{})
	if done || code != 0 || !opt.v1 || opt.order.Quantity != 3 || opt.order.Copies != 2 || opt.order.SKU != "SKU-001" || opt.order.Token != "tok_visa" {
		t.Errorf("parse(-v1) = %+v, %d, %v", opt, code, done)
	}
	if _, code, done := parse([]string{"-h"}, &bytes.Buffer{}); !done || code != 0 {
		t.Errorf("-h: %d, %v; want 0, done", code, done)
	}
}
