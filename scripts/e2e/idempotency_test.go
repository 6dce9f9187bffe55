//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/inject"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// The tests in this file and replay_test.go that compare global state (totals, stock) before
// and after do not call t.Parallel: Go runs them one by one before any parallel test starts.

type dbItem = map[string]dbtypes.AttributeValue

// queryAll returns every item of table whose key attribute equals value, read consistently.
func queryAll(t *testing.T, table, attr, value string) []dbItem {
	t.Helper()
	out, err := dynamodb.NewFromConfig(stack.AWS).Query(context.Background(), &dynamodb.QueryInput{
		TableName: aws.String(stack.Output(table)), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("#k = :v"),
		ExpressionAttributeNames:  map[string]string{"#k": attr},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":v": &dbtypes.AttributeValueMemberS{Value: value}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// analyticsTotals reads the analytics TOTALS item.
func analyticsTotals(t *testing.T) toolkit.Totals {
	t.Helper()
	totals, err := toolkit.SalesTotals(context.Background(), dynamodb.NewFromConfig(stack.AWS), stack.Output("AnalyticsTable"))
	if err != nil {
		t.Fatal(err)
	}
	return totals
}

// counted waits until analytics has marked the event as counted.
func counted(t *testing.T, eventID string) {
	t.Helper()
	eventually(t, time.Minute, "analytics counts "+eventID, func(context.Context) error {
		if item(t, "AnalyticsTable", map[string]string{"pk": "EVT#" + eventID}) == nil {
			return fmt.Errorf("no marker EVT#%s", eventID)
		}
		return nil
	})
}

// quiet waits until no execution of the saga is running, so that what follows is this test's.
func quiet(t *testing.T, orderID string) {
	t.Helper()
	eventually(t, 2*time.Minute, "no execution running", func(ctx context.Context) error {
		out, err := sfn.NewFromConfig(stack.AWS).ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stack.Output("StateMachineArn")), StatusFilter: "RUNNING"})
		if err != nil {
			return err
		}
		if orderID == "" && len(out.Executions) > 0 {
			return fmt.Errorf("%d executions running", len(out.Executions))
		}
		for _, ex := range out.Executions {
			d, err := sfn.NewFromConfig(stack.AWS).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err == nil && strings.Contains(aws.ToString(d.Input), orderID) {
				return fmt.Errorf("execution %s of %s running", aws.ToString(ex.Name), orderID)
			}
		}
		return nil
	})
}

// onStream counts the stream's records of an order per event id.
func onStream(ctx context.Context, orderID string) (map[string]int, error) {
	r := &streamlog.Reader{Client: kinesis.NewFromConfig(stack.AWS), Stream: stack.Output("StreamName")}
	n := map[string]int{}
	_, err := r.ReadFrom(ctx, nil, func(rec streamlog.Record) error {
		if rec.PartitionKey != orderID {
			return nil
		}
		e, err := events.FromEventBridge(rec.Data)
		if err != nil {
			return fmt.Errorf("record %s: %w", rec.SequenceNumber, err)
		}
		n[e.ID]++
		return nil
	})
	return n, err
}

// queueDrained waits until a queue has nothing waiting or in flight.
func queueDrained(t *testing.T, output string) {
	t.Helper()
	eventually(t, time.Minute, output+" drained", func(ctx context.Context) error {
		out, err := sqs.NewFromConfig(stack.AWS).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(stack.Output(output)),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
		})
		if err != nil {
			return err
		}
		for k, v := range out.Attributes {
			if v != "0" {
				return fmt.Errorf("%s = %s", k, v)
			}
		}
		return nil
	})
}

// sideEffects is everything an order left in the consumers' tables.
type sideEffects struct {
	EventStore    []dbItem
	Notifications map[string][]dbItem // event id -> its notifications, one per channel
	Payment       dbItem
	Shipment      dbItem
	Reservation   dbItem
}

