package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// fakeDB is a scripted DynamoDB client: each call takes the next answer for its operation
// and is recorded.
type fakeDB struct {
	puts      []*dynamodb.PutItemInput
	gets      []*dynamodb.GetItemInput
	queries   []*dynamodb.QueryInput
	transacts []*dynamodb.TransactWriteItemsInput
	batchGets []*dynamodb.BatchGetItemInput
	updates   []*dynamodb.UpdateItemInput

	putAnswers      []error
	getAnswers      []map[string]types.AttributeValue
	getErr          error
	queryAnswers    []*dynamodb.QueryOutput
	transactAnswers []error
	batchGetAnswers []*dynamodb.BatchGetItemOutput
	updateAnswers   []updateAnswer
}

// updateAnswer is one scripted UpdateItem answer: the item after the update, or an error.
type updateAnswer struct {
	item map[string]types.AttributeValue
	err  error
}

func next[T any](answers *[]T) T {
	var zero T
	if len(*answers) == 0 {
		return zero
	}
	a := (*answers)[0]
	*answers = (*answers)[1:]
	return a
}

// answer records the call in and gives the next scripted error, or else out.
func answer[In, Out any](calls *[]In, in In, errs *[]error, out *Out) (*Out, error) {
	*calls = append(*calls, in)
	if err := next(errs); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return answer(&f.puts, in, &f.putAnswers, &dynamodb.PutItemOutput{})
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.gets = append(f.gets, in)
	if f.getErr != nil {
		return nil, f.getErr
	}
	return &dynamodb.GetItemOutput{Item: next(&f.getAnswers)}, nil
}

func (f *fakeDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.updates = append(f.updates, in)
	a := next(&f.updateAnswers)
	if a.err != nil {
		return nil, a.err
	}
	return &dynamodb.UpdateItemOutput{Attributes: a.item}, nil
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.queries = append(f.queries, in)
	return next(&f.queryAnswers), nil
}

func (f *fakeDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return answer(&f.transacts, in, &f.transactAnswers, &dynamodb.TransactWriteItemsOutput{})
}

func (f *fakeDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.batchGets = append(f.batchGets, in)
	return next(&f.batchGetAnswers), nil
}

// sdkErr wraps err as the SDK returns it (an operation error around the modelled exception).
func sdkErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: err}
}

func conditionFailed(old map[string]types.AttributeValue) error {
	return sdkErr("PutItem", &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: old})
}

func cancelled(codes ...string) error {
	tce := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		tce.CancellationReasons = append(tce.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return sdkErr("TransactWriteItems", tce)
}

var throttled = sdkErr("PutItem", &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")})

// --- event store

// Contradiction answers, without writing, what Append would decide: a free slot or the same
// fact again (even re-emitted later) is none; another fact under the same (deterministic) id is
// named.
func TestEventStoreContradiction(t *testing.T) {
	id := fixture.OrderID(1)
	e := fixture.Placed(t, id, "tok_visa")
	rival := fixture.Placed(t, id, "tok_declined") // same id and sequence, another fact
	later := e
	later.Time = later.Time.Add(time.Minute)
	storedAs := func(e events.Envelope) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"eventId": str(e.ID), "type": str(string(e.Type)), "envelope": str(string(fixture.JSON(t, e)))}
	}
	for _, tc := range []struct {
		name   string
		stored map[string]types.AttributeValue
		want   string
	}{
		{"free slot", nil, ""},
		{"the same event", storedAs(e), ""},
		{"the same fact, later", storedAs(later), ""},
		{"another fact", storedAs(rival), "OrderPlaced (event " + e.ID + ")"},
	} {
		db := &fakeDB{getAnswers: []map[string]types.AttributeValue{tc.stored}}
		got, err := NewEventStore(db, "events").Contradiction(context.Background(), later)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
		if len(db.puts) != 0 || len(db.gets) != 1 || !aws.ToBool(db.gets[0].ConsistentRead) {
			t.Errorf("%s: %d puts, gets %+v; want one consistent read and no write", tc.name, len(db.puts), db.gets)
		}
	}
}

