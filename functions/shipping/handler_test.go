package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// fakeShipments keeps the first shipment or seal per order, as the conditional put does.
type fakeShipments struct {
	stored map[string]store.Shipment
	calls  int
	err    error
}

func (f *fakeShipments) Record(_ context.Context, sh store.Shipment) (store.Shipment, error) {
	held, err := f.putOnce(sh)
	if err == nil && held.Sealed {
		return held, store.ErrConflict
	}
	return held, err
}

func (f *fakeShipments) Seal(_ context.Context, orderID string, at time.Time) (store.Shipment, error) {
	return f.putOnce(store.Shipment{OrderID: orderID, CreatedAt: at, Sealed: true})
}

func (f *fakeShipments) putOnce(sh store.Shipment) (store.Shipment, error) {
	f.calls++
	if f.err != nil {
		return store.Shipment{}, f.err
	}
	if old, ok := f.stored[sh.OrderID]; ok {
		return old, nil
	}
	f.stored[sh.OrderID] = sh
	return sh, nil
}

func newTestHandler(s shipmentStore) *Handler {
	h := newHandler("orders", s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.now = func() time.Time { return fixture.Now }
	return h
}

// approvedState is the state after payment approved the order (last event: OrderConfirmed #4).
func approvedState(t *testing.T, orderID string) *workflow.State {
	t.Helper()
	st, err := workflow.Start(fixture.Placed(t, orderID, "tok_visa"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		typ events.Type
		p   any
	}{
		{events.TypeInventoryReserved, events.InventoryReserved{OrderID: orderID, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}},
		{events.TypePaymentApproved, events.PaymentApproved{OrderID: orderID, PaymentID: ShipmentID("x"), AmountCents: 4999}},
		{events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: orderID, TotalCents: 4999}},
	} {
		if err := st.Emit("orders", e.typ, e.p, fixture.Now); err != nil {
			t.Fatal(err)
		}
	}
	st.Outcome = workflow.OutcomeApproved
	return st
}

func TestShip(t *testing.T) {
	id := fixture.OrderID(1)
	f := &fakeShipments{stored: map[string]store.Shipment{}}
	h := newTestHandler(f)
	req := func() Request {
		return Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: approvedState(t, id)}}
	}
	first, err := h.Handle(context.Background(), req())
	if err != nil {
		t.Fatal(err)
	}
	h.now = func() time.Time { return fixture.Now.Add(time.Minute) } // a retry, later
	second, err := h.Handle(context.Background(), req())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.stored) != 1 {
		t.Fatalf("shipments = %v", f.stored)
	}
	st := first.State
	if st.Outcome != workflow.OutcomeShipped || st.ShipmentID != ShipmentID(id) || second.State.ShipmentID != st.ShipmentID {
		t.Errorf("state = %+v", st)
	}
	if len(st.Entries) != 1 || len(second.State.Entries) != 1 {
		t.Fatalf("entries = %+v", st.Entries)
	}
	e, err := events.Parse([]byte(st.Entries[0].Detail))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := events.Parse([]byte(second.State.Entries[0].Detail))
	if e.Type != events.TypeOrderShipped || e.Sequence != 5 || e.ID != events.ID(id, 5) || e.CausationID != events.ID(id, 4) || again.ID != e.ID {
		t.Errorf("event = %+v", e)
	}
	p, err := events.DecodePayload[events.OrderShipped](e)
	if err != nil || p.Carrier != "ACME Parcel" || p.ShipmentID != ShipmentID(id) {
		t.Errorf("payload = %+v (%v)", p, err)
	}
}

func TestShipErrors(t *testing.T) {
	id := fixture.OrderID(2)
	declined := approvedState(t, id)
	declined.Outcome = workflow.OutcomeDeclined
	dangerous := approvedState(t, id)
	dangerous.Order.Items = append(dangerous.Order.Items, events.Item{SKU: "SKU-451", Name: "Camping gas canister", Quantity: 1, UnitPriceCents: 899})
	tests := []struct {
		name     string
		req      Request
		storeErr error
		wantType string
	}{
		{name: "unknown action", req: Request{Action: "reserve", Doc: workflow.Doc{State: approvedState(t, id)}}, wantType: "InvalidInputError"},
		{name: "no state", req: Request{Action: "ship"}, wantType: "InvalidInputError"},
		{name: "not approved", req: Request{Action: "ship", Doc: workflow.Doc{State: declined}}, wantType: "InvalidInputError"},
		{name: "table throttled", req: Request{Action: "ship", Doc: workflow.Doc{State: approvedState(t, id)}}, storeErr: errors.New("throttled"), wantType: "TransientError"},
		{name: "dangerous goods refused", req: Request{Action: "ship", Doc: workflow.Doc{State: dangerous}}, wantType: "ShipmentRefusedError"},
		{name: "seal: no state", req: Request{Action: "seal"}, wantType: "InvalidInputError"},
		{name: "seal: not approved", req: Request{Action: "seal", Doc: workflow.Doc{State: declined}}, wantType: "InvalidInputError"},
		{name: "seal: table throttled", req: Request{Action: "seal", Doc: workflow.Doc{State: approvedState(t, id)}}, storeErr: errors.New("throttled"), wantType: "TransientError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeShipments{stored: map[string]store.Shipment{}, err: tc.storeErr}
			_, err := newTestHandler(f).Handle(context.Background(), tc.req)
			if err == nil {
				t.Fatal("no error")
			}
			if got := reflect.TypeOf(err).Elem().Name(); got != tc.wantType {
				t.Errorf("errorType = %q (%v), want %q", got, err, tc.wantType)
			}
			if tc.storeErr == nil && f.calls != 0 {
				t.Errorf("shipped despite invalid input")
			}
			var refused *ShipmentRefusedError
			if errors.As(err, &refused) && !strings.Contains(err.Error(), "SKU-451") {
				t.Errorf("refusal %q does not name the item", err)
			}
		})
	}
}

