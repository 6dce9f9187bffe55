package main

import (
	"context"
	"errors"
	"fmt"
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

// fakeShipments keeps the first shipment per order, as the conditional put does, and refuses
// an order that holds a seal (SealShipment's), as Record does.
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
	if old, ok := f.stored[sh.OrderID]; ok && old.Sealed {
		return old, fmt.Errorf("record shipment %s: sealed: %w", sh.OrderID, store.ErrConflict)
	} else if ok {
		return old, nil
	}
	f.stored[sh.OrderID] = sh
	return sh, nil
}

// ledger is the payments ledger as shipping reads it: every order APPROVED but those listed.
type ledger map[string]string

func (l ledger) Get(_ context.Context, orderID string) (store.Payment, error) {
	if status, ok := l[orderID]; ok {
		return store.Payment{OrderID: orderID, Status: status}, nil
	}
	return store.Payment{OrderID: orderID, Status: store.PaymentApproved}, nil
}

func newTestHandler(s shipmentStore) *Handler { return newTestHandlerPaid(s, ledger{}) }

func newTestHandlerPaid(s shipmentStore, l ledger) *Handler {
	h := newHandler("orders", s, l, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.now = func() time.Time { return fixture.Now }
	return h
}

// approvedState is the state after payment approved the order (last event: OrderConfirmed #4),
// its events not yet published.
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
		st := approvedState(t, id)
		st.Published = &workflow.PublishResult{} // by PublishPaymentOutcome
		return Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: st}}
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

// A retry publishes the shipment the table holds, not one it would book now: one stored by an
// earlier deploy (another id scheme, another carrier) is the one the customer is told about.
func TestShipReusesTheStoredShipment(t *testing.T) {
	const oldID = "0b0e6e6a-7d3c-4f6e-9a51-3c2d1e0f9a87" // not ShipmentID(id)
	id := fixture.OrderID(2)
	held := store.Shipment{OrderID: id, ShipmentID: oldID, Carrier: "Old Carrier", CreatedAt: fixture.Now.Add(-time.Hour)}
	f := &fakeShipments{stored: map[string]store.Shipment{id: held}}
	st := approvedState(t, id)
	st.Published = &workflow.PublishResult{}
	out, err := newTestHandler(f).Handle(context.Background(), Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: st}})
	if err != nil {
		t.Fatal(err)
	}
	if out.State.ShipmentID != oldID || len(out.State.Entries) != 1 {
		t.Fatalf("state = %+v, want the stored shipment and one event", out.State)
	}
	e, err := events.Parse([]byte(out.State.Entries[0].Detail))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := events.DecodePayload[events.OrderShipped](e); err != nil || p.ShipmentID != oldID || p.Carrier != "Old Carrier" {
		t.Errorf("OrderShipped = %+v (%v), want the stored shipment by Old Carrier", p, err)
	}
	if f.stored[id] != held {
		t.Errorf("stored shipment = %+v, want %+v kept", f.stored[id], held)
	}
}

// A ship request for an order the ledger has not charged (declined, refunded, never asked: a
// state of someone's making, invoked directly) books no carrier.
func TestShipRequiresTheChargeInTheLedger(t *testing.T) {
	for _, status := range []string{"", store.PaymentDeclined, store.PaymentRefunded, store.PaymentVoided, store.PaymentPending} {
		id := fixture.OrderID(3)
		f := &fakeShipments{stored: map[string]store.Shipment{}}
		h := newTestHandlerPaid(f, ledger{id: status})
		_, err := h.Handle(context.Background(), Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: approvedState(t, id)}})
		var invalid *workflow.InvalidInputError
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "no saga ships it") {
			t.Errorf("payment %q: %v, want an InvalidInputError", status, err)
		}
		if len(f.stored) != 0 {
			t.Errorf("payment %q: shipments %v, want none", status, f.stored)
		}
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

// A compensation seals an approved order against shipping before it refunds it (SealShipment,
// in the state machine): a ShipOrder that runs after the seal (a late retry, a Lambda that
// outlived its execution) books nothing and fails for good. If the shipment was booked first,
// the seal fails and ShipBooked ships the order: the events the state had not published (it
// runs after a Catch) go out ahead of OrderShipped.
func TestShipAroundTheSeal(t *testing.T) {
	ctx := context.Background()
	id := fixture.OrderID(3)
	doc := func(st *workflow.State) workflow.Doc {
		return workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa")), State: st}
	}

	t.Run("sealed first: a late ship is refused", func(t *testing.T) {
		seal := store.Shipment{OrderID: id, CreatedAt: fixture.Now, Sealed: true}
		f := &fakeShipments{stored: map[string]store.Shipment{id: seal}}
		_, err := newTestHandler(f).Handle(ctx, Request{Action: "ship", Doc: doc(approvedState(t, id))})
		if got := reflect.TypeOf(err); got == nil || got.Elem().Name() != "InvalidInputError" || !errors.Is(err, store.ErrConflict) {
			t.Errorf("ship after the seal: %T %v, want an InvalidInputError (not retried)", err, err)
		}
		if f.stored[id] != seal {
			t.Errorf("ship after the seal stored %+v", f.stored[id])
		}
	})

	t.Run("booked first: ShipBooked ships, unpublished events first", func(t *testing.T) {
		f := &fakeShipments{stored: map[string]store.Shipment{}}
		h := newTestHandler(f)
		shipped, err := h.Handle(ctx, Request{Action: "ship", Doc: doc(approvedState(t, id))}) // ShipOrder: its answer was lost
		if err != nil {
			t.Fatal(err)
		}
		again, err := h.Handle(ctx, Request{Action: "ship", Doc: doc(approvedState(t, id))}) // ShipBooked, after a Catch
		if err != nil {
			t.Fatal(err)
		}
		var types []events.Type
		for _, e := range again.State.Entries {
			types = append(types, events.Type(e.DetailType))
		}
		if want := []events.Type{events.TypeInventoryReserved, events.TypePaymentApproved, events.TypeOrderConfirmed, events.TypeOrderShipped}; !reflect.DeepEqual(types, want) {
			t.Errorf("entries %v, want the unpublished ones, then OrderShipped: %v", types, want)
		}
		last := again.State.Entries[len(again.State.Entries)-1]
		if again.State.Outcome != workflow.OutcomeShipped || last.Detail != shipped.State.Entries[len(shipped.State.Entries)-1].Detail {
			t.Errorf("state %+v, want shipped with the very OrderShipped ShipOrder emitted", again.State)
		}

		published := approvedState(t, id)
		published.Published = &workflow.PublishResult{} // PublishPaymentOutcome sent them: ShipOrder's usual input
		out, err := h.Handle(ctx, Request{Action: "ship", Doc: doc(published)})
		if err != nil || len(out.State.Entries) != 1 || out.State.Published != nil {
			t.Errorf("entries %+v (%v), want OrderShipped alone", out.State.Entries, err)
		}
	})
}

// A shipment id is stored with its order's shipment: a retry after a deploy must name the same
// one. So the id of an order never changes.
func TestShipmentIDIsStable(t *testing.T) {
	const id, want = "ORD-00000000-0000-4000-8000-000000000001", "9a394040-912e-512c-97bd-7e6abcf14ef7"
	if got := ShipmentID(id); got != want {
		t.Errorf("ShipmentID(%s) = %s, want %s, as every deploy before this one computed it", id, got, want)
	}
}
