package record

import (
	"context"
	"sync/atomic"
)

// Outcomes hears, after each batch, how many of its messages failed (reported for the platform
// to retry) and how many were parked in a dead-letter queue: what a function's Errors metric
// does not count, since a batch consumer reports a failed message without failing itself. It
// is called only for a batch with either (metrics.ConsumerOutcomes writes them as EMF metrics).
type Outcomes func(ctx context.Context, failed, parked int)

// tally counts a batch's parked messages: Park adds to the one in its context.
type tally struct{ parked atomic.Int32 }

type tallyKey struct{}

// counted runs batch with a tally in its context and reports what it counted to o, if any.
func counted(ctx context.Context, o Outcomes, batch func(ctx context.Context) (failed int)) {
	t := &tally{}
	failed := batch(context.WithValue(ctx, tallyKey{}, t))
	if parked := int(t.parked.Load()); o != nil && (failed > 0 || parked > 0) {
		o(ctx, failed, parked)
	}
}

// countParked adds one to the batch's tally, if ctx is a batch's.
func countParked(ctx context.Context) {
	if t, ok := ctx.Value(tallyKey{}).(*tally); ok {
		t.parked.Add(1)
	}
}
