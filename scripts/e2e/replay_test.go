//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
	"github.com/orderflow-dev/orderflow/scripts/internal/replay"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// shippedOrder places an order of its own and waits until it is shipped and projected.
func shippedOrder(t *testing.T, customer string) shop.Order {
	t.Helper()
	p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-001", Quantity: 1}))
	o := waitTerminal(t, p.OrderID)
	if o.Status != "SHIPPED" {
		t.Fatalf("order %s %s (%s), want SHIPPED", o.OrderID, o.Status, o.Reason)
	}
	for _, e := range o.Events {
		if e.Type == "PaymentApproved" { // counted by analytics
			counted(t, e.ID)
		}
	}
	return o
}

// forgetOrder deletes the order's rows from the event store, as a lost projection would, and
// checks the API no longer knows it. It returns the rows deleted.
func forgetOrder(t *testing.T, id string) []dbItem {
	t.Helper()
	rows := queryAll(t, "EventStoreTable", "orderId", id)
	if len(rows) == 0 {
		t.Fatalf("no rows of %s in the event store", id)
	}
	for _, r := range rows {
		if _, err := dynamodb.NewFromConfig(stack.AWS).DeleteItem(context.Background(), &dynamodb.DeleteItemInput{
			TableName: aws.String(stack.Output("EventStoreTable")),
			Key:       map[string]dbtypes.AttributeValue{"orderId": r["orderId"], "sequence": r["sequence"]},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.GetOrder(context.Background(), id); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("GET /orders/%s after deleting its rows: %v, want 404", id, err)
	}
	return rows
}

// sameRows compares event-store rows on what the event carries and where the stream had it
// (recordedAt is when this projection happened, so a rebuild changes it).
func sameRows(t *testing.T, got, want []dbItem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows rebuilt, want %d", len(got), len(want))
	}
	for i := range want {
		for _, k := range []string{"orderId", "sequence", "eventId", "type", "version", "source", "time", "correlationId", "causationId", "envelope", "kinesisSequenceNumber", "kinesisArrival"} {
			g, w := render(got[i][k]), render(want[i][k])
			if k == "kinesisArrival" { // the event source mapping hands it over as float seconds: equal to the millisecond
				g, w = millis(g), millis(w)
			}
			if g != w {
				t.Errorf("row %d: %s = %s, want %s as before", i, k, g, w)
			}
		}
	}
}

func millis(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.Round(time.Millisecond).Format(time.RFC3339Nano)
}

func render(v dbtypes.AttributeValue) string {
	switch a := v.(type) {
	case *dbtypes.AttributeValueMemberS:
		return a.Value
	case *dbtypes.AttributeValueMemberN:
		return "N:" + a.Value
	case nil:
		return "(absent)"
	}
	return fmt.Sprintf("%T", v)
}

func TestReplayRebuildsAnOrderFromTheStream(t *testing.T) {
	quiet(t, "")
	o := shippedOrder(t, "CUST-e2e-replay")
	rows := forgetOrder(t, o.OrderID)
	ctx := context.Background()

	dry, err := replay.Run(ctx, replay.FromStack(stack), replay.Options{OrderID: o.OrderID, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.EventStore.Applied != len(o.Events) || !dry.OK() {
		t.Errorf("dry run: %+v, want %d events to append and a clean check", dry, len(o.Events))
	}
	if _, err := api.GetOrder(ctx, o.OrderID); !errors.Is(err, shop.ErrNotFound) {
		t.Fatalf("the dry run wrote to the event store: GET = %v", err)
	}

	rep, err := replay.Run(ctx, replay.FromStack(stack), replay.Options{OrderID: o.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.EventStore.Applied != len(o.Events) || rep.EventStore.Conflicts != 0 || rep.Analytics.Applied != 0 || rep.CountedMarked != 1 {
		t.Errorf("replay: %+v; want %d appended, nothing counted twice (its confirmation marked), a clean check", rep, len(o.Events))
	}
	got, err := api.GetOrder(ctx, o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		b, _ := json.Marshal(got)
		w, _ := json.Marshal(o)
		t.Errorf("GET /orders/%s after the replay:\n%s\nwant, as before:\n%s", o.OrderID, b, w)
	}
	sameRows(t, queryAll(t, "EventStoreTable", "orderId", o.OrderID), rows)

	// Idempotent: a second replay (from either source) finds everything in place.
	for _, from := range []string{replay.FromStream, replay.FromEventStore} {
		again, err := replay.Run(ctx, replay.FromStack(stack), replay.Options{OrderID: o.OrderID, From: from})
		if err != nil {
			t.Fatal(err)
		}
		if !again.OK() || again.EventStore.Applied != 0 || again.EventStore.AlreadyPresent != len(o.Events) || again.Analytics.Applied != 0 {
			t.Errorf("second replay from the %s: %+v, want everything already present", from, again)
		}
	}
}

// A Kinesis consumer's on-failure destination records where a failed batch lies on the stream
// (AWS sends it; the emulator does not, so the test writes the record AWS would). redrive
// re-reads those records and projects them again: the lost rows come back.
func TestKinesisBatchFailureIsRedrivenFromTheStream(t *testing.T) {
	quiet(t, "")
	o := shippedOrder(t, "CUST-e2e-batch-redrive")
	ctx := context.Background()

	// Where the order's records are.
	var shard, first, last string
	r := &streamlog.Reader{Client: kinesis.NewFromConfig(stack.AWS), Stream: stack.Output("StreamName")}
	if _, err := r.ReadFrom(ctx, nil, func(rec streamlog.Record) error {
		if rec.PartitionKey == o.OrderID {
			if first == "" {
				shard, first = rec.ShardID, rec.SequenceNumber
			}
			last = rec.SequenceNumber
		}
		return nil
	}); err != nil || first == "" {
		t.Fatalf("the order's records on the stream: %v", err)
	}
	rows := forgetOrder(t, o.OrderID) // the cause: the batch never reached the event store

	src := source(t, "projector")
	requestID := uuid.NewString()
	purgeFrom(t, src.DLQURL, requestID)
	failure, _ := json.Marshal(map[string]any{
		"requestContext":  map[string]any{"requestId": requestID, "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:projector", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
		"responseContext": map[string]any{"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
		"version":         "1.0", "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"KinesisBatchInfo": map[string]any{"shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last, "batchSize": len(o.Events),
			"streamArn": "arn:aws:kinesis:us-east-1:000000000000:stream/" + stack.Output("StreamName")},
	})
	if _, err := sqs.NewFromConfig(stack.AWS).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src.DLQURL), MessageBody: aws.String(string(failure))}); err != nil {
		t.Fatal(err)
	}

	// A run leaves a message it takes for parked after its start, in SQS's clock, to the next run;
	// with a clock skew measured at 5 s or more (a busy emulator's Date header) that includes one
	// sent a moment before it. A run later takes it.
	var rep *redrive.Report
	eventually(t, 30*time.Second, "the batch failure redriven", func(ctx context.Context) error {
		var err error
		if rep, err = redrive.Redrive(ctx, redrive.NewClients(stack), []redrive.Source{src}, redrive.Options{Match: requestID}); err != nil || rep.Moved != 1 || rep.Failed != 0 {
			return fmt.Errorf("redrive = %+v, %v; want the batch moved", rep, err)
		}
		return nil
	})
	if res := rep.Results[0]; res.Message.Kind != redrive.KinesisBatch || res.Message.Reason == "" {
		t.Errorf("redriven as %s (%q), want a Kinesis batch failure with its reason", res.Message.Kind, res.Message.Reason)
	}
	if _, found, _ := dlqMessage(ctx, src.DLQURL, requestID); found {
		t.Error("the failure record is still in the DLQ after a successful redrive")
	}
	got, err := api.GetOrder(ctx, o.OrderID)
	if err != nil || !reflect.DeepEqual(got, o) {
		t.Errorf("GET /orders/%s after the redrive = %+v, %v; want %+v", o.OrderID, got, err, o)
	}
	sameRows(t, queryAll(t, "EventStoreTable", "orderId", o.OrderID), rows)
	if rep, err := replay.Run(ctx, replay.FromStack(stack), replay.Options{OrderID: o.OrderID, DryRun: true}); err != nil || !rep.OK() || rep.EventStore.Applied != 0 {
		t.Errorf("replay check after the redrive: %+v, %v; want nothing missing", rep, err)
	}
}
