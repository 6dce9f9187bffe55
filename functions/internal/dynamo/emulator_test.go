package dynamo

// The same ports, against a real DynamoDB API: an emulator (MiniStack, LocalStack) or AWS.
// Skipped unless ORDERFLOW_TEST_ENDPOINT is set, e.g.
//
//	ORDERFLOW_TEST_ENDPOINT=http://127.0.0.1:4566 go test ./functions/internal/dynamo/
//
// Each run creates its own tables (random names) and deletes them at the end.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

func emulator(t *testing.T) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(fixture.Emulator(t))
}

// table creates a table with a string hash key and an optional sort key ("name", "S"/"N").
func table(t *testing.T, db *dynamodb.Client, hash string, sort ...string) string {
	t.Helper()
	return fixture.KeyTable(t, db, hash, sort...)
}

func TestEmulatorEventStore(t *testing.T) {
	db := emulator(t)
	es := NewEventStore(db, table(t, db, "orderId", "sequence", "N"))
	ctx := context.Background()
	id := fixture.OrderID(100)
	e1 := fixture.Placed(t, id, "tok_visa")
	e2 := fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
	rec := func(e events.Envelope) store.EventRecord {
		return store.EventRecord{Envelope: e, Detail: fixture.JSON(t, e), KinesisSequenceNumber: "1", KinesisArrival: fixture.Now, RecordedAt: fixture.Now}
	}
	for _, step := range []struct {
		name string
		e    events.Envelope
		want error
	}{
		// nil, or ErrDuplicate when the SDK retried a PutItem whose first attempt had written:
		// at-least-once applies to our own calls too (the steps below still tell them apart).
		{"append OrderPlaced", e1, nil},
		{"again: duplicate", e1, store.ErrDuplicate},
		{"rival: conflict", fixture.Placed(t, id, "tok_declined"), store.ErrConflict},
		{"append OrderCancelled", e2, nil},
	} {
		err := es.Append(ctx, rec(step.e))
		if step.want == nil && errors.Is(err, store.ErrDuplicate) && step.e.Sequence == 1 {
			t.Logf("%s: %v (a retried call)", step.name, err)
			continue
		}
		if !errors.Is(err, step.want) || (step.want == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", step.name, err, step.want)
		}
	}
	for _, c := range []struct {
		e    events.Envelope
		want string
	}{{e1, ""}, {fixture.Placed(t, id, "tok_declined"), "OrderPlaced (event " + e1.ID + ")"}, {fixture.Placed(t, fixture.OrderID(102), "tok_visa"), ""}} {
		if got, err := es.Contradiction(ctx, c.e); err != nil || got != c.want {
			t.Errorf("Contradiction(%s #%d) = %q, %v; want %q", c.e.OrderID, c.e.Sequence, got, err, c.want)
		}
	}
	got, err := es.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != e1.ID || got[1].ID != e2.ID {
		t.Errorf("loaded %+v", got)
	}
	if none, err := es.Load(ctx, fixture.OrderID(101)); err != nil || len(none) != 0 {
		t.Errorf("unknown order: %v, %v", none, err)
	}
}

func isConditionFailedOnly(err error) bool {
	_, failed := isConditionFailed(err)
	return failed
}

func TestEmulatorRecords(t *testing.T) {
	db := emulator(t)
	ctx := context.Background()

	shipmentsTable := table(t, db, "orderId")
	shipments := NewShipments(db, shipmentsTable)
	sh := store.Shipment{OrderID: "o", ShipmentID: "s1", Carrier: "ACME Parcel", CreatedAt: fixture.Now}
	if got, err := shipments.Record(ctx, sh); err != nil || got != sh {
		t.Errorf("shipment = %+v, %v", got, err)
	}
	// What the state machine's SealShipment puts, under its condition: it holds the order
	// against a later shipment, passes again (a retry), and fails where a shipment is.
	sealCond := func(orderID string) *dynamodb.PutItemInput {
		return &dynamodb.PutItemInput{TableName: aws.String(shipmentsTable), Item: workflowSeal(t, orderID),
			ConditionExpression:       aws.String("attribute_not_exists(orderId) OR sealed = :sealed"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":sealed": &types.AttributeValueMemberBOOL{Value: true}}}
	}
	for i := range 2 {
		if _, err := db.PutItem(ctx, sealCond("o2")); err != nil {
			t.Fatalf("seal #%d: %v", i+1, err)
		}
	}
	if _, err := db.PutItem(ctx, sealCond("o")); !isConditionFailedOnly(err) {
		t.Errorf("seal of a shipped order: err = %v, want the condition to fail", err)
	}
	if _, err := shipments.Record(ctx, store.Shipment{OrderID: "o2", ShipmentID: "s2", Carrier: "ACME Parcel", CreatedAt: fixture.Now}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("shipment after the seal: err = %v, want ErrConflict", err)
	}
	if got, ok, err := ShipmentOf(ctx, db, shipmentsTable, "o2"); err != nil || !ok || !got.Sealed || got.ShipmentID != "" {
		t.Errorf("ShipmentOf(sealed) = %+v, %v, %v", got, ok, err)
	}

	notifications := NewNotifications(db, table(t, db, "eventId", "channel", "S"))
	n := store.Notification{EventID: "e", Channel: "email", OrderID: "o", Type: events.TypeOrderShipped, Message: "m", SentAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour)}
	if err := notifications.Record(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := notifications.Record(ctx, n); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("second notification: err = %v", err)
	}
	n.Channel = "sms"
	if err := notifications.Record(ctx, n); err != nil {
		t.Errorf("other channel: err = %v", err)
	}

	analyticsTable := table(t, db, "pk")
	analytics := NewAnalytics(db, analyticsTable)
	for i, step := range []struct {
		event string
		add   store.Totals
		want  error
	}{
		{"e1", store.Totals{Orders: 1, RevenueCents: 4999}, nil},
		{"e1", store.Totals{Orders: 1, RevenueCents: 4999}, store.ErrDuplicate},
		{"e2", store.Totals{Cancelled: 1}, nil},
		{"e3", store.Totals{Orders: 1, RevenueCents: 1}, nil},
	} {
		if err := analytics.Add(ctx, step.event, step.add, fixture.Now); !errors.Is(err, step.want) || (step.want == nil && err != nil) {
			t.Fatalf("step %d: err = %v, want %v", i, err, step.want)
		}
	}
	if got, err := SalesTotals(ctx, db, analyticsTable); err != nil || got != (store.Totals{Orders: 2, RevenueCents: 5000, Cancelled: 1}) {
		t.Errorf("totals = %+v, %v; want 2 orders, 5000 cents, 1 cancellation", got, err)
	}
	if err := analytics.Add(ctx, "e4", store.Totals{Refunds: 1, RefundedCents: 700}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	if got, err := SalesTotals(ctx, db, analyticsTable); err != nil || got != (store.Totals{Orders: 2, RevenueCents: 5000, Cancelled: 1, Refunds: 1, RefundedCents: 700}) {
		t.Errorf("totals = %+v, %v; want the refund added", got, err)
	}
	if got, err := SalesTotals(ctx, db, table(t, db, "pk")); err != nil || got != (store.Totals{}) {
		t.Errorf("totals of an empty table = %+v, %v; want zero", got, err)
	}
}

// The payments ledger through a charge that fails once, its approval, a refund and a
// redelivered refund; and an order voided before any decision.
