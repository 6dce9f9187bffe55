package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
)

// Fuzz tests: `go test` runs their seed corpora; `make fuzz` explores past them.

// FuzzPlaceOrder: whatever a signed-in client sends to POST /orders (body, base64 flag,
// Idempotency-Key), the answer is a 4xx with a JSON error naming what is wrong, or a 201 that
// published exactly one OrderPlaced for this customer without the payment token. Never a 5xx,
// never an error to Lambda.
func FuzzPlaceOrder(f *testing.F) {
	f.Add(validBody, false, "")
	f.Add(validBody, false, `"a9f1c2d3"`)
	f.Add(validBody, false, `a9f1c2d3`)
	f.Add("eyJpdGVtcyI6W119", true, "")
	f.Add("!!", true, "")
	f.Add(`{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_declined"}}`, false, `""`)
	f.Add(`{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"},"customerId":"x"}`, false, "")
	f.Add(strings.Repeat(" ", 17<<10), false, "")
	f.Fuzz(func(t *testing.T, body string, b64 bool, key string) {
		fx := newFixture()
		req := place(alice, body)
		req.IsBase64Encoded = b64
		if key != "" {
			req.Headers["idempotency-key"] = key
		}
		resp, err := fx.h.Handle(context.Background(), req)
		if err != nil {
			t.Fatalf("Handle returned an error to Lambda: %v", err)
		}
		var answer map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &answer); err != nil {
			t.Fatalf("status %d with a body that is not a JSON object: %q", resp.StatusCode, resp.Body)
		}
		switch resp.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if msg, _ := answer["error"].(string); msg == "" {
				t.Fatalf("%d without an error message: %s", resp.StatusCode, resp.Body)
			}
			if n := fx.bus.count(); n != 0 {
				t.Fatalf("a rejected request published %d events", n)
			}
		case http.StatusCreated:
			if n := fx.bus.count(); n != 1 {
				t.Fatalf("201 published %d events, want 1", n)
			}
			e, err := events.Parse([]byte(fx.bus.published[0].Detail))
			if err != nil {
				t.Fatalf("published an invalid event: %v", err)
			}
			p, err := events.DecodePayload[events.OrderPlaced](e)
			if err != nil {
				t.Fatal(err)
			}
			if p.CustomerID != alice || e.OrderID != answer["orderId"] {
				t.Fatalf("201 for %v published order %s of %s", answer["orderId"], e.OrderID, p.CustomerID)
			}
			if strings.Contains(fx.bus.published[0].Detail, `"token"`) || strings.Contains(fx.bus.published[0].Detail, "paymentToken") {
				t.Fatalf("the event carries the payment token: %s", fx.bus.published[0].Detail)
			}
		default:
			t.Fatalf("status %d for body %q (base64 %v, key %q): %s", resp.StatusCode, body, b64, key, resp.Body)
		}
	})
}

// FuzzReadOrders: whatever a signed-in client asks of GET /orders/{orderId} and GET
// /orders?limit=&cursor=, the answer is 200, 400 or 404 with a JSON body; never a 5xx, and
// never bob's order (whose id is the first seed).
func FuzzReadOrders(f *testing.F) {
	const bobsOrder = "ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7"
	f.Add(bobsOrder, "10", "")
	f.Add("ORD-", "0", "eyJ0IjoiMjAyNi0wMy0xNFQwOToyNjo1M1oiLCJvIjoiT1JELTEifQ")
	f.Add("../etc/passwd", "101", "%%%")
	f.Add("", "-1", "e30")
	f.Fuzz(func(t *testing.T, orderID, limit, cursor string) {
		fx := newFixture()
		fx.events.events[bobsOrder] = []events.Envelope{placedBy(t, bobsOrder, bob, fx.clock.UTC())}
		get := getOrder(alice, orderID)
		list := request(routeList, alice, "")
		list.QueryStringParameters = map[string]string{"limit": limit, "cursor": cursor}
		for _, req := range []struct {
			name string
			want []int
			resp func() (int, string, error)
		}{
			{"get", []int{http.StatusBadRequest, http.StatusNotFound}, func() (int, string, error) {
				r, err := fx.h.Handle(context.Background(), get)
				return r.StatusCode, r.Body, err
			}},
			{"list", []int{http.StatusOK, http.StatusBadRequest}, func() (int, string, error) {
				r, err := fx.h.Handle(context.Background(), list)
				return r.StatusCode, r.Body, err
			}},
		} {
			status, body, err := req.resp()
			if err != nil {
				t.Fatalf("%s: Handle returned an error to Lambda: %v", req.name, err)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("%s: status %d with a body that is not JSON: %q", req.name, status, body)
			}
			if status != req.want[0] && status != req.want[1] {
				t.Fatalf("%s: status %d (order id %q, limit %q, cursor %q): %s", req.name, status, orderID, limit, cursor, body)
			}
			if strings.Contains(body, bob) {
				t.Fatalf("%s: bob's order shown to alice: %s", req.name, body)
			}
		}
	})
}