func effectsOf(t *testing.T, o shop.Order) sideEffects {
	t.Helper()
	fx := sideEffects{
		EventStore:    queryAll(t, "EventStoreTable", "orderId", o.OrderID),
		Notifications: map[string][]dbItem{},
		Payment:       item(t, "PaymentsTable", map[string]string{"orderId": o.OrderID}),
		Shipment:      item(t, "ShipmentsTable", map[string]string{"orderId": o.OrderID}),
		Reservation:   item(t, "InventoryTable", map[string]string{"pk": "RES#" + o.OrderID}),
	}
	for _, e := range o.Events {
		fx.Notifications[e.ID] = queryAll(t, "NotificationsTable", "eventId", e.ID)
	}
	return fx
}

func TestDuplicateEventsChangeNothing(t *testing.T) {
	quiet(t, "")
	const sku = "SKU-002"
	p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: sku, Quantity: 1}))
	o := waitTerminal(t, p.OrderID)
	if o.Status != "SHIPPED" {
		t.Fatalf("order %s %s (%s), want SHIPPED", o.OrderID, o.Status, o.Reason)
	}
	ids := map[string]string{}
	for _, e := range o.Events {
		ids[e.Type] = e.ID
	}
	// Wait until every consumer is done with the order, then take the picture.
	quiet(t, o.OrderID)
	counted(t, ids["PaymentApproved"])
	eventually(t, time.Minute, "notifications", func(context.Context) error {
		for _, n := range []struct{ typ, channel string }{{"OrderPlaced", "email"}, {"OrderConfirmed", "email"}, {"OrderShipped", "email"}, {"OrderShipped", "sms"}} {
			if item(t, "NotificationsTable", map[string]string{"eventId": ids[n.typ], "channel": n.channel}) == nil {
				return fmt.Errorf("no %s notification of %s yet", n.channel, n.typ)
			}
		}
		return nil
	})
	queueDrained(t, "EmailQueueUrl")
	queueDrained(t, "SmsQueueUrl")
	before, totals, stockBefore := effectsOf(t, o), analyticsTotals(t), stock(t, sku)

	// The duplicates: the OrderPlaced, which starts a second execution that must find the saga
	// claimed and do nothing; the approval, which analytics counts; the shipment (notifier,
	// projector, streamer: every consumer but analytics).
	sent, err := inject.Duplicate(context.Background(), inject.FromStack(stack), o.OrderID, events.TypeOrderShipped, events.TypeOrderPlaced, events.TypePaymentApproved)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 || sent[0].ID != ids["OrderPlaced"] || sent[1].ID != ids["PaymentApproved"] || sent[2].ID != ids["OrderShipped"] {
		t.Fatalf("injected %v, want the stored OrderPlaced, PaymentApproved and OrderShipped", sent)
	}
	oneSaga(t, o.OrderID, 2)
	eventually(t, time.Minute, "the duplicates reach the stream", func(ctx context.Context) error {
		n, err := onStream(ctx, o.OrderID)
		if err != nil {
			return err
		}
		for _, e := range sent {
			if n[e.ID] < 2 {
				return fmt.Errorf("%s %s is on the stream %d times", e.Type, e.ID, n[e.ID])
			}
		}
		return nil
	})
	quiet(t, o.OrderID)

	// A barrier: a later order on the same (single-shard) stream. Once analytics has counted
	// its cancellation and the notifier has sent its message, both have seen the duplicates.
	b := place(t, shop.NewOrder("tok_declined", shop.Line{SKU: sku, Quantity: 1}))
	bo := waitTerminal(t, b.OrderID)
	if bo.Status != "CANCELLED" {
		t.Fatalf("barrier order %s %s, want CANCELLED", bo.OrderID, bo.Status)
	}
	quiet(t, bo.OrderID)
	cancelledID := bo.Events[len(bo.Events)-1].ID
	counted(t, cancelledID)
	eventually(t, time.Minute, "the barrier's notification", func(context.Context) error {
		if item(t, "NotificationsTable", map[string]string{"eventId": cancelledID, "channel": "email"}) == nil {
			return fmt.Errorf("no email for the barrier's cancellation yet")
		}
		return nil
	})
	queueDrained(t, "EmailQueueUrl")
	queueDrained(t, "SmsQueueUrl")

	after := effectsOf(t, o)
	if !reflect.DeepEqual(after.EventStore, before.EventStore) {
		t.Errorf("event store rows changed:\nbefore %v\nafter  %v", before.EventStore, after.EventStore)
	}
	for id, ns := range after.Notifications {
		channels := map[string]int{}
		for _, n := range ns {
			channels[s(n, "channel")]++
		}
		for ch, c := range channels {
			if c != 1 {
				t.Errorf("event %s notified %d times on %s", id, c, ch)
			}
		}
		if !reflect.DeepEqual(ns, before.Notifications[id]) {
			t.Errorf("notifications of event %s changed:\nbefore %v\nafter  %v", id, before.Notifications[id], ns)
		}
	}
	if !reflect.DeepEqual(after.Payment, before.Payment) || s(after.Payment, "status") != "APPROVED" {
		t.Errorf("payment changed (a second charge?):\nbefore %v\nafter  %v", before.Payment, after.Payment)
	}
	if !reflect.DeepEqual(after.Shipment, before.Shipment) || after.Shipment == nil {
		t.Errorf("shipment changed (a second shipment?):\nbefore %v\nafter  %v", before.Shipment, after.Shipment)
	}
	if !reflect.DeepEqual(after.Reservation, before.Reservation) {
		t.Errorf("reservation changed:\nbefore %v\nafter  %v", before.Reservation, after.Reservation)
	}
	if got := stock(t, sku); got != stockBefore {
		t.Errorf("%s stock %d → %d: the duplicate OrderPlaced reserved again, or the barrier kept stock", sku, stockBefore, got)
	}
	if want := toolkit.SumTotals(totals, toolkit.Totals{Cancelled: 1}); analyticsTotals(t) != want {
		t.Errorf("analytics totals %+v, want %+v (before, plus the barrier's cancellation only: the duplicate approval not counted again)", analyticsTotals(t), want)
	}
	if again, err := api.GetOrder(context.Background(), o.OrderID); err != nil || !reflect.DeepEqual(again, o) {
		t.Errorf("GET /orders/%s = %+v, %v; want it unchanged: %+v", o.OrderID, again, err, o)
	}
}

