package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		done     bool
		wantOut  []string // in what stderr says
		wantNone bool     // stderr says nothing
	}{
		{args: []string{"-n", "3", "ORD-1"}, code: OK, wantNone: true},
		{args: []string{"-h"}, code: OK, done: true, wantOut: []string{"usage: go run ./scripts/x [-n N] ORDER", "-n int"}},
		{args: []string{"-nope"}, code: Usage, done: true, wantOut: []string{"flag provided but not defined: -nope", "usage: go run ./scripts/x"}},
		{args: []string{"-n", "three"}, code: Usage, done: true, wantOut: []string{`invalid value "three" for flag -n`}},
	} {
		var stderr bytes.Buffer
		fs := Flags("x", "go run ./scripts/x [-n N] ORDER", &stderr)
		n := fs.Int("n", 1, "how many")
		code, done := Parse(fs, tc.args)
		if code != tc.code || done != tc.done {
			t.Errorf("%q: code %d done %v, want %d %v", tc.args, code, done, tc.code, tc.done)
		}
		for _, w := range tc.wantOut {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%q: stderr %q, want %q in it", tc.args, stderr.String(), w)
			}
		}
		if tc.wantNone && (stderr.Len() != 0 || *n != 3 || fs.Arg(0) != "ORD-1") {
			t.Errorf("%q: stderr %q, n %d, args %q", tc.args, stderr.String(), *n, fs.Args())
		}
	}
}

// From any folder inside it (a function's, as fuzz and chaos may be run from), the repository's root.
func TestRootFindsTheRepository(t *testing.T) {
	want, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{".", filepath.Join("..", "..", "..", "functions", "payment")} {
		if root, err := Root(dir); err != nil || root != want {
			t.Errorf("Root(%s) = %q, %v; want %q", dir, root, err, want)
		}
	}
	if root, err := Root(t.TempDir()); err == nil {
		t.Errorf("Root of a folder outside any repository = %q, want an error", root)
	}
}

func TestNoArgs(t *testing.T) {
	fs := Flags("cmd", "cmd [-v]", io.Discard)
	fs.Bool("v", false, "")
	if _, done := Parse(fs, []string{"-v"}); done || NoArgs(fs) != nil {
		t.Errorf("flags only: NoArgs = %v, want nil", NoArgs(fs))
	}
	if _, done := Parse(fs, []string{"-v", "a", "b"}); done {
		t.Fatal("Parse stopped on plain arguments")
	}
	if err := NoArgs(fs); err == nil || err.Error() != `unexpected arguments ["a" "b"]: only flags are taken` {
		t.Errorf("NoArgs = %v, want the arguments named", err)
	}
}

func TestFail(t *testing.T) {
	var stderr bytes.Buffer
	if code := Fail(context.Background(), &stderr, "x", errors.New("no stack")); code != Failed || stderr.String() != "x: no stack\n" {
		t.Errorf("Fail = %d, %q; want %d, \"x: no stack\"", code, stderr.String(), Failed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stderr.Reset()
	if code := Fail(ctx, &stderr, "x", ctx.Err()); code != Interrupted || stderr.String() != "x: interrupted: context canceled\n" {
		t.Errorf("Fail after Ctrl-C = %d, %q; want %d, \"x: interrupted: context canceled\"", code, stderr.String(), Interrupted)
	}
}

// ParseFlags is Parse, and an argument besides the flags is bad usage, said in the command's name.
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		done bool
		says string // "": stderr says nothing
	}{
		{args: []string{"-n", "3"}, code: OK},
		{args: []string{"-n", "3", "extra"}, code: Usage, done: true, says: `x: unexpected arguments ["extra"]: only flags are taken`},
		{args: []string{"-nope"}, code: Usage, done: true, says: "flag provided but not defined: -nope"},
		{args: []string{"-h"}, code: OK, done: true, says: "usage: go run ./scripts/x [-n N]"},
	} {
		var stderr bytes.Buffer
		fs := Flags("x", "go run ./scripts/x [-n N]", &stderr)
		fs.Int("n", 1, "how many")
		code, done := ParseFlags(fs, tc.args)
		if code != tc.code || done != tc.done || (tc.says == "") != (stderr.Len() == 0) || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%q: code %d done %v, stderr %q; want %d %v saying %q", tc.args, code, done, stderr.String(), tc.code, tc.done, tc.says)
		}
	}
}
