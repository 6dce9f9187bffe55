package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/chaos"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
)

// Chaos ends as load does: a check it could not make is named on stderr (exit 0, nothing was
// found broken), and violations are counted there (exit 1).
func TestFinishSaysWhatWasNotChecked(t *testing.T) {
	for _, tc := range []struct {
		check load.Check
		code  int
		says  string
	}{
		{load.Check{Name: "sales totals", NotChecked: "analytics' totals not read"}, 0, "chaos: no violation; not checked: sales totals (the report says why)\n"},
		{load.Check{Name: "sales totals", Violations: []string{"moved by 1"}}, 1, "chaos: 1 violation\n"},
	} {
		rep := &load.Report{Orders: 1, Concurrency: 1, SKU: "SKU-100", Token: "tok_visa", Checks: []load.Check{tc.check}}
		var stderr bytes.Buffer
		if code := finish(&chaos.Result{Report: rep}, t.TempDir(), &bytes.Buffer{}, &stderr); code != tc.code || !strings.HasSuffix(stderr.String(), tc.says) {
			t.Errorf("%+v: finish = %d, stderr %q; want %d, %q", tc.check, code, stderr.String(), tc.code, tc.says)
		}
	}
}
