package projection

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

type fakeAppender struct {
	got []store.EventRecord
	err error
}

func (f *fakeAppender) Append(_ context.Context, rec store.EventRecord) error {
	f.got = append(f.got, rec)
	return f.err
}

func TestAppend(t *testing.T) {
	id := fixture.OrderID(1)
	e := fixture.Placed(t, id, "tok_visa")
	rec, err := EventRecord(e, "49-seq", fixture.Now, fixture.Now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err := events.Parse(rec.Detail); err != nil || parsed.ID != e.ID {
		t.Fatalf("stored detail does not parse back to the event: %v", err)
	}
	if rec.KinesisSequenceNumber != "49-seq" || !rec.KinesisArrival.Equal(fixture.Now) || !rec.RecordedAt.Equal(fixture.Now.Add(time.Second)) {
		t.Errorf("record = %+v", rec)
	}
	for _, tc := range []struct {
		name     string
		storeErr error
		want     Outcome
		wantErr  error
	}{
		{"new", nil, Applied, nil},
		{"redelivered", fmt.Errorf("append: %w", store.ErrDuplicate), AlreadyPresent, nil},
		{"conflict", fmt.Errorf("append: %w", store.ErrConflict), "", store.ErrConflict},
		{"throttled", errors.New("throttled"), "", errors.New("any")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAppender{err: tc.storeErr}
			got, err := Append(context.Background(), f, rec)
			if got != tc.want || (err != nil) != (tc.wantErr != nil) || (tc.wantErr == store.ErrConflict && !errors.Is(err, store.ErrConflict)) {
				t.Errorf("Append = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
			if len(f.got) != 1 {
				t.Errorf("%d appends, want 1", len(f.got))
			}
		})
	}
}

type fakeAdder struct {
	ids     []string
	expires time.Time
	err     error
}

func (f *fakeAdder) Add(_ context.Context, eventID string, _ store.Totals, expiresAt time.Time) error {
	f.ids = append(f.ids, eventID)
	f.expires = expiresAt
	return f.err
}

func TestCount(t *testing.T) {
	id := fixture.OrderID(2)
	approved := fixture.Event(t, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999})
	confirmed := fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 4999})
	cancelled := fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
	refunded := fixture.Event(t, events.TypePaymentRefunded, id, 5, events.PaymentRefunded{OrderID: id, PaymentID: "6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10", AmountCents: 4999, Reason: events.ReasonFulfilmentFailed})
	shipped := fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"})
	for _, tc := range []struct {
		name     string
		e        events.Envelope
		addErr   error
		want     Outcome
		wantAdd  store.Totals
		wantCall bool
		wantErr  bool
	}{
		{"approved counts the order and the money taken", approved, nil, Applied, store.Totals{Orders: 1, RevenueCents: 4999}, true, false},
		{"confirmed does not count (approved did)", confirmed, nil, NotCounted, store.Totals{}, false, false},
		{"cancelled counts a cancellation", cancelled, nil, Applied, store.Totals{Cancelled: 1}, true, false},
		{"counted before", approved, fmt.Errorf("count: %w", store.ErrDuplicate), AlreadyPresent, store.Totals{Orders: 1, RevenueCents: 4999}, true, false},
		{"refunded counts the refund", refunded, nil, Applied, store.Totals{Refunds: 1, RefundedCents: 4999}, true, false},
		{"shipped does not count", shipped, nil, NotCounted, store.Totals{}, false, false},
		{"table down", cancelled, errors.New("down"), "", store.Totals{Cancelled: 1}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAdder{err: tc.addErr}
			got, add, err := Count(context.Background(), f, tc.e, fixture.Now)
			if got != tc.want || add != tc.wantAdd || (err != nil) != tc.wantErr {
				t.Errorf("Count = %q, %+v, %v; want %q, %+v, error %v", got, add, err, tc.want, tc.wantAdd, tc.wantErr)
			}
			if called := len(f.ids) == 1; called != tc.wantCall {
				t.Fatalf("Add called %d times", len(f.ids))
			}
			if tc.wantCall && (f.ids[0] != tc.e.ID || f.expires.Sub(fixture.Now) < 365*24*time.Hour) {
				t.Errorf("Add(%s, expires %v): want the event id, marked for longer than the longest stream retention", f.ids[0], f.expires)
			}
		})
	}
	bad := approved
	bad.Payload = []byte(`{"orderId":"` + id + `","paymentId":"6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10","amountCents":1,"extra":true}`)
	var ve *events.ValidationError
	if _, _, err := Count(context.Background(), &fakeAdder{}, bad, fixture.Now); !errors.As(err, &ve) {
		t.Errorf("Count(bad payload) error = %v, want a *events.ValidationError (parked by the consumer)", err)
	}
}
