package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// RecordsAPI is the part of the DynamoDB client the write-once tables use.
type RecordsAPI interface {
	putter
	getter
}

// putOnce writes item unless an item with the same key exists, and returns the item in force:
// item itself, or the one an earlier call stored (read consistently when the endpoint does not
// return it with the failed condition).
func putOnce(ctx context.Context, client RecordsAPI, table, pk string, item map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	old, ok, err := putIf(ctx, client, &dynamodb.PutItemInput{
		TableName:                aws.String(table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": pk},
	})
	switch {
	case err != nil:
		return nil, err
	case ok:
		return item, nil
	case len(old) > 0:
		return old, nil
	}
	held, err := readItem(ctx, client, table, map[string]types.AttributeValue{pk: item[pk]})
	if err != nil {
		return nil, fmt.Errorf("read existing: %w", err)
	}
	if held == nil {
		return nil, fmt.Errorf("read existing: item vanished after a failed condition")
	}
	return held, nil
}

// notificationItem is a sent notification as the table keeps it (key eventId + channel).
type notificationItem struct {
	EventID   string    `dynamodbav:"eventId"`
	Channel   string    `dynamodbav:"channel"`
	OrderID   string    `dynamodbav:"orderId"`
	Type      string    `dynamodbav:"type"`
	Message   string    `dynamodbav:"message"`
	SentAt    time.Time `dynamodbav:"sentAt"`
	ExpiresAt int64     `dynamodbav:"expiresAt"` // epoch seconds: the table's TTL
}

func (it notificationItem) notification() store.Notification {
	return store.Notification{EventID: it.EventID, Channel: it.Channel, OrderID: it.OrderID, Type: events.Type(it.Type),
		Message: it.Message, SentAt: it.SentAt, ExpiresAt: time.Unix(it.ExpiresAt, 0).UTC()}
}

// Shipments keeps the one shipment per order, or the seal that closed it to shipping (the state
// machine's SealShipment writes it): partition key "orderId".
type Shipments struct {
	client RecordsAPI
	table  string
}

// NewShipments returns the shipments kept in table.
func NewShipments(client RecordsAPI, table string) *Shipments {
	return &Shipments{client: client, table: table}
}

// shipmentItem is a shipment, or the seal the state machine's SealShipment writes (orderId,
// sealed, createdAt: infra/workflow/order-fulfilment.asl.json), as the table keeps it.
type shipmentItem struct {
	OrderID    string    `dynamodbav:"orderId"`
	ShipmentID string    `dynamodbav:"shipmentId,omitempty"`
	Carrier    string    `dynamodbav:"carrier,omitempty"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	Sealed     bool      `dynamodbav:"sealed,omitempty"`
}

// Record stores sh unless the order already has a shipment, and returns the shipment in force.
// If the order was sealed against shipping, it stores nothing and fails with store.ErrConflict.
func (ss *Shipments) Record(ctx context.Context, sh store.Shipment) (store.Shipment, error) {
	item, err := attributevalue.MarshalMap(shipmentItem{OrderID: sh.OrderID, ShipmentID: sh.ShipmentID, Carrier: sh.Carrier, CreatedAt: sh.CreatedAt.UTC()})
	if err != nil {
		return store.Shipment{}, fmt.Errorf("record shipment %s: %w", sh.OrderID, err)
	}
	got, err := putOnce(ctx, ss.client, ss.table, "orderId", item)
	var held shipmentItem
	if err == nil {
		err = attributevalue.UnmarshalMap(got, &held)
	}
	if err == nil && held.Sealed {
		err = fmt.Errorf("the order was sealed against shipping at %s: %w", held.CreatedAt.Format(time.RFC3339), store.ErrConflict)
	}
	if err != nil {
		return store.Shipment{}, fmt.Errorf("record shipment %s: %w", sh.OrderID, err)
	}
	return store.Shipment(held), nil
}

// Seal closes the order to shipping, as the state machine's SealShipment does: a seal where its
// shipment would go, unless one is there already. A shipment booked first fails with
// store.ErrConflict: the goods are going. The payment service seals before it gives an approved
// charge back, so that no refund, however it was asked for, leaves an order that can still ship.
func (ss *Shipments) Seal(ctx context.Context, orderID string, at time.Time) error {
	item, err := attributevalue.MarshalMap(shipmentItem{OrderID: orderID, CreatedAt: at.UTC(), Sealed: true})
	if err != nil {
		return fmt.Errorf("seal %s: %w", orderID, err)
	}
	got, err := putOnce(ctx, ss.client, ss.table, "orderId", item)
	var held shipmentItem
	if err == nil {
		err = attributevalue.UnmarshalMap(got, &held)
	}
	if err == nil && !held.Sealed {
		err = fmt.Errorf("shipment %s by %s booked at %s: %w", held.ShipmentID, held.Carrier, held.CreatedAt.Format(time.RFC3339), store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("seal %s: %w", orderID, err)
	}
	return nil
}

// Notifications keeps one record per event and channel: partition key "eventId", sort key
// "channel", expiring (TTL attribute "expiresAt").
type Notifications struct {
	client RecordsAPI
	table  string
}

// NewNotifications returns the notifications kept in table.
func NewNotifications(client RecordsAPI, table string) *Notifications {
	return &Notifications{client: client, table: table}
}

// Record stores nt, or returns store.ErrDuplicate if this event was already notified on
// this channel.
func (ns *Notifications) Record(ctx context.Context, nt store.Notification) error {
	item, err := attributevalue.MarshalMap(notificationItem{
		EventID: nt.EventID, Channel: nt.Channel, OrderID: nt.OrderID, Type: string(nt.Type), Message: nt.Message,
		SentAt: nt.SentAt.UTC(), ExpiresAt: nt.ExpiresAt.Unix(),
	})
	if err != nil {
		return fmt.Errorf("notification %s/%s: %w", nt.EventID, nt.Channel, err)
	}
	old, ok, err := putIf(ctx, ns.client, &dynamodb.PutItemInput{
		TableName:           aws.String(ns.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(eventId)"),
	})
	switch {
	case err != nil:
		return fmt.Errorf("notification %s/%s: %w", nt.EventID, nt.Channel, err)
	case ok:
		return nil
	}
	// The same event again says the same thing. Another text for the same event and channel
	// was not made from this event (a message someone else put on the queue ahead of it): a
	// conflict, not a duplicate to drop. (An endpoint that does not return the old item cannot
	// tell: a duplicate.)
	var held notificationItem
	if len(old) > 0 && attributevalue.UnmarshalMap(old, &held) == nil && (held.Type != string(nt.Type) || held.Message != nt.Message) {
		return fmt.Errorf("notification %s/%s: a different %s (%q) holds its place: %w", nt.EventID, nt.Channel, held.Type, held.Message, store.ErrConflict)
	}
	return fmt.Errorf("notification %s/%s: %w", nt.EventID, nt.Channel, store.ErrDuplicate)
}

// AnalyticsAPI is the part of the DynamoDB client analytics uses.
type AnalyticsAPI interface {
	transactWriter
}

// Analytics keeps sales totals: partition key "pk"; "TOTALS" holds the counters and
// "EVT#<eventId>" marks an event as counted (expiring well after the stream's retention, so
// a replay from the start of the stream never counts an event twice).
type Analytics struct {
	client AnalyticsAPI
	table  string
}

// totalsKey is the item that holds the totals; totalsItem is that item, its counters named as
// Add names them.
var totalsKey = map[string]types.AttributeValue{"pk": str("TOTALS")}

type totalsItem struct {
	Orders        int64 `dynamodbav:"orders"`
	RevenueCents  int64 `dynamodbav:"revenueCents"`
	Cancelled     int64 `dynamodbav:"cancelled"`
	Refunds       int64 `dynamodbav:"refunds"`
	RefundedCents int64 `dynamodbav:"refundedCents"`
}

// NewAnalytics returns the totals kept in table.
func NewAnalytics(client AnalyticsAPI, table string) *Analytics {
	return &Analytics{client: client, table: table}
}

// Add adds t to the totals, once per event: store.ErrDuplicate if eventID was counted before.
func (a *Analytics) Add(ctx context.Context, eventID string, t store.Totals, expiresAt time.Time) error {
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	expr := ""
	for _, c := range []struct {
		attr string
		v    int64
	}{{"orders", t.Orders}, {"revenueCents", t.RevenueCents}, {"cancelled", t.Cancelled}, {"refunds", t.Refunds}, {"refundedCents", t.RefundedCents}} {
		if c.v == 0 {
			continue
		}
		if expr != "" {
			expr += ", "
		}
		expr += "#" + c.attr + " :" + c.attr
		names["#"+c.attr] = c.attr
		values[":"+c.attr] = num(c.v)
	}
	if expr == "" {
		return nil
	}
	_, err := a.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:           aws.String(a.table),
			Item:                map[string]types.AttributeValue{"pk": str("EVT#" + eventID), "expiresAt": epoch(expiresAt)},
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		}},
		{Update: &types.Update{
			TableName:                 aws.String(a.table),
			Key:                       totalsKey,
			UpdateExpression:          aws.String("ADD " + expr),
			ExpressionAttributeNames:  names,
			ExpressionAttributeValues: values,
		}},
	}})
	if _, ok := cancelledByConditions(err); ok {
		return fmt.Errorf("count %s: %w", eventID, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("count %s: %w", eventID, err)
	}
	return nil
}
