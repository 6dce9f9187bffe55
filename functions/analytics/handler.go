package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// totals adds to the sales totals, once per event (dynamo.Analytics).
type totals interface {
	Add(ctx context.Context, eventID string, t store.Totals, expiresAt time.Time) error
}

// parker sends a poison record to the dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// markerRetention is how long an event stays marked as counted. It is longer than Kinesis'
// longest retention (365 days), so re-reading the stream from its start (a replay) never
// counts an event twice.
const markerRetention = 400 * 24 * time.Hour

// Handler is a second, independent reader of the order-events stream: it keeps sales
// totals (confirmed orders, revenue, cancellations) and can re-read the stream from the start.
type Handler struct {
	totals totals
	handle record.Handler
	now    func() time.Time
}

func newHandler(t totals, dlq parker, logger *slog.Logger) *Handler {
	h := &Handler{totals: t, now: time.Now}
	h.handle = record.Chain(h.record, record.Log(logger), record.Recover(), record.Park(func(ctx context.Context, m record.Message, reason string) error {
		return dlq.Park(ctx, m.Body, reason)
	}))
	return h
}

// Handle processes a batch and reports the records to retry by sequence number.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
	return record.Kinesis(ctx, ev, h.handle), nil
}

func (h *Handler) record(ctx context.Context, m record.Message) error {
	e, err := events.FromEventBridge(m.Body)
	if err != nil {
		return err // a *events.ValidationError: parked
	}
	record.BindEvent(ctx, e)
	var add store.Totals
	switch e.Type {
	case events.TypeOrderConfirmed:
		p, err := events.DecodePayload[events.OrderConfirmed](e)
		if err != nil {
			return err
		}
		add = store.Totals{Orders: 1, RevenueCents: p.TotalCents}
	case events.TypeOrderCancelled:
		add = store.Totals{Cancelled: 1}
	default:
		return nil // a valid event that does not change the totals
	}
	err = h.totals.Add(ctx, e.ID, add, h.now().Add(markerRetention))
	if errors.Is(err, store.ErrDuplicate) {
		record.Logger(ctx).InfoContext(ctx, "already counted: duplicate ignored")
		return nil
	}
	if err != nil {
		return err
	}
	record.Logger(ctx).InfoContext(ctx, "totals updated", "orders", add.Orders, "revenueCents", add.RevenueCents, "cancelled", add.Cancelled)
	return nil
}
