package main

import (
	"context"
	"encoding/json"
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

// fakeLedger keeps stock and reservations in memory with the adapter's semantics (one
// decision per order, all-or-nothing, Release gives back what the reservation holds and
// leaves a tombstone when there is none) and records every call.
type fakeLedger struct {
	stock        map[string]int // absent = initial stock
	reservations map[string]store.ReservationStatus
	held         map[string][]store.Line // the lines each reservation took
	calls        []string
	err          error
}

func newLedger() *fakeLedger {
	return &fakeLedger{stock: map[string]int{}, reservations: map[string]store.ReservationStatus{}, held: map[string][]store.Line{}}
}

func (l *fakeLedger) left(line store.Line) int {
	if n, ok := l.stock[line.SKU]; ok {
		return n
	}
	return line.InitialStock
}

func (l *fakeLedger) Reserve(_ context.Context, orderID string, lines []store.Line) (store.ReservationStatus, error) {
	l.calls = append(l.calls, "reserve "+orderID)
	if l.err != nil {
		return "", l.err
	}
	switch st := l.reservations[orderID]; st {
	case store.Reserved, store.OutOfStock:
		return st, nil
	case store.Released, store.Tombstone:
		return "", store.ErrConflict
	}
	for _, line := range lines {
		if l.left(line) < line.Quantity {
			l.reservations[orderID] = store.OutOfStock
			return store.OutOfStock, nil
		}
	}
	for _, line := range lines {
		l.stock[line.SKU] = l.left(line) - line.Quantity
	}
	l.reservations[orderID] = store.Reserved
	l.held[orderID] = lines
	return store.Reserved, nil
}

func (l *fakeLedger) Release(_ context.Context, orderID string) (store.ReservationStatus, []store.Line, error) {
	l.calls = append(l.calls, "release "+orderID)
	if l.err != nil {
		return "", nil, l.err
	}
	switch st := l.reservations[orderID]; st {
	case store.Reserved:
		for _, line := range l.held[orderID] {
			l.stock[line.SKU] = l.left(line) + line.Quantity
		}
		l.reservations[orderID] = store.Released
		return store.Released, l.held[orderID], nil
	case store.Released:
		return st, l.held[orderID], nil
	case store.NoReservation:
		l.reservations[orderID] = store.Tombstone
		return store.NoReservation, nil, nil
	case store.Tombstone:
		return store.NoReservation, nil, nil
	default:
		return st, nil, nil
	}
}

func newTestHandler(l ledger) *Handler {
	h := newHandler("orders", l, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.now = func() time.Time { return fixture.Now }
	return h
}

// published decodes and validates the entries a task asks the state machine to publish.
func published(t *testing.T, st *workflow.State) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	for _, en := range st.Entries {
		e, err := events.Parse([]byte(en.Detail))
		if err != nil {
			t.Fatalf("entry %s breaks its schema: %v", en.DetailType, err)
		}
		if en.EventBusName != "orders" || en.DetailType != string(e.Type) || en.Source != e.Source {
			t.Errorf("entry = %+v", en)
		}
		out = append(out, e)
	}
	return out
}

type want struct {
	seq    int
	typ    events.Type
	reason string // OrderCancelled / InventoryReleased reason
}

func checkEvents(t *testing.T, got []events.Envelope, orderID string, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		e := got[i]
		if e.Type != w.typ || e.Sequence != w.seq || e.ID != events.ID(orderID, w.seq) ||
			e.CausationID != events.ID(orderID, w.seq-1) || e.CorrelationID != events.ID(orderID, 1) {
			t.Errorf("event %d = %s #%d (id %s causation %s), want %s #%d", i, e.Type, e.Sequence, e.ID, e.CausationID, w.typ, w.seq)
		}
		var p struct {
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Reason != w.reason {
			t.Errorf("%s reason = %q, want %q", e.Type, p.Reason, w.reason)
		}
	}
}

func errorType(err error) string {
	if err == nil {
		return ""
	}
	return reflect.TypeOf(err).Elem().Name() // as aws-lambda-go names it
}

// stateAfter builds the state the state machine carries after reserve (and payment).
func stateAfter(t *testing.T, placed events.Envelope, outcome string) *workflow.State {
	t.Helper()
	st, err := workflow.Start(placed)
	if err != nil {
		t.Fatal(err)
	}
	emit := func(typ events.Type, p any) {
		if err := st.Emit("orders", typ, p, fixture.Now); err != nil {
			t.Fatal(err)
		}
	}
	id := placed.OrderID
	emit(events.TypeInventoryReserved, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}})
	st.Outcome = workflow.OutcomeReserved
	switch outcome {
	case workflow.OutcomeDeclined:
		st.ClearEntries()
		emit(events.TypePaymentDeclined, events.PaymentDeclined{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", Reason: "card-declined"})
		st.Outcome, st.Reason = outcome, "card-declined"
	case workflow.OutcomeApproved:
		st.ClearEntries()
		emit(events.TypePaymentApproved, events.PaymentApproved{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999})
		emit(events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: id, TotalCents: 4999})
		st.Outcome = outcome
	case workflow.OutcomeRefunded:
		st.ClearEntries()
		emit(events.TypePaymentApproved, events.PaymentApproved{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999})
		emit(events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: id, TotalCents: 4999})
		st.ClearEntries()
		emit(events.TypePaymentRefunded, events.PaymentRefunded{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999, Reason: events.ReasonFulfilmentFailed})
		st.Outcome = outcome
	}
	return st
}

