package load

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	var twenty []time.Duration
	for i := 1; i <= 20; i++ {
		twenty = append(twenty, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one value is every percentile", []time.Duration{7}, 99, 7},
		{"p50 of 1..100 is 50", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100 is 95", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100 is 99", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p95 of 20 values is the 19th (nearest rank, no floating-point drift)", twenty, 95, 19 * time.Millisecond},
		{"p99 of 20 values is the 20th", twenty, 99, 20 * time.Millisecond},
		{"p50 of 2 values is the first", []time.Duration{1, 2}, 50, 1},
		{"p0 is the min", hundred, 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeDoesNotSortItsArgument(t *testing.T) {
	in := []time.Duration{30, 10, 20}
	s := Summarize(in)
	if s.Count != 3 || s.P50 != 20 || s.P95 != 30 || s.P99 != 30 || s.Max != 30 {
		t.Errorf("Summarize = %+v", s)
	}
	if in[0] != 30 {
		t.Errorf("Summarize sorted its argument: %v", in)
	}
	if (Summarize(nil) != Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", Summarize(nil))
	}
}
