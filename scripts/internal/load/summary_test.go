package load

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// Every order placed has one 201 counted, fresh or replayed (a replay is the only 201 of an
// order whose first answer was lost): the placing rate counts the orders placed.
func TestPlacingRateCountsEveryOrderPlaced(t *testing.T) {
	r := &Report{Requests: Requests{Tries: 5, Created: 4, Replayed: 1, Transport: 1}}
	var pls []Placement
	for i := range 4 {
		pls = append(pls, Placement{Index: i, OrderID: "ORD-" + string(rune('a'+i)), Start: at(0), Latency: time.Millisecond})
	}
	r.summarize(pls, nil, nil, at(0), at(1000))
	if r.PlacingRate != 4 {
		t.Errorf("placing rate %v orders/s, want 4 (4 orders in 1 s, one answered by a replay)", r.PlacingRate)
	}
}

// When the run's time runs out while placing, the orders never sent are not placed, each said
// so under its own index, and counted with the others not placed.
func TestPlaceAllCountsWhatTheTimeLeftUnsent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	p := placerFor(t, srv, []string{"a"}, 3, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	const n = 10
	placements := p.placeAll(ctx, n, 1, func(int) {})
	notPlaced, _ := unplaced(placements)
	if got := p.requests().NotPlaced; got != n || len(notPlaced) != n {
		t.Errorf("%d counted not placed, %d listed, want %d each", got, len(notPlaced), n)
	}
	for i, pl := range placements {
		if pl.Index != i || pl.OrderID != "" || pl.Err == "" {
			t.Errorf("placement %d: %+v, want its index, no order, an error", i, pl)
		}
	}
	if !strings.Contains(placements[n-1].Err, "not sent") {
		t.Errorf("the last order's error %q, want it not sent", placements[n-1].Err)
	}
}

// A run in which no order ended says so instead of a window that ends before it began.
func TestMarkdownWithoutAnOrderEnded(t *testing.T) {
	r := &Report{Orders: 1, Concurrency: 1}
	r.summarize(nil, []Order{{ID: "ORD-1", Events: history("OrderPlaced")}}, []journey.Journey{{}}, at(0), at(10))
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "(first POST → last terminal event, no order ended)") {
		t.Errorf("the throughput line: %s", b.String())
	}
}
