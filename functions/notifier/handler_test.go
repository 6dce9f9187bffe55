package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

const (
	emailQueue = "arn:aws:sqs:us-east-1:000000000000:notify-email"
	smsQueue   = "arn:aws:sqs:us-east-1:000000000000:notify-sms"
)

// fakeNotifications keeps one record per event and channel, as the conditional put does. The
// handler handles a batch's messages concurrently: the fakes lock.
type fakeNotifications struct {
	mu     sync.Mutex
	stored map[string]store.Notification // "eventId/channel"
	err    error
}

func (f *fakeNotifications) Record(_ context.Context, n store.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	key := n.EventID + "/" + n.Channel
	if _, ok := f.stored[key]; ok {
		return fmt.Errorf("notification %s: %w", key, store.ErrDuplicate)
	}
	f.stored[key] = n
	return nil
}

// maxReceiveCount is the queues' redrive setting in these tests: three attempts, and the
// receive the function keeps to park a message whose last attempt never answered.
const maxReceiveCount = 4

type fakes struct {
	h          *Handler
	store      *fakeNotifications
	email, sms *fixture.DLQ
	source     *fixture.Source
}

func newFakes() fakes {
	f := fakes{store: &fakeNotifications{stored: map[string]store.Notification{}}, email: &fixture.DLQ{}, sms: &fixture.DLQ{}, source: &fixture.Source{}}
	f.h = newHandler(
		map[string]string{emailQueue: "email", smsQueue: "sms"},
		map[string]parker{emailQueue: f.email, smsQueue: f.sms},
		f.source, f.store, maxReceiveCount, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.h.now = func() time.Time { return fixture.Now }
	return f
}

func snsEnvelope(t *testing.T, body []byte) string {
	t.Helper()
	b, err := json.Marshal(map[string]string{"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:000000000000:order-notifications", "Message": string(body)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var failedIDs = fixture.SQSFailures

// handle runs a batch through h and returns its answer: the invocation itself never fails
// (a failed one would have Lambda retry the whole batch, not the messages its answer names).
func handle(t *testing.T, h *Handler, records ...lambdaevents.SQSMessage) lambdaevents.SQSEventResponse {
	t.Helper()
	resp, err := h.Handle(context.Background(), lambdaevents.SQSEvent{Records: records})
	if err != nil {
		t.Fatalf("the invocation failed: %v (want its answer to name the messages to retry)", err)
	}
	return resp
}

func TestEveryEventOncePerChannel(t *testing.T) {
	id := fixture.OrderID(1)
	evs := []events.Envelope{
		fixture.Placed(t, id, "tok_visa"),
		fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 4999}),
		fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
		fixture.Event(t, events.TypeOrderCancelled, fixture.OrderID(2), 2, events.OrderCancelled{OrderID: fixture.OrderID(2), Reason: events.ReasonOutOfStock}),
		fixture.Event(t, events.TypePaymentRefunded, fixture.OrderID(6), 5, events.PaymentRefunded{OrderID: fixture.OrderID(6), PaymentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", AmountCents: 899, Reason: events.ReasonFulfilmentFailed}),
	}
	var batch []lambdaevents.SQSMessage
	for i, e := range evs {
		raw := fixture.EventBridge(t, e)
		batch = append(batch,
			lambdaevents.SQSMessage{MessageId: fmt.Sprintf("email-%d", i), Body: string(raw), EventSourceARN: emailQueue},
			lambdaevents.SQSMessage{MessageId: fmt.Sprintf("sms-%d", i), Body: snsEnvelope(t, raw), EventSourceARN: smsQueue}, // without raw delivery
		)
	}
	f := newFakes()
	resp, err := f.h.Handle(context.Background(), lambdaevents.SQSEvent{Records: fixture.TwiceShuffled(3, batch)})
	fixture.NothingFailed(t, resp, err)
	if len(f.email.Reasons())+len(f.sms.Reasons()) != 0 {
		t.Fatalf("parked %v %v", f.email.Reasons(), f.sms.Reasons())
	}
	if len(f.store.stored) != 2*len(evs) {
		t.Fatalf("%d notifications, want %d", len(f.store.stored), 2*len(evs))
	}
	wantText := map[events.Type]string{
		events.TypeOrderPlaced:     "49.99 USD",
		events.TypeOrderConfirmed:  "is confirmed",
		events.TypeOrderShipped:    "ACME Parcel",
		events.TypeOrderCancelled:  "out of stock",
		events.TypePaymentRefunded: "We refunded 8.99 USD",
	}
	for _, e := range evs {
		for _, ch := range []string{"email", "sms"} {
			n, ok := f.store.stored[e.ID+"/"+ch]
			if !ok {
				t.Errorf("no %s notification for %s", ch, e.Type)
				continue
			}
			if n.OrderID != e.OrderID || n.Type != e.Type || !strings.Contains(n.Message, wantText[e.Type]) || !n.ExpiresAt.After(n.SentAt) {
				t.Errorf("notification = %+v", n)
			}
		}
	}
}

func TestPoisonParkedInItsQueuesDLQ(t *testing.T) {
	id := fixture.OrderID(3)
	reserved := fixture.EventBridge(t, fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}))
	good := fixture.EventBridge(t, fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 1}))
	tests := []struct {
		name       string
		body       string
		queue      string
		wantReason string
	}{
		{name: "not json", body: "hello", queue: smsQueue, wantReason: "not an EventBridge event"},
		{name: "no detail", body: `{"detail-type":"OrderConfirmed","source":"orderflow.fulfilment"}`, queue: emailQueue, wantReason: "/detail"},
		{name: "detail breaks the schema", body: strings.Replace(string(good), `"totalCents":1`, `"totalCents":"1"`, 1), queue: smsQueue, wantReason: "totalCents"},
		{name: "detail-type lies", body: strings.Replace(string(good), `"detail-type":"OrderConfirmed"`, `"detail-type":"OrderShipped"`, 1), queue: emailQueue, wantReason: "detail-type"},
		{name: "not customer-facing", body: string(reserved), queue: smsQueue, wantReason: "not a customer-facing event"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			resp := handle(t, f.h, lambdaevents.SQSMessage{MessageId: "m-1", Body: tc.body, EventSourceARN: tc.queue})
			if ids := failedIDs(resp); len(ids) != 0 {
				t.Errorf("failed = %v, want the poison acknowledged", ids)
			}
			dlq, other := f.sms, f.email
			if tc.queue == emailQueue {
				dlq, other = f.email, f.sms
			}
			if len(dlq.Reasons()) != 1 || !strings.Contains(dlq.Reasons()[0], tc.wantReason) || dlq.Parked()[0].Body != tc.body || len(other.Reasons()) != 0 {
				t.Errorf("parked %v / other %v, want one reason with %q", dlq.Reasons(), other.Reasons(), tc.wantReason)
			}
			if len(f.store.stored) != 0 {
				t.Errorf("notified: %v", f.store.stored)
			}
		})
	}
}

