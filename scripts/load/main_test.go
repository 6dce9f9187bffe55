package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/clitest"
)

func TestParse(t *testing.T) {
	cfg, out, err := parse([]string{"-n", "1000", "-c", "20", "-sku", "SKU-001", "-out", "results"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Orders != 1000 || cfg.Concurrency != 20 || cfg.SKU != "SKU-001" || cfg.Token != "tok_visa" || out != "results" ||
		cfg.Poll != time.Second || cfg.Idle != 3*time.Second || cfg.CPUGoal != 0.25 {
		t.Errorf("parse = %+v, %q", cfg, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-c", "0"}, {"-poll", "0s"}, {"-margin", "-1"}, {"extra"}, {"-nope"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	if code := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("-h exits %d, want 0", code)
	}
}

// An SKU the catalogue does not sell is bad usage (exit 2), said before the stack is reached, not
// a failed run (exit 1, which a violation shares).
func TestUnknownSKUExits2(t *testing.T) {
	clitest.NoStack(t) // a run that got past the check must not reach a stack
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-sku", "SKU-999"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "SKU-999 is not in the catalogue") {
		t.Errorf("run(-sku SKU-999) = %d, %s; want 2 and why", code, stderr.String())
	}
}

// An -out that names a file (report.md, say) is refused before the run, not after it.
func TestOutThatIsAFileExits2BeforeTheRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.md")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	clitest.NoStack(t) // a run that got past the check would fail loading the stack (exit 1)
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-out", file}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "-out must be a directory") {
		t.Errorf("run(-out %s) = %d, %s; want 2 and why", file, code, stderr.String())
	}
}

// Ctrl-C before the report is an interrupt (exit 130, saying so), not a failed run (exit 1): here
// it comes while the stack's outputs are read.
func TestInterruptExits130(t *testing.T) {
	clitest.NoStack(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if code := run(ctx, []string{"-n", "1"}, &bytes.Buffer{}, &stderr); code != 130 || !strings.HasPrefix(stderr.String(), "load: interrupted: ") {
		t.Errorf("run after Ctrl-C = %d, %q; want 130, \"load: interrupted: …\"", code, stderr.String())
	}
	if code := run(context.Background(), []string{"-n", "1"}, &bytes.Buffer{}, &stderr); code != 1 {
		t.Errorf("run without a stack = %d, want 1 (a failed run): %s", code, stderr.String())
	}
}