// markPublished records, as a Publish state does, that the state's entries are on the bus.
func markPublished(st *workflow.State) *workflow.State {
	st.Published = &workflow.PublishResult{}
	return st
}

func TestReserve(t *testing.T) {
	id := fixture.OrderID(1)
	v1, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 1, Source: events.SourceOrders, OrderID: id, Sequence: 1, Payload: events.OrderPlacedV1{OrderID: id, CustomerID: "c", Items: []events.ItemV1{{SKU: "SKU-003", Quantity: 2, UnitPriceCents: 3499}}, TotalCents: 6998, PaymentToken: "tok_visa"}, Time: fixture.Now})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		event       events.Envelope
		stock       map[string]int
		wantOutcome string
		wantEvents  []want
		wantStock   map[string]int
	}{
		{name: "in stock (table still empty: initial stock)", event: fixture.Placed(t, id, "tok_visa"),
			wantOutcome: workflow.OutcomeReserved, wantEvents: []want{{2, events.TypeInventoryReserved, ""}}, wantStock: map[string]int{"SKU-001": 99}},
		{name: "OrderPlaced v1 is upcast", event: v1,
			wantOutcome: workflow.OutcomeReserved, wantEvents: []want{{2, events.TypeInventoryReserved, ""}}, wantStock: map[string]int{"SKU-003": 3}},
		{name: "one line short: nothing taken, cancelled", stock: map[string]int{"SKU-002": 1},
			event:       fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}, events.Item{SKU: "SKU-002", Quantity: 2, UnitPriceCents: 1299}),
			wantOutcome: workflow.OutcomeOutOfStock, wantEvents: []want{{2, events.TypeOrderCancelled, events.ReasonOutOfStock}}, wantStock: map[string]int{"SKU-002": 1}},
		{name: "never stocked", event: fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-404", Quantity: 1, UnitPriceCents: 19999}),
			wantOutcome: workflow.OutcomeOutOfStock, wantEvents: []want{{2, events.TypeOrderCancelled, events.ReasonOutOfStock}}, wantStock: map[string]int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			for k, v := range tc.stock {
				l.stock[k] = v
			}
			h := newTestHandler(l)
			req := Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, tc.event)}}
			first, err := h.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			// A retried task (same input) gives the same document and takes nothing twice.
			second, err := h.Handle(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("retry changed the output:\n%+v\n%+v", first.State, second.State)
			}
			if !reflect.DeepEqual(l.stock, tc.wantStock) {
				t.Errorf("stock = %v, want %v", l.stock, tc.wantStock)
			}
			st := first.State
			if st.Outcome != tc.wantOutcome || st.Order.Currency != "USD" || st.Order.OrderID != id {
				t.Errorf("state = %+v", st)
			}
			if string(first.Event) != string(req.Event) {
				t.Error("the event is not carried on")
			}
			checkEvents(t, published(t, st), id, tc.wantEvents)
		})
	}
}

