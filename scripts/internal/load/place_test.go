package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scriptedAPI answers POST /orders by the caller's token: the first try as the token says, the
// second with a 201 ("drop" closes the connection first; "bad" is refused every time).
type scriptedAPI struct {
	mu    sync.Mutex
	tries map[string]int      // Idempotency-Key → tries
	keys  map[string][]string // token → keys seen
	body  string
}

func (s *scriptedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.tries[key]++
	try := s.tries[key]
	if try == 1 {
		s.keys[token] = append(s.keys[token], key)
	}
	var buf [512]byte
	n, _ := r.Body.Read(buf[:])
	s.body = string(buf[:n])
	s.mu.Unlock()
	if try == 1 || token == "bad" {
		switch token {
		case "throttled":
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case "conflict":
			w.WriteHeader(http.StatusConflict)
			return
		case "server":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "bad":
			http.Error(w, `{"error":"quantity must be 1-10"}`, http.StatusBadRequest)
			return
		case "drop": // half an answer, then nothing (a connection closed before any byte is retried by net/http itself)
			conn, buf, _ := w.(http.Hijacker).Hijack()
			_, _ = buf.WriteString("HTTP/1.1 2")
			_ = buf.Flush()
			conn.Close()
			return
		}
	}
	if try > 1 {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"orderId": "ORD-" + strings.Trim(key, `"`), "status": "PLACED", "totalCents": 1499})
}

// placerFor is a placer of one SKU-100 paid with tok_visa per order, an order per token, against
// srv, waiting wait before each retry.
func placerFor(t *testing.T, srv *httptest.Server, tokens []string, maxTries int, wait time.Duration) *placer {
	t.Helper()
	p, err := newPlacer(srv.Client(), srv.URL, tokens, len(tokens), Only(Choice{SKU: "SKU-100", Token: "tok_visa"}), maxTries)
	if err != nil {
		t.Fatal(err)
	}
	p.backoff = func(int, http.Header) time.Duration { return wait }
	return p
}

