package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// --- recording fakes (safe for concurrent use: the idempotency tests send requests at once)

type recordingBus struct {
	mu        sync.Mutex
	published []events.Entry
	err       error
	hold      chan struct{} // when set, Publish waits for it to close (a request still in flight)
}

func (b *recordingBus) Publish(_ context.Context, entries ...events.Entry) error {
	if b.hold != nil {
		<-b.hold
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.published = append(b.published, entries...)
	return nil
}

func (b *recordingBus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.published)
}

// fakeEvents is the event store: events per order, and the customer index over OrderPlaced.
type fakeEvents struct {
	events map[string][]events.Envelope
	// unreadable are the stored events that no longer read (store.ErrUnreadable): order id →
	// sequence.
	unreadable map[string]int
	err        error
}

func (s *fakeEvents) Load(_ context.Context, orderID string) ([]events.Envelope, error) {
	seq, broken := s.unreadable[orderID]
	if !broken || s.err != nil {
		return s.events[orderID], s.err
	}
	var read []events.Envelope
	for _, e := range s.events[orderID] {
		if e.Sequence != seq {
			read = append(read, e)
		}
	}
	return read, fmt.Errorf("load %s: a stored event: %w: schema", orderID, store.ErrUnreadable)
}

func (s *fakeEvents) CustomerOrders(_ context.Context, customerID string, limit int, after *store.OrderCursor) ([]store.ListedOrder, *store.OrderCursor, error) {
	if s.err != nil {
		return nil, nil, s.err
	}
	var mine []events.Envelope
	for _, evs := range s.events {
		for _, e := range evs {
			if e.Type != events.TypeOrderPlaced {
				continue
			}
			up, _ := e.Upcast()
			if p, err := events.DecodePayload[events.OrderPlaced](up); err == nil && p.CustomerID == customerID {
				mine = append(mine, e)
			}
		}
	}
	// The index's order: placedAt descending, then the table's key.
	sort.Slice(mine, func(i, j int) bool {
		if !mine[i].Time.Equal(mine[j].Time) {
			return mine[i].Time.After(mine[j].Time)
		}
		return mine[i].OrderID > mine[j].OrderID
	})
	if after != nil {
		i := slices.IndexFunc(mine, func(e events.Envelope) bool { return e.OrderID == after.OrderID })
		mine = mine[i+1:]
	}
	var next *store.OrderCursor
	if len(mine) > limit {
		mine = mine[:limit]
		next = &store.OrderCursor{PlacedAt: mine[limit-1].Time, OrderID: mine[limit-1].OrderID}
	}
	listed := make([]store.ListedOrder, 0, len(mine))
	for _, e := range mine {
		l := store.ListedOrder{OrderID: e.OrderID, PlacedAt: e.Time, Placed: e}
		if s.unreadable[e.OrderID] == 1 {
			l.Placed, l.Err = events.Envelope{}, fmt.Errorf("order %s: its OrderPlaced: %w: schema", e.OrderID, store.ErrUnreadable)
		}
		listed = append(listed, l)
	}
	return listed, next, nil
}

type fakeStock struct {
	stock map[string]int
	err   error
}

func (s *fakeStock) Stock(context.Context, []string) (map[string]int, error) { return s.stock, s.err }

// memKeys is dynamo.IdempotencyKeys in memory, with the same conditions, and the same
// precision: the table keeps leaseUntil and expiresAt in whole seconds.
type memKeys struct {
	mu   sync.Mutex
	recs map[[2]string]store.IdempotencyRecord
	err  error
	// beforeTakeOver, if set, runs (unlocked) as TakeOver is called: what another request
	// did between this one's Claim and its TakeOver.
	beforeTakeOver func()
	// lostAnswers is how many of the next Claims and TakeOvers write, then fail (their answer lost).
	lostAnswers int
}

// lost reports whether this write's answer is to be lost, counting it.
func (m *memKeys) lost() bool {
	if m.lostAnswers == 0 {
		return false
	}
	m.lostAnswers--
	return true
}

func (m *memKeys) Claim(_ context.Context, rec store.IdempotencyRecord, now time.Time) (store.IdempotencyRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return store.IdempotencyRecord{}, false, m.err
	}
	k := [2]string{rec.CustomerID, rec.Key}
	if old, ok := m.recs[k]; ok && !old.ExpiresAt.Before(now.Truncate(time.Second)) {
		return old, false, nil
	}
	rec.LeaseUntil, rec.ExpiresAt = rec.LeaseUntil.Truncate(time.Second), rec.ExpiresAt.Truncate(time.Second)
	m.recs[k] = rec
	if m.lost() {
		return store.IdempotencyRecord{}, false, errors.New("claim: connection reset")
	}
	return rec, true, nil
}

