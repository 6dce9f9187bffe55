package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// EventStoreAPI is the part of the DynamoDB client the event store uses.
type EventStoreAPI interface {
	putter
	getter
	querier
}

// EventStore is the append-only log of every order's events: partition key "orderId" (S),
// sort key "sequence" (N). Order state is a fold over it (order.Fold). Each OrderPlaced item
// also carries "customerId" and "placedAt", the keys of the sparse index CustomerOrdersIndex
// that lists a customer's orders.

type EventStore struct {
	client EventStoreAPI
	table  string
}

// CustomerOrdersIndex is the event store's global secondary index of OrderPlaced items:
// partition key "customerId" (S), sort key "placedAt" (S, fixed-width UTC, so that it sorts
// by time). The CDK app defines it with this name.
const CustomerOrdersIndex = "byCustomer"

const (
	customerAttr   = "customerId"
	placedAtAttr   = "placedAt"
	placedAtLayout = "2006-01-02T15:04:05.000Z" // fixed width: sorts as time does
)

// eventItem is one event as the event store keeps it. Times are RFC 3339 strings in UTC.
type eventItem struct {
	OrderID               string     `dynamodbav:"orderId"`
	Sequence              int        `dynamodbav:"sequence"`
	EventID               string     `dynamodbav:"eventId"`
	Type                  string     `dynamodbav:"type"`
	Version               int        `dynamodbav:"version"`
	Source                string     `dynamodbav:"source"`
	Time                  time.Time  `dynamodbav:"time"`
	CorrelationID         string     `dynamodbav:"correlationId"`
	CausationID           string     `dynamodbav:"causationId,omitempty"` // OrderPlaced has none
	Envelope              string     `dynamodbav:"envelope"`              // the envelope JSON, as received
	RecordedAt            time.Time  `dynamodbav:"recordedAt"`
	CustomerID            string     `dynamodbav:"customerId,omitempty"` // OrderPlaced only: the keys of
	PlacedAt              string     `dynamodbav:"placedAt,omitempty"`   // CustomerOrdersIndex (placedAtLayout)
	KinesisSequenceNumber string     `dynamodbav:"kinesisSequenceNumber,omitempty"`
	KinesisArrival        *time.Time `dynamodbav:"kinesisArrival,omitempty"`
}

// NewEventStore returns the event store kept in table.
func NewEventStore(client EventStoreAPI, table string) *EventStore {
	return &EventStore{client: client, table: table}
}

// Append stores rec at (orderId, sequence) unless that slot is taken. A slot holding the same
// event (id, type and payload) is a redelivery: store.ErrDuplicate. A slot holding anything
// else is store.ErrConflict: two different facts claim the same place in the order's history.
func (es *EventStore) Append(ctx context.Context, rec store.EventRecord) error {
	e := rec.Envelope
	it := eventItem{
		OrderID: e.OrderID, Sequence: e.Sequence, EventID: e.ID, Type: string(e.Type), Version: e.Version, Source: e.Source,
		Time: e.Time.UTC(), CorrelationID: e.CorrelationID, CausationID: e.CausationID, Envelope: string(rec.Detail),
		RecordedAt: rec.RecordedAt.UTC(), KinesisSequenceNumber: rec.KinesisSequenceNumber,
	}
	if e.Type == events.TypeOrderPlaced {
		// Only OrderPlaced items carry these two: the customer's orders index is sparse,
		// one entry per order.
		up, err := e.Upcast()
		if err != nil {
			return fmt.Errorf("append %s #%d: %w", e.OrderID, e.Sequence, err)
		}
		p, err := events.DecodePayload[events.OrderPlaced](up)
		if err != nil {
			return fmt.Errorf("append %s #%d: %w", e.OrderID, e.Sequence, err)
		}
		it.CustomerID, it.PlacedAt = p.CustomerID, e.Time.UTC().Format(placedAtLayout)
	}
	if !rec.KinesisArrival.IsZero() {
		arrival := rec.KinesisArrival.UTC()
		it.KinesisArrival = &arrival
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("append %s #%d: %w", e.OrderID, e.Sequence, err)
	}
	old, ok, err := putIf(ctx, es.client, &dynamodb.PutItemInput{
		TableName:           aws.String(es.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(orderId)"),
	})
	switch {
	case err != nil:
		return fmt.Errorf("append %s #%d: %w", e.OrderID, e.Sequence, err)
	case ok:
		return nil
	}
	if len(old) == 0 { // not every endpoint returns the old item: read it
		if old, err = es.slot(ctx, e); err != nil {
			return fmt.Errorf("append %s #%d: read existing event: %w", e.OrderID, e.Sequence, err)
		}
	}
	var stored storedFact // only what sameFact compares: a malformed attribute elsewhere is no reason to fail
	if err := attributevalue.UnmarshalMap(old, &stored); err != nil {
		return fmt.Errorf("append %s #%d: read existing event: %w", e.OrderID, e.Sequence, err)
	}
	if !sameFact(stored, e) {
		return fmt.Errorf("append %s #%d: a different %s (event %s) holds the slot: %w", e.OrderID, e.Sequence, stored.Type, stored.EventID, store.ErrConflict)
	}
	return fmt.Errorf("append %s #%d: event %s: %w", e.OrderID, e.Sequence, e.ID, store.ErrDuplicate)
}

// Contradiction reads, without writing, what Append would find at e's slot: "" if the slot is
// free or holds e again, otherwise the stored event it conflicts with ("OrderShipped (event …)").
// For the tools that must not hand the projector an event it can only park again (redrive).
func (es *EventStore) Contradiction(ctx context.Context, e events.Envelope) (string, error) {
	item, err := es.slot(ctx, e)
	if err != nil || len(item) == 0 {
		return "", err
	}
	var stored storedFact
	if err := attributevalue.UnmarshalMap(item, &stored); err != nil {
		return "", fmt.Errorf("event %s #%d: %w", e.OrderID, e.Sequence, err)
	}
	if sameFact(stored, e) {
		return "", nil
	}
	return fmt.Sprintf("%s (event %s)", stored.Type, stored.EventID), nil
}

// slot reads, consistently, what sameFact compares of the item at e's order and sequence (none:
// an empty item).
func (es *EventStore) slot(ctx context.Context, e events.Envelope) (map[string]types.AttributeValue, error) {
	out, err := es.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(es.table),
		Key:                      map[string]types.AttributeValue{"orderId": str(e.OrderID), "sequence": num(e.Sequence)},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("eventId, #type, envelope"),
		ExpressionAttributeNames: map[string]string{"#type": "type"},
	})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// storedFact is what sameFact reads of the item holding a slot.
