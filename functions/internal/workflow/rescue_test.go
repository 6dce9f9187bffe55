package workflow

import (
	"strings"
	"testing"
)

// A rescue's name follows from the failed execution's alone, fits StartExecution's limit, and
// tells apart two long names that share their beginning.
func TestRescueName(t *testing.T) {
	long := strings.Repeat("a", 73) + "-0001" // 78 characters
	longToo := strings.Repeat("a", 73) + "-0002"
	pair := strings.Repeat("u", 36) + "_" + strings.Repeat("v", 36) // 73 characters: fits exactly
	for _, tc := range []struct {
		name, failed, want string
	}{
		{name: "short", failed: "exec-1", want: "rescue-exec-1"},
		{name: "exactly the limit", failed: pair, want: "rescue-" + pair},
		{name: "too long", failed: long, want: "rescue-" + strings.Repeat("a", 60) + "-" + shortHash(long)},
	} {
		got := RescueName(tc.failed)
		if got != tc.want || len(got) > maxNameLen || RescueName(tc.failed) != got {
			t.Errorf("%s: RescueName(%q) = %q (%d), want %q", tc.name, tc.failed, got, len(got), tc.want)
		}
	}
	if RescueName(long) == RescueName(longToo) {
		t.Errorf("two long names share the rescue %q", RescueName(long))
	}
	multi := strings.Repeat("é", 40) // 80 bytes: the name is cut at a character boundary
	if got := RescueName(multi); len(got) > maxNameLen || !strings.HasPrefix(got, "rescue-é") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("RescueName(%q) = %q", multi, got)
	}
	if got := RescueName(strings.Repeat("b", 80)); len(got) != maxNameLen {
		t.Errorf("the longest name's rescue has %d characters, want %d", len(got), maxNameLen)
	}
}