func TestEventStoreAppend(t *testing.T) {
	id := fixture.OrderID(1)
	e := fixture.Placed(t, id, "tok_visa")
	detail := fixture.JSON(t, e)
	rival := fixture.Placed(t, id, "tok_declined") // same id and sequence, another fact
	storedAs := func(e events.Envelope) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"eventId": str(e.ID), "type": str(string(e.Type)), "envelope": str(string(fixture.JSON(t, e)))}
	}
	later := e
	later.Time = later.Time.Add(time.Minute) // a retried producer: same fact, later
	tests := []struct {
		name       string
		putErr     error
		got        map[string]types.AttributeValue // the GetItem answer, when the put does not return the old item
		wantErr    error
		wantGets   int
		wantSDKErr bool
	}{
		{name: "appended"},
		{name: "same event again", putErr: conditionFailed(storedAs(e)), wantErr: store.ErrDuplicate},
		{name: "same fact re-emitted later", putErr: conditionFailed(storedAs(later)), wantErr: store.ErrDuplicate},
		{name: "another fact at the sequence", putErr: conditionFailed(storedAs(rival)), wantErr: store.ErrConflict},
		{name: "old item not returned: read it", putErr: conditionFailed(nil), got: storedAs(e), wantErr: store.ErrDuplicate, wantGets: 1},
		{name: "old item not returned, conflict", putErr: conditionFailed(nil), got: storedAs(rival), wantErr: store.ErrConflict, wantGets: 1},
		{name: "throttled", putErr: throttled, wantSDKErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{putAnswers: []error{tc.putErr}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			err := NewEventStore(db, "events").Append(context.Background(), store.EventRecord{
				Envelope: e, Detail: detail, KinesisSequenceNumber: "4959", KinesisArrival: fixture.Now, RecordedAt: fixture.Now,
			})
			switch {
			case tc.wantSDKErr:
				var pte *types.ProvisionedThroughputExceededException
				if !errors.As(err, &pte) || errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrConflict) {
					t.Errorf("err = %v, want the SDK error wrapped", err)
				}
			case !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if len(db.gets) != tc.wantGets {
				t.Errorf("gets = %d, want %d", len(db.gets), tc.wantGets)
			}
			put := db.puts[0]
			if aws.ToString(put.ConditionExpression) != "attribute_not_exists(orderId)" || put.ReturnValuesOnConditionCheckFailure != types.ReturnValuesOnConditionCheckFailureAllOld {
				t.Errorf("put condition = %q", aws.ToString(put.ConditionExpression))
			}
			item := put.Item
			for attr, want := range map[string]string{
				"orderId": id, "eventId": e.ID, "type": "OrderPlaced", "source": events.SourceOrders, "correlationId": e.ID,
				"envelope": string(detail), "kinesisSequenceNumber": "4959", "recordedAt": "2026-03-01T12:00:00Z",
			} {
				if got := getS(item, attr); got != want {
					t.Errorf("item[%s] = %q, want %q", attr, got, want)
				}
			}
			if seq, _ := getN(item, "sequence"); seq != 1 {
				t.Errorf("sequence = %d", seq)
			}
			if _, ok := item["causationId"]; ok {
				t.Error("causationId set for OrderPlaced")
			}
			// The keys of the customer's orders index, on OrderPlaced only.
			if getS(item, "customerId") != fixture.Customer || getS(item, "placedAt") != "2026-03-01T12:00:01.000Z" {
				t.Errorf("index keys = %q, %q", getS(item, "customerId"), getS(item, "placedAt"))
			}
		})
	}
	db := &fakeDB{}
	cancelled := fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
	if err := NewEventStore(db, "events").Append(context.Background(), store.EventRecord{Envelope: cancelled, Detail: fixture.JSON(t, cancelled)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.puts[0].Item["customerId"]; ok {
		t.Error("a later event carries the index keys: the index would list the order twice")
	}
}

// The event store keeps Go's encoding of an envelope ('&' as \u0026, 'é' as is); the same event
// redelivered through a Python emulator or another producer comes encoded otherwise ('&' as is,
// 'é' as \u00e9). That is a duplicate, not a sequence conflict the projector would park.
func TestEventStoreAppendKnowsTheSameEventEncodedAnotherWay(t *testing.T) {
	id := fixture.OrderID(1)
	e := fixture.Placed(t, id, "tok_visa", events.Item{SKU: "SKU-001", Name: "Salt & Pepper <Café>", Quantity: 1, UnitPriceCents: 4999})
	stored := map[string]types.AttributeValue{"eventId": str(e.ID), "type": str(string(e.Type)), "envelope": str(string(fixture.JSON(t, e)))}
	if !strings.Contains(getS(stored, "envelope"), `Salt \u0026 Pepper \u003cCafé\u003e`) {
		t.Fatalf("stored envelope %s: the test expects Go's escaping", getS(stored, "envelope"))
	}
	again := e
	again.Payload = json.RawMessage(strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">", "é", `\u00e9`).Replace(string(e.Payload)))
	rival := e
	rival.Payload = json.RawMessage(strings.Replace(string(again.Payload), "Pepper", "Vinegar", 1))
	for _, tc := range []struct {
		name     string
		incoming events.Envelope
		want     error
	}{
		{"the same event", again, store.ErrDuplicate},
		{"another fact", rival, store.ErrConflict},
	} {
		db := &fakeDB{putAnswers: []error{conditionFailed(stored)}, getAnswers: []map[string]types.AttributeValue{stored}}
		es := NewEventStore(db, "events")
		if err := es.Append(context.Background(), store.EventRecord{Envelope: tc.incoming, Detail: fixture.JSON(t, tc.incoming)}); !errors.Is(err, tc.want) {
			t.Errorf("%s: Append = %v, want %v", tc.name, err, tc.want)
		}
		got, err := es.Contradiction(context.Background(), tc.incoming)
		if err != nil || (got == "") != (tc.want == store.ErrDuplicate) {
			t.Errorf("%s: Contradiction = %q, %v", tc.name, got, err)
		}
	}
}

