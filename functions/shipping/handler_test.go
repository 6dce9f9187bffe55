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

// fakeShipments keeps the first shipment per order, as the conditional put does.
type fakeShipments struct {
	stored map[string]store.Shipment
	calls  int
	err    error
}

func (f *fakeShipments) Record(_ context.Context, sh store.Shipment) (store.Shipment, error) {
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
