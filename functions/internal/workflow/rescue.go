package workflow

// The name of a rescue execution: the rescuer starts it, and the tools that look for it (the
// trace, scripts/rescue) find it by the same rule.

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf8"
)

// Stalled are the statuses of an execution that may have stopped without compensating, which
// the rescue rule on the default bus matches, the rescuer rescues and scripts/rescue looks for:
// a Fail state or an error no Catch takes (States.Runtime, States.DataLimitExceeded), the
// state machine's TimeoutSeconds, StopExecution. They are DescribeExecution's statuses, and the
// "status" of a "Step Functions Execution Status Change" event's detail.
func Stalled() []string { return []string{StatusFailed, StatusTimedOut, StatusAborted} }

// The statuses of Stalled.
const (
	StatusFailed   = "FAILED"
	StatusTimedOut = "TIMED_OUT"
	StatusAborted  = "ABORTED"
)

// Limits of a rescue execution's name.
const (
	RescuePrefix = "rescue-"
	maxNameLen   = 80 // StartExecution's limit on a name
	hashLen      = 12 // hex digits of the failed name's hash that end a shortened rescue name
)

// RescueName is "rescue-" + the failed execution's name: the same for every delivery of its
// status change, so that a second start finds the first. Too long for the limit, the name keeps
// its beginning and ends with a hash of the whole failed name, so that two failed names sharing
// a long prefix still make two rescues.
func RescueName(failed string) string {
	name := RescuePrefix + failed
	if len(name) <= maxNameLen {
		return name
	}
	suffix := "-" + shortHash(failed)
	return Truncate(name, maxNameLen-len(suffix)) + suffix
}

// Truncate cuts s to at most n bytes, at a character boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// shortHash is the first hashLen hex digits of s's SHA-256.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}