func TestOrderPlacedV1FlowsLikeV2(t *testing.T) {
	quiet(t, "")
	e, err := inject.PlaceV1(context.Background(), inject.FromStack(stack), inject.V1Order{CustomerID: me.Sub, Token: "tok_visa", SKU: "SKU-001", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != 1 {
		t.Fatalf("injected version %d, want 1", e.Version)
	}
	o := waitTerminal(t, e.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}
	if o.Status != "SHIPPED" || !slices.Equal(eventTypes(o), want) || o.TotalCents != 4999 {
		t.Fatalf("v1 order %s %s (%s), %d cents, events %v; want SHIPPED, 4999 cents, %v", o.OrderID, o.Status, o.Reason, o.TotalCents, eventTypes(o), want)
	}
	// The fold upcast it (currency set), while the event store keeps the fact as published (v1).
	code, body, err := api.Do(context.Background(), http.MethodGet, "/orders/"+e.OrderID, "", nil)
	var got struct{ Currency string }
	if err != nil || code != 200 || json.Unmarshal(body, &got) != nil || got.Currency != "USD" {
		t.Errorf("GET /orders/%s = %d %s, want currency USD from the upcaster", e.OrderID, code, body)
	}
	for _, r := range queryAll(t, "EventStoreTable", "orderId", e.OrderID) {
		if s(r, "type") == "OrderPlaced" {
			if v, ok := r["version"].(*dbtypes.AttributeValueMemberN); !ok || v.Value != "1" {
				t.Errorf("stored OrderPlaced version %v, want 1 (the fact as published)", r["version"])
			}
		}
	}
	if pay := item(t, "PaymentsTable", map[string]string{"orderId": e.OrderID}); s(pay, "status") != "APPROVED" {
		t.Errorf("payment %v, want APPROVED", pay)
	}
	eventually(t, time.Minute, "the notifier upcasts it too", func(context.Context) error {
		if item(t, "NotificationsTable", map[string]string{"eventId": e.ID, "channel": "email"}) == nil {
			return fmt.Errorf("no email for the v1 OrderPlaced")
		}
		return nil
	})
	quiet(t, e.OrderID)
}

// dlqMessage finds a message whose body contains match in a queue, without taking it: every
// message received is made visible again.
func dlqMessage(ctx context.Context, url, match string) (sqstypes.Message, bool, error) {
	c := sqs.NewFromConfig(stack.AWS)
	var held []string
	defer func() {
		for _, h := range held {
			_, _ = c.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(h)})
		}
	}()
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 30, MessageAttributeNames: []string{"All"},
		})
		if err != nil || len(out.Messages) == 0 {
			return sqstypes.Message{}, false, err
		}
		for _, m := range out.Messages {
			held = append(held, aws.ToString(m.ReceiptHandle))
		}
		for _, m := range out.Messages {
			if strings.Contains(aws.ToString(m.Body), match) {
				return m, true, nil
			}
		}
	}
}