// customerIndex answers a query of CustomerOrdersIndex as DynamoDB does: at most Limit items,
// newest first, after ExclusiveStartKey, and a LastEvaluatedKey whenever the query stopped at
// its Limit, whether or not anything follows.
type customerIndex struct {
	*fakeDB
	items []map[string]types.AttributeValue // newest first
}

func (ix *customerIndex) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	ix.queries = append(ix.queries, in)
	from := 0
	if in.ExclusiveStartKey != nil {
		for i, item := range ix.items {
			if getS(item, "orderId") == getS(in.ExclusiveStartKey, "orderId") {
				from = i + 1
			}
		}
	}
	out := &dynamodb.QueryOutput{Items: ix.items[from:min(len(ix.items), from+int(aws.ToInt32(in.Limit)))]}
	if len(out.Items) == int(aws.ToInt32(in.Limit)) {
		out.LastEvaluatedKey = map[string]types.AttributeValue{"orderId": out.Items[len(out.Items)-1]["orderId"]}
	}
	return out, nil
}

func TestEventStoreCustomerOrders(t *testing.T) {
	var placed []events.Envelope // newest first
	var items []map[string]types.AttributeValue
	for n := 15; n > 10; n-- {
		e := fixture.Placed(t, fixture.OrderID(n), "tok_visa")
		placed = append(placed, e)
		items = append(items, map[string]types.AttributeValue{"orderId": str(e.OrderID), "envelope": str(string(fixture.JSON(t, e)))})
	}
	for _, tc := range []struct {
		orders, limit int
		pages         []int // orders on each page; the last one has no next
	}{
		{orders: 5, limit: 2, pages: []int{2, 2, 1}},
		{orders: 4, limit: 2, pages: []int{2, 2}}, // the last page full: no next page, empty, promised
		{orders: 2, limit: 20, pages: []int{2}},
		{orders: 2, limit: 2, pages: []int{2}},
		{orders: 0, limit: 20, pages: []int{0}},
	} {
		ix := &customerIndex{fakeDB: &fakeDB{}, items: items[:tc.orders]}
		es := NewEventStore(ix, "events")
		var after *store.OrderCursor
		for i, want := range tc.pages {
			got, next, err := es.CustomerOrders(context.Background(), fixture.Customer, tc.limit, after)
			if err != nil {
				t.Fatal(err)
			}
			first := i * tc.limit
			if len(got) != want || want > 0 && got[0].OrderID != placed[first].OrderID {
				t.Fatalf("%d orders by %d, page %d: %v, want %d from %s", tc.orders, tc.limit, i, got, want, placed[first].OrderID)
			}
			last := i == len(tc.pages)-1
			if last != (next == nil) || !last && (next.OrderID != got[want-1].OrderID || !next.PlacedAt.Equal(got[want-1].PlacedAt)) {
				t.Fatalf("%d orders by %d, page %d: next %+v (last page: %v)", tc.orders, tc.limit, i, next, last)
			}
			after = next
		}
		q := ix.queries[0]
		if aws.ToString(q.IndexName) != CustomerOrdersIndex || aws.ToBool(q.ScanIndexForward) || aws.ToInt32(q.Limit) != int32(tc.limit)+1 ||
			getS(q.ExpressionAttributeValues, ":c") != fixture.Customer || q.ExclusiveStartKey != nil {
			t.Errorf("query = %+v", q)
		}
	}

	// The next page starts after the cursor, on the caller's partition, whatever the cursor says.
	ix := &customerIndex{fakeDB: &fakeDB{}, items: items}
	cursor := &store.OrderCursor{PlacedAt: placed[1].Time, OrderID: placed[1].OrderID}
	if _, _, err := NewEventStore(ix, "events").CustomerOrders(context.Background(), fixture.Customer, 2, cursor); err != nil {
		t.Fatal(err)
	}
	start := ix.queries[0].ExclusiveStartKey
	if getS(start, "customerId") != fixture.Customer || getS(start, "orderId") != placed[1].OrderID || getS(start, "placedAt") != "2026-03-01T12:00:01.000Z" {
		t.Errorf("ExclusiveStartKey = %v", start)
	}

	// A query that stops short of its Limit (DynamoDB's 1 MB a page) has more to come.
	short := &fakeDB{queryAnswers: []*dynamodb.QueryOutput{{Items: items[:1], LastEvaluatedKey: map[string]types.AttributeValue{"orderId": items[0]["orderId"]}}}}
	if got, next, err := NewEventStore(short, "events").CustomerOrders(context.Background(), fixture.Customer, 20, nil); err != nil || len(got) != 1 || next == nil {
		t.Errorf("a page cut at 1 MB: %v, next %+v, err %v", got, next, err)
	}

	// An OrderPlaced that no longer reads is listed by the index's keys, with why; the page goes on.
	unread := fixture.OrderID(9)
	withUnread := []map[string]types.AttributeValue{items[0],
		{"orderId": str(unread), "placedAt": str("2026-03-01T11:00:00.250Z"), "envelope": str(`{"id":"x"}`)}, items[1]}
	got, _, err := NewEventStore(&customerIndex{fakeDB: &fakeDB{}, items: withUnread}, "events").CustomerOrders(context.Background(), fixture.Customer, 20, nil)
	if err != nil || len(got) != 3 || got[0].Err != nil || got[2].Err != nil || got[2].OrderID != placed[1].OrderID {
		t.Fatalf("a page with an unreadable OrderPlaced: %+v, %v", got, err)
	}
	var ve *events.ValidationError
	if u := got[1]; u.OrderID != unread || !u.PlacedAt.Equal(time.Date(2026, 3, 1, 11, 0, 0, 250e6, time.UTC)) ||
		!errors.Is(u.Err, store.ErrUnreadable) || !errors.As(u.Err, &ve) || u.Placed.ID != "" {
		t.Errorf("the unreadable order is listed as %+v", u)
	}
	// Without even the index's keys, it cannot be listed: the page fails, saying why.
	withUnread[1] = map[string]types.AttributeValue{"orderId": str(unread), "envelope": str(`{"id":"x"}`)}
	if _, _, err := NewEventStore(&customerIndex{fakeDB: &fakeDB{}, items: withUnread}, "events").CustomerOrders(context.Background(), fixture.Customer, 20, nil); err == nil || !strings.Contains(err.Error(), unread) {
		t.Errorf("an index item without its placedAt: err = %v", err)
	}
}

