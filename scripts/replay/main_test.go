package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/replay"
)

// Bad options are usage errors, said before the stack is looked for: nothing is printed on
// stdout, no report and no verdict.
func TestUsageErrorsExit2BeforeAnythingRuns(t *testing.T) {
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
		{[]string{"-from", "kafka"}, `-from "kafka": want "stream" or "eventstore"`},
		{[]string{"-order", "bogus"}, `-order "bogus" is not an order id: want ORD-<uuid>`},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-timeout", "soon"}, "invalid value"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.says) || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2 saying %q, nothing on stdout", tc.args, code, stdout.String(), stderr.String(), tc.says)
		}
	}
}

// A run that stopped partway prints what it did, and no verdict: never OK.
func TestAStoppedRunIsIncompleteNotOK(t *testing.T) {
	var out bytes.Buffer
	Print(&out, &replay.Report{From: replay.FromStream, DryRun: true, Records: 51, Stopped: "scan the event store: context deadline exceeded"})
	if s := out.String(); strings.Contains(s, "OK:") || strings.Contains(s, "FAILED:") || !strings.Contains(s, "INCOMPLETE: the replay stopped before it finished (scan the event store: context deadline exceeded)") {
		t.Errorf("report of a stopped run:\n%s\nwant INCOMPLETE and why, no verdict", s)
	}
}
