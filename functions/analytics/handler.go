package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/projection"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
)

// totals adds to the sales totals, once per event (dynamo.Analytics).
type totals = projection.TotalsAdder

// parker sends a poison record to the dead-letter queue (deadletter.Queue).
type parker = record.BodyParker

// Handler is a second, independent reader of the order-events stream: it keeps sales totals
// (paid orders and the money taken, cancellations, refunds and the money given back) and can
// re-read the stream from the start.
type Handler struct {
	record.EventStream // its Handle is the function's handler
	totals             totals
	now                func() time.Time
}

func newHandler(t totals, dlq parker, logger *slog.Logger) *Handler {
	h := &Handler{totals: t, now: time.Now}
	h.EventStream = record.NewEventStream(h.event, logger, dlq)
	return h
}

func (h *Handler) event(ctx context.Context, e events.Envelope, _ record.Message) error {
	outcome, add, err := projection.Count(ctx, h.totals, e, h.now())
	switch {
	case err != nil:
		return err // a *events.ValidationError is parked; anything else is retried
	case outcome == projection.NotCounted:
		return nil // a valid event that does not change the totals
	case outcome == projection.AlreadyPresent:
		record.Logger(ctx).InfoContext(ctx, "already counted: duplicate ignored")
		return nil
	}
	record.Logger(ctx).InfoContext(ctx, "totals updated", "orders", add.Orders, "revenueCents", add.RevenueCents, "cancelled", add.Cancelled, "refundedCents", add.RefundedCents)
	return nil
}
