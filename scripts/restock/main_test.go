package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// make restock without STOCK refuses (the Makefile used to default it to 1000, setting the stock
// the operator forgot to give); with it, it runs the script. make -n only prints the command.
func TestMakeRestockRequiresStock(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make:", err)
	}
	makeN := func(args ...string) (string, error) {
		cmd := exec.Command("make", append([]string{"-n", "-C", filepath.Join("..", ".."), "restock"}, args...)...)
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "STOCK=") || strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=")
		})
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := makeN("SKU=SKU-100")
	if err == nil || !strings.Contains(out, "STOCK=N is required") || strings.Contains(out, "go run") {
		t.Errorf("make restock SKU=SKU-100: %v\n%s\nwant a refusal naming STOCK, and no command", err, out)
	}
	out, err = makeN("SKU=SKU-003", "STOCK=5")
	if err != nil || !strings.Contains(out, "go run ./scripts/restock -sku SKU-003 -stock 5") {
		t.Errorf("make restock SKU=SKU-003 STOCK=5: %v\n%s\nwant the script run with -stock 5", err, out)
	}
}
