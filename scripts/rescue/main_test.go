package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
	"github.com/orderflow-dev/orderflow/scripts/internal/rescue"
)

func TestUsageErrorsExit2(t *testing.T) {
	clitest.Refuses(t, run, map[string][]string{
		"-since 0s: must be positive":                          {"-since", "0s"},
		"-since -1h0m0s: must be positive":                     {"-since", "-1h"},
		`unexpected arguments ["extra"]: only flags are taken`: {"extra"},
		"invalid value": {"-since", "soon"},
	})
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "usage: go run ./scripts/rescue") {
		t.Errorf("-h: %d, %q", code, stderr.String())
	}
}

// A stray argument is not blamed on -since, which was fine.
func TestExtraArgumentIsNotASinceError(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-since", "2h", "extra"}, &bytes.Buffer{}, &stderr); code != 2 || strings.Contains(stderr.String(), "since") {
		t.Errorf("run = %d, %q: want 2, about the argument alone", code, stderr.String())
	}
}

// The summary counts as stalled only what the README calls so: stopped without compensating.
// Executions that compensated themselves stopped too, but are not stalled; a rescue-… execution
// is a rescue, whether it compensated or not.
func TestSummaryCountsStalledAsDefined(t *testing.T) {
	results := []rescue.Result{{Outcome: rescue.Started}, {Outcome: rescue.AlreadyDone}, {Err: errors.New("describe: throttled")}}
	for range 7 {
		results = append(results, rescue.Result{Outcome: rescue.Compensated})
	}
	results = append(results, rescue.Result{Outcome: rescue.RefundFailed},
		rescue.Result{Execution: toolkit.RescuePrefix + "x", Outcome: rescue.Compensated}, rescue.Result{Execution: toolkit.RescuePrefix + "y", Outcome: rescue.IsRescue})
	want := "13 executions stopped (failed, timed out or aborted) in the last 24h0m0s: 2 stalled (stopped without compensating), 8 compensated without a rescue, " +
		"2 rescues (rescue-… executions: never rescued again), 1 could not be told (not handled, above); 3 need an operator"
	if got := summary(results, 24*time.Hour); got != want {
		t.Errorf("summary = %q\nwant        %q", got, want)
	}
	if got, want := summary([]rescue.Result{{Outcome: rescue.WouldHand}}, time.Hour), "1 execution stopped (failed, timed out or aborted) in the last 1h0m0s: 1 stalled (stopped without compensating), 0 compensated without a rescue; 0 need an operator"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

// The summary's "need an operator" counts exactly what makes the run exit 1: one outcome at a
// time, the count is 1 where the exit code is 1 and 0 where it is 0.
func TestNeedAnOperatorAgreesWithTheExitCode(t *testing.T) {
	for _, r := range []rescue.Result{
		{Outcome: rescue.Compensated}, {Outcome: rescue.RefundFailed}, {Outcome: rescue.AlreadyDone}, {Outcome: rescue.Started},
		{Outcome: rescue.WouldHand}, {Outcome: rescue.NoneStarted}, {Execution: toolkit.RescuePrefix + "x", Outcome: rescue.IsRescue},
		{Execution: toolkit.RescuePrefix + "x", Outcome: rescue.Compensated}, {Err: errors.New("describe: throttled")},
	} {
		var stdout bytes.Buffer
		code := report([]rescue.Result{r}, nil, time.Hour, &stdout, &bytes.Buffer{})
		if want := fmt.Sprintf("; %d need an operator\n", code); !strings.HasSuffix(stdout.String(), want) {
			t.Errorf("%+v: exit %d, but the summary says %q", r, code, stdout.String())
		}
	}
}
