package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// Listed is an order as its customer's GET /orders shows it.
type Listed struct {
	Customer   int
	Status     string
	Reason     string
	PlacedAt   time.Time
	TotalCents int64
	SKU        string // of its first line (a run's orders have one)
}

// watcher waits for orders to end by reading each customer's list (GET /orders, statuses
// included): a request per customer, not one per order. Every GET /orders is work for the
// system being measured (order-api folds each order listed from the event store), so it reads
// as little as it can: one customer at a time, first the newest few of its orders, which are
// the last to end; the whole list only once those have ended.
type watcher struct {
	shops []*shop.Client // per customer
	since time.Time      // the first POST: an order no 201 named, placed before, is not the run's
	slack time.Duration  // how far behind the client's clock order-api's (placedAt) may be
	known map[string]int // order id → customer, the orders the client placed

	mu     sync.Mutex
	listed map[string]Listed // every order of the run seen in a list, known or not
	// unavailable: the orders of the run a list named as unavailable (their history does not
	// fold), and why, as last named; still waited for, as such a history may yet mend
	unavailable map[string]unavailable
	polls       int
}

// unavailable is an order a customer's list named as unavailable, and why.
type unavailable struct {
	customer int
	err      string
}

// GET /orders' largest page, and the page that probes a customer's newest orders.
const (
	pageSize  = 50
	probeSize = 10
)

// wait polls every interval until every known order, and every unknown one of the run found in
// the lists, is SHIPPED or CANCELLED, or ctx ends. Each poll goes through the customers with an
// order still open, in turn, and stops at the first that still has one.
func (w *watcher) wait(ctx context.Context, interval time.Duration, progress func(ended, total int)) error {
	var lastErr error
	for {
		for _, c := range w.openCustomers() {
			open, err := w.check(ctx, c)
			if err != nil {
				lastErr = err
				break
			}
			if open {
				break
			}
		}
		ended, total := w.progress()
		progress(ended, total)
		if len(w.openCustomers()) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w (last GET /orders error: %v)", ctx.Err(), lastErr)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// sweep reads every customer's whole list once: after a wait that timed out, it still finds
// the orders of the run no 201 named.
func (w *watcher) sweep(ctx context.Context) error {
	var errs []error
	for c := range w.shops {
		if _, err := w.poll(ctx, c, pageSize, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// check reads a customer's newest orders and, if they have all ended, its whole list; it
// reports whether the customer still has an order open.
func (w *watcher) check(ctx context.Context, customer int) (bool, error) {
	open, err := w.poll(ctx, customer, probeSize, false)
	if err != nil || open {
		return open, err
	}
	if _, err := w.poll(ctx, customer, pageSize, true); err != nil {
		return true, err
	}
	return slices.Contains(w.openCustomers(), customer), nil
}

// late lists the known orders not seen ended, and how each was last seen.
func (w *watcher) late() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id := range w.known {
		u, bad := w.unavailable[id]
		switch l, ok := w.listed[id]; {
		case bad:
			out = append(out, fmt.Sprintf("%s: named unavailable in its customer's orders: %s", id, u.err))
		case !ok:
			out = append(out, id+": never seen in its customer's orders (not in the event store yet?)")
		case !shop.Terminal(l.Status):
			out = append(out, fmt.Sprintf("%s: still %s when the wait stopped", id, l.Status))
		}
	}
	for id, u := range w.unavailable {
		if _, known := w.known[id]; !known {
			out = append(out, fmt.Sprintf("%s (no 201 named it): named unavailable in its customer's orders: %s", id, u.err))
		}
	}
	slices.Sort(out)
	return out
}

// openCustomers lists the customers with an order not seen ended.
func (w *watcher) openCustomers() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	open := map[int]bool{}
	for id, c := range w.known {
		if l, ok := w.listed[id]; !ok || !shop.Terminal(l.Status) {
			open[c] = true
		}
	}
	for _, l := range w.listed {
		if !shop.Terminal(l.Status) {
			open[l.Customer] = true
		}
	}
	for _, u := range w.unavailable {
		open[u.customer] = true
	}
	return slices.Sorted(maps.Keys(open))
}

func (w *watcher) progress() (ended, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.listed {
		if shop.Terminal(l.Status) {
			ended++
		}
	}
	total = len(w.known)
	for id := range w.listed {
		if _, ok := w.known[id]; !ok {
			total++
		}
	}
	for id := range w.unavailable {
		_, known := w.known[id]
		if _, listed := w.listed[id]; !known && !listed {
			total++
		}
	}
	return ended, total
}

// poll reads one customer's orders, newest first, a page of size at a time: every page down to
// the first order placed before the run, or only the first. It reports whether a page held an
// order of the run still open.
func (w *watcher) poll(ctx context.Context, customer, size int, all bool) (bool, error) {
	cursor, open := "", false
	for {
		page, err := w.shops[customer].ListOrders(ctx, size, cursor)
		w.mu.Lock()
		w.polls++
		w.mu.Unlock()
		if err != nil {
			return open, err
		}
		older := false
		w.mu.Lock()
		for _, o := range page.Orders {
			// An order a 201 named is this run's, whatever its time says (the API's clock may
			// be behind this machine's by more than the slack); another one before the run is
			// a previous run's, and one well before it ends the paging (newest first).
			_, known := w.known[o.OrderID]
			if !known && o.PlacedAt.Before(w.since) {
				older = older || o.PlacedAt.Before(w.since.Add(-w.slack))
				continue
			}
			l := Listed{Customer: customer, Status: o.Status, Reason: o.Reason, PlacedAt: o.PlacedAt, TotalCents: o.TotalCents}
			if len(o.Items) > 0 {
				l.SKU = o.Items[0].SKU
			}
			w.listed[o.OrderID] = l
			delete(w.unavailable, o.OrderID) // its history folds again
			open = open || !shop.Terminal(o.Status)
		}
		for _, u := range page.Unavailable { // the run's, as above: waited for, and why told
			if _, known := w.known[u.OrderID]; !known && u.PlacedAt.Before(w.since) {
				older = older || u.PlacedAt.Before(w.since.Add(-w.slack))
				continue
			}
			if w.unavailable == nil {
				w.unavailable = map[string]unavailable{}
			}
			w.unavailable[u.OrderID] = unavailable{customer: customer, err: u.Error}
			delete(w.listed, u.OrderID) // listed ended before, perhaps: its state now is unknown, not ended
			open = true
		}
		w.mu.Unlock()
		if !all || older || page.NextCursor == "" {
			return open, nil
		}
		cursor = page.NextCursor
	}
}
