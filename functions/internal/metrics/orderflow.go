package metrics

import (
	"context"
	"log/slog"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
)

// Namespace is the CloudWatch namespace of orderflow's business metrics.
const Namespace = "Orderflow"

// The business metrics. The projector emits them once per event, when it appends the event to
// the event store for the first time (a redelivered or replayed event counts nothing), in one
// record per event.
const (
	// OrdersPlaced (Count, no dimension): 1 per OrderPlaced.
	OrdersPlaced = "OrdersPlaced"
	// OrdersShipped (Count, no dimension): 1 per OrderShipped.
	OrdersShipped = "OrdersShipped"
	// OrdersCancelled (Count): 1 per OrderCancelled, published twice: without dimension (the
	// total) and per Reason.
	OrdersCancelled = "OrdersCancelled"
	// Refunds (Count, no dimension): 1 per PaymentRefunded.
	Refunds = "Refunds"
	// RefundedCents (Count, no dimension): the refunded amount in cents, per PaymentRefunded
	// (its Sum is the money given back).
	RefundedCents = "RefundedCents"
	// PlacedToTerminal (Milliseconds): from the order's OrderPlaced to its OrderShipped or
	// OrderCancelled (the events' times), published twice: without dimension (every order that
	// ended) and per Outcome. Not emitted when the OrderPlaced is not in the event store yet.
	PlacedToTerminal = "PlacedToTerminal"
)

// The batch consumers' metrics: each consumer emits them after a batch in which a message
// failed or was parked (none otherwise), per Consumer. A consumer reports a failed message for
// the platform to retry without failing itself, so Lambda's Errors do not count it.
const (
	// RecordsFailed (Count, per Consumer): messages or records of a batch reported failed, to be
	// retried (a stream's batch: the one record it is retried from).
	RecordsFailed = "RecordsFailed"
	// RecordsParked (Count, per Consumer): messages or records of a batch parked in the
	// consumer's dead-letter queue, with their reason.
	RecordsParked = "RecordsParked"
)

// Consumer is the batch consumer a RecordsFailed or RecordsParked is of: one of Consumers.
const Consumer = "Consumer"

// Consumers are the batch consumers (values of the Consumer dimension): the functions that read
// a queue or the stream.
var Consumers = []string{"analytics", "notifier", "payment", "projector"}

// Dimensions of the business metrics.
const (
	// Reason is why an order was cancelled: one of events.ReasonOutOfStock,
	// events.ReasonPaymentDeclined, events.ReasonFulfilmentFailed, events.ReasonTimedOut.
	Reason = "Reason"
	// Outcome is how an order ended: OutcomeShipped or OutcomeCancelled.
	Outcome = "Outcome"
)

// Outcomes (values of the Outcome dimension): the status an event that ends an order sets (the
// event registry's), in lower case.
const (
	OutcomeShipped   = "shipped"
	OutcomeCancelled = "cancelled"
)

// OutcomeOf is the Outcome of an order that event type t ends; "" if t does not end one.
func OutcomeOf(t events.Type) string {
	if info, _ := events.Lookup(t); info.EndsOrder {
		return strings.ToLower(info.Status)
	}
	return ""
}

// outcomes lists every Outcome, one per event type that ends an order.
func outcomes() []string {
	var out []string
	for _, t := range events.Types() {
		if o := OutcomeOf(t); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// Orderflow is the catalog of orderflow's metrics: the business metrics and the batch consumers'.
func Orderflow() Catalog {
	return Catalog{
		Namespace: Namespace,
		Metrics: []Metric{
			{Name: OrdersPlaced, Unit: Count},
			{Name: OrdersShipped, Unit: Count},
			{Name: OrdersCancelled, Unit: Count, Dimensions: [][]string{{}, {Reason}}},
			{Name: Refunds, Unit: Count},
			{Name: RefundedCents, Unit: Count},
			{Name: PlacedToTerminal, Unit: Milliseconds, Dimensions: [][]string{{}, {Outcome}}},
			{Name: RecordsFailed, Unit: Count, Dimensions: [][]string{{Consumer}}},
			{Name: RecordsParked, Unit: Count, Dimensions: [][]string{{Consumer}}},
		},
		Dimensions: []Dimension{
			{Name: Consumer, Values: Consumers},
			{Name: Reason, Values: []string{events.ReasonOutOfStock, events.ReasonPaymentDeclined, events.ReasonFulfilmentFailed, events.ReasonTimedOut}},
			{Name: Outcome, Values: outcomes()},
		},
	}
}

// ConsumerOutcomes reports a batch's failed and parked messages (record.Outcomes) as one record
// of RecordsFailed and RecordsParked for consumer, one of Consumers; a record it cannot write is
// logged, not failed: the batch is done either way.
func ConsumerOutcomes(e *Emitter, consumer string, logger *slog.Logger) func(ctx context.Context, failed, parked int) {
	return func(ctx context.Context, failed, parked int) {
		if err := e.Emit(map[string]string{Consumer: consumer}, Of(RecordsFailed, float64(failed)), Of(RecordsParked, float64(parked))); err != nil {
			logger.WarnContext(ctx, "batch metrics not emitted", "failed", failed, "parked", parked, "error", err.Error())
		}
	}
}
