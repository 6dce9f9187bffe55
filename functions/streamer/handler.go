package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/orderflow-dev/orderflow/events"
)

// streamWriter puts a record on the Kinesis stream (stream.Writer).
type streamWriter interface {
	Put(ctx context.Context, partitionKey string, data []byte) (string, error)
}

// parker sends a poison event to the dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// Handler is the EventBridge rule target that copies every order event onto the Kinesis
// stream, partitioned by order id. On AWS a rule can target Kinesis directly; this function
// exists because the local emulator accepts such a target but does not deliver to it. It is
// also the stream's schema gate: an event that breaks its schema is parked, not streamed.
type Handler struct {
	stream streamWriter
	dlq    parker
	logger *slog.Logger
}

func newHandler(stream streamWriter, dlq parker, logger *slog.Logger) *Handler {
	return &Handler{stream: stream, dlq: dlq, logger: logger}
}

// Handle streams one EventBridge event (the whole event, as consumers expect it). An error
// means "retry" (the asynchronous invoke is retried, then sent to the function's failure
// destination); an invalid event is parked and acknowledged.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) error {
	e, err := events.FromEventBridge(raw)
	if err != nil {
		if perr := h.dlq.Park(ctx, raw, err.Error()); perr != nil {
			return fmt.Errorf("park invalid event (%w): %w", err, perr)
		}
		h.logger.WarnContext(ctx, "invalid event parked", "reason", err.Error())
		return nil
	}
	logger := h.logger.With("correlationId", e.CorrelationID, "orderId", e.OrderID, "eventType", string(e.Type), "eventId", e.ID)
	seq, err := h.stream.Put(ctx, e.OrderID, raw)
	if err != nil {
		logger.ErrorContext(ctx, "stream failed", "error", err.Error())
		return err
	}
	logger.InfoContext(ctx, "event streamed", "kinesisSequenceNumber", seq)
	return nil
}
