package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
)

// --- recording fakes

type recordingBus struct {
	published []events.Entry
	err       error
}

func (b *recordingBus) Publish(_ context.Context, entries ...events.Entry) error {
	if b.err != nil {
		return b.err
	}
	b.published = append(b.published, entries...)
	return nil
}

type fakeStore struct {
	events map[string][]events.Envelope
	err    error
	loads  []string
}

func (s *fakeStore) Load(_ context.Context, orderID string) ([]events.Envelope, error) {
	s.loads = append(s.loads, orderID)
	return s.events[orderID], s.err
}

type fakeStock struct {
	stock map[string]int
	err   error
}

func (s *fakeStock) Stock(context.Context, []string) (map[string]int, error) { return s.stock, s.err }

type fixture_ struct {
	h     *Handler
	bus   *recordingBus
	store *fakeStore
	stock *fakeStock
}

func newFixture() fixture_ {
	f := fixture_{bus: &recordingBus{}, store: &fakeStore{events: map[string][]events.Envelope{}}, stock: &fakeStock{}}
	f.h = newHandler("orders", f.bus, f.store, f.stock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.h.now = func() time.Time { return fixture.Now }
	f.h.newID = func() string { return fixture.OrderID(1) }
	return f
}

func request(method, path, body string) lambdaevents.APIGatewayV2HTTPRequest {
	req := lambdaevents.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.HTTP.Method = method
	req.RequestContext.Stage = "$default"
	return req
}

func decode[T any](t *testing.T, resp lambdaevents.APIGatewayV2HTTPResponse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

const validBody = `{"customerId":"cust-1","items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-003","quantity":1}],"payment":{"token":"tok_visa"}}`

func TestPlaceOrderCreated(t *testing.T) {
	tests := []struct {
		name string
		req  lambdaevents.APIGatewayV2HTTPRequest
	}{
		{name: "json body", req: request("POST", "/orders", validBody)},
		{name: "base64 body", req: func() lambdaevents.APIGatewayV2HTTPRequest {
			r := request("POST", "/orders", base64.StdEncoding.EncodeToString([]byte(validBody)))
			r.IsBase64Encoded = true
			return r
		}()},
		{name: "named stage and trailing slash", req: func() lambdaevents.APIGatewayV2HTTPRequest {
			r := request("POST", "/prod/orders/", validBody)
			r.RequestContext.Stage = "prod"
			return r
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			resp, err := f.h.Handle(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, body %s", resp.StatusCode, resp.Body)
			}
			got := decode[placed](t, resp)
			wantID := fixture.OrderID(1)
			if got.OrderID != wantID || got.Status != order.StatusPlaced || got.TotalCents != 2*4999+3499 || got.Currency != "USD" || len(got.Items) != 2 {
				t.Errorf("body = %+v", got)
			}
			if loc := resp.Headers["Location"]; loc != "/orders/"+wantID {
				t.Errorf("Location = %q", loc)
			}

			// The published event is the contract: check all of it.
			if len(f.bus.published) != 1 {
				t.Fatalf("published %d entries, want 1", len(f.bus.published))
			}
			entry := f.bus.published[0]
			if entry.EventBusName != "orders" || entry.DetailType != "OrderPlaced" || entry.Source != events.SourceOrders {
				t.Errorf("entry = %+v", entry)
			}
			e, err := events.Parse([]byte(entry.Detail))
			if err != nil {
				t.Fatalf("published detail breaks the schema: %v", err)
			}
			if e.Version != 2 || e.Sequence != 1 || e.OrderID != wantID || e.ID != events.ID(wantID, 1) || e.CorrelationID != e.ID || got.CorrelationID != e.ID {
				t.Errorf("envelope = %+v, response correlationId %s", e, got.CorrelationID)
			}
			p, err := events.DecodePayload[events.OrderPlacedV2](e)
			if err != nil {
				t.Fatal(err)
			}
			want := events.OrderPlacedV2{
				OrderID: wantID, CustomerID: "cust-1", TotalCents: 13497, Currency: "USD", PaymentToken: "tok_visa",
				Items: []events.Item{
					{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
					{SKU: "SKU-003", Name: "Headlamp", Quantity: 1, UnitPriceCents: 3499},
				},
			}
			if fmt.Sprint(p) != fmt.Sprint(want) {
				t.Errorf("payload = %+v\nwant      %+v", p, want)
			}
		})
	}
}

func TestPlaceOrderRejected(t *testing.T) {
	tooMany := `{"customerId":"c","payment":{"token":"tok_visa"},"items":[` +
		strings.Repeat(`{"sku":"SKU-001","quantity":1},`, 10) + `{"sku":"SKU-002","quantity":1}]}`
	tests := []struct {
		name      string
		body      string
		base64    bool
		headers   map[string]string
		wantCode  int
		wantField string
	}{
		{name: "empty body", body: "", wantCode: 400},
		{name: "not json", body: "{", wantCode: 400},
		{name: "not an object", body: `[1]`, wantCode: 400},
		{name: "two objects", body: validBody + validBody, wantCode: 400},
		{name: "unknown field", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"},"price":1}`, wantCode: 400, wantField: "price"},
		{name: "client sends a price", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1,"unitPriceCents":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].unitPriceCents"},
		{name: "customerId not a string", body: `{"customerId":7,"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "customerId"},
		{name: "missing customerId", body: `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "customerId"},
		{name: "bad customerId", body: `{"customerId":"a b","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "customerId"},
		{name: "missing items", body: `{"customerId":"c","payment":{"token":"t"}}`, wantCode: 400, wantField: "items"},
		{name: "empty items", body: `{"customerId":"c","items":[],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items"},
		{name: "items not an array", body: `{"customerId":"c","items":{},"payment":{"token":"t"}}`, wantCode: 400, wantField: "items"},
		{name: "too many lines", body: tooMany, wantCode: 400, wantField: "items"},
		{name: "quantity zero", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":0}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "quantity too big", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":11}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "quantity a string", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":"2"}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "quantity fractional", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1.5}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "missing quantity", body: `{"customerId":"c","items":[{"sku":"SKU-001"}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].quantity"},
		{name: "missing sku", body: `{"customerId":"c","items":[{"quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].sku"},
		{name: "unknown sku", body: `{"customerId":"c","items":[{"sku":"SKU-999","quantity":1}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[0].sku"},
		{name: "duplicate sku", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1},{"sku":"SKU-001","quantity":2}],"payment":{"token":"t"}}`, wantCode: 400, wantField: "items[1].sku"},
		{name: "missing payment", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1}]}`, wantCode: 400, wantField: "payment.token"},
		{name: "missing token", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1}],"payment":{}}`, wantCode: 400, wantField: "payment.token"},
		{name: "bad token", body: `{"customerId":"c","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok visa"}}`, wantCode: 400, wantField: "payment.token"},
		{name: "bad base64", body: "%%%", base64: true, wantCode: 400},
		{name: "idempotency key too long", body: validBody, headers: map[string]string{"idempotency-key": strings.Repeat("k", 256)}, wantCode: 400, wantField: "Idempotency-Key"},
		{name: "body over 16 KiB", body: `{"customerId":"` + strings.Repeat("c", order.MaxBodyBytes) + `"}`, wantCode: 413},
		{name: "base64 body over 16 KiB", body: base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", order.MaxBodyBytes+1))), base64: true, wantCode: 413},
		{name: "huge base64 body", body: strings.Repeat("A", 4*order.MaxBodyBytes), base64: true, wantCode: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			req := request("POST", "/orders", tc.body)
			req.IsBase64Encoded = tc.base64
			for k, v := range tc.headers {
				req.Headers[k] = v
			}
			resp, err := f.h.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantCode, resp.Body)
			}
			got := decode[errorBody](t, resp)
			if got.Error == "" || got.Field != tc.wantField {
				t.Errorf("body = %+v, want field %q", got, tc.wantField)
			}
			if len(f.bus.published) != 0 {
				t.Errorf("published %d entries for a rejected request", len(f.bus.published))
			}
		})
	}
}

func TestPlaceOrderPublishFails(t *testing.T) {
	f := newFixture()
	f.bus.err = errors.New("AccessDeniedException: secret detail")
	resp, _ := f.h.Handle(context.Background(), request("POST", "/orders", validBody))
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if strings.Contains(resp.Body, "secret") {
		t.Errorf("5xx body leaks the cause: %s", resp.Body)
	}
}

func TestPlaceOrderIdempotencyKey(t *testing.T) {
	keyed := func(body string) lambdaevents.APIGatewayV2HTTPRequest {
		r := request("POST", "/orders", body)
		r.Headers["idempotency-key"] = "key-1"
		return r
	}
	wantID := order.IDFor("cust-1", "key-1")
	samePlaced := func(t *testing.T) events.Envelope {
		req, err := order.ParsePlaceOrder([]byte(validBody))
		if err != nil {
			t.Fatal(err)
		}
		p, err := order.Price(req)
		if err != nil {
			t.Fatal(err)
		}
		p.OrderID = wantID
		return fixture.Event(t, events.TypeOrderPlaced, wantID, 1, p)
	}
	tests := []struct {
		name          string
		stored        func(t *testing.T) []events.Envelope
		body          string
		wantCode      int
		wantPublished int
		wantReplayed  bool
	}{
		{name: "first time: published under the derived id", stored: func(*testing.T) []events.Envelope { return nil }, body: validBody, wantCode: 201, wantPublished: 1},
		{name: "retry after it was stored: same answer, nothing published", stored: func(t *testing.T) []events.Envelope { return []events.Envelope{samePlaced(t)} }, body: validBody, wantCode: 201, wantReplayed: true},
		{name: "same key, different order", stored: func(t *testing.T) []events.Envelope { return []events.Envelope{samePlaced(t)} },
			body: strings.Replace(validBody, `"quantity":2`, `"quantity":3`, 1), wantCode: 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.store.events[wantID] = tc.stored(t)
			resp, _ := f.h.Handle(context.Background(), keyed(tc.body))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantCode, resp.Body)
			}
			if len(f.bus.published) != tc.wantPublished {
				t.Errorf("published %d, want %d", len(f.bus.published), tc.wantPublished)
			}
			if tc.wantCode == 201 {
				if got := decode[placed](t, resp); got.OrderID != wantID || got.CorrelationID != events.ID(wantID, 1) {
					t.Errorf("body = %+v, want order %s", got, wantID)
				}
			}
			if got := resp.Headers["Idempotent-Replayed"] == "true"; got != tc.wantReplayed {
				t.Errorf("replayed header = %v, want %v", got, tc.wantReplayed)
			}
		})
	}
}

func TestGetOrder(t *testing.T) {
	id := fixture.OrderID(7)
	placedEv := fixture.Placed(t, id, "tok_declined")
	history := []events.Envelope{
		placedEv,
		fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypePaymentDeclined, id, 3, events.PaymentDeclined{OrderID: id, PaymentID: "0b7e3f52-94c1-4d6a-8e25-3c9f1a6d7b40", Reason: "card-declined"}),
		fixture.Event(t, events.TypeInventoryReleased, id, 4, events.InventoryReleased{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}, Reason: "payment-declined"}),
		fixture.Event(t, events.TypeOrderCancelled, id, 5, events.OrderCancelled{OrderID: id, Reason: events.ReasonPaymentDeclined}),
	}
	tests := []struct {
		name       string
		path       string
		stored     []events.Envelope
		storeErr   error
		wantCode   int
		wantStatus order.Status
		wantEvents int
	}{
		{name: "cancelled order, history shuffled and duplicated", path: "/orders/" + id, stored: fixture.TwiceShuffled(1, history), wantCode: 200, wantStatus: order.StatusCancelled, wantEvents: 5},
		{name: "only placed so far", path: "/orders/" + id, stored: history[:1], wantCode: 200, wantStatus: order.StatusPlaced, wantEvents: 1},
		{name: "gap: later events wait", path: "/orders/" + id, stored: []events.Envelope{history[0], history[2]}, wantCode: 200, wantStatus: order.StatusPlaced, wantEvents: 1},
		{name: "unknown order", path: "/orders/" + fixture.OrderID(8), wantCode: 404},
		{name: "OrderPlaced not projected yet", path: "/orders/" + id, stored: history[1:2], wantCode: 404},
		{name: "malformed id", path: "/orders/nope", wantCode: 400},
		{name: "store fails", path: "/orders/" + id, storeErr: errors.New("throttled"), wantCode: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.store.events[id] = tc.stored
			f.store.err = tc.storeErr
			resp, _ := f.h.Handle(context.Background(), request("GET", tc.path, ""))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantCode, resp.Body)
			}
			switch tc.wantCode {
			case 200:
				got := decode[order.Order](t, resp)
				if got.OrderID != id || got.Status != tc.wantStatus || len(got.Events) != tc.wantEvents || got.TotalCents != 4999 || got.CustomerID != "cust-1" {
					t.Errorf("order = %+v", got)
				}
				if tc.wantStatus == order.StatusCancelled && got.Reason != events.ReasonPaymentDeclined {
					t.Errorf("reason = %q", got.Reason)
				}
			case 404:
				if got := decode[errorBody](t, resp); got.Error != fmt.Sprintf("order %s not found", tc.path[len("/orders/"):]) {
					t.Errorf("error = %q", got.Error)
				}
			}
		})
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
			wantCode: 200, wantStock: map[string]int{"SKU-001": 97, "SKU-002": 100, "SKU-003": 0, "SKU-042": 100, "SKU-404": 0, "SKU-451": 100}},
		{name: "table fails", err: errors.New("throttled"), wantCode: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.stock.stock, f.stock.err = tc.stock, tc.err
			resp, _ := f.h.Handle(context.Background(), request("GET", "/products", ""))
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

func TestRouting(t *testing.T) {
	tests := []struct {
		method, path string
		wantCode     int
		wantAllow    string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/orders/a/b", 404, ""},
		{"DELETE", "/orders/" + fixture.OrderID(1), 405, "GET"},
		{"GET", "/orders", 405, "POST"},
		{"POST", "/products", 405, "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			f := newFixture()
			resp, _ := f.h.Handle(context.Background(), request(tc.method, tc.path, ""))
			if resp.StatusCode != tc.wantCode || resp.Headers["Allow"] != tc.wantAllow {
				t.Errorf("status = %d Allow %q, want %d %q", resp.StatusCode, resp.Headers["Allow"], tc.wantCode, tc.wantAllow)
			}
		})
	}
}
