package main

import (
	"io"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
)

// A bad call is usage (exit 2, saying why), found before the stack is looked for.
func TestBadCallsExit2(t *testing.T) {
	clitest.Refuses(t, func(args []string, _, stderr io.Writer) int { return parseAndRun(args, stderr) }, map[string][]string{
		`unexpected arguments ["extra"]`:       {"extra"},
		"flag provided but not defined: -nope": {"-nope"},
		`invalid value "two" for flag -qty`:    {"-qty", "two"},
	})
}
