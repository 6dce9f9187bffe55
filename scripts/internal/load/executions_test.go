package load

import (
	"context"
	"errors"
	"testing"
	"time"
)

// settle never reports 0 running from a count that did not finish: the wait running out during
// a read (as it does when an execution is stuck and the wait lasts until its end) keeps the last
// count, and no count at all is an error.
func TestSettle(t *testing.T) {
	stuck := func(ctx context.Context) (int, error) {
		select {
		case <-ctx.Done(): // the read outlives the wait
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
			return 1, nil
		}
	}
	for _, tc := range []struct {
		name    string
		running func(context.Context) (int, error)
		want    int
		wantErr bool
	}{
		{name: "one execution stuck", running: stuck, want: 1},
		{name: "every execution ended", running: func(context.Context) (int, error) { return 0, nil }, want: 0},
		{name: "no count at all", running: func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }, wantErr: true},
		{name: "the API refuses", running: func(context.Context) (int, error) { return 0, errors.New("AccessDenied") }, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 { // wherever the deadline falls: during a read, or between two
				ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
				n, err := settleWith(ctx, tc.running, 7*time.Millisecond)
				cancel()
				if (err != nil) != tc.wantErr || n != tc.want {
					t.Fatalf("settle = %d, %v; want %d (error: %v)", n, err, tc.want, tc.wantErr)
				}
			}
		})
	}
}
