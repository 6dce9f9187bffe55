package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// Readers for the tools that show what the functions stored (the trace): each reads one item
// the way its adapter writes it, consistently, and needs only GetItem or Query of the client.

// PaymentOf is the order's item in the payments ledger; found is false if there is none.
func PaymentOf(ctx context.Context, client getter, table, orderID string) (p store.Payment, found bool, err error) {
	item, err := getItem(ctx, client, table, map[string]types.AttributeValue{"orderId": str(orderID)})
	if err != nil || item == nil {
		return store.Payment{}, false, err
	}
	p, err = decodePayment(orderID, item)
	return p, err == nil, err
}

// ReservationOf is the order's stock decision in the inventory table ("RES#<orderId>"): its
// status and when it was written; found is false if there is none.
func ReservationOf(ctx context.Context, client getter, table, orderID string) (status store.ReservationStatus, at time.Time, found bool, err error) {
	item, err := getItem(ctx, client, table, resKey(orderID))
	if err != nil || item == nil {
		return "", time.Time{}, false, err
	}
	var r reservationItem
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return "", time.Time{}, false, fmt.Errorf("reservation of %s: %w", orderID, err)
	}
	return r.Status, r.UpdatedAt, true, nil
}

// ShipmentOf is the order's shipment, or its seal (Sealed); found is false if there is neither.
func ShipmentOf(ctx context.Context, client getter, table, orderID string) (sh store.Shipment, found bool, err error) {
	item, err := getItem(ctx, client, table, map[string]types.AttributeValue{"orderId": str(orderID)})
	if err != nil || item == nil {
		return store.Shipment{}, false, err
	}
	var it shipmentItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return store.Shipment{}, false, fmt.Errorf("shipment of %s: %w", orderID, err)
	}
	return store.Shipment(it), true, nil
}

// NotificationsOf lists the notifications sent for an event, one per channel.
func NotificationsOf(ctx context.Context, client querier, table, eventID string) ([]store.Notification, error) {
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("eventId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(eventID)},
		ConsistentRead:            aws.Bool(true),
	})
	var items []notificationItem
	if err == nil {
		err = attributevalue.UnmarshalListOfMaps(out.Items, &items)
	}
	if err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", eventID, err)
	}
	ns := make([]store.Notification, len(items))
	for i, it := range items {
		ns[i] = it.notification()
	}
	return ns, nil
}

// CountedMarkerExpiry is when analytics' marker of the event ("EVT#<eventId>") expires, which
// it sets a fixed retention after counting the event; found is false if the event was not
// counted (or its marker has expired).
func CountedMarkerExpiry(ctx context.Context, client getter, table, eventID string) (expires time.Time, found bool, err error) {
	item, err := getItem(ctx, client, table, map[string]types.AttributeValue{"pk": str("EVT#" + eventID)})
	if err != nil || item == nil {
		return time.Time{}, false, err
	}
	var m struct {
		ExpiresAt int64 `dynamodbav:"expiresAt"` // epoch seconds
	}
	if err := attributevalue.UnmarshalMap(item, &m); err != nil {
		return time.Time{}, false, fmt.Errorf("marker of %s: %w", eventID, err)
	}
	return time.Unix(m.ExpiresAt, 0).UTC(), m.ExpiresAt > 0, nil
}

// getItem reads one item consistently, as readItem does, and names the table in an error.
func getItem(ctx context.Context, client getter, table string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	item, err := readItem(ctx, client, table, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return item, nil
}

// SalesTotals is the analytics table's totals ("TOTALS"), as Analytics.Add keeps them: zero
// before anything was counted.
func SalesTotals(ctx context.Context, client getter, table string) (store.Totals, error) {
	item, err := getItem(ctx, client, table, totalsKey)
	if err != nil {
		return store.Totals{}, fmt.Errorf("sales totals: %w", err)
	}
	var t totalsItem
	if err := attributevalue.UnmarshalMap(item, &t); err != nil {
		return store.Totals{}, fmt.Errorf("sales totals: %w", err)
	}
	return store.Totals(t), nil
}
