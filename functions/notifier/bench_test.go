package main

import (
	"context"
	"sync/atomic"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

const benchQueue = "arn:aws:sqs:us-east-1:000000000000:orderflow-notify-email"

// benchNotifications records every notification as new, and counts them (the handler runs a
// batch's messages concurrently).
type benchNotifications struct{ recorded atomic.Int64 }

func (f *benchNotifications) Record(context.Context, store.Notification) error {
	f.recorded.Add(1)
	return nil
}

// benchCustomerEvents is one of each event customers hear about, for order n (OrderPlaced first).
func benchCustomerEvents(b testing.TB, n int) []events.Envelope {
	id := fixture.OrderID(n)
	return []events.Envelope{
		fixture.Placed(b, id, "tok_visa", benchfixture.Items()...),
		fixture.Event(b, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 14038}),
		fixture.Event(b, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
		fixture.Event(b, events.TypeOrderCancelled, id, 3, events.OrderCancelled{OrderID: id, Reason: events.ReasonPaymentDeclined}),
		fixture.Event(b, events.TypePaymentRefunded, id, 6, events.PaymentRefunded{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 14038, Reason: events.ReasonFulfilmentFailed}),
	}
}

// benchNotify is an SQS batch of 10 messages from the e-mail queue subscribed to the topic (no
// raw delivery: each body is SNS's envelope around the EventBridge event), two of each
// customer-facing event type.
// The check says every message was notified, none parked or failed.
func benchNotify(b testing.TB) (raw []byte, handler lambda.Handler, check func([]byte) error) {
	var bodies []string
	for n := 1; n <= 2; n++ {
		for _, e := range benchCustomerEvents(b, n) {
			bodies = append(bodies, benchfixture.SNSNotification(b, len(bodies), fixture.EventBridge(b, e)))
		}
	}
	raw = benchfixture.SQSEvent(b, benchQueue, bodies...)
	notes, dlq := &benchNotifications{}, &fixture.DLQ{}
	h := newHandler(map[string]string{benchQueue: "email"}, map[string]parker{benchQueue: dlq}, &fixture.Source{}, notes, 3, benchfixture.Logger())
	return raw, boot.Handler(h.Handle), benchfixture.Handled("notified", 10, func() int { return int(notes.recorded.Load()) }, dlq)
}

// A batch: per message, unwrap SNS, parse and validate the event, write its text, record it.
func BenchmarkHandleNotifier(b *testing.B) { benchfixture.Invoke(b, benchNotify) }

func BenchmarkFloorNotifier(b *testing.B) {
	benchfixture.Floor[lambdaevents.SQSEvent, lambdaevents.SQSEventResponse](b, benchNotify)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) {
	benchfixture.Check(t, benchNotify, build, Config{QueueChannels: benchQueue + "=email", DLQURLs: benchQueue + "=https://sqs.us-east-1.amazonaws.com/000000000000/orderflow-notify-email-dlq", MaxReceiveCount: "5"})
}