func (m *memKeys) TakeOver(_ context.Context, customerID, key, fingerprint, leaseID string, until, now time.Time) (store.IdempotencyRecord, bool, error) {
	if m.beforeTakeOver != nil {
		m.beforeTakeOver()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{customerID, key}
	rec, ok := m.recs[k]
	// The table's condition, as written there (leaseUntil <= :now, in epoch seconds).
	if !ok || rec.Status != store.KeyInProgress || rec.LeaseUntil.Unix() > now.Unix() || rec.Fingerprint != fingerprint {
		return rec, false, nil
	}
	rec.LeaseID, rec.LeaseUntil = leaseID, until.Truncate(time.Second)
	m.recs[k] = rec
	if m.lost() {
		return store.IdempotencyRecord{}, false, errors.New("take over: connection reset")
	}
	return rec, true, nil
}

func (m *memKeys) Complete(_ context.Context, customerID, key, leaseID, response string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{customerID, key}
	rec, ok := m.recs[k]
	if !ok || rec.LeaseID != leaseID || rec.Status != store.KeyInProgress {
		return store.ErrConflict
	}
	rec.Status, rec.Response = store.KeyCompleted, response
	m.recs[k] = rec
	return nil
}

func (m *memKeys) Release(_ context.Context, customerID, key, leaseID string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{customerID, key}
	if rec, ok := m.recs[k]; ok && rec.LeaseID == leaseID && rec.Status == store.KeyInProgress {
		rec.LeaseUntil = now.Add(-time.Second)
		m.recs[k] = rec
	}
	return nil
}

type memIntents struct {
	mu      sync.Mutex
	intents map[string]store.PaymentIntent
	err     error
}

func (m *memIntents) Put(_ context.Context, in store.PaymentIntent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if old, ok := m.intents[in.IntentID]; ok && old != in {
		return store.ErrConflict
	}
	m.intents[in.IntentID] = in
	return nil
}

// --- the fixture

// Customers, as Cognito subs.
const (
	alice = "1f0c6a52-7a4e-4f38-9d2b-6c1e0a9b8d71"
	bob   = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
)

type fixture_ struct {
	h       *Handler
	bus     *recordingBus
	events  *fakeEvents
	stock   *fakeStock
	keys    *memKeys
	intents *memIntents
	logs    *fixture.Buffer
	clock   *time.Time
}

func newFixture() fixture_ {
	now := fixture.Now
	f := fixture_{
		bus: &recordingBus{}, events: &fakeEvents{events: map[string][]events.Envelope{}}, stock: &fakeStock{},
		keys: &memKeys{recs: map[[2]string]store.IdempotencyRecord{}}, intents: &memIntents{intents: map[string]store.PaymentIntent{}},
		logs: &fixture.Buffer{}, clock: &now,
	}
	f.h = newHandler("orders", Ports{Bus: f.bus, Events: f.events, Stock: f.stock, Keys: f.keys, Intents: f.intents},
		slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var mu sync.Mutex
	n := 0
	next := func(prefix string) func() string {
		return func() string {
			mu.Lock()
			defer mu.Unlock()
			n++
			switch prefix {
			case "order":
				return fixture.OrderID(n)
			case "intent":
				return fmt.Sprintf("pi_%032x", n)
			}
			return fmt.Sprintf("lease-%d", n)
		}
	}
	f.h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return *f.clock }
	f.h.newID, f.h.newIntentID, f.h.newLeaseID = next("order"), next("intent"), next("lease")
	return f
}

// advance moves the fixture's clock.
func (f fixture_) advance(d time.Duration) { *f.clock = f.clock.Add(d) }

// request is an API Gateway (payload 2.0) event for route, from customer ("" = no token).
func request(route, customer, body string) lambdaevents.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(route, " ")
	req := lambdaevents.APIGatewayV2HTTPRequest{RouteKey: route, RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.RouteKey = route
	req.RequestContext.Stage = "$default"
	if customer != "" {
		req.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": customer, "token_use": "access", "client_id": "client-1"},
			},
		}
	}
	return req
}

func getOrder(customer, id string) lambdaevents.APIGatewayV2HTTPRequest {
	req := request(routeGet, customer, "")
	req.RawPath = "/orders/" + id
	req.PathParameters = map[string]string{"orderId": id}
	return req
}

func (f fixture_) do(t *testing.T, req lambdaevents.APIGatewayV2HTTPRequest) lambdaevents.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	return resp
}

