package order_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

const orderID = "ORD-7c9e6679-7425-40de-944b-e07fc1f90ae7"

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// history builds an order's events the way the system does: OrderPlaced (v1 or v2) from the
// API, then each step emitted through workflow.State, so Fold is tested on real histories.
type history struct {
	t      *testing.T
	placed events.Envelope
	state  *workflow.State
	evs    []events.Envelope
}

func placedV2(t *testing.T) *history {
	t.Helper()
	p := events.OrderPlacedV2{
		OrderID: orderID, CustomerID: "cust-1001", Currency: "USD", PaymentToken: "tok_visa", TotalCents: 2*4999 + 1299,
		Items: []events.Item{
			{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
			{SKU: "SKU-002", Name: "Merino socks", Quantity: 1, UnitPriceCents: 1299},
		},
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 2, Source: events.SourceOrders, OrderID: orderID, Sequence: 1, Payload: p, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	return newHistory(t, e)
}

func placedV1(t *testing.T) *history {
	t.Helper()
	p := events.OrderPlacedV1{
		OrderID: orderID, CustomerID: "cust-2002", PaymentToken: "tok_declined", TotalCents: 3499,
		Items: []events.ItemV1{{SKU: "SKU-003", Quantity: 1, UnitPriceCents: 3499}},
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 1, Source: events.SourceOrders, OrderID: orderID, Sequence: 1, Payload: p, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	return newHistory(t, e)
}

func newHistory(t *testing.T, placed events.Envelope) *history {
	s, err := workflow.Start(placed)
	if err != nil {
		t.Fatal(err)
	}
	return &history{t: t, placed: placed, state: s, evs: []events.Envelope{placed}}
}

func (h *history) emit(typ events.Type, payload any) *history {
	h.t.Helper()
	h.state.ClearEntries()
	at := t0.Add(time.Duration(h.state.Sequence) * time.Second)
	if err := h.state.Emit("orders", typ, payload, at); err != nil {
		h.t.Fatal(err)
	}
	e, err := events.Parse([]byte(h.state.Entries[0].Detail))
	if err != nil {
		h.t.Fatal(err)
	}
	h.evs = append(h.evs, e)
	return h
}

func (h *history) lines() []events.StockLine {
	var out []events.StockLine
	for _, it := range h.state.Order.Items {
		out = append(out, events.StockLine{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

func (h *history) reserved() *history {
	return h.emit(events.TypeInventoryReserved, events.InventoryReserved{OrderID: orderID, Items: h.lines()})
}

func (h *history) released(reason string) *history {
	return h.emit(events.TypeInventoryReleased, events.InventoryReleased{OrderID: orderID, Items: h.lines(), Reason: reason})
}

func (h *history) approved() *history {
	return h.emit(events.TypePaymentApproved, events.PaymentApproved{OrderID: orderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", AmountCents: h.state.Order.TotalCents})
}

func (h *history) declined() *history {
	return h.emit(events.TypePaymentDeclined, events.PaymentDeclined{OrderID: orderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", Reason: "card-declined"})
}

func (h *history) refunded() *history {
	return h.emit(events.TypePaymentRefunded, events.PaymentRefunded{OrderID: orderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", AmountCents: h.state.Order.TotalCents, Reason: events.ReasonFulfilmentFailed})
}

func (h *history) confirmed() *history {
	return h.emit(events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: orderID, TotalCents: h.state.Order.TotalCents})
}

func (h *history) shipped() *history {
	return h.emit(events.TypeOrderShipped, events.OrderShipped{OrderID: orderID, ShipmentID: "9b1d2c3e-4f5a-5b6c-8d7e-0f1a2b3c4d5e", Carrier: "ACME Parcel"})
}

func (h *history) cancelled(reason string) *history {
	return h.emit(events.TypeOrderCancelled, events.OrderCancelled{OrderID: orderID, Reason: reason})
}

func types(o order.Order) []events.Type {
	var out []events.Type
	for _, r := range o.Events {
		out = append(out, r.Type)
	}
	return out
}

func TestFold(t *testing.T) {
	T := struct{ placed, reserved, released, approved, declined, refunded, confirmed, shipped, cancelled events.Type }{
		events.TypeOrderPlaced, events.TypeInventoryReserved, events.TypeInventoryReleased, events.TypePaymentApproved,
		events.TypePaymentDeclined, events.TypePaymentRefunded, events.TypeOrderConfirmed, events.TypeOrderShipped, events.TypeOrderCancelled,
	}
	cases := []struct {
		name       string
		evs        func(t *testing.T) []events.Envelope
		wantStatus order.Status
		wantReason string
		wantTypes  []events.Type
	}{
		{"placed", func(t *testing.T) []events.Envelope { return placedV2(t).evs }, order.StatusPlaced, "", []events.Type{T.placed}},
		{"reserved, awaiting payment", func(t *testing.T) []events.Envelope { return placedV2(t).reserved().evs },
			order.StatusPlaced, "", []events.Type{T.placed, T.reserved}},
		{"confirmed", func(t *testing.T) []events.Envelope { return placedV2(t).reserved().approved().confirmed().evs },
			order.StatusConfirmed, "", []events.Type{T.placed, T.reserved, T.approved, T.confirmed}},
		{"approved path: shipped", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().shipped().evs
		}, order.StatusShipped, "", []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.shipped}},
		{"declined path", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().declined().released(events.ReasonPaymentDeclined).cancelled(events.ReasonPaymentDeclined).evs
		}, order.StatusCancelled, events.ReasonPaymentDeclined, []events.Type{T.placed, T.reserved, T.declined, T.released, T.cancelled}},
		{"out of stock", func(t *testing.T) []events.Envelope { return placedV2(t).cancelled(events.ReasonOutOfStock).evs },
			order.StatusCancelled, events.ReasonOutOfStock, []events.Type{T.placed, T.cancelled}},
		{"compensated before reserving", func(t *testing.T) []events.Envelope {
			return placedV2(t).cancelled(events.ReasonFulfilmentFailed).evs
		}, order.StatusCancelled, events.ReasonFulfilmentFailed, []events.Type{T.placed, T.cancelled}},
		{"compensated after reserving", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().released(events.ReasonFulfilmentFailed).cancelled(events.ReasonFulfilmentFailed).evs
		}, order.StatusCancelled, events.ReasonFulfilmentFailed, []events.Type{T.placed, T.reserved, T.released, T.cancelled}},
		{"compensated after confirming (shipping failed)", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().released(events.ReasonFulfilmentFailed).cancelled(events.ReasonFulfilmentFailed).evs
		}, order.StatusCancelled, events.ReasonFulfilmentFailed, []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.released, T.cancelled}},
		{"refunded and compensated after confirming (the carrier refused it)", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().refunded().released(events.ReasonFulfilmentFailed).cancelled(events.ReasonFulfilmentFailed).evs
		}, order.StatusCancelled, events.ReasonFulfilmentFailed, []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.refunded, T.released, T.cancelled}},
		{"refunded, not cancelled yet: still confirmed", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().refunded().evs
		}, order.StatusConfirmed, "", []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.refunded}},
		{"refund path shuffled and duplicated", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().refunded().released(events.ReasonFulfilmentFailed).cancelled(events.ReasonFulfilmentFailed).evs
			return []events.Envelope{evs[6], evs[4], evs[0], evs[4], evs[2], evs[5], evs[1], evs[3], evs[6]}
		}, order.StatusCancelled, events.ReasonFulfilmentFailed, []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.refunded, T.released, T.cancelled}},
		{"shuffled", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().shipped().evs
			return []events.Envelope{evs[3], evs[0], evs[4], evs[2], evs[1]}
		}, order.StatusShipped, "", []events.Type{T.placed, T.reserved, T.approved, T.confirmed, T.shipped}},
		{"duplicates (at-least-once delivery)", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().evs
			return append(append([]events.Envelope{evs[3]}, evs...), evs[1], evs[0], evs[3])
		}, order.StatusConfirmed, "", []events.Type{T.placed, T.reserved, T.approved, T.confirmed}},
		{"a retried task re-emitted an event later", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().evs
			again := evs[1]
			again.Time = again.Time.Add(3 * time.Second)
			again.Payload = append([]byte(" "), again.Payload...) // other bytes, same JSON
			return append(evs, again)
		}, order.StatusPlaced, "", []events.Type{T.placed, T.reserved, T.approved}},
		{"gap: only the contiguous prefix applies", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().shipped().evs
			return []events.Envelope{evs[0], evs[1], evs[3], evs[4]} // 3 not arrived yet
		}, order.StatusPlaced, "", []events.Type{T.placed, T.reserved}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := tc.evs(t)
			o, err := order.Fold(evs)
			if err != nil {
				t.Fatalf("Fold: %v", err)
			}
			if o.Status != tc.wantStatus || o.Reason != tc.wantReason {
				t.Errorf("status %s reason %q; want %s %q", o.Status, o.Reason, tc.wantStatus, tc.wantReason)
			}
			if got := types(o); !slices.Equal(got, tc.wantTypes) {
				t.Errorf("applied %v, want %v", got, tc.wantTypes)
			}
			for i, r := range o.Events {
				if r.Sequence != i+1 || r.ID != events.ID(orderID, i+1) || r.Time.IsZero() {
					t.Errorf("Events[%d] = %+v", i, r)
				}
			}
			if o.Version != len(tc.wantTypes) {
				t.Errorf("Version = %d, want %d", o.Version, len(tc.wantTypes))
			}
			if o.OrderID != orderID || o.CustomerID != "cust-1001" || o.TotalCents != 11297 || o.Currency != "USD" || len(o.Items) != 2 || o.Items[0].Name != "Trail running shoes" {
				t.Errorf("order = %+v", o)
			}
		})
	}
}

