package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cfg, out, err := parse([]string{"-n", "1000", "-c", "20", "-sku", "SKU-001", "-out", "results"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Orders != 1000 || cfg.Concurrency != 20 || cfg.SKU != "SKU-001" || cfg.Token != "tok_visa" || out != "results" ||
		cfg.Poll != time.Second || cfg.Idle != 3*time.Second || cfg.CPUGoal != 0.25 {
		t.Errorf("parse = %+v, %q", cfg, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-c", "0"}, {"-poll", "0s"}, {"-margin", "-1"}, {"extra"}, {"-nope"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	if code := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("-h exits %d, want 0", code)
	}
}
