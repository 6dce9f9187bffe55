package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// notificationStore records each notification once per event and channel (dynamo.Notifications).
type notificationStore interface {
	Record(ctx context.Context, n store.Notification) error
}

// parker sends a poison message to a dead-letter queue (deadletter.Queue).
type parker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// retention is how long a notification record (and so its deduplication) is kept.
const retention = 30 * 24 * time.Hour

// Handler is a pub/sub subscriber: each SQS queue subscribed to the order-notifications
// topic is one channel (email, sms), and each channel gets its own copy of every event.
type Handler struct {
	channels      map[string]string // queue ARN -> channel
	dlqs          map[string]parker // queue ARN -> its dead-letter queue
	notifications notificationStore
	queue         record.SQSConsumer
	now           func() time.Time
}

// newHandler wires the middleware: a message that fails permanently, or still fails
// transiently on its last attempt, or is received again after a last attempt that never
// answered (maxReceiveCount, the queues' redrive setting: record.LastReceive), is parked in its
// queue's DLQ with the reason.
// A parked message is deleted from its queue at once (sources).
func newHandler(channels map[string]string, dlqs map[string]parker, sources record.Deleter, notifications notificationStore, maxReceiveCount int, logger *slog.Logger) *Handler {
	h := &Handler{channels: channels, dlqs: dlqs, notifications: notifications, now: time.Now}
	h.queue = record.NewSQSConsumer(h.message, logger, record.DeleteParked(h.park, sources), maxReceiveCount, batchConcurrency)
	return h
}

// batchConcurrency is how many messages of a batch are handled at once: all of them (the batch
// size is 10). Each notification is written once per event and channel, whatever the order.
const batchConcurrency = 10

// Handle processes a batch and reports the messages to retry.
func (h *Handler) Handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	return h.queue.Handle(ctx, ev), nil
}

// park sends the message to the dead-letter queue of the queue it came from.
func (h *Handler) park(ctx context.Context, m record.Message, reason string) error {
	dlq, ok := h.dlqs[m.SourceARN]
	if !ok {
		return fmt.Errorf("no dead-letter queue configured for %s", m.SourceARN)
	}
	return dlq.Park(ctx, m.Body, reason)
}

func (h *Handler) message(ctx context.Context, m record.Message) error {
	channel, ok := h.channels[m.SourceARN]
	if !ok {
		// A wiring mistake, not a bad message: fail it, so the platform retries and then
		// dead-letters it, and the error log says why.
		return fmt.Errorf("no channel configured for queue %s", m.SourceARN)
	}
	record.Bind(ctx, "channel", channel)
	e, err := record.Event(ctx, unwrapSNS(m.Body))
	if err != nil {
		return err // a *events.ValidationError: parked
	}
	text, err := message(e)
	if err != nil {
		return err
	}
	now := h.now()
	err = h.notifications.Record(ctx, store.Notification{
		EventID: e.ID, Channel: channel, OrderID: e.OrderID, Type: e.Type, Message: text, SentAt: now, ExpiresAt: now.Add(retention),
	})
	if errors.Is(err, store.ErrDuplicate) {
		record.Logger(ctx).InfoContext(ctx, "already notified: duplicate ignored")
		return nil
	}
	if errors.Is(err, store.ErrConflict) {
		return record.Permanent(err) // another text holds this event's place: a retry cannot change it
	}
	if err != nil {
		return err
	}
	// Sending is simulated: the record is the notification, and the log shows the text.
	record.Logger(ctx).InfoContext(ctx, "notification sent", "text", text)
	return nil
}

// unwrapSNS returns the EventBridge event inside an SNS notification envelope (a subscription
// without raw message delivery); a raw-delivered body is returned as it is.
func unwrapSNS(body []byte) []byte {
	var n struct {
		Type    string `json:"Type"`
		Message *string
	}
	if json.Unmarshal(body, &n) == nil && n.Type == "Notification" && n.Message != nil {
		return []byte(*n.Message)
	}
	return body
}

// message is the customer-facing text of e. Events customers do not hear about (the event
// registry says which) are refused permanently: they reach the topic only through a wrong rule.
func message(e events.Envelope) (string, error) {
	if info, _ := events.Lookup(e.Type); !info.CustomerFacing {
		return "", record.Permanentf("%s is not a customer-facing event: check the notifications rule", e.Type)
	}
	switch e.Type {
	case events.TypeOrderPlaced:
		up, err := e.Upcast()
		if err != nil {
			return "", err
		}
		p, err := events.DecodePayload[events.OrderPlaced](up)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("We received your order %s (%s). We will let you know when it is confirmed.", e.OrderID, money(p.TotalCents, p.Currency)), nil
	case events.TypeOrderConfirmed:
		p, err := events.DecodePayload[events.OrderConfirmed](e)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Your order %s is confirmed: %s paid.", e.OrderID, money(p.TotalCents, "USD")), nil
	case events.TypePaymentRefunded:
		p, err := events.DecodePayload[events.PaymentRefunded](e)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("We refunded %s for your order %s (payment %s).", money(p.AmountCents, "USD"), e.OrderID, p.PaymentID), nil
	case events.TypeOrderShipped:
		p, err := events.DecodePayload[events.OrderShipped](e)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Your order %s is on its way with %s (shipment %s).", e.OrderID, p.Carrier, p.ShipmentID), nil
	case events.TypeOrderCancelled:
		p, err := events.DecodePayload[events.OrderCancelled](e)
		if err != nil {
			return "", err
		}
		why := map[string]string{
			events.ReasonOutOfStock:       "an item is out of stock",
			events.ReasonPaymentDeclined:  "the payment was declined",
			events.ReasonFulfilmentFailed: "we could not fulfil it",
			events.ReasonTimedOut:         "we could not complete it in time",
		}[p.Reason]
		if why == "" {
			why = p.Reason
		}
		return fmt.Sprintf("Your order %s was cancelled: %s.", e.OrderID, why), nil
	default:
		return "", record.Permanentf("the notifier has no message for the customer-facing event %s yet (functions/notifier/handler.go)", e.Type)
	}
}

func money(cents int64, currency string) string {
	if currency == "" {
		currency = "USD"
	}
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}
