package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// listAPI serves GET /orders per customer (the token), newest first, a page at a time; each
// order turns SHIPPED once its customer has been polled `after` times.
type listAPI struct {
	mu     sync.Mutex
	orders map[string][]shop.OrderSummary // token → orders, newest first
	after  map[string]int                 // order → polls of its customer before it ends
	polls  map[string]int                 // token → GET /orders
	// unavailable: token → the orders its first page names as unavailable
	unavailable map[string][]shop.Unavailable
}

func (a *listAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	a.mu.Lock()
	defer a.mu.Unlock()
	if from == 0 {
		a.polls[token]++
	}
	all := a.orders[token]
	page := shop.OrderPage{}
	for i := from; i < len(all) && i < from+limit; i++ {
		o := all[i]
		if a.polls[token] > a.after[o.OrderID] {
			o.Status = "SHIPPED"
		}
		page.Orders = append(page.Orders, o)
	}
	if from+limit < len(all) {
		page.NextCursor = strconv.Itoa(from + limit)
	}
	if from == 0 {
		page.Unavailable = a.unavailable[token]
	}
	_ = json.NewEncoder(w).Encode(page)
}

func TestWatcherWaitsThroughTheCustomersLists(t *testing.T) {
	since := t0
	api := &listAPI{orders: map[string][]shop.OrderSummary{}, after: map[string]int{}, polls: map[string]int{}}
	known := map[string]int{}
	add := func(customer int, id string, placed time.Time, endsAfter int, isKnown bool) {
		tok := fmt.Sprint("c", customer)
		api.orders[tok] = append([]shop.OrderSummary{{OrderID: id, Status: "PLACED", PlacedAt: placed, TotalCents: 1499,
			Items: []shop.Line{{SKU: "SKU-100", Quantity: 1}}}}, api.orders[tok]...)
		api.after[id] = endsAfter
		if isKnown {
			known[id] = customer
		}
	}
	add(0, "ORD-old", since.Add(-time.Hour), 0, false)           // a previous run's: never read, never waited for
	add(0, "ORD-just-before", since.Add(-time.Second), 0, false) // a previous run's, just before this one
	add(0, "ORD-skewed", since.Add(-time.Second), 0, true)       // this run's, stamped by a clock a second behind
	for i := range 60 {                                          // customer 0: two pages of this run's orders
		add(0, fmt.Sprintf("ORD-0-%02d", i), since.Add(time.Duration(i)*time.Second), 1, true)
	}
	add(0, "ORD-0-stray", since.Add(2*time.Minute), 2, false) // of the run, but no 201 named it
	add(1, "ORD-1-a", since.Add(time.Second), 0, true)        // ends at once
	srv := httptest.NewServer(api)
	defer srv.Close()
	shops := []*shop.Client{{BaseURL: srv.URL, HTTP: srv.Client(), Token: "c0"}, {BaseURL: srv.URL, HTTP: srv.Client(), Token: "c1"}}
	w := &watcher{shops: shops, since: since, slack: 5 * time.Second, known: known, listed: map[string]Listed{}}
	var last [2]int
	if err := w.wait(context.Background(), time.Millisecond, func(ended, total int) { last = [2]int{ended, total} }); err != nil {
		t.Fatal(err)
	}
	if last != [2]int{63, 63} {
		t.Errorf("last progress %v, want 63 of 63 ended (the stray order counted)", last)
	}
	for _, id := range []string{"ORD-old", "ORD-just-before"} {
		if _, ok := w.listed[id]; ok {
			t.Errorf("%s, placed before the run, was taken for one of it", id)
		}
	}
	if _, ok := w.listed["ORD-skewed"]; !ok {
		t.Error("an order of the run stamped a second before it began was not found")
	}
	if l, ok := w.listed["ORD-0-stray"]; !ok || l.Customer != 0 || l.Status != "SHIPPED" || l.SKU != "SKU-100" {
		t.Errorf("the stray order: %+v, want it listed with what it bought, waited for and ended", l)
	}
	// c0 first: probed (its newest 10) until its stray order ended, 3 times, then read whole (2
	// pages); c1 only then: probed and read whole once (its order had ended).
	if api.polls["c0"] != 4 || api.polls["c1"] != 2 {
		t.Errorf("first pages read %v, want c0 4 times and c1 twice", api.polls)
	}
	if w.polls != 7 {
		t.Errorf("%d GET /orders, want 7", w.polls)
	}
}

