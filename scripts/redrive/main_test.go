package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
)

// A bad call says what is wrong, not only the usage, and exits 2 before the stack is looked for.
func TestUsageErrorsSayWhatIsWrong(t *testing.T) {
	for k, v := range map[string]string{ // were the stack looked for, nothing would answer
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"-max", "-1"}, "-max -1: want 0 (every message) or more"},
		{[]string{"extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-max", "many"}, "invalid value"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2 saying %q", tc.args, code, stdout.String(), stderr.String(), tc.says)
		}
	}
}

func TestSummary(t *testing.T) {
	one := &redrive.Report{Results: make([]redrive.Result, 1), Moved: 1}
	if got, want := summary(one, false), "1 message handled: moved 1, 0 not moved"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got, want := summary(&redrive.Report{Results: make([]redrive.Result, 3), Failed: 1}, true), "3 messages handled: would move 2, 1 not moved"; got != want {
		t.Errorf("dry run summary = %q, want %q", got, want)
	}
}
