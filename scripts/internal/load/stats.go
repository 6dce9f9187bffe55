package load

import (
	"math"
	"slices"
	"time"
)

// Summary is the distribution of one latency over a run.
type Summary struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50"`
	P95   time.Duration `json:"p95"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
}

// Percentile is the nearest-rank percentile of sorted values: the smallest value with at least
// p percent of the values at or below it (0 for no values).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(n)*p/100 - 1e-9)) // 1e-9: 95% of 20 is 19, not 19.000000000000004
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summarize sorts a copy of values and takes its percentiles.
func Summarize(values []time.Duration) Summary {
	s := slices.Clone(values)
	slices.Sort(s)
	if len(s) == 0 {
		return Summary{}
	}
	return Summary{Count: len(s), P50: Percentile(s, 50), P95: Percentile(s, 95), P99: Percentile(s, 99), Max: s[len(s)-1]}
}
