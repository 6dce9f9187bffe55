//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// POST /orders has its own route throttle (infra/concurrency.go). Beyond it the client gets 429 and
// API Gateway's JSON error, before anything behind the route runs; other routes keep their own
// buckets; the bucket refills. MiniStack does not enforce route throttles: the emulator script's
// proxy does, from the deployed stage's settings, so this checks the proxy against the stack.
// The requests carry no token: those let through get the authorizer's 401 and place nothing.
//
// Not parallel: Go runs it before the parallel tests, which would otherwise find the bucket empty.
func TestPlaceOrderBeyondTheRouteThrottleIs429(t *testing.T) {
	anon := api.As("")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var (
		mu        sync.Mutex
		codes     = map[int]int{}
		throttled []byte
		sent      atomic.Int32
		wg        sync.WaitGroup
	)
	const inFlight, most = 40, 2000
	seen429 := func() bool { mu.Lock(); defer mu.Unlock(); return codes[http.StatusTooManyRequests] > 0 }
	for range inFlight {
		wg.Go(func() {
			for !seen429() && sent.Add(1) <= most && ctx.Err() == nil {
				code, body, err := anon.Do(ctx, http.MethodPost, "/orders", "application/json", []byte(oneUnit))
				if err != nil {
					continue
				}
				mu.Lock()
				codes[code]++
				if code == http.StatusTooManyRequests && throttled == nil {
					throttled = body
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("answers to POST /orders without a token: %v", codes)
	if codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("%d POST /orders, %d at a time, and none got 429: %v", sent.Load()-1, inFlight, codes)
	}
	if got := string(throttled); got != `{"message":"Too Many Requests"}` {
		t.Errorf("429 body %q, want API Gateway's {\"message\":\"Too Many Requests\"}", got)
	}
	for code, n := range codes {
		if code != http.StatusUnauthorized && code != http.StatusTooManyRequests {
			t.Errorf("%d answers %d: want 401 (let through, no token) or 429 only", n, code)
		}
	}
	if code, _, err := anon.Do(ctx, http.MethodGet, "/products", "", nil); err != nil || code != http.StatusOK {
		t.Errorf("GET /products while POST /orders is throttled: %d %v, want 200 (a bucket per route)", code, err)
	}
	// Refilled at the route's rate: once a second or so lets requests through again. Wait for the
	// whole burst to come back too, so that the parallel tests that follow find it full.
	eventually(t, 10*time.Second, "POST /orders let through again", func(ctx context.Context) error {
		code, _, err := anon.Do(ctx, http.MethodPost, "/orders", "application/json", []byte(oneUnit))
		if err == nil && code != http.StatusUnauthorized {
			return fmt.Errorf("HTTP %d", code)
		}
		return err
	})
	time.Sleep(3 * time.Second) // the burst is twice the rate: two seconds refill it
}