func TestFoldUpcastsV1(t *testing.T) {
	h := placedV1(t).reserved().declined().released(events.ReasonPaymentDeclined).cancelled(events.ReasonPaymentDeclined)
	o, err := order.Fold(h.evs)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.StatusCancelled || o.Currency != "USD" || o.CustomerID != "cust-2002" || o.TotalCents != 3499 {
		t.Errorf("order = %+v", o)
	}
	if want := (events.Item{SKU: "SKU-003", Quantity: 1, UnitPriceCents: 3499}); len(o.Items) != 1 || o.Items[0] != want {
		t.Errorf("items = %+v, want [%+v]", o.Items, want)
	}
}

func TestFoldDoesNotModifyInput(t *testing.T) {
	evs := placedV2(t).reserved().approved().evs
	in := []events.Envelope{evs[2], evs[0], evs[1]}
	if _, err := order.Fold(in); err != nil {
		t.Fatal(err)
	}
	if in[0].Sequence != 3 || in[1].Sequence != 1 {
		t.Error("Fold sorted its argument in place")
	}
}

func TestFoldRejects(t *testing.T) {
	cases := []struct {
		name string
		evs  func(t *testing.T) []events.Envelope
		want error
	}{
		{"no events", func(*testing.T) []events.Envelope { return nil }, order.ErrNotFound},
		{"no sequence 1 yet", func(t *testing.T) []events.Envelope { return placedV2(t).reserved().approved().evs[1:] }, order.ErrNotFound},
		{"conflict: two events claim sequence 3", func(t *testing.T) []events.Envelope {
			a := placedV2(t).reserved().approved().evs
			b := placedV2(t).reserved().declined().evs
			return append(a, b[2])
		}, order.ErrConflict},
		{"conflict: same type, other payload", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().evs
			other := evs[3]
			other.Payload = []byte(`{"orderId":"` + orderID + `","totalCents":1}`)
			return append(evs, other)
		}, order.ErrConflict},
		{"conflict: amounts that differ past 2^53 (equal as float64)", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().approved().confirmed().evs
			a, b := evs[3], evs[3]
			a.Payload = []byte(`{"orderId":"` + orderID + `","totalCents":9007199254740992}`)
			b.Payload = []byte(`{"orderId":"` + orderID + `","totalCents":9007199254740993}`)
			return append(evs[:3], a, b)
		}, order.ErrConflict},
		{"conflict: a foreign id at a sequence", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().evs
			other := evs[1]
			other.ID = "00000000-0000-5000-8000-000000000000"
			return append(evs, other)
		}, order.ErrConflict},
		{"conflict after a gap", func(t *testing.T) []events.Envelope {
			a := placedV2(t).reserved().approved().confirmed().evs
			b := placedV2(t).reserved().approved().cancelled(events.ReasonFulfilmentFailed).evs
			return []events.Envelope{a[0], a[3], b[3]}
		}, order.ErrConflict},
		{"first event is not OrderPlaced", func(t *testing.T) []events.Envelope {
			e := placedV2(t).reserved().evs[1]
			e.Sequence = 1
			return []events.Envelope{e}
		}, order.ErrCorrupt},
		{"OrderPlaced again", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().evs
			again := evs[0]
			again.Sequence, again.ID = 3, events.ID(orderID, 3)
			return append(evs, again)
		}, order.ErrCorrupt},
		{"event of another order", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().evs
			evs[1].OrderID = "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca427"
			return evs
		}, order.ErrCorrupt},
		{"event after shipped", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().shipped().cancelled(events.ReasonFulfilmentFailed).evs
		}, order.ErrCorrupt},
		{"event after cancelled", func(t *testing.T) []events.Envelope {
			return placedV2(t).cancelled(events.ReasonOutOfStock).reserved().evs
		}, order.ErrCorrupt},
		{"shipped before confirmed", func(t *testing.T) []events.Envelope { return placedV2(t).reserved().shipped().evs }, order.ErrCorrupt},
		{"confirmed twice", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().confirmed().evs
		}, order.ErrCorrupt},
		{"refund without an approved payment", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().refunded().evs
		}, order.ErrCorrupt},
		{"refund after a decline", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().declined().refunded().evs
		}, order.ErrCorrupt},
		{"refunded twice", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().refunded().refunded().evs
		}, order.ErrCorrupt},
		{"shipped after the refund", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().confirmed().refunded().shipped().evs
		}, order.ErrCorrupt},
		{"confirmed without a payment", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().confirmed().evs
		}, order.ErrCorrupt},
		{"confirmed after a decline", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().declined().confirmed().evs
		}, order.ErrCorrupt},
		{"confirmed after the refund", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().refunded().confirmed().evs
		}, order.ErrCorrupt},
		{"approved twice (analytics would count it twice)", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().approved().evs
		}, order.ErrCorrupt},
		{"approved after a decline", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().declined().approved().evs
		}, order.ErrCorrupt},
		{"declined after an approval", func(t *testing.T) []events.Envelope {
			return placedV2(t).reserved().approved().declined().evs
		}, order.ErrCorrupt},
		{"unknown type", func(t *testing.T) []events.Envelope {
			evs := placedV2(t).reserved().evs
			evs[1].Type = "OrderTeleported"
			return evs
		}, order.ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := order.Fold(tc.evs(t))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Fold = %+v, %v; want %v", o, err, tc.want)
			}
		})
	}
}

