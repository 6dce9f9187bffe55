// Package projection is what the order-events stream's consumers make of one event: the
// projector's append to the event store and analytics' contribution to the sales totals. The
// projector and analytics functions call it for every record, and the replay tool
// (scripts/replay) calls it for every record it re-reads, so a replay rebuilds the projections
// through the very code the consumers run. Idempotency stays where it lives, in the adapters'
// conditional writes: this package only says what a refused write means.
package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// Outcome is what projecting one event did.
type Outcome string

// Outcomes.
const (
	Applied        Outcome = "applied"         // written now
	AlreadyPresent Outcome = "already present" // written before: a redelivery or a replay
	NotCounted     Outcome = "not counted"     // a valid event this projection has no use for
)

// EventAppender appends to the event store, once per (order, sequence) (dynamo.EventStore).
type EventAppender interface {
	Append(ctx context.Context, rec store.EventRecord) error
}

// EventRecord is e as the projector stores it: the envelope as validated (what the event
// store's Load parses back), where the stream had it, and when it was recorded.
func EventRecord(e events.Envelope, kinesisSequenceNumber string, arrived, recordedAt time.Time) (store.EventRecord, error) {
	detail, err := json.Marshal(e)
	if err != nil {
		return store.EventRecord{}, fmt.Errorf("encode envelope %s: %w", e.ID, err)
	}
	return store.EventRecord{
		Envelope: e, Detail: detail, KinesisSequenceNumber: kinesisSequenceNumber, KinesisArrival: arrived, RecordedAt: recordedAt,
	}, nil
}

// Append appends rec to the event store: Applied, or AlreadyPresent when the same event holds
// its slot. A different event in the slot is an error wrapping store.ErrConflict (retrying
// cannot fix it); any other error is the store's, worth retrying.
func Append(ctx context.Context, s EventAppender, rec store.EventRecord) (Outcome, error) {
	err := s.Append(ctx, rec)
	switch {
	case err == nil:
		return Applied, nil
	case errors.Is(err, store.ErrDuplicate):
		return AlreadyPresent, nil
	default:
		return "", err
	}
}

// TotalsAdder adds to the sales totals, once per event (dynamo.Analytics).
type TotalsAdder interface {
	Add(ctx context.Context, eventID string, t store.Totals, expiresAt time.Time) error
}

// MarkerRetention is how long an event stays marked as counted. It is longer than Kinesis'
// longest retention (365 days), so re-reading the stream from its start (a replay) never
// counts an event twice.
const MarkerRetention = 400 * 24 * time.Hour

// Totals is what e adds to the sales totals: a paid order and the money taken, a cancellation,
// or a refund and the money given back; ok is false for the events that do not count. A
// payload that breaks its type is a *events.ValidationError.
//
// The money is counted where it moves, PaymentApproved, not at OrderConfirmed: a refund can
// give back a charge the workflow never heard of (its request timed out after the money was
// taken), and then PaymentApproved and PaymentRefunded go out with no OrderConfirmed between.
// Counted at the confirmation, that refund would take from the revenue what was never added.
func Totals(e events.Envelope) (t store.Totals, ok bool, err error) {
	switch e.Type {
	case events.TypePaymentApproved:
		p, err := events.DecodePayload[events.PaymentApproved](e)
		if err != nil {
			return store.Totals{}, false, err
		}
		return store.Totals{Orders: 1, RevenueCents: p.AmountCents}, true, nil
	case events.TypeOrderCancelled:
		return store.Totals{Cancelled: 1}, true, nil
	case events.TypePaymentRefunded:
		p, err := events.DecodePayload[events.PaymentRefunded](e)
		if err != nil {
			return store.Totals{}, false, err
		}
		return store.Totals{Refunds: 1, RefundedCents: p.AmountCents}, true, nil
	default:
		return store.Totals{}, false, nil
	}
}

// Count adds e's contribution to the totals once: Applied, AlreadyPresent when e was counted
// before, NotCounted for an event that does not count. It returns the contribution too.
func Count(ctx context.Context, a TotalsAdder, e events.Envelope, now time.Time) (Outcome, store.Totals, error) {
	add, ok, err := Totals(e)
	if err != nil {
		return "", store.Totals{}, err
	}
	if !ok {
		return NotCounted, store.Totals{}, nil
	}
	err = a.Add(ctx, e.ID, add, now.Add(MarkerRetention))
	switch {
	case err == nil:
		return Applied, add, nil
	case errors.Is(err, store.ErrDuplicate):
		return AlreadyPresent, add, nil
	default:
		return "", add, err
	}
}

// Sum adds b to a.
func Sum(a, b store.Totals) store.Totals {
	return store.Totals{
		Orders: a.Orders + b.Orders, RevenueCents: a.RevenueCents + b.RevenueCents, Cancelled: a.Cancelled + b.Cancelled,
		Refunds: a.Refunds + b.Refunds, RefundedCents: a.RefundedCents + b.RefundedCents,
	}
}