// Before a compensation refunds an approved order, the seal closes it to shipping: the state
// comes back as it was (the refund goes on, its events unpublished kept), and a ShipOrder that
// runs after it (a late retry, a Lambda that outlived its execution) books nothing and fails
// for good. A shipment booked before the seal wins: the order ships instead of being refunded.
func TestSeal(t *testing.T) {
	ctx := context.Background()
	id := fixture.OrderID(3)
	doc := func(st *workflow.State) workflow.Doc {
		return workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: st, Error: &workflow.TaskError{Error: "States.Timeout"}}
	}

	t.Run("nothing shipped: sealed, then a late ship is refused", func(t *testing.T) {
		f := &fakeShipments{stored: map[string]store.Shipment{}}
		h := newTestHandler(f)
		before := approvedState(t, id) // PaymentApproved and OrderConfirmed not published yet
		out, err := h.Handle(ctx, Request{Action: "seal", Doc: doc(approvedState(t, id))})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(out.State, before) {
			t.Errorf("sealed state changed:\n got %+v\nwant %+v", out.State, before)
		}
		if !f.stored[id].Sealed {
			t.Fatalf("stored %+v, want a seal", f.stored[id])
		}
		if out, err := h.Handle(ctx, Request{Action: "seal", Doc: doc(approvedState(t, id))}); err != nil || !reflect.DeepEqual(out.State, before) {
			t.Errorf("seal again: %+v, %v", out.State, err)
		}
		_, err = h.Handle(ctx, Request{Action: "ship", Doc: doc(approvedState(t, id))})
		if got := reflect.TypeOf(err); got == nil || got.Elem().Name() != "InvalidInputError" || !errors.Is(err, store.ErrConflict) {
			t.Errorf("ship after the seal: %T %v, want an InvalidInputError (not retried)", err, err)
		}
		if !f.stored[id].Sealed {
			t.Errorf("ship after the seal stored %+v", f.stored[id])
		}
	})

	t.Run("shipped first: ships instead of refunding", func(t *testing.T) {
		f := &fakeShipments{stored: map[string]store.Shipment{}}
		h := newTestHandler(f)
		shipped, err := h.Handle(ctx, Request{Action: "ship", Doc: doc(approvedState(t, id))}) // its result was lost
		if err != nil {
			t.Fatal(err)
		}
		st := approvedState(t, id)
		st.Published = &workflow.PublishResult{} // PaymentApproved and OrderConfirmed went out
		out, err := h.Handle(ctx, Request{Action: "seal", Doc: doc(st)})
		if err != nil {
			t.Fatal(err)
		}
		if out.State.Outcome != workflow.OutcomeShipped || out.State.ShipmentID != ShipmentID(id) || f.stored[id].Sealed {
			t.Errorf("state %+v, stored %+v; want shipped", out.State, f.stored[id])
		}
		if len(out.State.Entries) != 1 || out.State.Entries[0].Detail != shipped.State.Entries[0].Detail {
			t.Errorf("entries %+v, want the OrderShipped ShipOrder emitted", out.State.Entries)
		}

		unpublished, err := h.Handle(ctx, Request{Action: "seal", Doc: doc(approvedState(t, id))})
		if err != nil {
			t.Fatal(err)
		}
		var types []events.Type
		for _, e := range unpublished.State.Entries {
			types = append(types, events.Type(e.DetailType))
		}
		if want := []events.Type{events.TypeInventoryReserved, events.TypePaymentApproved, events.TypeOrderConfirmed, events.TypeOrderShipped}; !reflect.DeepEqual(types, want) {
			t.Errorf("entries %v, want the unpublished ones, then OrderShipped: %v", types, want)
		}
	})
}
