package store

import (
	"testing"
	"time"
)

// A lease is judged in the table's whole seconds: it runs out when its last second begins, and
// what is left of it is never less than a second.
func TestLease(t *testing.T) {
	until := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	r := IdempotencyRecord{LeaseUntil: until}
	for _, tc := range []struct {
		at      time.Duration // from until
		runOut  bool
		leftSec int
	}{
		{-10*time.Second - 300*time.Millisecond, false, 11},
		{-time.Second, false, 1},
		{-300 * time.Millisecond, false, 1},
		{0, true, 1},
		{700 * time.Millisecond, true, 1},
		{5 * time.Second, true, 1},
	} {
		now := until.Add(tc.at)
		if got := r.LeaseRunOut(now); got != tc.runOut {
			t.Errorf("LeaseRunOut(until%+v) = %v, want %v", tc.at, got, tc.runOut)
		}
		if got := r.LeaseLeft(now); got != time.Duration(tc.leftSec)*time.Second {
			t.Errorf("LeaseLeft(until%+v) = %v, want %ds", tc.at, got, tc.leftSec)
		}
	}
}