type storedFact struct {
	EventID  string `dynamodbav:"eventId"`
	Type     string `dynamodbav:"type"`
	Envelope string `dynamodbav:"envelope"`
}

// sameFact reports whether the stored item is e again (events.SameFact): same id, type,
// version and payload, the payloads compared as JSON values (the stored envelope is Go's
// encoding; a redelivered one may be another producer's).
func sameFact(item storedFact, e events.Envelope) bool {
	var stored events.Envelope
	if err := json.Unmarshal([]byte(item.Envelope), &stored); err != nil {
		return false
	}
	return item.EventID == stored.ID && item.Type == string(stored.Type) && events.SameFact(stored, e)
}

// Records returns the order's stored events in sequence order, read consistently, each with
// what the projector recorded of it: where it read it on the stream, when Kinesis received it,
// when it stored it. The envelope is the item's attributes and Detail the stored JSON, not
// validated: this is for the tools that show what is stored, valid or not (the trace); the
// functions use Load. client needs only Query.
func Records(ctx context.Context, client querier, table, orderID string) ([]store.EventRecord, error) {
	items, err := orderItems(ctx, client, table, orderID, "")
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w", orderID, err)
	}
	recs := make([]store.EventRecord, len(items))
	for i, it := range items {
		recs[i] = store.EventRecord{
			Envelope: events.Envelope{
				ID: it.EventID, Type: events.Type(it.Type), Version: it.Version, Source: it.Source, Time: it.Time,
				OrderID: it.OrderID, Sequence: it.Sequence, CorrelationID: it.CorrelationID, CausationID: it.CausationID,
			},
			Detail:                []byte(it.Envelope),
			KinesisSequenceNumber: it.KinesisSequenceNumber,
			RecordedAt:            it.RecordedAt,
		}
		if it.KinesisArrival != nil {
			recs[i].KinesisArrival = *it.KinesisArrival
		}
	}
	return recs, nil
}

// Load returns the order's events in sequence order, read consistently; none if the order is
// unknown. Each envelope is validated against its schema on the way out: if one fails, Load
// returns the events that read and an error wrapping store.ErrUnreadable, which says why.
func (es *EventStore) Load(ctx context.Context, orderID string) ([]events.Envelope, error) {
	items, err := orderItems(ctx, es.client, es.table, orderID, "envelope")
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", orderID, err)
	}
	evs := make([]events.Envelope, 0, len(items))
	var unreadable error
	for _, item := range items {
		e, err := events.Parse([]byte(item.Envelope))
		if err != nil {
			if unreadable == nil {
				unreadable = fmt.Errorf("load %s: a stored event: %w: %w", orderID, store.ErrUnreadable, err)
			}
			continue
		}
		evs = append(evs, e)
	}
	return evs, unreadable
}