func decode[T any](t *testing.T, resp lambdaevents.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

func TestEveryRouteButProductsNeedsASignedInCustomer(t *testing.T) {
	f := newFixture()
	for _, route := range []string{routePlace, routeList, routeGet} {
		t.Run(route, func(t *testing.T) {
			for name, req := range map[string]lambdaevents.APIGatewayV2HTTPRequest{
				"no authorizer": request(route, "", validBody),
				"no sub": func() lambdaevents.APIGatewayV2HTTPRequest {
					r := request(route, alice, validBody)
					delete(r.RequestContext.Authorizer.JWT.Claims, "sub")
					return r
				}(),
				"a sub no event may carry": request(route, "Jane Doe", validBody),
			} {
				resp := f.do(t, req)
				if resp.StatusCode != http.StatusUnauthorized || resp.Headers["WWW-Authenticate"] != "Bearer" {
					t.Errorf("%s: status %d, headers %v", name, resp.StatusCode, resp.Headers)
				}
				if got := decode[errorBody](t, resp); !strings.Contains(got.Error, "Authorization: Bearer") {
					t.Errorf("%s: error = %q", name, got.Error)
				}
			}
		})
	}
	if f.bus.count() != 0 || len(f.intents.intents) != 0 || len(f.keys.recs) != 0 {
		t.Error("an unauthenticated request changed something")
	}
	if resp := f.do(t, request(routeProducts, "", "")); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /products without a token = %d, want 200 (the catalogue is public)", resp.StatusCode)
	}
	if resp := f.do(t, request("DELETE /orders", alice, "")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown route = %d, want 404", resp.StatusCode)
	}
}

// A request no route matches reaches order-api through the API's $default route (signed in: the
// route has the authorizer): 405 with Allow on one of the API's resources, 404 elsewhere, both in
// the API's error shape, and nothing changed.
func TestUnmatchedRequests(t *testing.T) {
	f := newFixture()
	for _, tc := range []struct {
		method, path string
		wantCode     int
		wantAllow    string
	}{
		{"DELETE", "/orders/" + fixture.OrderID(1), 405, "GET"},
		{"PUT", "/orders", 405, "GET, POST"},
		{"POST", "/products", 405, "GET"},
		{"HEAD", "/products", 405, "GET"},
		{"GET", "/orders/", 404, ""},
		{"GET", "/orders/ORD-1/items", 404, ""},
		{"GET", "/admin", 404, ""},
		{"POST", "/", 404, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := request(routeDefault, alice, validBody)
			req.RequestContext.HTTP.Method, req.RawPath = tc.method, tc.path
			resp := f.do(t, req)
			if resp.StatusCode != tc.wantCode || resp.Headers["Allow"] != tc.wantAllow || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("status %d, headers %v; want %d, Allow %q, JSON", resp.StatusCode, resp.Headers, tc.wantCode, tc.wantAllow)
			}
			if got := decode[errorBody](t, resp); got.Error == "" || (tc.wantCode == 405 && !strings.Contains(got.Error, tc.wantAllow)) {
				t.Errorf("error = %q; want one that says what to use", got.Error)
			}
		})
	}
	if resp := f.do(t, request(routeDefault, "", "")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unmatched request without a customer = %d, want 401 (the route has the authorizer)", resp.StatusCode)
	}
	if f.bus.count() != 0 || len(f.intents.intents) != 0 || len(f.keys.recs) != 0 {
		t.Error("an unmatched request changed something")
	}
}

func TestProducts(t *testing.T) {
	tests := []struct {
		name      string
		stock     map[string]int
		err       error
		wantCode  int
		wantStock map[string]int
	}{
		{name: "missing items have their initial stock", stock: map[string]int{"SKU-001": 97, "SKU-003": 0},
			wantCode: 200, wantStock: map[string]int{"SKU-001": 97, "SKU-002": 100, "SKU-003": 0, "SKU-042": 100, "SKU-100": 10000, "SKU-404": 0, "SKU-451": 100}},
		{name: "table fails", err: errors.New("throttled"), wantCode: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.stock.stock, f.stock.err = tc.stock, tc.err
			resp := f.do(t, request(routeProducts, "", ""))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if tc.wantCode != 200 {
				return
			}
			got := decode[[]product](t, resp)
			if len(got) != len(tc.wantStock) {
				t.Fatalf("got %d products", len(got))
			}
			for _, p := range got {
				if p.Stock != tc.wantStock[p.SKU] || p.Currency != "USD" || p.PriceCents <= 0 || p.Name == "" {
					t.Errorf("product %+v, want stock %d", p, tc.wantStock[p.SKU])
				}
			}
		})
	}
}
