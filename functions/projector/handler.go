package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/projection"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// eventAppender appends to the event store, once per (order, sequence) (dynamo.EventStore).
type eventAppender = projection.EventAppender

// eventStore is the event store as the projector uses it (dynamo.EventStore): it appends, and
// reads when an order was placed (store.ErrNotFound if its OrderPlaced is not there yet).
type eventStore interface {
	eventAppender
	PlacedAt(ctx context.Context, orderID string) (time.Time, error)
}

// parker sends a poison record to the dead-letter queue (deadletter.Queue).
type parker = record.BodyParker

// emitter writes business metrics as EMF log lines (metrics.Emitter).
type emitter interface {
	Emit(dims map[string]string, values ...metrics.Value) error
}

// Handler is the event-sourcing projector: it reads the order-events stream and appends each
// event to the event store, where an order's state is the fold of its events (order.Fold).
// Its conditional write is both idempotency (the same event again is ignored) and order
// (a different event for a taken sequence is a conflict, parked for a human). An event
// appended for the first time also counts in the business metrics (see businessMetrics).
type Handler struct {
	record.EventStream // its Handle is the function's handler
	store              eventStore
	metrics            emitter
	now                func() time.Time
}

func newHandler(s eventStore, dlq parker, m emitter, logger *slog.Logger) *Handler {
	h := &Handler{store: s, metrics: m, now: time.Now}
	h.EventStream = record.NewEventStream(h.event, logger, dlq)
	return h
}

func (h *Handler) event(ctx context.Context, e events.Envelope, m record.Message) error {
	rec, err := projection.EventRecord(e, m.ID, m.Arrived, h.now())
	if err != nil {
		return record.Permanent(err)
	}
	outcome, err := projection.Append(ctx, h.store, rec)
	switch {
	case errors.Is(err, store.ErrConflict):
		return record.Permanent(fmt.Errorf("sequence conflict: %w", err))
	case err != nil:
		return err
	case outcome == projection.AlreadyPresent:
		record.Logger(ctx).InfoContext(ctx, "already in the event store: duplicate ignored")
		return nil
	}
	record.Logger(ctx).InfoContext(ctx, "event appended", "sequence", e.Sequence)
	h.businessMetrics(ctx, e) // only here: the first append of this event, never a duplicate
	return nil
}