func TestFailuresAreRetried(t *testing.T) {
	id := fixture.OrderID(4)
	good := string(fixture.EventBridge(t, fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 1})))
	tests := []struct {
		name  string
		msgs  []lambdaevents.SQSMessage
		setup func(f fakes)
		want  []string
	}{
		{name: "table throttled", msgs: []lambdaevents.SQSMessage{{MessageId: "a", Body: good, EventSourceARN: emailQueue}},
			setup: func(f fakes) { f.store.err = errors.New("throttled") }, want: []string{"a"}},
		{name: "unknown queue", msgs: []lambdaevents.SQSMessage{{MessageId: "a", Body: good, EventSourceARN: emailQueue}, {MessageId: "b", Body: good, EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:other"}},
			want: []string{"b"}},
		{name: "dead-letter queue down", msgs: []lambdaevents.SQSMessage{{MessageId: "a", Body: "x", EventSourceARN: smsQueue}, {MessageId: "b", Body: good, EventSourceARN: smsQueue}},
			setup: func(f fakes) { f.sms.Err = errors.New("down") }, want: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			if tc.setup != nil {
				tc.setup(f)
			}
			resp := handle(t, f.h, tc.msgs...)
			if got := failedIDs(resp); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("failed = %v, want %v", got, tc.want)
			}
		})
	}
}