func TestReleaseAndCompensate(t *testing.T) {
	id := fixture.OrderID(2)
	placed := fixture.Placed(t, id, "tok_declined")
	// onState is the request for action on the state the order reached at outcome, its events
	// published, with the task error a compensation caught (nil for none). It is a function, as
	// req is: each try of a case gets its own state.
	onState := func(action, outcome string, failed *workflow.TaskError) func() Request {
		return func() Request {
			return Request{Action: action, Doc: workflow.Doc{State: markPublished(stateAfter(t, placed, outcome)), Error: failed}}
		}
	}
	// withoutState is a compensation asked for before the first task kept any state.
	withoutState := func() Request {
		return Request{Action: "compensate", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}
	}
	tests := []struct {
		name       string
		reserved   bool
		req        func() Request
		wantEvents []want
		wantReason string
	}{
		{name: "release after decline", reserved: true,
			req:        onState("release", workflow.OutcomeDeclined, nil),
			wantEvents: []want{{4, events.TypeInventoryReleased, events.ReasonPaymentDeclined}, {5, events.TypeOrderCancelled, events.ReasonPaymentDeclined}}, wantReason: events.ReasonPaymentDeclined},
		{name: "release after the decision's Publish recorded a failed entry", reserved: true,
			req: func() Request {
				st := stateAfter(t, placed, workflow.OutcomeDeclined)
				st.Published = &workflow.PublishResult{FailedEntryCount: 1} // an endpoint that does not fail the task on it
				return Request{Action: "release", Doc: workflow.Doc{State: st}}
			},
			// Which entry failed is not recorded: PaymentDeclined goes out again, ahead of the release.
			wantEvents: []want{{3, events.TypePaymentDeclined, "card-declined"}, {4, events.TypeInventoryReleased, events.ReasonPaymentDeclined}, {5, events.TypeOrderCancelled, events.ReasonPaymentDeclined}}, wantReason: events.ReasonPaymentDeclined},
		{name: "release with nothing reserved",
			req:        onState("release", workflow.OutcomeDeclined, nil),
			wantEvents: []want{{4, events.TypeOrderCancelled, events.ReasonPaymentDeclined}}, wantReason: events.ReasonPaymentDeclined},
		{name: "compensate after ReleaseInventory failed (a declined payment)", reserved: true,
			req:        onState("compensate", workflow.OutcomeDeclined, &workflow.TaskError{Error: "TransientError", Cause: "x"}),
			wantEvents: []want{{4, events.TypeInventoryReleased, events.ReasonPaymentDeclined}, {5, events.TypeOrderCancelled, events.ReasonPaymentDeclined}}, wantReason: events.ReasonPaymentDeclined},
		{name: "compensate after shipping failed", reserved: true,
			req:        onState("compensate", workflow.OutcomeApproved, &workflow.TaskError{Error: "TransientError", Cause: "x"}),
			wantEvents: []want{{5, events.TypeInventoryReleased, events.ReasonFulfilmentFailed}, {6, events.TypeOrderCancelled, events.ReasonFulfilmentFailed}}, wantReason: events.ReasonFulfilmentFailed},
		{name: "compensate after publishing the payment outcome failed", reserved: true,
			req: func() Request {
				return Request{Action: "compensate", Doc: workflow.Doc{State: stateAfter(t, placed, workflow.OutcomeApproved), Error: &workflow.TaskError{Error: "EventBridge.FailedEntry", Cause: "x"}}}
			},
			// PaymentApproved and OrderConfirmed never reached the bus: they go out first, so the
			// order's history has no gap.
			wantEvents: []want{{3, events.TypePaymentApproved, ""}, {4, events.TypeOrderConfirmed, ""}, {5, events.TypeInventoryReleased, events.ReasonFulfilmentFailed}, {6, events.TypeOrderCancelled, events.ReasonFulfilmentFailed}}, wantReason: events.ReasonFulfilmentFailed},
		{name: "compensate after the refund (the carrier refused the order)", reserved: true,
			req:        onState("compensate", workflow.OutcomeRefunded, &workflow.TaskError{Error: "ShipmentRefusedError", Cause: "x"}),
			wantEvents: []want{{6, events.TypeInventoryReleased, events.ReasonFulfilmentFailed}, {7, events.TypeOrderCancelled, events.ReasonFulfilmentFailed}}, wantReason: events.ReasonFulfilmentFailed},
		{name: "compensate after the payment callback timed out (and the refund voided the payment)", reserved: true,
			req: func() Request {
				// RefundPayment's output: a void tells nothing, so its state holds no entries and no
				// Publish state has run since the refund.
				st := markPublished(stateAfter(t, placed, workflow.OutcomeReserved))
				st.KeepUnpublished()
				return Request{Action: "compensate", Doc: workflow.Doc{State: st, Error: &workflow.TaskError{Error: "States.Timeout", Cause: "x"}}}
			},
			wantEvents: []want{{3, events.TypeInventoryReleased, events.ReasonTimedOut}, {4, events.TypeOrderCancelled, events.ReasonTimedOut}}, wantReason: events.ReasonTimedOut},
		{name: "a rescue of an execution that timed out", reserved: true,
			req:        onState("compensate", workflow.OutcomeReserved, &workflow.TaskError{Error: "States.TIMED_OUT", Cause: ""}),
			wantEvents: []want{{3, events.TypeInventoryReleased, events.ReasonTimedOut}, {4, events.TypeOrderCancelled, events.ReasonTimedOut}}, wantReason: events.ReasonTimedOut},
		{name: "compensate without state, reserve had succeeded before timing out", reserved: true,
			req:        withoutState,
			wantEvents: []want{{2, events.TypeInventoryReleased, events.ReasonFulfilmentFailed}, {3, events.TypeOrderCancelled, events.ReasonFulfilmentFailed}}, wantReason: events.ReasonFulfilmentFailed},
		{name: "compensate without state, nothing reserved",
			req:        withoutState,
			wantEvents: []want{{2, events.TypeOrderCancelled, events.ReasonFulfilmentFailed}}, wantReason: events.ReasonFulfilmentFailed},
	}
	// The reservation holds more than the order in the workflow's state (SKU-001 x1): what it
	// holds is what goes back, and what InventoryReleased says.
	held := []store.Line{{SKU: "SKU-001", Quantity: 1}, {SKU: "SKU-042", Quantity: 2}}
	wantItems := []events.StockLine{{SKU: "SKU-001", Quantity: 1}, {SKU: "SKU-042", Quantity: 2}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			if tc.reserved {
				l.reservations[id], l.held[id] = store.Reserved, held
				l.stock["SKU-001"], l.stock["SKU-042"] = 99, 98
			}
			h := newTestHandler(l)
			first, err := h.Handle(context.Background(), tc.req())
			if err != nil {
				t.Fatal(err)
			}
			second, err := h.Handle(context.Background(), tc.req())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("retry changed the output:\n%+v\n%+v", first.State, second.State)
			}
			if tc.reserved && (l.stock["SKU-001"] != 100 || l.stock["SKU-042"] != 100 || l.reservations[id] != store.Released) {
				t.Errorf("stock %v, reservation %s: want one release of what was held", l.stock, l.reservations[id])
			}
			if !tc.reserved && (len(l.stock) != 0 || l.reservations[id] != store.Tombstone) {
				t.Errorf("stock %v, reservation %q: want nothing given back, a tombstone", l.stock, l.reservations[id])
			}
			if first.State.Outcome != workflow.OutcomeCancelled || first.State.Reason != tc.wantReason {
				t.Errorf("outcome %q reason %q", first.State.Outcome, first.State.Reason)
			}
			got := published(t, first.State)
			checkEvents(t, got, id, tc.wantEvents)
			for _, e := range got {
				if e.Type != events.TypeInventoryReleased {
					continue
				}
				p, err := events.DecodePayload[events.InventoryReleased](e)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(p.Items, wantItems) {
					t.Errorf("InventoryReleased items = %+v, want the reservation's %+v", p.Items, wantItems)
				}
			}
		})
	}
}

