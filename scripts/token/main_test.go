package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
)

// What it would otherwise ignore is refused as bad usage (exit 2), before the stack is reached.
func TestUsageErrorsExit2(t *testing.T) {
	clitest.NoStack(t) // a call that got past parse must not reach a stack, let alone reset a password
	for _, tc := range []struct {
		args  []string
		stdin string
		says  string
	}{
		{[]string{"extra"}, "", `unexpected arguments ["extra"]`},
		{[]string{"-user", "alice", "bob"}, "", `unexpected arguments ["bob"]`},
		{[]string{"-user", ""}, "", "-user must not be empty"},
		{[]string{"-password", "p", "-password-stdin"}, "q\n", "not both"},
		{[]string{"-password-stdin"}, "\n", "no password on the first line"},
		{[]string{"-password", ""}, "", "-password is empty"}, // an unset $PW: not a reset of the password
		{[]string{"-user", "alice", "-password="}, "", "-password is empty"},
		{[]string{"-nope"}, "", "flag provided but not defined"},
	} {
		var stderr bytes.Buffer
		if code := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.says)
		}
	}
}

func TestParse(t *testing.T) {
	opt, code, done := parse([]string{"-user", "alice", "-password-stdin", "-id"}, strings.NewReader("s3cret\r\nnext\n"), &bytes.Buffer{})
	if done || code != 0 || opt != (options{user: "alice", password: "s3cret", idToken: true}) {
		t.Errorf("parse = %+v, %d, %v", opt, code, done)
	}
	if opt, _, done := parse(nil, strings.NewReader(""), &bytes.Buffer{}); done || opt.user != "demo" || opt.password != "" {
		t.Errorf("parse() = %+v, want the demo customer and a new password", opt)
	}
}