// parkedWith waits for a message with match in the DLQ and returns it; its errorReason must
// contain reason.
func parkedWith(t *testing.T, url, match, reason string) sqstypes.Message {
	t.Helper()
	var m sqstypes.Message
	eventually(t, time.Minute, "parked in "+url, func(ctx context.Context) error {
		var found bool
		var err error
		if m, found, err = dlqMessage(ctx, url, match); err != nil || !found {
			return fmt.Errorf("not there yet (%v)", err)
		}
		return nil
	})
	got := aws.ToString(m.MessageAttributes[toolkit.ReasonAttribute].StringValue)
	if !strings.Contains(got, reason) {
		t.Errorf("errorReason %q, want it to say %q", got, reason)
	}
	return m
}

// purgeFrom deletes the test's messages from a DLQ when the test ends.
func purgeFrom(t *testing.T, url, match string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := sqs.NewFromConfig(stack.AWS)
		for {
			m, found, err := dlqMessage(ctx, url, match)
			if err != nil || !found {
				return
			}
			_, _ = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
	})
}

func source(t *testing.T, name string) redrive.Source {
	t.Helper()
	srcs, err := redrive.Sources(context.Background(), stack, sqs.NewFromConfig(stack.AWS))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("redrive knows no %s DLQ", name)
	return redrive.Source{}
}