// A message whose event already holds another text on its channel (someone put a message on the
// queue ahead of the real one) is parked with the reason at once: retrying cannot change it.
func TestAConflictingNotificationIsParked(t *testing.T) {
	id := fixture.OrderID(5)
	e := fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 1})
	f := newFakes()
	f.store.err = fmt.Errorf("notification %s/email: a different OrderConfirmed (\"forged\") holds its place: %w", e.ID, store.ErrConflict)
	resp := handle(t, f.h,
		lambdaevents.SQSMessage{MessageId: "a", Body: string(fixture.EventBridge(t, e)), EventSourceARN: emailQueue, Attributes: map[string]string{"ApproximateReceiveCount": "1"}},
	)
	if got := failedIDs(resp); len(got) != 0 {
		t.Errorf("failed = %v, want the message parked, not retried", got)
	}
	if r := f.email.Reasons(); len(r) != 1 || !strings.Contains(r[0], "holds its place") {
		t.Errorf("parked %v, want the conflict's reason", r)
	}
}

// A message that still fails on its last attempt is parked in its own queue's DLQ with the
// last error as the reason (not left to SQS's redrive, which gives no reason); earlier attempts
// are retried. Received once more (its last attempt crashed or timed out), it is parked
// unhandled, with that reason.
func TestLastReceiveParksWithTheReason(t *testing.T) {
	id := fixture.OrderID(5)
	good := string(fixture.EventBridge(t, fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 1})))
	wantReason := map[int][]string{
		maxReceiveCount - 1: {"gave up after 3 receives", "ProvisionedThroughputExceededException"},
		maxReceiveCount:     {"received 4 times", "not handled again"},
	}
	for receive := 1; receive <= maxReceiveCount; receive++ {
		t.Run(fmt.Sprintf("receive %d", receive), func(t *testing.T) {
			f := newFakes()
			f.store.err = errors.New("ProvisionedThroughputExceededException")
			m := lambdaevents.SQSMessage{MessageId: "a", Body: good, EventSourceARN: smsQueue, ReceiptHandle: "rh-a",
				Attributes: map[string]string{"ApproximateReceiveCount": fmt.Sprint(receive)}}
			resp := handle(t, f.h, m)
			want, parked := wantReason[receive]
			if got := failedIDs(resp); reflect.DeepEqual(got, []string{"a"}) == parked {
				t.Errorf("failed = %v on receive %d of %d", got, receive, maxReceiveCount)
			}
			if !parked {
				if len(f.sms.Reasons())+len(f.email.Reasons()) != 0 || len(f.source.Deleted()) != 0 {
					t.Errorf("parked %v %v, deleted %v before the last attempt", f.sms.Reasons(), f.email.Reasons(), f.source.Deleted())
				}
				return
			}
			if got := f.source.Deleted(); !reflect.DeepEqual(got, []string{smsQueue + " rh-a"}) {
				t.Errorf("deleted %v, want the parked message deleted from its queue at once", got)
			}
			if len(f.sms.Reasons()) != 1 || len(f.email.Reasons()) != 0 || f.sms.Parked()[0].Body != good ||
				!strings.Contains(f.sms.Reasons()[0], want[0]) || !strings.Contains(f.sms.Reasons()[0], want[1]) {
				t.Errorf("sms DLQ %v, email DLQ %v: want the message in the sms DLQ with a reason containing %q", f.sms.Reasons(), f.email.Reasons(), want)
			}
		})
	}
}

// TestEveryCustomerFacingTypeHasAMessage: the registry decides which events a customer hears
// about (and the bus rule routes exactly those to the topic); the notifier must have a message
// for each, and refuse the others.
func TestEveryCustomerFacingTypeHasAMessage(t *testing.T) {
	id := fixture.OrderID(1)
	for _, info := range events.Registry() {
		seq := 2
		if info.Type == events.TypeOrderPlaced {
			seq = 1
		}
		msg, err := message(fixture.Sample(t, info.Type, id, seq))
		switch {
		case info.CustomerFacing && err != nil:
			t.Errorf("%s is customer-facing but the notifier has no message for it: %v", info.Type, err)
		case info.CustomerFacing && !strings.Contains(msg, id):
			t.Errorf("%s: message %q does not name the order", info.Type, msg)
		case !info.CustomerFacing && (err == nil || !strings.Contains(err.Error(), "not a customer-facing event")):
			t.Errorf("%s is not customer-facing: message = %q, %v; want it refused", info.Type, msg, err)
		}
	}
}
