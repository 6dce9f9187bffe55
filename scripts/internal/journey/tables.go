package journey

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// The tables' side of the evidence: the event store, and what the consumers wrote for the
// order (reservation, payment, shipment, notifications, analytics markers).

// eventStore reads the order's events through the event store's adapter: the facts, in
// sequence, with what the projector recorded of each.
func (c *Collector) eventStore(ctx context.Context, orderID string) ([]Event, error) {
	recs, err := toolkit.EventRecords(ctx, c.db, c.res[ResEventStore], orderID)
	if err != nil {
		return nil, fmt.Errorf("read event store %s: %w", c.res[ResEventStore], err)
	}
	evs := make([]Event, 0, len(recs))
	for _, r := range recs {
		e := r.Envelope
		evs = append(evs, Event{
			ID: e.ID, Type: string(e.Type), Version: e.Version, Source: e.Source, Sequence: e.Sequence,
			CorrelationID: e.CorrelationID, CausationID: e.CausationID, Time: e.Time,
			RecordedAt: r.RecordedAt, KinesisSeq: r.KinesisSequenceNumber, Detail: string(r.Detail),
		})
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].Sequence < evs[b].Sequence })
	return evs, nil
}

// The items the consumers wrote, as far as the trace reads them.
type (
	reservationItem struct {
		Status    string    `dynamodbav:"status"`
		UpdatedAt time.Time `dynamodbav:"updatedAt"`
	}
	paymentItem struct {
		PaymentID  string    `dynamodbav:"paymentId"`
		Status     string    `dynamodbav:"status"`
		Reason     string    `dynamodbav:"reason"`
		Attempts   int       `dynamodbav:"attempts"`
		CreatedAt  time.Time `dynamodbav:"createdAt"`
		RefundedAt time.Time `dynamodbav:"refundedAt"`
	}
	shipmentItem struct {
		ShipmentID string    `dynamodbav:"shipmentId"`
		Carrier    string    `dynamodbav:"carrier"`
		CreatedAt  time.Time `dynamodbav:"createdAt"`
	}
	notificationItem struct {
		Channel string    `dynamodbav:"channel"`
		SentAt  time.Time `dynamodbav:"sentAt"`
	}
	markerItem struct {
		ExpiresAt int64 `dynamodbav:"expiresAt"` // epoch seconds
	}
)

// consumers reads what the workflow's functions and the notifier and analytics wrote for the order.
func (c *Collector) consumers(ctx context.Context, ev *Evidence) error {
	// get reads table's item with the string key into v; found is false if there is none (or
	// the stack has no such table).
	get := func(table string, key map[string]string, v any) (found bool, err error) {
		if c.res[table] == "" {
			return false, nil
		}
		k := map[string]dbtypes.AttributeValue{}
		for n, v := range key {
			k[n] = &dbtypes.AttributeValueMemberS{Value: v}
		}
		out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.res[table]), Key: k, ConsistentRead: aws.Bool(true)})
		if err == nil && out.Item != nil {
			err = attributevalue.UnmarshalMap(out.Item, v)
		}
		if err != nil {
			return false, fmt.Errorf("read %s: %w", table, err)
		}
		return out.Item != nil, nil
	}
	id := ev.OrderID
	var res reservationItem
	if ok, err := get(ResInventory, map[string]string{"pk": "RES#" + id}, &res); err != nil {
		return err
	} else if ok {
		ev.Reservation = &Write{Item: "RES#" + id, Status: res.Status, At: res.UpdatedAt}
	}
	var pay paymentItem
	if ok, err := get(ResPayments, map[string]string{"orderId": id}, &pay); err != nil {
		return err
	} else if ok {
		ev.Payment, ev.Refund = payment(pay)
	}
	var sh shipmentItem
	if ok, err := get(ResShipments, map[string]string{"orderId": id}, &sh); err != nil {
		return err
	} else if ok {
		ev.Shipment = &Write{Item: "shipment " + short(sh.ShipmentID), Status: sh.Carrier, At: sh.CreatedAt}
	}
	for _, e := range ev.Events {
		if table := c.res[ResNotifications]; table != "" {
			out, err := c.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				KeyConditionExpression:    aws.String("eventId = :id"),
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: e.ID}},
				ConsistentRead:            aws.Bool(true),
			})
			var sent []notificationItem
			if err == nil {
				err = attributevalue.UnmarshalListOfMaps(out.Items, &sent)
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", ResNotifications, err)
			}
			for _, n := range sent {
				ev.Notifications = append(ev.Notifications, Notification{EventID: e.ID, Channel: n.Channel, SentAt: n.SentAt})
			}
		}
		var m markerItem
		ok, err := get(ResAnalytics, map[string]string{"pk": "EVT#" + e.ID}, &m)
		if err != nil {
			return err
		}
		if ok && m.ExpiresAt > 0 {
			// The marker expires MarkerRetention after analytics counted the event.
			ev.Counted = append(ev.Counted, Counted{EventID: e.ID, At: time.Unix(m.ExpiresAt, 0).Add(-toolkit.MarkerRetention)})
		}
	}
	return nil
}

// payment reads the payments ledger's item: the decision (status, createdAt) and, if it was
// given back, the refund (refundedAt). A charge that needed several deliveries counts them.
func payment(it paymentItem) (decision, refund *Write) {
	item := "payment " + short(it.PaymentID)
	status := it.Status
	note := ""
	if it.Attempts > 1 {
		note = fmt.Sprintf("after %d deliveries of the message (the queue redelivered it)", it.Attempts)
	}
	if !it.RefundedAt.IsZero() {
		refund = &Write{Item: item, Status: status, At: it.RefundedAt}
		status = "APPROVED" // only an approved payment is refunded (a void had no decision)
		if refund.Status != "REFUNDED" {
			return nil, refund
		}
	}
	if !it.CreatedAt.IsZero() {
		if it.Reason != "" {
			status += " (" + it.Reason + ")"
		}
		decision = &Write{Item: item, Status: status, Note: note, At: it.CreatedAt}
	}
	return decision, refund
}
