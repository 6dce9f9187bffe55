package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// fakeTotals counts each event once, as the marker's conditional put does.
type fakeTotals struct {
	counted map[string]time.Time // event id -> marker expiry
	totals  store.Totals
	err     error
	errFor  string // an event id whose count fails with err
}

func (f *fakeTotals) Add(_ context.Context, eventID string, t store.Totals, expiresAt time.Time) error {
	if f.err != nil && (f.errFor == "" || f.errFor == eventID) {
		return f.err
	}
	if _, ok := f.counted[eventID]; ok {
		return fmt.Errorf("count %s: %w", eventID, store.ErrDuplicate)
	}
	f.counted[eventID] = expiresAt
	f.totals.Orders += t.Orders
	f.totals.RevenueCents += t.RevenueCents
	f.totals.Cancelled += t.Cancelled
	f.totals.Refunds += t.Refunds
	f.totals.RefundedCents += t.RefundedCents
	return nil
}

func newTestHandler(f *fakeTotals, d *fixture.DLQ) *Handler {
	h := newHandler(f, d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.now = func() time.Time { return fixture.Now }
	return h
}

func kinesisRecord(seq string, data []byte) lambdaevents.KinesisEventRecord {
	var r lambdaevents.KinesisEventRecord
	r.Kinesis.SequenceNumber = seq
	r.Kinesis.Data = data
	return r
}

var failedIDs = fixture.KinesisFailures

// Two orders paid, one cancelled, one charged and refunded without the workflow ever confirming
// it (its payment request timed out after the money was taken), plus events that do not count;
// every record twice, shuffled (a replay): the totals count each event once, and the refund
// takes back from the revenue exactly what its charge added.
func TestTotals(t *testing.T) {
	a, b, c, r := fixture.OrderID(1), fixture.OrderID(2), fixture.OrderID(3), fixture.OrderID(4)
	evs := []events.Envelope{
		fixture.Placed(t, a, "tok_visa"),
		fixture.Event(t, events.TypePaymentApproved, a, 3, events.PaymentApproved{OrderID: a, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999}),
		fixture.Event(t, events.TypeOrderConfirmed, a, 4, events.OrderConfirmed{OrderID: a, TotalCents: 4999}),
		fixture.Event(t, events.TypePaymentApproved, b, 3, events.PaymentApproved{OrderID: b, PaymentID: "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a", AmountCents: 1299}),
		fixture.Event(t, events.TypeOrderShipped, b, 5, events.OrderShipped{OrderID: b, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
		fixture.Event(t, events.TypeOrderCancelled, c, 2, events.OrderCancelled{OrderID: c, Reason: events.ReasonOutOfStock}),
		fixture.Event(t, events.TypePaymentApproved, r, 3, events.PaymentApproved{OrderID: r, PaymentID: "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716", AmountCents: 700}),
		fixture.Event(t, events.TypePaymentRefunded, r, 4, events.PaymentRefunded{OrderID: r, PaymentID: "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716", AmountCents: 700, Reason: events.ReasonFulfilmentFailed}),
	}
	var batch []lambdaevents.KinesisEventRecord
	for i, e := range evs {
		batch = append(batch, kinesisRecord(fmt.Sprint(i), fixture.EventBridge(t, e)))
	}
	f, d := &fakeTotals{counted: map[string]time.Time{}}, &fixture.DLQ{}
	resp, err := newTestHandler(f, d).Handle(context.Background(), lambdaevents.KinesisEvent{Records: fixture.TwiceShuffled(11, batch)})
	fixture.NothingFailed(t, resp, err)
	if len(d.Reasons()) != 0 {
		t.Fatalf("parked %v", d.Reasons())
	}
	if want := (store.Totals{Orders: 3, RevenueCents: 6998, Cancelled: 1, Refunds: 1, RefundedCents: 700}); f.totals != want {
		t.Errorf("totals = %+v, want %+v", f.totals, want)
	}
	if net := f.totals.RevenueCents - f.totals.RefundedCents; net != 6298 {
		t.Errorf("net revenue %d cents, want 6298 (the refunded order nets to nothing)", net)
	}
	if len(f.counted) != 5 {
		t.Errorf("markers = %v", f.counted)
	}
	for id, exp := range f.counted {
		if exp.Sub(fixture.Now) < 365*24*time.Hour {
			t.Errorf("marker %s expires %v: before a replay of the longest stream retention", id, exp)
		}
	}
}

func TestPoisonAndFailures(t *testing.T) {
	id := fixture.OrderID(4)
	good := fixture.EventBridge(t, fixture.Event(t, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 100}))
	tests := []struct {
		name       string
		data       []byte
		storeErr   error
		dlqErr     error
		wantFailed []string
		wantParked string
	}{
		{name: "garbage parked", data: []byte("garbage"), wantParked: "not an EventBridge event"},
		{name: "schema break parked", data: bytes.Replace(good, []byte(`"amountCents":100`), []byte(`"amountCents":-1`), 1), wantParked: "amountCents"},
		{name: "table throttled: retried", data: good, storeErr: errors.New("throttled"), wantFailed: []string{"s-1"}},
		{name: "dead-letter queue down: retried", data: []byte("x"), dlqErr: errors.New("down"), wantFailed: []string{"s-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, d := &fakeTotals{counted: map[string]time.Time{}, err: tc.storeErr}, &fixture.DLQ{Err: tc.dlqErr}
			resp, _ := newTestHandler(f, d).Handle(context.Background(), lambdaevents.KinesisEvent{Records: []lambdaevents.KinesisEventRecord{kinesisRecord("s-1", tc.data)}})
			want := tc.wantFailed
			if want == nil {
				want = []string{}
			}
			if got := failedIDs(resp); !reflect.DeepEqual(got, want) {
				t.Errorf("failed = %v, want %v", got, want)
			}
			if tc.wantParked != "" && (len(d.Reasons()) != 1 || !strings.Contains(d.Reasons()[0], tc.wantParked)) {
				t.Errorf("parked %v, want a reason with %q", d.Reasons(), tc.wantParked)
			}
			if (store.Totals{}) != f.totals {
				t.Errorf("totals changed: %+v", f.totals)
			}
		})
	}
}

// A batch whose second record cannot be counted now: that record is reported, the first is
// counted, and the third is left for Lambda's retry from the second (counted then, once).
func TestPartialBatch(t *testing.T) {
	approved := func(n int, cents int64) (string, []byte) {
		id := fixture.OrderID(10 + n)
		e := fixture.Event(t, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f1" + fmt.Sprint(n), AmountCents: cents})
		return e.ID, fixture.EventBridge(t, e)
	}
	_, first := approved(1, 100)
	throttledID, second := approved(2, 200)
	_, third := approved(3, 400)
	batch := lambdaevents.KinesisEvent{Records: []lambdaevents.KinesisEventRecord{
		kinesisRecord("s-1", first), kinesisRecord("s-2", second), kinesisRecord("s-3", third),
	}}
	f, d := &fakeTotals{counted: map[string]time.Time{}, err: errors.New("throttled"), errFor: throttledID}, &fixture.DLQ{}
	h := newTestHandler(f, d)
	resp, _ := h.Handle(context.Background(), batch)
	if got := failedIDs(resp); !reflect.DeepEqual(got, []string{"s-2"}) {
		t.Errorf("failed = %v, want [s-2]", got)
	}
	if want := (store.Totals{Orders: 1, RevenueCents: 100}); f.totals != want {
		t.Errorf("totals = %+v, want %+v (the first record alone)", f.totals, want)
	}
	// Lambda's retry: the whole batch again, the table answering now.
	f.err = nil
	resp, _ = h.Handle(context.Background(), batch)
	if got := failedIDs(resp); len(got) != 0 {
		t.Errorf("retry failed = %v, want none", got)
	}
	if want := (store.Totals{Orders: 3, RevenueCents: 700}); f.totals != want {
		t.Errorf("totals after the retry = %+v, want %+v (each record once)", f.totals, want)
	}
	if len(d.Reasons()) != 0 {
		t.Errorf("parked %v, want nothing", d.Reasons())
	}
}