// A compensation that finds nothing reserved (the first task timed out before reserving)
// leaves a tombstone: the reserve arriving late takes nothing and is not retried.
func TestReserveAfterCompensation(t *testing.T) {
	id := fixture.OrderID(5)
	l := newLedger()
	h := newTestHandler(l)
	placed := fixture.JSON(t, fixture.Placed(t, id, "tok_visa"))
	if _, err := h.Handle(context.Background(), Request{Action: "compensate", Doc: workflow.Doc{Event: placed}}); err != nil {
		t.Fatal(err)
	}
	_, err := h.Handle(context.Background(), Request{Action: "reserve", Doc: workflow.Doc{Event: placed}})
	if got := errorType(err); got != "InvalidInputError" || !errors.Is(err, store.ErrConflict) {
		t.Errorf("late reserve: errorType %q (%v), want InvalidInputError wrapping ErrConflict", got, err)
	}
	if len(l.stock) != 0 || l.reservations[id] != store.Tombstone {
		t.Errorf("stock %v, reservation %q: want nothing taken", l.stock, l.reservations[id])
	}
}

// A compensation after a failed Publish of a final event (out of stock, cancelled, shipped)
// re-emits that event, unchanged, and touches no stock: a shipped order is not cancelled after
// the fact, a cancelled one not released twice.
func TestCompensateFinalStateKeepsItsEntries(t *testing.T) {
	id := fixture.OrderID(3)
	placed := fixture.Placed(t, id, "tok_visa")
	for name, final := range map[string]func(t *testing.T, h *Handler) *workflow.State{
		workflow.OutcomeOutOfStock: func(t *testing.T, h *Handler) *workflow.State {
			doc, err := h.Handle(context.Background(), Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-404", Quantity: 1, UnitPriceCents: 19999}))}})
			if err != nil {
				t.Fatal(err)
			}
			return doc.State
		},
		workflow.OutcomeCancelled: func(t *testing.T, h *Handler) *workflow.State {
			doc, err := h.Handle(context.Background(), Request{Action: "release", Doc: workflow.Doc{State: markPublished(stateAfter(t, placed, workflow.OutcomeDeclined))}})
			if err != nil {
				t.Fatal(err)
			}
			return doc.State
		},
		workflow.OutcomeShipped: func(t *testing.T, _ *Handler) *workflow.State {
			st := markPublished(stateAfter(t, placed, workflow.OutcomeApproved))
			const shipment = "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10"
			if err := st.Emit("orders", events.TypeOrderShipped, events.OrderShipped{OrderID: id, ShipmentID: shipment, Carrier: "ACME Parcel"}, fixture.Now); err != nil {
				t.Fatal(err)
			}
			st.Outcome, st.ShipmentID = workflow.OutcomeShipped, shipment
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			l := newLedger()
			h := newTestHandler(l)
			st := final(t, h)
			if st.Outcome != name {
				t.Fatalf("outcome %q, want %q", st.Outcome, name)
			}
			calls := len(l.calls)
			before, _ := json.Marshal(st)
			got, err := h.Handle(context.Background(), Request{Action: "compensate", Doc: workflow.Doc{State: st, Error: &workflow.TaskError{Error: "EventBridge.FailedEntry", Cause: "x"}}})
			if err != nil {
				t.Fatal(err)
			}
			after, _ := json.Marshal(got.State)
			if string(before) != string(after) {
				t.Errorf("state changed:\n%s\n%s", before, after)
			}
			if len(l.calls) != calls {
				t.Errorf("ledger calls = %v, want none by the compensation", l.calls[calls:])
			}
		})
	}
}