func TestEventStoreLoad(t *testing.T) {
	id := fixture.OrderID(2)
	e1 := fixture.Placed(t, id, "tok_visa")
	e2 := fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
	page := func(e events.Envelope, more bool) *dynamodb.QueryOutput {
		out := &dynamodb.QueryOutput{Items: []map[string]types.AttributeValue{{"envelope": str(string(fixture.JSON(t, e)))}}}
		if more {
			out.LastEvaluatedKey = map[string]types.AttributeValue{"orderId": str(id), "sequence": num(e.Sequence)}
		}
		return out
	}
	db := &fakeDB{queryAnswers: []*dynamodb.QueryOutput{page(e1, true), page(e2, false)}}
	got, err := NewEventStore(db, "events").Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != e1.ID || got[1].ID != e2.ID {
		t.Errorf("loaded %+v", got)
	}
	if len(db.queries) != 2 || !aws.ToBool(db.queries[0].ConsistentRead) || db.queries[1].ExclusiveStartKey == nil {
		t.Errorf("queries = %+v", db.queries)
	}

	// An event that does not read: the others are returned, with the error.
	bad := &fakeDB{queryAnswers: []*dynamodb.QueryOutput{{Items: []map[string]types.AttributeValue{
		{"envelope": str(string(fixture.JSON(t, e1)))}, {"envelope": str(`{"id":"x"}`)}, {"envelope": str(string(fixture.JSON(t, e2)))},
	}}}}
	var ve *events.ValidationError
	got, err = NewEventStore(bad, "events").Load(context.Background(), id)
	if !errors.As(err, &ve) || !errors.Is(err, store.ErrUnreadable) || len(got) != 2 || got[0].ID != e1.ID || got[1].ID != e2.ID {
		t.Errorf("corrupt stored event: %+v, err = %v", got, err)
	}
}

