package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
	"github.com/orderflow-dev/orderflow/scripts/internal/replay"
)

// Bad options are usage errors, said before the stack is looked for: nothing is printed on
// stdout, no report and no verdict.
func TestUsageErrorsExit2BeforeAnythingRuns(t *testing.T) {
	clitest.Refuses(t, run, map[string][]string{
		`-from "kafka": want "stream" or "eventstore"`:       {"-from", "kafka"},
		`-order "bogus" is not an order id: want ORD-<uuid>`: {"-order", "bogus"},
		"unexpected arguments":                               {"extra"},
		"invalid value":                                      {"-timeout", "soon"},
	})
}

// A run that stopped partway prints what it did, and no verdict: never OK.
func TestAStoppedRunIsIncompleteNotOK(t *testing.T) {
	var out bytes.Buffer
	Print(&out, &replay.Report{From: replay.FromStream, DryRun: true, Records: 51, Stopped: "scan the event store: context deadline exceeded"})
	if s := out.String(); strings.Contains(s, "OK:") || strings.Contains(s, "FAILED:") || !strings.Contains(s, "INCOMPLETE: the replay stopped before it finished (scan the event store: context deadline exceeded)") {
		t.Errorf("report of a stopped run:\n%s\nwant INCOMPLETE and why, no verdict", s)
	}
}

// Exit 2 is bad usage alone: a stack that cannot be reached and a run that did not finish are
// failures (1), which a caller retries rather than fixing its call.
func TestAFailedRunExits1NotUsage(t *testing.T) {
	clitest.FailsWithoutStack(t, run, "-timeout", "20s")
	var stdout, stderr bytes.Buffer
	stopped := &replay.Report{From: replay.FromStream, Stopped: "read the stream: context deadline exceeded"}
	if code := finish(stopped, fmt.Errorf("read the stream: %w", context.DeadlineExceeded), &stdout, &stderr); code != 1 ||
		!strings.Contains(stdout.String(), "INCOMPLETE") || !strings.Contains(stderr.String(), "deadline exceeded") {
		t.Errorf("a run that timed out: finish = %d, stdout %q, stderr %q; want 1, INCOMPLETE", code, stdout.String(), stderr.String())
	}
}