// orderItems reads every item of the order, in sequence order, consistently; projection names
// the attributes to read ("": all of them).
func orderItems(ctx context.Context, client querier, table, orderID, projection string) ([]eventItem, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("orderId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(orderID)},
		ConsistentRead:            aws.Bool(true),
	}
	if projection != "" {
		in.ProjectionExpression = aws.String(projection)
	}
	var out []eventItem
	for p := dynamodb.NewQueryPaginator(client, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		var items []eventItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, err
		}
		out = append(out, items...)
	}
	return out, nil
}

// PlacedAt is when the order was placed: the time of its OrderPlaced, the item at sequence 1,
// read consistently (one GetItem, two attributes). store.ErrNotFound when the event store does
// not hold it (yet).
func (es *EventStore) PlacedAt(ctx context.Context, orderID string) (time.Time, error) {
	out, err := es.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(es.table),
		Key:                      map[string]types.AttributeValue{"orderId": str(orderID), "sequence": num(1)},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#type, #time"),
		ExpressionAttributeNames: map[string]string{"#type": "type", "#time": "time"},
	})
	if err == nil && len(out.Item) == 0 {
		err = store.ErrNotFound
	}
	var first eventItem
	if err == nil {
		err = attributevalue.UnmarshalMap(out.Item, &first)
	}
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("placed at %s: %w", orderID, err)
	case first.Type != string(events.TypeOrderPlaced):
		return time.Time{}, fmt.Errorf("placed at %s: event #1 is a %q, not an OrderPlaced", orderID, first.Type)
	case first.Time.IsZero():
		return time.Time{}, fmt.Errorf("placed at %s: attribute time: missing", orderID)
	}
	return first.Time, nil
}

// CustomerOrders lists the OrderPlaced events of a customer's orders, newest first, at most
// limit of them, starting after the order `after` names (nil: from the newest). next names
// the last order of the page when more follow, nil on the last page. It asks for one order
// more than limit to know: DynamoDB returns a LastEvaluatedKey whenever a query stops at its
// Limit, even when nothing follows, so a page exactly full would otherwise promise a next page
// that is empty. The index is eventually consistent, like the event store's other readers: an
// order appears once the projector has stored its OrderPlaced.
//
// An OrderPlaced that no longer reads (store.ErrUnreadable) is listed by the id and time the
// index keeps for it, with the error: one such order does not take its customer's list down.
func (es *EventStore) CustomerOrders(ctx context.Context, customerID string, limit int, after *store.OrderCursor) (listed []store.ListedOrder, next *store.OrderCursor, err error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(es.table),
		IndexName:                 aws.String(CustomerOrdersIndex),
		KeyConditionExpression:    aws.String("customerId = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": str(customerID)},
		ProjectionExpression:      aws.String("orderId, placedAt, envelope"),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit) + 1),
	}
	if after != nil {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			customerAttr: str(customerID), placedAtAttr: str(after.PlacedAt.UTC().Format(placedAtLayout)),
			"orderId": str(after.OrderID), "sequence": num(1),
		}
	}
	out, err := es.client.Query(ctx, in)
	if err != nil {
		return nil, nil, fmt.Errorf("orders of %s: %w", customerID, err)
	}
	var items []eventItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return nil, nil, fmt.Errorf("orders of %s: %w", customerID, err)
	}
	// More follow when the extra order came back, or when the query stopped short of its
	// Limit at DynamoDB's 1 MB a page.
	more := len(items) > limit || len(out.LastEvaluatedKey) > 0
	if len(items) > limit {
		items = items[:limit]
	}
	for _, item := range items {
		e, err := events.Parse([]byte(item.Envelope))
		if err == nil {
			listed = append(listed, store.ListedOrder{OrderID: e.OrderID, PlacedAt: e.Time, Placed: e})
			continue
		}
		at, terr := time.Parse(placedAtLayout, item.PlacedAt)
		if terr != nil || item.OrderID == "" { // not even the index's keys: nothing to list it by
			return nil, nil, fmt.Errorf("orders of %s: an index item (order %q, placedAt %q) does not read: %w", customerID, item.OrderID, item.PlacedAt, err)
		}
		listed = append(listed, store.ListedOrder{OrderID: item.OrderID, PlacedAt: at,
			Err: fmt.Errorf("order %s: its OrderPlaced: %w: %w", item.OrderID, store.ErrUnreadable, err)})
	}
	if more && len(listed) > 0 {
		last := listed[len(listed)-1]
		next = &store.OrderCursor{PlacedAt: last.PlacedAt, OrderID: last.OrderID}
	}
	return listed, next, nil
}
