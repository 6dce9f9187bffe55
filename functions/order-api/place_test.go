package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

const validBody = `{"items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-003","quantity":1}],"payment":{"token":"tok_visa"}}`

func place(customer, body string, headers ...string) lambdaevents.APIGatewayV2HTTPRequest {
	req := request(routePlace, customer, body)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Headers[headers[i]] = headers[i+1]
	}
	return req
}

func TestPlaceOrderCreated(t *testing.T) {
	tests := []struct {
		name string
		req  lambdaevents.APIGatewayV2HTTPRequest
	}{
		{name: "json body", req: place(alice, validBody)},
		{name: "base64 body", req: func() lambdaevents.APIGatewayV2HTTPRequest {
			r := place(alice, base64.StdEncoding.EncodeToString([]byte(validBody)))
			r.IsBase64Encoded = true
			return r
		}()},
		{name: "with an Idempotency-Key", req: place(alice, validBody, "idempotency-key", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`)},
		{name: "json with a charset", req: place(alice, validBody, "content-type", "Application/JSON; charset=utf-8")},
		{name: "a +json type", req: place(alice, validBody, "content-type", "application/vnd.orderflow+json")},
		{name: "json with a parameter that does not parse", req: place(alice, validBody, "content-type", "application/json; charset")},
		{name: "no Content-Type", req: func() lambdaevents.APIGatewayV2HTTPRequest {
			r := place(alice, validBody)
			delete(r.Headers, "content-type")
			return r
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			resp := f.do(t, tc.req)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, body %s", resp.StatusCode, resp.Body)
			}
			got := decode[placed](t, resp)
			if !strings.HasPrefix(got.OrderID, "ORD-") || got.Status != order.StatusPlaced || got.TotalCents != 2*4999+3499 || got.Currency != "USD" || len(got.Items) != 2 {
				t.Errorf("body = %+v", got)
			}
			if resp.Headers["Location"] != "/orders/"+got.OrderID || resp.Headers["Cache-Control"] != "no-store" {
				t.Errorf("headers = %v", resp.Headers)
			}

			// The published event is the contract: check all of it.
			if f.bus.count() != 1 {
				t.Fatalf("published %d entries, want 1", f.bus.count())
			}
			entry := f.bus.published[0]
			if entry.EventBusName != "orders" || entry.DetailType != "OrderPlaced" || entry.Source != events.SourceOrders {
				t.Errorf("entry = %+v", entry)
			}
			e, err := events.Parse([]byte(entry.Detail))
			if err != nil {
				t.Fatalf("published detail breaks the schema: %v", err)
			}
			if e.Version != 3 || e.Sequence != 1 || e.OrderID != got.OrderID || e.CorrelationID != e.ID || got.CorrelationID != e.ID {
				t.Errorf("envelope = %+v, response correlationId %s", e, got.CorrelationID)
			}
			p, err := events.DecodePayload[events.OrderPlaced](e)
			if err != nil {
				t.Fatal(err)
			}
			if p.CustomerID != alice || p.PaymentIntentID == "" || p.TotalCents != 13497 || p.Currency != "USD" ||
				fmt.Sprint(p.Items) != fmt.Sprint([]events.Item{
					{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
					{SKU: "SKU-003", Name: "Headlamp", Quantity: 1, UnitPriceCents: 3499},
				}) {
				t.Errorf("payload = %+v", p)
			}
			// The token went to the payments service, not on the bus, nor into the log.
			if strings.Contains(entry.Detail, "tok_visa") {
				t.Errorf("the event carries the payment token: %s", entry.Detail)
			}
			in, ok := f.intents.intents[p.PaymentIntentID]
			if !ok || in.Token != "tok_visa" || in.OrderID != got.OrderID || in.CustomerID != alice || in.AmountCents != 13497 || in.Currency != "USD" ||
				!in.ExpiresAt.After(in.CreatedAt) {
				t.Errorf("payment intent = %+v (found %v)", in, ok)
			}
			if logs := f.logs.String(); strings.Contains(logs, "tok_visa") || !strings.Contains(logs, got.OrderID) {
				t.Errorf("the log holds the token, or not the order:\n%s", logs)
			}
		})
	}
}

func TestPlaceOrderRejected(t *testing.T) {
	tooMany := `{"payment":{"token":"tok_visa"},"items":[` +
		strings.Repeat(`{"sku":"SKU-001","quantity":1},`, 10) + `{"sku":"SKU-002","quantity":1}]}`
	tests := []struct {
		name      string
		body      string
		base64    bool
		headers   []string
		wantCode  int
		wantField string
	}{
		{name: "empty body", body: "", wantCode: 400},
		{name: "not json", body: "{", wantCode: 400},
		{name: "not an object", body: `[1]`, wantCode: 400},
		{name: "two objects", body: validBody + validBody, wantCode: 400},
		{name: "byte order mark", body: "\uFEFF" + validBody, wantCode: 400},
		{name: "customerId in the body", body: `{"customerId":"someone-else","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "customerId"},
		{name: "duplicate key", body: `{"items":[{"sku":"SKU-001","quantity":1,"sku":"SKU-002"}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].sku"},
		{name: "unknown field", body: `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"},"price":1}`, wantCode: 400, wantField: "price"},
		{name: "client sends a price", body: `{"items":[{"sku":"SKU-001","quantity":1,"unitPriceCents":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].unitPriceCents"},
		{name: "missing items", body: `{"payment":{"token":"t"}}`, wantCode: 400, wantField: "items"},
		{name: "too many lines", body: tooMany, wantCode: 400, wantField: "items"},
		{name: "quantity too big", body: `{"items":[{"sku":"SKU-001","quantity":11}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "unknown sku", body: `{"items":[{"sku":"SKU-999","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].sku"},
		{name: "missing token", body: `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{}}`, wantCode: 400, wantField: "payment.token"},
		{name: "bad base64", body: "%%%", base64: true, wantCode: 400},
		{name: "idempotency key too long", body: validBody, headers: []string{"idempotency-key", strings.Repeat("k", 256)}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "idempotency key empty", body: validBody, headers: []string{"Idempotency-Key", `""`}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "idempotency key unterminated", body: validBody, headers: []string{"Idempotency-Key", `"abc`}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "idempotency key with a space", body: validBody, headers: []string{"Idempotency-Key", `a b`}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "idempotency key not ASCII", body: validBody, headers: []string{"Idempotency-Key", `"clé"`}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "body over 16 KiB", body: `{"items":"` + strings.Repeat("c", order.MaxBodyBytes) + `"}`, wantCode: 413},
		{name: "huge base64 body", body: strings.Repeat("A", 4*order.MaxBodyBytes), base64: true, wantCode: 413},
		{name: "a form", body: validBody, headers: []string{"content-type", "application/x-www-form-urlencoded"}, wantCode: 415, wantField: "Content-Type"},
		{name: "text", body: validBody, headers: []string{"content-type", "text/plain; charset=utf-8"}, wantCode: 415, wantField: "Content-Type"},
		{name: "bytes", body: validBody, headers: []string{"content-type", "application/octet-stream"}, wantCode: 415, wantField: "Content-Type"},
		{name: "a type that does not parse", body: validBody, headers: []string{"content-type", "application json"}, wantCode: 415, wantField: "Content-Type"},
		{name: "a long type", body: validBody, headers: []string{"content-type", "text/" + strings.Repeat("x", 5000)}, wantCode: 415, wantField: "Content-Type"},
		{name: "json in name only", body: validBody, headers: []string{"content-type", "text/json+xml"}, wantCode: 415, wantField: "Content-Type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			req := place(alice, tc.body, tc.headers...)
			req.IsBase64Encoded = tc.base64
			resp := f.do(t, req)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantCode, resp.Body)
			}
			got := decode[errorBody](t, resp)
			if got.Error == "" || got.Field != tc.wantField {
				t.Errorf("body = %+v, want field %q", got, tc.wantField)
			}
			if accept := resp.Headers["Accept-Post"]; (tc.wantCode == 415) != (accept == "application/json") {
				t.Errorf("HTTP %d with Accept-Post %q", tc.wantCode, accept)
			}
			if len(got.Error) > 200 {
				t.Errorf("the error quotes the request at length: %d characters", len(got.Error))
			}
			if f.bus.count() != 0 || len(f.intents.intents) != 0 || len(f.keys.recs) != 0 {
				t.Error("a rejected request published, stored an intent or claimed a key")
			}
		})
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	tests := []struct{ header, want string }{
		{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{`8e03978e-40d5-43e8-bc93-6894a57f9324`, "8e03978e-40d5-43e8-bc93-6894a57f9324"}, // bare, as many clients send it
		{`"with space and \"quotes\" and \\"`, `with space and "quotes" and \`},
		{`  "padded"  `, "padded"},
	}
	for _, tc := range tests {
		got, ok, err := idempotencyKey(map[string]string{"Idempotency-Key": tc.header})
		if err != nil || !ok || got != tc.want {
			t.Errorf("idempotencyKey(%s) = %q, %v, %v; want %q", tc.header, got, ok, err, tc.want)
		}
	}
	if _, ok, err := idempotencyKey(map[string]string{"content-type": "application/json"}); ok || err != nil {
		t.Errorf("no header: present %v, err %v", ok, err)
	}
	// The last two: the header sent twice, as API Gateway joins repeated headers; the error says so.
	for _, bad := range []string{`"a"b"`, `"a\x"`, `"tab	"`, `"`, `k1,k2`, `"k1", "k2"`} {
		_, _, err := idempotencyKey(map[string]string{"Idempotency-Key": bad})
		if err == nil {
			t.Errorf("idempotencyKey(%s) accepted", bad)
		} else if strings.Contains(bad, ",") && !strings.Contains(err.Error(), "sent once") {
			t.Errorf("idempotencyKey(%s): %v, want it to say one key, sent once", bad, err)
		}
	}
}

func TestPlaceOrderFailsCleanly(t *testing.T) {
	for name, breakIt := range map[string]func(f fixture_){
		"bus":          func(f fixture_) { f.bus.err = errors.New("AccessDeniedException: secret detail") },
		"intent table": func(f fixture_) { f.intents.err = errors.New("ProvisionedThroughputExceeded: secret detail") },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			breakIt(f)
			resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
			if resp.StatusCode != http.StatusInternalServerError || strings.Contains(resp.Body, "secret") {
				t.Fatalf("status = %d, body %s: want a generic 500", resp.StatusCode, resp.Body)
			}
			// The key was released: the retry goes ahead at once, as the same order.
			first := f.keys.recs[[2]string{alice, "k1"}].OrderID
			f.bus.err, f.intents.err = nil, nil
			resp = f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
			if resp.StatusCode != http.StatusCreated || decode[placed](t, resp).OrderID != first {
				t.Errorf("retry: %d %s, want 201 for %s", resp.StatusCode, resp.Body, first)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	other := strings.Replace(validBody, `"quantity":2`, `"quantity":3`, 1)
	respaced := `{ "payment": {"token": "tok_visa"}, "items": [{"quantity": 2, "sku": "SKU-001"}, {"sku": "SKU-003", "quantity": 1}] }`

	t.Run("same key, same request: the same answer, one order", func(t *testing.T) {
		f := newFixture()
		first := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		again := f.do(t, place(alice, respaced, "Idempotency-Key", `"k1"`))
		if first.StatusCode != 201 || again.StatusCode != 201 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" ||
			again.Headers["Location"] != first.Headers["Location"] {
			t.Fatalf("first %d %s\nagain %d %s %v", first.StatusCode, first.Body, again.StatusCode, again.Body, again.Headers)
		}
		if f.bus.count() != 1 || len(f.intents.intents) != 1 {
			t.Errorf("published %d, intents %d; want 1 and 1", f.bus.count(), len(f.intents.intents))
		}
	})
	t.Run("same key, different request: 422, nothing placed", func(t *testing.T) {
		f := newFixture()
		f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		resp := f.do(t, place(alice, other, "Idempotency-Key", "k1"))
		if resp.StatusCode != http.StatusUnprocessableEntity || decode[errorBody](t, resp).Field != "Idempotency-Key" {
			t.Errorf("status %d %s, want 422", resp.StatusCode, resp.Body)
		}
		if f.bus.count() != 1 {
			t.Errorf("published %d, want 1", f.bus.count())
		}
	})
	t.Run("keys are scoped per customer", func(t *testing.T) {
		f := newFixture()
		a := decode[placed](t, f.do(t, place(alice, validBody, "Idempotency-Key", "k1")))
		resp := f.do(t, place(bob, other, "Idempotency-Key", "k1"))
		if resp.StatusCode != 201 || decode[placed](t, resp).OrderID == a.OrderID || f.bus.count() != 2 {
			t.Errorf("bob with alice's key: %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("a key expires", func(t *testing.T) {
		f := newFixture()
		a := decode[placed](t, f.do(t, place(alice, validBody, "Idempotency-Key", "k1")))
		f.advance(keyLifetime + time.Second)
		resp := f.do(t, place(alice, other, "Idempotency-Key", "k1"))
		if resp.StatusCode != 201 || decode[placed](t, resp).OrderID == a.OrderID {
			t.Errorf("after expiry: %d %s, want a new order", resp.StatusCode, resp.Body)
		}
	})
	t.Run("while the first is in flight: 409, then the stored answer", func(t *testing.T) {
		f := newFixture()
		f.bus.hold = make(chan struct{})
		done := make(chan lambdaevents.APIGatewayV2HTTPResponse)
		go func() { done <- f.do(t, place(alice, validBody, "Idempotency-Key", "k1")) }()
		waitFor(t, func() bool { f.keys.mu.Lock(); defer f.keys.mu.Unlock(); return len(f.keys.recs) == 1 })
		resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		if resp.StatusCode != http.StatusConflict || resp.Headers["Retry-After"] == "" {
			t.Errorf("second while in flight: %d %v %s, want 409 with Retry-After", resp.StatusCode, resp.Headers, resp.Body)
		}
		close(f.bus.hold)
		first := <-done
		again := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		if first.StatusCode != 201 || again.Body != first.Body || f.bus.count() != 1 {
			t.Errorf("first %d, again %s, published %d", first.StatusCode, again.Body, f.bus.count())
		}
	})
	t.Run("a request that died: taken over after its lease, as the same order", func(t *testing.T) {
		f := newFixture()
		// The first request claimed the key and died before publishing (no Complete, no Release).
		f.keys.recs[[2]string{alice, "k1"}] = store.IdempotencyRecord{
			CustomerID: alice, Key: "k1", Fingerprint: fingerprintOf(t, validBody), Status: store.KeyInProgress,
			OrderID: fixture.OrderID(99), IntentID: "pi_00000000000000000000000000000099", LeaseID: "dead",
			LeaseUntil: f.clock.Add(leaseTime), CreatedAt: *f.clock, ExpiresAt: f.clock.Add(keyLifetime),
		}
		if resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1")); resp.StatusCode != http.StatusConflict {
			t.Fatalf("within the lease: %d, want 409", resp.StatusCode)
		}
		f.advance(leaseTime + time.Second)
		if resp := f.do(t, place(alice, other, "Idempotency-Key", "k1")); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a different request after the lease: %d, want 422", resp.StatusCode)
		}
		resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		if resp.StatusCode != 201 || decode[placed](t, resp).OrderID != fixture.OrderID(99) {
			t.Fatalf("after the lease: %d %s, want 201 for the first request's order", resp.StatusCode, resp.Body)
		}
		if _, ok := f.intents.intents["pi_00000000000000000000000000000099"]; !ok || f.bus.count() != 1 {
			t.Errorf("the takeover did not reuse the claimed intent, or published %d", f.bus.count())
		}
	})
	t.Run("a claim whose answer was lost: a 500, and the retry is not kept waiting", func(t *testing.T) {
		for _, takeOver := range []bool{false, true} {
			f := newFixture()
			if takeOver { // a request that died holds the key; this one's take-over is written, its answer lost
				f.keys.recs[[2]string{alice, "k1"}] = store.IdempotencyRecord{
					CustomerID: alice, Key: "k1", Fingerprint: fingerprintOf(t, validBody), Status: store.KeyInProgress,
					OrderID: fixture.OrderID(99), IntentID: "pi_00000000000000000000000000000099", LeaseID: "dead",
					LeaseUntil: f.clock.Add(leaseTime), CreatedAt: *f.clock, ExpiresAt: f.clock.Add(keyLifetime),
				}
				f.advance(leaseTime + time.Second)
			}
			f.keys.lostAnswers = 1
			if resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1")); resp.StatusCode != http.StatusInternalServerError {
				t.Fatalf("take-over %v: the lost answer: %d %s, want 500", takeOver, resp.StatusCode, resp.Body)
			}
			f.advance(time.Second)
			if resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1")); resp.StatusCode != http.StatusCreated || f.bus.count() != 1 {
				t.Errorf("take-over %v: the retry a second later: %d %s (published %d), want 201 and one order", takeOver, resp.StatusCode, resp.Body, f.bus.count())
			}
		}
	})
	t.Run("a late first request that finishes as it is taken over: its answer, not a 409", func(t *testing.T) {
		f := newFixture()
		k := [2]string{alice, "k1"}
		f.keys.recs[k] = store.IdempotencyRecord{
			CustomerID: alice, Key: "k1", Fingerprint: fingerprintOf(t, validBody), Status: store.KeyInProgress,
			OrderID: fixture.OrderID(99), IntentID: "pi_00000000000000000000000000000099", LeaseID: "slow",
			LeaseUntil: f.clock.Add(leaseTime), CreatedAt: *f.clock, ExpiresAt: f.clock.Add(keyLifetime),
		}
		f.advance(leaseTime + time.Second)
		// The retry finds the lease run out; before its TakeOver lands, the first request completes.
		const stored = `{"orderId":"ORD-stored","status":"PLACED"}`
		f.keys.beforeTakeOver = func() {
			f.keys.mu.Lock()
			defer f.keys.mu.Unlock()
			rec := f.keys.recs[k]
			rec.Status, rec.Response = store.KeyCompleted, stored
			f.keys.recs[k] = rec
		}
		resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		if resp.StatusCode != http.StatusCreated || resp.Body != stored || resp.Headers["Idempotent-Replayed"] != "true" || f.bus.count() != 0 {
			t.Errorf("got %d %v %s (published %d), want the first request's stored answer, replayed, nothing published", resp.StatusCode, resp.Headers, resp.Body, f.bus.count())
		}
	})
	t.Run("the table's whole seconds: told when the key is free, and taken over from that second", func(t *testing.T) {
		f := newFixture()
		f.advance(300 * time.Millisecond) // the first request claims at …00.3 and dies
		f.keys.recs[[2]string{alice, "k1"}] = store.IdempotencyRecord{
			CustomerID: alice, Key: "k1", Fingerprint: fingerprintOf(t, validBody), Status: store.KeyInProgress,
			OrderID: fixture.OrderID(98), IntentID: "pi_00000000000000000000000000000098", LeaseID: "dead",
			LeaseUntil: f.clock.Add(leaseTime).Truncate(time.Second), CreatedAt: *f.clock, ExpiresAt: f.clock.Add(keyLifetime).Truncate(time.Second),
		}
		f.advance(10 * time.Second)
		resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1"))
		if resp.StatusCode != http.StatusConflict || resp.Headers["Retry-After"] != "1" || !strings.Contains(resp.Body, "frees its key within 20 s") {
			t.Fatalf("10 s into the lease: %d, Retry-After %q, %s; want 409, retry in 1 s, the key free within 20 s (the lease's whole seconds left)", resp.StatusCode, resp.Headers["Retry-After"], resp.Body)
		}
		f.advance(leaseTime - 10*time.Second) // …30.3: the lease, kept as …30, ran out with its second
		if resp := f.do(t, place(alice, validBody, "Idempotency-Key", "k1")); resp.StatusCode != 201 || decode[placed](t, resp).OrderID != fixture.OrderID(98) {
			t.Fatalf("once the lease ran out: %d %s, want 201 for the first request's order", resp.StatusCode, resp.Body)
		}
	})
}

// Requests with one key sent at the same moment place one order, whatever their bodies.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	bodies := map[string][]string{
		"same body":       {validBody, validBody, validBody, validBody, validBody, validBody, validBody, validBody},
		"different body":  {validBody, strings.Replace(validBody, `"quantity":2`, `"quantity":3`, 1), validBody, strings.Replace(validBody, `"quantity":2`, `"quantity":4`, 1)},
		"different token": {validBody, strings.Replace(validBody, "tok_visa", "tok_declined", 1)},
	}
	for name, bs := range bodies {
		t.Run(name, func(t *testing.T) {
			for round := range 20 {
				f := newFixture()
				var wg sync.WaitGroup
				resps := make([]lambdaevents.APIGatewayV2HTTPResponse, len(bs))
				for i, b := range bs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						resps[i], _ = f.h.Handle(context.Background(), place(alice, b, "Idempotency-Key", "same"))
					}()
				}
				wg.Wait()
				if f.bus.count() != 1 || len(f.intents.intents) != 1 {
					t.Fatalf("round %d: published %d, intents %d; want one order", round, f.bus.count(), len(f.intents.intents))
				}
				ids := map[string]bool{}
				for i, r := range resps {
					switch r.StatusCode {
					case 201:
						ids[decode[placed](t, r).OrderID] = true
						if bs[i] != bs[0] && fingerprintOf(t, bs[i]) != fingerprintOf(t, winner(f)) {
							t.Errorf("round %d: 201 for a body that is not the one placed", round)
						}
					case 409, 422:
					default:
						t.Errorf("round %d: status %d %s", round, r.StatusCode, r.Body)
					}
				}
				if len(ids) != 1 {
					t.Errorf("round %d: 201s name %d orders, want 1", round, len(ids))
				}
			}
		})
	}
}

// winner is the body whose request placed the order, rebuilt from the published event and intent.
func winner(f fixture_) string {
	e, _ := events.Parse([]byte(f.bus.published[0].Detail))
	p, _ := events.DecodePayload[events.OrderPlaced](e)
	in := f.intents.intents[p.PaymentIntentID]
	return fmt.Sprintf(`{"items":[{"sku":%q,"quantity":%d},{"sku":%q,"quantity":%d}],"payment":{"token":%q}}`,
		p.Items[0].SKU, p.Items[0].Quantity, p.Items[1].SKU, p.Items[1].Quantity, in.Token)
}

func fingerprintOf(t *testing.T, body string) string {
	t.Helper()
	req, err := order.ParsePlaceOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return order.Fingerprint(req)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