// A malformed message on a queue is parked in that queue's DLQ with its reason; redrive moves
// it back to the queue, where (being still malformed) it is parked again: a new message.
func TestMalformedQueueMessageIsParkedAndRedriven(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ source, queue, reason, function, consumer string }{
		{"payments", "PaymentsQueueUrl", "not a payment task", "PaymentFunctionName", "payment"},
		{"email", "EmailQueueUrl", "not an EventBridge event", "NotifierFunctionName", "notifier"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			t.Parallel()
			marker := "e2e-malformed-" + uuid.NewString()
			src := source(t, tc.source)
			purgeFrom(t, src.DLQURL, marker)
			body := `{"malformed":"` + marker + `"`
			sent := time.Now()
			if _, err := sqs.NewFromConfig(stack.AWS).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.Output(tc.queue)), MessageBody: aws.String(body)}); err != nil {
				t.Fatal(err)
			}
			first := parkedWith(t, src.DLQURL, marker, tc.reason)
			// The consumer counted it: an EMF record of RecordsParked (a metric on AWS), which
			// Lambda's Errors would not show (the batch did not fail).
			eventually(t, time.Minute, tc.consumer+"'s RecordsParked record", func(ctx context.Context) error {
				return emitted(ctx, tc.function, sent, "RecordsParked", tc.consumer)
			})

			rep, err := redrive.Redrive(context.Background(), redrive.NewClients(stack), []redrive.Source{src}, redrive.Options{Match: marker, DryRun: true})
			if err != nil || len(rep.Results) != 1 || rep.Results[0].Err != nil || !strings.Contains(rep.Results[0].Message.Reason, tc.reason) {
				t.Fatalf("dry run = %+v, %v; want the message listed with its reason", rep, err)
			}
			if m, found, _ := dlqMessage(context.Background(), src.DLQURL, marker); !found || aws.ToString(m.MessageId) != aws.ToString(first.MessageId) {
				t.Fatal("the dry run moved the message")
			}

			rep, err = redrive.Redrive(context.Background(), redrive.NewClients(stack), []redrive.Source{src}, redrive.Options{Match: marker})
			if err != nil || rep.Moved != 1 || rep.Failed != 0 {
				t.Fatalf("redrive = %+v, %v; want 1 moved", rep, err)
			}
			again := parkedWith(t, src.DLQURL, marker, tc.reason)
			if aws.ToString(again.MessageId) == aws.ToString(first.MessageId) || aws.ToString(again.Body) != body {
				t.Errorf("after the redrive the DLQ holds %s %q, want a new message (moved back, consumed, parked again) with the same body",
					aws.ToString(again.MessageId), aws.ToString(again.Body))
			}
		})
	}
}

// An event that breaks its schema, put on the bus, is parked by the streamer (the stream's
// schema gate) with the schema problem as its reason; redrive says why it cannot move it and
// keeps it.
func TestInvalidEventIsParkedAndKeptUntilFixed(t *testing.T) {
	t.Parallel()
	orderID := toolkit.NewOrderID()
	e, err := events.New(events.Spec{Type: events.TypeInventoryReserved, Version: 1, OrderID: orderID, Sequence: 2, CorrelationID: events.ID(orderID, 1), CausationID: events.ID(orderID, 1), Payload: events.InventoryReserved{OrderID: orderID, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}, Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	entry, err := e.Entry(stack.Output("EventBusName"))
	if err != nil {
		t.Fatal(err)
	}
	entry.Detail = strings.Replace(entry.Detail, `"quantity":1`, `"quantity":0`, 1)
	src := source(t, "streamer")
	purgeFrom(t, src.DLQURL, orderID)
	out, err := eventbridge.NewFromConfig(stack.AWS).PutEvents(context.Background(), &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		Source: aws.String(entry.Source), DetailType: aws.String(entry.DetailType), Detail: aws.String(entry.Detail), EventBusName: aws.String(entry.EventBusName),
	}}})
	if err != nil || out.FailedEntryCount > 0 {
		t.Fatalf("put events: %v %+v", err, out)
	}
	first := parkedWith(t, src.DLQURL, orderID, "quantity")

	rep, err := redrive.Redrive(context.Background(), redrive.NewClients(stack), []redrive.Source{src}, redrive.Options{Match: orderID})
	if err != nil || len(rep.Results) != 1 || rep.Moved != 0 || rep.Failed != 1 || !strings.Contains(rep.Results[0].Err.Error(), "still invalid") {
		t.Fatalf("redrive = %+v, %v; want the event kept, still invalid", rep, err)
	}
	kept, found, _ := dlqMessage(context.Background(), src.DLQURL, orderID)
	if !found || aws.ToString(kept.MessageId) != aws.ToString(first.MessageId) {
		t.Error("the invalid event left the DLQ: it would be lost")
	}
	if n, err := onStream(context.Background(), orderID); err != nil || len(n) != 0 {
		t.Errorf("the invalid event reached the stream: %v %v", n, err)
	}
}
