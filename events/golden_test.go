package events_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// go test ./events -run TestGolden -update rewrites events/samples from goldenEvents.
var update = flag.Bool("update", false, "rewrite events/samples/*.json from the Go values")

const (
	orderA = "ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7" // approved and shipped
	orderB = "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca427" // v1 OrderPlaced, payment declined
	orderC = "ORD-3d9a0c1e-8b2f-4e6d-a5c7-9f1e2d3b4a56" // v2 OrderPlaced, approved, then the carrier refused it: refunded
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// golden is one sample: the Go payload value and the envelope fields around it.
type golden struct {
	t           events.Type
	version     int
	orderID     string
	seq         int
	causationID string
	payload     any // a value (not a pointer) of the payload struct
	at          time.Time
	decode      func(events.Envelope) (any, error) // DecodePayload into payload's type
}

// goldenOf makes a sample whose decode is DecodePayload of its payload's own type, so that a new
// payload type needs no decoder written for it.
func goldenOf[P any](t events.Type, version int, orderID string, seq int, causationID string, payload P, at time.Time) golden {
	decode := func(e events.Envelope) (any, error) { return events.DecodePayload[P](e) }
	return golden{t, version, orderID, seq, causationID, payload, at, decode}
}

// goldenEvents are the samples, one per type and version: order A (placed with v3, the
// version the API emits) on the happy path, order B (placed with v1) declined, order C
// (placed with v2) refunded after its shipment failed.
func goldenEvents() []golden {
	idA := events.ID(orderA, 1)
	return []golden{
		goldenOf(events.TypeOrderPlaced, 3, orderA, 1, "", events.OrderPlacedV3{
			OrderID: orderA, CustomerID: "5b3c1f2e-8d4a-4c6b-9e7f-1a2b3c4d5e6f", Currency: "USD", TotalCents: 2*4999 + 1299,
			Items: []events.Item{
				{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
				{SKU: "SKU-002", Name: "Merino socks", Quantity: 1, UnitPriceCents: 1299},
			},
			PaymentIntentID: "pi_8f14e45fceea167a5a36dedd4bea2543",
		}, t0),
		goldenOf(events.TypeInventoryReserved, 1, orderA, 2, idA, events.InventoryReserved{
			OrderID: orderA, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 1}},
		}, t0.Add(412*time.Millisecond)),
		goldenOf(events.TypePaymentApproved, 1, orderA, 3, events.ID(orderA, 2), events.PaymentApproved{
			OrderID: orderA, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", AmountCents: 2*4999 + 1299,
		}, t0.Add(1530*time.Millisecond)),
		goldenOf(events.TypeOrderConfirmed, 1, orderA, 4, events.ID(orderA, 3), events.OrderConfirmed{
			OrderID: orderA, TotalCents: 2*4999 + 1299,
		}, t0.Add(1530*time.Millisecond)),
		goldenOf(events.TypeOrderShipped, 1, orderA, 5, events.ID(orderA, 4), events.OrderShipped{
			OrderID: orderA, ShipmentID: "9b1d2c3e-4f5a-5b6c-8d7e-0f1a2b3c4d5e", Carrier: "ACME Parcel",
		}, t0.Add(2204*time.Millisecond)),
		goldenOf(events.TypeOrderPlaced, 1, orderB, 1, "", events.OrderPlacedV1{
			OrderID: orderB, CustomerID: "cust-2002", PaymentToken: "tok_declined", TotalCents: 3499,
			Items: []events.ItemV1{{SKU: "SKU-003", Quantity: 1, UnitPriceCents: 3499}},
		}, t0.Add(time.Hour)),
		goldenOf(events.TypePaymentDeclined, 1, orderB, 3, events.ID(orderB, 2), events.PaymentDeclined{
			OrderID: orderB, PaymentID: "c56a4180-65aa-52ec-a945-5fd21dec0538", Reason: "card-declined",
		}, t0.Add(time.Hour+1200*time.Millisecond)),
		goldenOf(events.TypeInventoryReleased, 1, orderB, 4, events.ID(orderB, 3), events.InventoryReleased{
			OrderID: orderB, Items: []events.StockLine{{SKU: "SKU-003", Quantity: 1}}, Reason: events.ReasonPaymentDeclined,
		}, t0.Add(time.Hour+1650*time.Millisecond)),
		goldenOf(events.TypeOrderCancelled, 1, orderB, 5, events.ID(orderB, 4), events.OrderCancelled{
			OrderID: orderB, Reason: events.ReasonPaymentDeclined,
		}, t0.Add(time.Hour+1650*time.Millisecond)),
		goldenOf(events.TypeOrderPlaced, 2, orderC, 1, "", events.OrderPlacedV2{
			OrderID: orderC, CustomerID: "cust-3003", Currency: "USD", PaymentToken: "tok_visa", TotalCents: 899,
			Items: []events.Item{{SKU: "SKU-451", Name: "Camping gas canister", Quantity: 1, UnitPriceCents: 899}},
		}, t0.Add(2*time.Hour)),
		goldenOf(events.TypePaymentRefunded, 1, orderC, 5, events.ID(orderC, 4), events.PaymentRefunded{
			OrderID: orderC, PaymentID: "5e0b7c2a-1d4f-5a9e-b3c8-7f6a2e1d0c94", AmountCents: 899, Reason: events.ReasonFulfilmentFailed,
		}, t0.Add(2*time.Hour+2750*time.Millisecond)),
	}
}