// --- inventory

// --- shipments

// workflowSeal is the item the state machine's SealShipment puts for orderID, built from the
// definition itself (its Item, with the paths it reads filled in as Step Functions would): the
// adapter must read what the workflow writes.
func workflowSeal(t *testing.T, orderID string) map[string]types.AttributeValue {
	t.Helper()
	b, err := os.ReadFile("../../../infra/workflow/order-fulfilment.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct {
			Parameters struct{ Item map[string]map[string]any }
		}
	}
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{"$.state.order.orderId": orderID, "$$.State.EnteredTime": "2026-03-01T12:00:00.123Z"}
	item := map[string]types.AttributeValue{}
	for name, v := range def.States["SealShipment"].Parameters.Item {
		switch {
		case v["S.$"] != nil:
			val, ok := paths[v["S.$"].(string)]
			if !ok {
				t.Fatalf("SealShipment's %s reads %v: tell this test what it holds", name, v["S.$"])
			}
			item[name] = str(val)
		case v["BOOL"] != nil:
			item[name] = &types.AttributeValueMemberBOOL{Value: v["BOOL"].(bool)}
		default:
			t.Fatalf("SealShipment's %s is %v: tell this test its type", name, v)
		}
	}
	if len(item) == 0 {
		t.Fatal("no SealShipment item in the definition")
	}
	return item
}

