package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUsageErrorsExit2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-since", "0s"}, "-since must be positive"},
		{[]string{"-since", "-1h"}, "-since must be positive"},
		{[]string{"extra"}, "nothing else is taken"},
		{[]string{"-since", "soon"}, "invalid value"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want 2 saying %q", tc.args, code, stderr.String(), tc.says)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: go run ./scripts/rescue") {
		t.Errorf("-h: %d, %q", code, stderr.String())
	}
}