func (g golden) correlationID() string {
	if g.seq == 1 {
		return ""
	}
	return events.ID(g.orderID, 1)
}

// spec is what New makes g's envelope from.
func (g golden) spec() events.Spec {
	return events.Spec{Type: g.t, Version: g.version, OrderID: g.orderID, Sequence: g.seq, CorrelationID: g.correlationID(), CausationID: g.causationID, Payload: g.payload, Time: g.at}
}

func (g golden) build(t *testing.T) events.Envelope {
	t.Helper()
	e, err := events.New(g.spec())
	if err != nil {
		t.Fatalf("New %s v%d: %v", g.t, g.version, err)
	}
	return e
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestGolden: each Go value, enveloped and marshalled, is byte for byte its sample; each
// sample parses and decodes back into the same Go value and the same bytes.
func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range goldenEvents() {
		key := fmt.Sprintf("%s.v%d", g.t, g.version)
		seen[key] = true
		t.Run(key, func(t *testing.T) {
			e := g.build(t)
			got := indent(t, e)
			path := filepath.Join("samples", key+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := events.Sample(g.t, g.version)
			if !bytes.Equal(got, want) {
				t.Fatalf("marshalled %s differs from %s (run with -update if the change is intended)\ngot:\n%s\nwant:\n%s", key, path, got, want)
			}

			parsed, err := events.Parse(want)
			if err != nil {
				t.Fatalf("Parse(sample): %v", err)
			}
			if !reflect.DeepEqual(normalise(t, parsed), normalise(t, e)) {
				t.Errorf("Parse(sample) = %+v, want %+v", parsed, e)
			}
			decoded, err := g.decode(parsed)
			if err != nil {
				t.Fatalf("DecodePayload[%T]: %v", g.payload, err)
			}
			if !reflect.DeepEqual(decoded, g.payload) {
				t.Errorf("DecodePayload = %#v, want %#v", decoded, g.payload)
			}
			if again := indent(t, parsed); !bytes.Equal(again, want) {
				t.Errorf("re-marshalled sample differs:\n%s", again)
			}
		})
	}
	for key := range events.Samples() {
		if !seen[key] {
			t.Errorf("sample %s has no golden Go value", key)
		}
	}
}

// normalise compares envelopes as JSON documents (RawMessage spacing aside).
func normalise(t *testing.T, e events.Envelope) any {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
