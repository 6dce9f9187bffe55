// Package clitest helps the commands' tests: a command that looks for the stack must find
// nothing there, never a stack that happens to be up on the machine running the tests.
package clitest

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// NoStack points the AWS SDK, for the rest of t, at an address where nothing listens (port 9,
// discard), with static credentials and no instance metadata: a command that looks for the
// stack is refused at once, and one that must not look for it shows no sign it did.
func NoStack(t testing.TB) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
}

// Run is a command's run: its arguments, stdout and stderr in, its exit code out.
type Run func(args []string, stdout, stderr io.Writer) int

// Refuses checks that run refuses each call of calls (arguments → what stderr must say) as bad
// usage: exit 2, saying why, and nothing on stdout (no report, no verdict). It points the SDK at
// nothing first (NoStack): a call that got past the checks fails, and never reaches a stack.
func Refuses(t *testing.T, run Run, calls map[string][]string) {
	t.Helper()
	NoStack(t)
	for says, args := range calls {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), says) || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2 saying %q, nothing on stdout", args, code, stdout.String(), stderr.String(), says)
		}
	}
}

// FailsWithoutStack checks that run, called with args where no stack answers (NoStack), fails as a
// run (exit 1) saying it could not describe the stack: exit 2 is bad usage alone, and a caller
// retries a failed run rather than fixing its call.
func FailsWithoutStack(t *testing.T, run Run, args ...string) {
	t.Helper()
	NoStack(t)
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "describe stack") {
		t.Errorf("no stack: run(%q) = %d, stderr %q; want 1, saying describe stack", args, code, stderr.String())
	}
}
