package main

import (
	"context"
	"errors"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// businessMetrics emits what e adds to the business metrics (package metrics names them), in
// one record. The handler calls it only when e was appended now, for the first time: a
// redelivered or replayed event is a duplicate of the event store's item and counts nothing,
// so each event counts at most once. (At most: when the SDK retries an append whose answer was
// lost, the retry meets the item it wrote itself and the event counts nothing. Counting on a
// duplicate from the same stream record instead would count twice every event of a batch retried
// whole after a timeout, which is the likelier of the two.)
//
// Nothing here fails the record. The event is stored by now; a retry would meet a duplicate
// and count nothing either, so metrics that cannot be emitted are logged and dropped.
func (h *Handler) businessMetrics(ctx context.Context, e events.Envelope) {
	var values []metrics.Value
	dims := map[string]string{}
	switch e.Type {
	case events.TypeOrderPlaced:
		values = append(values, metrics.Of(metrics.OrdersPlaced, 1))
	case events.TypeOrderShipped:
		values = append(values, metrics.Of(metrics.OrdersShipped, 1))
	case events.TypeOrderCancelled:
		p, err := payload[events.OrderCancelled](e)
		if err != nil {
			record.Logger(ctx).WarnContext(ctx, "business metrics not emitted", "error", err.Error())
			return
		}
		values = append(values, metrics.Of(metrics.OrdersCancelled, 1))
		dims[metrics.Reason] = p.Reason
	case events.TypePaymentRefunded:
		p, err := payload[events.PaymentRefunded](e)
		if err != nil {
			record.Logger(ctx).WarnContext(ctx, "business metrics not emitted", "error", err.Error())
			return
		}
		values = append(values, metrics.Of(metrics.Refunds, 1), metrics.Of(metrics.RefundedCents, float64(p.AmountCents)))
	}
	// The events that end an order (the registry's) measure placed → terminal, per outcome.
	outcome := metrics.OutcomeOf(e.Type)
	if len(values) == 0 && outcome == "" {
		return
	}
	if outcome != "" {
		if d, ok := h.placedToTerminal(ctx, e); ok {
			values = append(values, metrics.Of(metrics.PlacedToTerminal, metrics.Millis(d)))
			dims[metrics.Outcome] = outcome
		}
	}
	h.emit(ctx, dims, values...)
}

// placedToTerminal is how long the order took from its OrderPlaced to e, the event that ends
// it. The OrderPlaced's time comes from the event store (one consistent read of one item); ok
// is false, and the reason logged, when it is not there yet (the events arrived out of order)
// or cannot be read.
func (h *Handler) placedToTerminal(ctx context.Context, e events.Envelope) (d time.Duration, ok bool) {
	log := record.Logger(ctx)
	placed, err := h.store.PlacedAt(ctx, e.OrderID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.DebugContext(ctx, "OrderPlaced not in the event store yet: "+metrics.PlacedToTerminal+" not measured")
		return 0, false
	case err != nil:
		log.WarnContext(ctx, metrics.PlacedToTerminal+" not measured", "error", err.Error())
		return 0, false
	}
	d = e.Time.Sub(placed)
	if d < 0 {
		log.WarnContext(ctx, metrics.PlacedToTerminal+" not measured: the event is older than its OrderPlaced",
			"placedAt", placed.Format(time.RFC3339Nano), "eventTime", e.Time.Format(time.RFC3339Nano))
		return 0, false
	}
	return d, true
}

// emit writes one metrics record, or logs why it could not.
func (h *Handler) emit(ctx context.Context, dims map[string]string, values ...metrics.Value) {
	if err := h.metrics.Emit(dims, values...); err != nil {
		names := make([]string, 0, len(values))
		for _, v := range values {
			names = append(names, v.Name)
		}
		record.Logger(ctx).WarnContext(ctx, "business metrics not emitted", "metrics", names, "error", err.Error())
	}
}

// payload decodes e's payload in the latest version of its type.
func payload[T any](e events.Envelope) (T, error) {
	up, err := e.Upcast()
	if err != nil {
		var zero T
		return zero, err
	}
	return events.DecodePayload[T](up)
}