// A shipment recorded again is the one stored; an order the workflow sealed first is refused
// (ErrConflict) and stays sealed.
func TestShipmentsRecord(t *testing.T) {
	ctx := context.Background()
	old := map[string]types.AttributeValue{"orderId": str("o"), "shipmentId": str("s-old"), "carrier": str("ACME Parcel"), "createdAt": str("2026-02-01T00:00:00Z")}
	ship := store.Shipment{OrderID: "o", ShipmentID: "s-new", Carrier: "ACME Parcel", CreatedAt: fixture.Now}

	db := &fakeDB{putAnswers: []error{conditionFailed(old)}}
	got, err := NewShipments(db, "shipments").Record(ctx, ship)
	if err != nil || got.ShipmentID != "s-old" || got.CreatedAt.IsZero() || got.Sealed {
		t.Errorf("got %+v, %v; want the stored shipment", got, err)
	}

	db = &fakeDB{putAnswers: []error{conditionFailed(workflowSeal(t, "o"))}}
	if got, err := NewShipments(db, "shipments").Record(ctx, ship); !errors.Is(err, store.ErrConflict) {
		t.Errorf("record after the workflow's seal = %+v, %v; want ErrConflict", got, err)
	}
	if item := db.puts[0].Item; item["sealed"] != nil || aws.ToString(db.puts[0].ConditionExpression) != "attribute_not_exists(#pk)" {
		t.Errorf("shipment item %v (condition %s), want a conditional put of a shipment, not a seal", item, aws.ToString(db.puts[0].ConditionExpression))
	}
}

// Seal writes the seal the workflow's SealShipment writes; a seal already there (the workflow's)
// is a success; a booked shipment is a conflict.
func TestShipmentsSeal(t *testing.T) {
	ctx := context.Background()
	db := &fakeDB{}
	if err := NewShipments(db, "shipments").Seal(ctx, "o", fixture.Now); err != nil {
		t.Fatal(err)
	}
	if item := db.puts[0].Item; getS(item, "orderId") != "o" || item["sealed"] == nil || item["shipmentId"] != nil || aws.ToString(db.puts[0].ConditionExpression) != "attribute_not_exists(#pk)" {
		t.Errorf("seal item %v (condition %s)", item, aws.ToString(db.puts[0].ConditionExpression))
	}
	if want := workflowSeal(t, "o"); getS(db.puts[0].Item, "createdAt") == "" || len(db.puts[0].Item) != len(want) {
		t.Errorf("seal item %v, want the attributes of the workflow's %v", db.puts[0].Item, want)
	}
	db = &fakeDB{putAnswers: []error{conditionFailed(workflowSeal(t, "o"))}}
	if err := NewShipments(db, "shipments").Seal(ctx, "o", fixture.Now); err != nil {
		t.Errorf("seal after the workflow's = %v, want nil", err)
	}
	booked := map[string]types.AttributeValue{"orderId": str("o"), "shipmentId": str("s-1"), "carrier": str("ACME Parcel"), "createdAt": str("2026-02-01T00:00:00Z")}
	db = &fakeDB{putAnswers: []error{conditionFailed(booked)}}
	if err := NewShipments(db, "shipments").Seal(ctx, "o", fixture.Now); !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "s-1") {
		t.Errorf("seal of a shipped order = %v, want ErrConflict naming the shipment", err)
	}
}

func TestNotificationsRecord(t *testing.T) {
	n := store.Notification{EventID: "e", Channel: "sms", OrderID: "o", Type: events.TypeOrderShipped, Message: "hi", SentAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour)}
	tests := []struct {
		putErr  error
		wantErr error
	}{{nil, nil}, {conditionFailed(nil), store.ErrDuplicate}, {throttled, throttled},
		// The same notification stored: a duplicate; another text for the event: a conflict.
		{conditionFailed(map[string]types.AttributeValue{"eventId": str("e"), "channel": str("sms"), "type": str("OrderShipped"), "message": str("hi")}), store.ErrDuplicate},
		{conditionFailed(map[string]types.AttributeValue{"eventId": str("e"), "channel": str("sms"), "type": str("OrderShipped"), "message": str("forged")}), store.ErrConflict},
	}
	for _, tc := range tests {
		db := &fakeDB{putAnswers: []error{tc.putErr}}
		err := NewNotifications(db, "notifications").Record(context.Background(), n)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("put error %v: err = %v, want %v", tc.putErr, err, tc.wantErr)
		}
		item := db.puts[0].Item
		if exp, _ := getN(item, "expiresAt"); exp != fixture.Now.Add(time.Hour).Unix() || getS(item, "channel") != "sms" {
			t.Errorf("item = %+v", item)
		}
	}
}