func TestPlacerRetriesWithTheSameKeyAndCountsEveryAnswer(t *testing.T) {
	api := &scriptedAPI{tries: map[string]int{}, keys: map[string][]string{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	tokens := []string{"ok", "throttled", "conflict", "server", "drop", "bad"}
	p := placerFor(t, srv, tokens, 3, time.Millisecond)
	placements := p.placeAll(context.Background(), len(tokens), 3, func(int) {})
	for i, pl := range placements {
		tok := tokens[pl.Customer]
		if pl.Index != i || pl.Customer != i {
			t.Errorf("placement %d went to customer %d", pl.Index, pl.Customer)
		}
		switch tok {
		case "bad":
			if pl.OrderID != "" || pl.Tries != 1 || !strings.Contains(pl.Err, "HTTP 400") {
				t.Errorf("a 400: %+v, want no order after one try, with the answer", pl)
			}
		default:
			if pl.OrderID != "ORD-"+pl.Key || pl.TotalCents != 1499 || pl.Latency <= 0 {
				t.Errorf("%s: %+v, want the order named by the 201", tok, pl)
			}
		}
		if n := len(api.keys[tok]); n != 1 {
			t.Errorf("%s: %d Idempotency-Keys for one order, want 1 (retries reuse it)", tok, n)
		}
	}
	want := Requests{Tries: 10, Created: 5, Replayed: 4, Conflict: 1, Throttled: 1, Server: 1, Client: 1, Transport: 1, NotPlaced: 1}
	if got := p.requests(); got != want {
		t.Errorf("requests %+v,\nwant %+v", got, want)
	}
	var body struct {
		Items []struct {
			SKU      string
			Quantity int
		}
		Payment struct{ Token string }
	}
	if err := json.Unmarshal([]byte(api.body), &body); err != nil || body.Items[0].SKU != "SKU-100" || body.Items[0].Quantity != 1 || body.Payment.Token != "tok_visa" {
		t.Errorf("body %s (%v), want one SKU-100 paid with tok_visa", api.body, err)
	}
}

func TestPlacerGivesUpAfterMaxTries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"internal error"}`)
	}))
	defer srv.Close()
	p := placerFor(t, srv, []string{"t"}, 4, 0)
	pl := p.place(context.Background(), 0, 0)
	if pl.OrderID != "" || pl.Tries != 4 || !strings.Contains(pl.Err, "HTTP 500") {
		t.Errorf("placement %+v, want none after 4 tries", pl)
	}
	if r := p.requests(); r.Server != 4 || r.NotPlaced != 1 {
		t.Errorf("requests %+v", r)
	}
}

// A 429 is the route throttle's "not now": retried for as long as the run lasts, without using up
// a try; the other failures still end the placement after maxTries.
func TestPlacerRetriesThrottledRequestsBeyondMaxTries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n := calls.Add(1); {
		case n <= 10:
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"Too Many Requests"}`)
		case n == 11:
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{"orderId":"ORD-1","totalCents":100}`)
		}
	}))
	defer srv.Close()
	p := placerFor(t, srv, []string{"t"}, 2, 0)
	pl := p.place(context.Background(), 0, 0)
	if pl.OrderID != "ORD-1" || pl.Tries != 12 {
		t.Errorf("placement %+v, want ORD-1 at the 12th request (10 throttled, one 500)", pl)
	}
	if r := p.requests(); r.Throttled != 10 || r.Server != 1 || r.Created != 1 || r.NotPlaced != 0 {
		t.Errorf("requests %+v", r)
	}

	throttled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer throttled.Close()
	p = placerFor(t, throttled, []string{"t"}, 2, time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if pl := p.place(ctx, 0, 0); pl.OrderID != "" || !strings.Contains(pl.Err, "429") || pl.Tries < 3 {
		t.Errorf("placement %+v, want none, after more than maxTries 429s, once the run's time is up", pl)
	}
	if r := p.requests(); r.NotPlaced != 1 {
		t.Errorf("requests %+v, want the order counted as not placed", r)
	}
}

func TestBackoff(t *testing.T) {
	for try := 1; try <= 10; try++ {
		d := backoff(try, http.Header{})
		if d < 50*time.Millisecond || d > 8050*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want 50ms..8.05s", try, d)
		}
	}
	if d := backoff(1, http.Header{"Retry-After": {"3"}}); d != 3*time.Second {
		t.Errorf("with Retry-After: 3, backoff = %v, want 3s", d)
	}
}

func TestPlacerPostsWhatEachOrderChose(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string]string{} // Idempotency-Key → body
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [512]byte
		n, _ := r.Body.Read(buf[:])
		key := strings.Trim(r.Header.Get("Idempotency-Key"), `"`)
		mu.Lock()
		bodies[key] = string(buf[:n])
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"orderId": "ORD-" + key, "status": "PLACED", "totalCents": 1})
	}))
	defer srv.Close()
	choose := func(i int) Choice {
		if i%3 == 2 {
			return Choice{SKU: "SKU-451", Token: "tok_visa"}
		}
		return Choice{SKU: "SKU-100", Token: []string{"tok_visa", "tok_declined"}[i%2]}
	}
	p, err := newPlacer(srv.Client(), srv.URL, []string{"a", "b"}, 9, choose, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.bodies) != 3 {
		t.Errorf("%d bodies for three choices", len(p.bodies))
	}
	for _, pl := range p.placeAll(context.Background(), 9, 4, func(int) {}) {
		var body struct {
			Items   []shopLine
			Payment struct{ Token string }
		}
		if err := json.Unmarshal([]byte(bodies[pl.Key]), &body); err != nil {
			t.Fatal(err)
		}
		want := choose(pl.Index)
		if pl.Choice != want || len(body.Items) != 1 || body.Items[0].SKU != want.SKU || body.Items[0].Quantity != 1 || body.Payment.Token != want.Token {
			t.Errorf("order #%d: choice %+v, body %s, want one %s paid with %s", pl.Index, pl.Choice, bodies[pl.Key], want.SKU, want.Token)
		}
	}
}

type shopLine struct {
	SKU      string
	Quantity int
}