func TestErrors(t *testing.T) {
	id := fixture.OrderID(4)
	placed := fixture.Placed(t, id, "tok_visa")
	shipped := fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", Carrier: "ACME Parcel"})
	tests := []struct {
		name      string
		req       Request
		ledgerErr error
		wantType  string
	}{
		{name: "unknown action", req: Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}, wantType: "InvalidInputError"},
		{name: "no event", req: Request{Action: "reserve"}, wantType: "InvalidInputError"},
		{name: "event not json", req: Request{Action: "reserve", Doc: workflow.Doc{Event: json.RawMessage(`"x"`)}}, wantType: "InvalidInputError"},
		{name: "not an OrderPlaced", req: Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, shipped)}}, wantType: "InvalidInputError"},
		{name: "release without state", req: Request{Action: "release", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}, wantType: "InvalidInputError"},
		{name: "reserve after release", req: Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}, ledgerErr: store.ErrConflict, wantType: "InvalidInputError"},
		{name: "table throttled", req: Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}, ledgerErr: errors.New("ProvisionedThroughputExceeded"), wantType: "TransientError"},
		{name: "table throttled on release", req: Request{Action: "compensate", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}, ledgerErr: errors.New("timeout"), wantType: "TransientError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			l.err = tc.ledgerErr
			_, err := newTestHandler(l).Handle(context.Background(), tc.req)
			if got := errorType(err); got != tc.wantType {
				t.Errorf("errorType = %q (%v), want %q", got, err, tc.wantType)
			}
		})
	}
}