func TestWatcherStopsAtTheDeadline(t *testing.T) {
	api := &listAPI{orders: map[string][]shop.OrderSummary{"c0": {{OrderID: "ORD-1", Status: "PLACED", PlacedAt: t0}}},
		after: map[string]int{"ORD-1": 1 << 30}, polls: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	w := &watcher{shops: []*shop.Client{{BaseURL: srv.URL, HTTP: srv.Client(), Token: "c0"}}, since: t0,
		known: map[string]int{"ORD-1": 0, "ORD-lost": 0}, listed: map[string]Listed{}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.wait(ctx, 5*time.Millisecond, func(int, int) {}); err == nil {
		t.Fatal("wait returned without every order ended")
	}
	want := []string{"ORD-1: still PLACED when the wait stopped", "ORD-lost: never seen in its customer's orders (not in the event store yet?)"}
	if got := w.late(); !slices.Equal(got, want) {
		t.Errorf("late %q, want %q", got, want)
	}
	// A sweep after the deadline reads every list whole: it finds an order no 201 named.
	api.mu.Lock()
	api.orders["c0"] = append([]shop.OrderSummary{{OrderID: "ORD-stray", Status: "SHIPPED", PlacedAt: t0.Add(time.Second)}}, api.orders["c0"]...)
	api.mu.Unlock()
	if err := w.sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.listed["ORD-stray"]; !ok {
		t.Error("the sweep missed an order of the run")
	}
}

// An order of the run its customer's list names as unavailable (its history does not fold) is
// waited for, as it may mend, and the wait that times out says why it never ended; one from
// before the run is not the run's.
func TestWatcherTellsAnUnavailableOrder(t *testing.T) {
	api := &listAPI{orders: map[string][]shop.OrderSummary{"c0": {{OrderID: "ORD-1", Status: "PLACED", PlacedAt: t0}}},
		after: map[string]int{"ORD-1": 0}, polls: map[string]int{},
		unavailable: map[string][]shop.Unavailable{"c0": {
			{OrderID: "ORD-bad", PlacedAt: t0.Add(time.Second), Error: "event 2 of ORD-bad: sequence 3 after 1"},
			{OrderID: "ORD-stray", PlacedAt: t0.Add(time.Second), Error: "no OrderPlaced"},
			{OrderID: "ORD-old", PlacedAt: t0.Add(-time.Hour), Error: "old"},
		}}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	w := &watcher{shops: []*shop.Client{{BaseURL: srv.URL, HTTP: srv.Client(), Token: "c0"}}, since: t0,
		known: map[string]int{"ORD-1": 0, "ORD-bad": 0}, listed: map[string]Listed{}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.wait(ctx, 5*time.Millisecond, func(int, int) {}); err == nil {
		t.Fatal("wait returned with an order named unavailable")
	}
	want := []string{
		"ORD-bad: named unavailable in its customer's orders: event 2 of ORD-bad: sequence 3 after 1",
		"ORD-stray (no 201 named it): named unavailable in its customer's orders: no OrderPlaced",
	}
	if got := w.late(); !slices.Equal(got, want) {
		t.Errorf("late %q, want %q", got, want)
	}
	// Listed before, named unavailable now: told as unavailable; listed again: waited for no more.
	api.mu.Lock()
	api.orders["c0"], api.unavailable["c0"] = nil, append(api.unavailable["c0"], shop.Unavailable{OrderID: "ORD-1", PlacedAt: t0, Error: "broken"})
	api.mu.Unlock()
	if err := w.sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.late(); !slices.Contains(got, "ORD-1: named unavailable in its customer's orders: broken") {
		t.Errorf("late %q, want ORD-1 named unavailable", got)
	}
	if ended, total := w.progress(); ended != 0 || total != 3 {
		t.Errorf("progress %d of %d, want 0 of 3: ORD-1, listed SHIPPED before, is unavailable now, not ended", ended, total)
	}
	api.mu.Lock()
	api.orders["c0"], api.unavailable["c0"] = []shop.OrderSummary{{OrderID: "ORD-bad", Status: "SHIPPED", PlacedAt: t0.Add(time.Second)}}, nil
	api.mu.Unlock()
	if err := w.sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.late(); slices.ContainsFunc(got, func(l string) bool { return strings.HasPrefix(l, "ORD-bad") }) {
		t.Errorf("late %q: ORD-bad, listed SHIPPED since, is still told", got)
	}
}

// The API's clock behind this machine's by more than the slack: an order a 201 named is still
// this run's, listed and waited for, not reported lost.
func TestWaitKnownOrderBehindTheSlack(t *testing.T) {
	api := &listAPI{orders: map[string][]shop.OrderSummary{"c0": {{OrderID: "ORD-1", Status: "SHIPPED", PlacedAt: t0.Add(-clockSlack - time.Second)}}},
		after: map[string]int{"ORD-1": 0}, polls: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	w := &watcher{shops: []*shop.Client{{BaseURL: srv.URL, HTTP: srv.Client(), Token: "c0"}}, since: t0, slack: clockSlack,
		known: map[string]int{"ORD-1": 0}, listed: map[string]Listed{}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.wait(ctx, 5*time.Millisecond, func(int, int) {}); err != nil {
		t.Errorf("wait: %v; late: %q", err, w.late())
	}
}
