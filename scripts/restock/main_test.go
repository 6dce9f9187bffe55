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
		{[]string{"-sku", "SKU-100"}, "-stock N is required"},
		{[]string{"-sku", "SKU-100", "-stock", "-5"}, "-stock N is required"},
		{[]string{"-sku", "SKU-999", "-stock", "10"}, "not in the catalogue"},
		{[]string{"-stock", "10", "extra"}, "unexpected arguments"},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("run(%q) = %d, %q; want 2 saying %q", tc.args, code, stderr.String(), tc.says)
		}
	}
}
