package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

const id = "ORD-536b014b-5c37-4cf5-97d5-11c44f0b0bb0"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want options
		err  string
	}{
		{name: "an order id", args: []string{id}, want: options{order: id, timeout: 3 * time.Minute, interval: 500 * time.Millisecond, settle: 6}},
		{name: "flags first", args: []string{"-html", "t.html", "-follow", id}, want: options{order: id, html: "t.html", follow: true, timeout: 3 * time.Minute, interval: 500 * time.Millisecond, settle: 6}},
		{name: "flags after the id", args: []string{id, "--html", "t.html", "--timeout", "10s"}, want: options{order: id, html: "t.html", timeout: 10 * time.Second, interval: 500 * time.Millisecond, settle: 6}},
		{name: "no id", args: nil, err: "want exactly one order id, got 0"},
		{name: "two ids", args: []string{id, id}, err: "want exactly one order id, got 2"},
		{name: "not an order id", args: []string{"12345"}, err: `"12345" is not an order id`},
		{name: "upper-case uuid", args: []string{strings.ToUpper(id)}, err: "is not an order id"},
		{name: "unknown flag", args: []string{"-colour", id}, err: "flag provided but not defined"},
		{name: "zero timeout", args: []string{"-follow", "-timeout", "0s", id}, err: "must be positive"},
		{name: "zero settle: -follow would stop at its first poll", args: []string{"-follow", "-settle", "0", id}, err: "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args, &bytes.Buffer{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parse = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestRunRejectsBadArgumentsBeforeCallingAnything(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"ORD-nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2 (usage)", code)
	}
	if !strings.Contains(stderr.String(), "is not an order id") || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
