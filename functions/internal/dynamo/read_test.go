package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// The trace's readers read back what the adapters write, consistently, and say "none" for a
// missing item.
func TestReaders(t *testing.T) {
	ctx := context.Background()

	n := store.Notification{EventID: "e", Channel: "sms", OrderID: "o", Type: events.TypeOrderShipped, Message: "hi", SentAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour)}
	db := &fakeDB{putAnswers: []error{nil, nil}}
	if err := NewNotifications(db, "notifications").Record(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := NewShipments(db, "shipments").Record(ctx, store.Shipment{OrderID: "o", ShipmentID: "s-1", Carrier: "ACME Parcel", CreatedAt: fixture.Now}); err != nil {
		t.Fatal(err)
	}
	db.queryAnswers = []*dynamodb.QueryOutput{{Items: []map[string]types.AttributeValue{db.puts[0].Item}}}
	sent, err := NotificationsOf(ctx, db, "notifications", "e")
	if err != nil || len(sent) != 1 || sent[0] != n || !aws.ToBool(db.queries[0].ConsistentRead) {
		t.Errorf("NotificationsOf = %+v, %v; want %+v", sent, err, n)
	}

	reserved := map[string]types.AttributeValue{"pk": str("RES#o"), "status": str(string(store.Reserved)), "updatedAt": str("2026-03-01T12:00:00Z")}
	payment := map[string]types.AttributeValue{"orderId": str("o"), "paymentId": str("p-1"), "status": str(string(store.PaymentApproved)),
		"amountCents": num(4999), "attempts": num(2), "createdAt": str("2026-03-01T12:00:01Z")}
	marker := map[string]types.AttributeValue{"pk": str("EVT#e"), "expiresAt": num(fixture.Now.Unix())}
	db.getAnswers = []map[string]types.AttributeValue{db.puts[1].Item, reserved, payment, marker, nil, nil}

	if sh, ok, err := ShipmentOf(ctx, db, "shipments", "o"); err != nil || !ok || sh.ShipmentID != "s-1" || !sh.CreatedAt.Equal(fixture.Now) {
		t.Errorf("ShipmentOf = %+v, %v, %v", sh, ok, err)
	}
	if status, at, ok, err := ReservationOf(ctx, db, "inventory", "o"); err != nil || !ok || status != store.Reserved || !at.Equal(fixture.Now) {
		t.Errorf("ReservationOf = %s, %s, %v, %v", status, at, ok, err)
	}
	if p, ok, err := PaymentOf(ctx, db, "payments", "o"); err != nil || !ok || p.PaymentID != "p-1" || p.Status != store.PaymentApproved || p.Attempts != 2 || p.AmountCents != 4999 {
		t.Errorf("PaymentOf = %+v, %v, %v", p, ok, err)
	}
	if exp, ok, err := CountedMarkerExpiry(ctx, db, "analytics", "e"); err != nil || !ok || !exp.Equal(fixture.Now) {
		t.Errorf("CountedMarkerExpiry = %s, %v, %v", exp, ok, err)
	}
	if _, ok, err := PaymentOf(ctx, db, "payments", "unknown"); ok || err != nil {
		t.Errorf("PaymentOf(unknown) = %v, %v; want none", ok, err)
	}
	if _, ok, err := ShipmentOf(ctx, db, "shipments", "unknown"); ok || err != nil {
		t.Errorf("ShipmentOf(unknown) = %v, %v; want none", ok, err)
	}
	for i, g := range db.gets {
		if !aws.ToBool(g.ConsistentRead) {
			t.Errorf("read %d is not consistent", i)
		}
	}
	if k := getS(db.gets[1].Key, "pk"); k != "RES#o" {
		t.Errorf("reservation key %q", k)
	}
}