// An OrderPlaced that order-api did not price (a line off the catalogue's price, or a total
// that is not its lines' sum: a legacy or forged event, one laundered through a dead-letter
// queue) reserves nothing: the saga compensates it, taking no stock and no money.
func TestReserveRefusesAnOrderNotPricedByTheAPI(t *testing.T) {
	id := fixture.OrderID(5)
	free := fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-001", Quantity: 10, UnitPriceCents: 0})
	dear := fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 5999})
	changed := func(change func(p *events.OrderPlaced)) events.Envelope {
		e := fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-001", Quantity: 2, UnitPriceCents: 4999})
		p, err := events.DecodePayload[events.OrderPlaced](e)
		if err != nil {
			t.Fatal(err)
		}
		change(&p)
		if e.Payload, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
		return e
	}
	withTotal := func(cents int64) events.Envelope {
		return changed(func(p *events.OrderPlaced) { p.TotalCents = cents })
	}
	// Priced otherwise either way: below the catalogue's price takes stock for too little money,
	// above it charges the customer more than the shop asks.
	for name, tc := range map[string]struct {
		e    events.Envelope
		says string
	}{
		"a line at 0 cents":       {free, "SKU-001 at 0 cents, the catalogue's price is 4999"},
		"a line above the price":  {dear, "SKU-001 at 5999 cents, the catalogue's price is 4999"},
		"a total below their sum": {withTotal(1), "totalCents 1, the lines add up to 9998"},
		"a total above their sum": {withTotal(19998), "totalCents 19998, the lines add up to 9998"},
		// The catalogue's prices in another currency: 9998 yen is not $99.98.
		"another currency": {changed(func(p *events.OrderPlaced) { p.Currency = "JPY" }), `currency "JPY", the catalogue's is USD`},
	} {
		l := newLedger()
		_, err := newTestHandler(l).Handle(context.Background(), Request{Action: "reserve", Doc: workflow.Doc{Event: fixture.JSON(t, tc.e)}})
		if errorType(err) != "InvalidInputError" || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an InvalidInputError saying %q", name, err, tc.says)
		}
		if len(l.calls) != 0 || len(l.held) != 0 {
			t.Errorf("%s: ledger calls %v, held %v; want none", name, l.calls, l.held)
		}
	}
}

// mergedLedger has reserved what an order listing one SKU on several lines reserves in the
// ledger, which keeps one line per SKU: Release gives back the merged lines.
type mergedLedger struct{ held []store.Line }

func (mergedLedger) Reserve(context.Context, string, []store.Line) (store.ReservationStatus, error) {
	return store.Reserved, nil
}

func (l mergedLedger) Release(context.Context, string) (store.ReservationStatus, []store.Line, error) {
	return store.Released, l.held, nil
}

// A SKU's lines can add up to more than an event's line may carry: InventoryReleased splits it
// rather than break its schema (which would fail the release and the compensation for good).
func TestReleaseSplitsMergedLines(t *testing.T) {
	placed := fixture.Placed(t, fixture.OrderID(3), "tok_declined")
	l := mergedLedger{held: []store.Line{{SKU: "SKU-100", Quantity: 2*events.MaxLineQuantity + 20}, {SKU: "SKU-001", Quantity: 5}}}
	st, err := newTestHandler(l).Handle(context.Background(), Request{Action: "release", Doc: workflow.Doc{State: markPublished(stateAfter(t, placed, workflow.OutcomeDeclined))}})
	if err != nil {
		t.Fatal(err)
	}
	got := published(t, st.State)
	if len(got) != 2 || got[0].Type != events.TypeInventoryReleased {
		t.Fatalf("published %v, want InventoryReleased and OrderCancelled", got)
	}
	p, err := events.DecodePayload[events.InventoryReleased](got[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []events.StockLine{{SKU: "SKU-100", Quantity: events.MaxLineQuantity}, {SKU: "SKU-100", Quantity: events.MaxLineQuantity}, {SKU: "SKU-100", Quantity: 20}, {SKU: "SKU-001", Quantity: 5}}
	if !reflect.DeepEqual(p.Items, want) {
		t.Errorf("released %v, want %v", p.Items, want)
	}
}

// The line a failing task logs (the one its Errors alarm sends an operator to) names the order.
func TestFailedTaskLogNamesTheOrder(t *testing.T) {
	var logs strings.Builder
	h := newHandler("orders", newLedger(), slog.New(slog.NewJSONHandler(&logs, nil)))
	id := fixture.OrderID(5)
	placed := fixture.Placed(t, id, "tok_visa")
	if _, err := h.Handle(context.Background(), Request{Action: "teleport", Doc: workflow.Doc{Event: fixture.JSON(t, placed)}}); err == nil {
		t.Fatal("an unknown action did not fail")
	}
	var line struct{ Msg, OrderID, CorrelationID string }
	if err := json.Unmarshal([]byte(logs.String()), &line); err != nil || line.Msg != "task failed" || line.OrderID != id || line.CorrelationID != placed.CorrelationID {
		t.Errorf("logged %s (%v), want \"task failed\" with orderId %s and correlationId %s", logs.String(), err, id, placed.CorrelationID)
	}
}
