package journey

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// The tables' side of the evidence: the event store, and what the consumers wrote for the
// order (reservation, payment, shipment, notifications, analytics markers).

// eventStore reads the order's events: the facts, in sequence.
func (c *Collector) eventStore(ctx context.Context, orderID string) ([]Event, error) {
	p := dynamodb.NewQueryPaginator(c.db, &dynamodb.QueryInput{
		TableName:                 aws.String(c.res[ResEventStore]),
		KeyConditionExpression:    aws.String("orderId = :id"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: orderID}},
		ConsistentRead:            aws.Bool(true),
	})
	var evs []Event
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query event store %s: %w", c.res[ResEventStore], err)
		}
		for _, it := range out.Items {
			evs = append(evs, Event{
				ID: str(it, "eventId"), Type: str(it, "type"), Version: num(it, "version"), Source: str(it, "source"),
				Sequence: num(it, "sequence"), CorrelationID: str(it, "correlationId"), CausationID: str(it, "causationId"),
				Time: when(it, "time"), RecordedAt: when(it, "recordedAt"), KinesisSeq: str(it, "kinesisSequenceNumber"),
				Detail: str(it, "envelope"),
			})
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].Sequence < evs[b].Sequence })
	return evs, nil
}

// consumers reads what the workflow's functions and the notifier and analytics wrote for the order.
func (c *Collector) consumers(ctx context.Context, ev *Evidence) error {
	get := func(table string, key map[string]string) (map[string]dbtypes.AttributeValue, error) {
		if c.res[table] == "" {
			return nil, nil
		}
		k := map[string]dbtypes.AttributeValue{}
		for n, v := range key {
			k[n] = &dbtypes.AttributeValueMemberS{Value: v}
		}
		out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.res[table]), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		return out.Item, nil
	}
	id := ev.OrderID
	it, err := get(ResInventory, map[string]string{"pk": "RES#" + id})
	if err != nil {
		return err
	}
	if it != nil {
		ev.Reservation = &Write{Item: "RES#" + id, Status: str(it, "status"), At: when(it, "updatedAt")}
	}
	if it, err = get(ResPayments, map[string]string{"orderId": id}); err != nil {
		return err
	}
	if it != nil {
		ev.Payment, ev.Refund = payment(it)
	}
	if it, err = get(ResShipments, map[string]string{"orderId": id}); err != nil {
		return err
	}
	if it != nil {
		ev.Shipment = &Write{Item: "shipment " + short(str(it, "shipmentId")), Status: str(it, "carrier"), At: when(it, "createdAt")}
	}
	for _, e := range ev.Events {
		if table := c.res[ResNotifications]; table != "" {
			out, err := c.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				KeyConditionExpression:    aws.String("eventId = :id"),
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: e.ID}},
				ConsistentRead:            aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("read %s: %w", ResNotifications, err)
			}
			for _, it := range out.Items {
				ev.Notifications = append(ev.Notifications, Notification{EventID: e.ID, Channel: str(it, "channel"), SentAt: when(it, "sentAt")})
			}
		}
		it, err := get(ResAnalytics, map[string]string{"pk": "EVT#" + e.ID})
		if err != nil {
			return err
		}
		if exp := num(it, "expiresAt"); it != nil && exp > 0 {
			// The marker expires MarkerRetention after analytics counted the event.
			ev.Counted = append(ev.Counted, Counted{EventID: e.ID, At: time.Unix(int64(exp), 0).Add(-toolkit.MarkerRetention)})
		}
	}
	return nil
}

// payment reads the payments ledger's item: the decision (status, createdAt) and, if it was
// given back, the refund (refundedAt). A charge that needed several deliveries counts them.
func payment(it map[string]dbtypes.AttributeValue) (decision, refund *Write) {
	item := "payment " + short(str(it, "paymentId"))
	status := str(it, "status")
	note := ""
	if n := num(it, "attempts"); n > 1 {
		note = fmt.Sprintf("after %d deliveries of the message (the queue redelivered it)", n)
	}
	if r := when(it, "refundedAt"); !r.IsZero() {
		refund = &Write{Item: item, Status: status, At: r}
		status = "APPROVED" // only an approved payment is refunded (a void had no decision)
		if refund.Status != "REFUNDED" {
			return nil, refund
		}
	}
	if c := when(it, "createdAt"); !c.IsZero() {
		if r := str(it, "reason"); r != "" {
			status += " (" + r + ")"
		}
		decision = &Write{Item: item, Status: status, Note: note, At: c}
	}
	return decision, refund
}

func str(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(it map[string]dbtypes.AttributeValue, k string) int {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberN); ok {
		n, _ := strconv.ParseFloat(v.Value, 64)
		return int(n)
	}
	return 0
}

func when(it map[string]dbtypes.AttributeValue, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(it, k))
	return t
}