// TestFoldKnowsEveryRegisteredType: the fold derives statuses and the end of an order from the
// event registry, so a type added there is folded without an edit here. Each registered type
// (its sample) after a paid, confirmed order either applies and sets the status the registry
// names, or is refused by a rule of the fold's own, never as an unknown type; a type that ends
// an order leaves it Final, and nothing may follow it.
func TestFoldKnowsEveryRegisteredType(t *testing.T) {
	prefix := []events.Type{events.TypeInventoryReserved, events.TypePaymentApproved, events.TypeOrderConfirmed}
	for _, info := range events.Registry() {
		if info.Type == events.TypeOrderPlaced {
			continue // sequence 1 only: every history here starts with it
		}
		t.Run(string(info.Type), func(t *testing.T) {
			evs := []events.Envelope{fixture.Placed(t, orderID, "tok_visa")}
			for _, typ := range prefix {
				evs = append(evs, fixture.Sample(t, typ, orderID, len(evs)+1))
			}
			before, err := order.Fold(evs)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, fixture.Sample(t, info.Type, orderID, len(evs)+1))
			o, err := order.Fold(evs)
			if err != nil {
				if strings.Contains(err.Error(), "unknown event type") {
					t.Fatalf("the fold does not know %s: %v (functions/internal/order/fold.go)", info.Type, err)
				}
				if !errors.Is(err, order.ErrCorrupt) {
					t.Fatalf("Fold = %v, want a rule's ErrCorrupt", err)
				}
				return // refused by a rule of its own (e.g. a second OrderConfirmed)
			}
			want := before.Status
			if info.Status != "" {
				want = order.Status(info.Status)
			}
			if o.Status != want || o.Status.Final() != info.EndsOrder {
				t.Fatalf("after %s: status %s (final %v), want %s (final %v)", info.Type, o.Status, o.Status.Final(), want, info.EndsOrder)
			}
			if info.EndsOrder {
				after := append(evs, fixture.Sample(t, events.TypeInventoryReleased, orderID, len(evs)+1))
				if _, err := order.Fold(after); !errors.Is(err, order.ErrCorrupt) {
					t.Fatalf("an event after %s: Fold = %v, want ErrCorrupt", info.Type, err)
				}
			}
		})
	}
}
