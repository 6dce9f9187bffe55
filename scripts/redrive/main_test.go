package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
)

// A bad call says what is wrong, not only the usage, and exits 2 before the stack is looked for.
func TestUsageErrorsSayWhatIsWrong(t *testing.T) {
	clitest.Refuses(t, run, map[string][]string{
		"-max -1: want 0 (every message) or more": {"-max", "-1"},
		`unexpected arguments ["extra"]`:          {"extra"},
		"invalid value":                           {"-max", "many"},
	})
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

// Exit 2 is bad usage alone: a stack that cannot be reached is a failure (1), which a caller
// retries rather than fixing its call.
func TestNoStackExits1NotUsage(t *testing.T) {
	clitest.FailsWithoutStack(t, run, "-timeout", "20s")
	var stdout bytes.Buffer
	rep := &redrive.Report{Results: make([]redrive.Result, 2), Moved: 2, Unfinished: []string{"payments"}}
	if code, err := finish(&stdout, rep, errors.New("receive: throttled"), false); code != 1 || err == nil || !strings.Contains(err.Error(), "not read to the end: payments") {
		t.Errorf("a queue not read to the end: finish = %d, %v; want 1, saying which", code, err)
	}
}
