package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/projection"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// eventAppender appends to the event store, once per (order, sequence) (dynamo.EventStore).
type eventAppender = projection.EventAppender

// parker sends a poison record to the dead-letter queue (deadletter.Queue).
type parker = record.BodyParker

// Handler is the event-sourcing projector: it reads the order-events stream and appends each
// event to the event store, where an order's state is the fold of its events (order.Fold).
// Its conditional write is both idempotency (the same event again is ignored) and order
// (a different event for a taken sequence is a conflict, parked for a human).
type Handler struct {
	store  eventAppender
	handle record.Handler
	now    func() time.Time
}

func newHandler(s eventAppender, dlq parker, logger *slog.Logger) *Handler {
	h := &Handler{store: s, now: time.Now}
	h.handle = record.Chain(h.record, record.Log(logger), record.Recover(), record.Park(record.ParkBody(dlq)))
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
	return nil
}
