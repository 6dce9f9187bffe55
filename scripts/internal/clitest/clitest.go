// Package clitest helps the commands' tests: a command that looks for the stack must find
// nothing there, never a stack that happens to be up on the machine running the tests.
package clitest

import "testing"

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