func TestAnalyticsAdd(t *testing.T) {
	tests := []struct {
		name       string
		totals     store.Totals
		transact   error
		wantExpr   string
		wantErr    error
		wantAnyErr bool
		wantCalls  int
	}{
		{name: "confirmed", totals: store.Totals{Orders: 1, RevenueCents: 4999}, wantExpr: "ADD #orders :orders, #revenueCents :revenueCents", wantCalls: 1},
		{name: "cancelled", totals: store.Totals{Cancelled: 1}, wantExpr: "ADD #cancelled :cancelled", wantCalls: 1},
		{name: "already counted", totals: store.Totals{Cancelled: 1}, transact: cancelled("ConditionalCheckFailed", "None"), wantExpr: "ADD #cancelled :cancelled", wantErr: store.ErrDuplicate, wantCalls: 1},
		{name: "contention is not a duplicate", totals: store.Totals{Cancelled: 1}, transact: cancelled("None", "TransactionConflict"), wantExpr: "ADD #cancelled :cancelled", wantAnyErr: true, wantCalls: 1},
		{name: "nothing to add", wantCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{transactAnswers: []error{tc.transact}}
			err := NewAnalytics(db, "analytics").Add(context.Background(), "ev-1", tc.totals, fixture.Now)
			switch {
			case tc.wantAnyErr:
				if err == nil || errors.Is(err, store.ErrDuplicate) {
					t.Errorf("err = %v, want a transient error", err)
				}
			case !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if len(db.transacts) != tc.wantCalls {
				t.Fatalf("calls = %d", len(db.transacts))
			}
			if tc.wantCalls == 0 {
				return
			}
			ops := db.transacts[0].TransactItems
			if getS(ops[0].Put.Item, "pk") != "EVT#ev-1" || aws.ToString(ops[0].Put.ConditionExpression) != "attribute_not_exists(pk)" ||
				getS(ops[1].Update.Key, "pk") != "TOTALS" || aws.ToString(ops[1].Update.UpdateExpression) != tc.wantExpr {
				t.Errorf("ops: put %v, update %q", ops[0].Put.Item, aws.ToString(ops[1].Update.UpdateExpression))
			}
		})
	}
}

// Records reads back what Append wrote, the projector's notes included, without validating.
func TestEventStoreRecords(t *testing.T) {
	placed := fixture.Placed(t, fixture.OrderID(1), "tok_visa")
	rec := store.EventRecord{Envelope: placed, Detail: fixture.JSON(t, placed), KinesisSequenceNumber: "4960",
		KinesisArrival: fixture.Now.Add(time.Second), RecordedAt: fixture.Now.Add(2 * time.Second)}
	db := &fakeDB{}
	if err := NewEventStore(db, "events").Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	broken := map[string]types.AttributeValue{"orderId": str(placed.OrderID), "sequence": num(2), "eventId": str("e-2"),
		"type": str("OrderShipped"), "envelope": str(`{"not":"valid"}`)} // a damaged item: still shown
	db.queryAnswers = []*dynamodb.QueryOutput{{Items: []map[string]types.AttributeValue{db.puts[0].Item, broken}}}
	got, err := Records(context.Background(), db, "events", placed.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !aws.ToBool(db.queries[0].ConsistentRead) || aws.ToString(db.queries[0].TableName) != "events" {
		t.Fatalf("records %+v, query %+v", got, db.queries[0])
	}
	r := got[0]
	e := r.Envelope
	if e.ID != placed.ID || e.Type != placed.Type || e.Version != placed.Version || e.Source != placed.Source || !e.Time.Equal(placed.Time) ||
		e.OrderID != placed.OrderID || e.Sequence != 1 || e.CorrelationID != placed.CorrelationID || string(r.Detail) != string(rec.Detail) ||
		r.KinesisSequenceNumber != "4960" || !r.KinesisArrival.Equal(rec.KinesisArrival) || !r.RecordedAt.Equal(rec.RecordedAt) {
		t.Errorf("record = %+v\nwant what was appended: %+v", r, rec)
	}
	if got[1].Envelope.ID != "e-2" || string(got[1].Detail) != `{"not":"valid"}` || !got[1].RecordedAt.IsZero() {
		t.Errorf("damaged record = %+v", got[1])
	}
}
