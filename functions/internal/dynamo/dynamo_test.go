package dynamo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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

func (f *fakeDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.puts = append(f.puts, in)
	if err := next(&f.putAnswers); err != nil {
		return nil, err
	}
	return &dynamodb.PutItemOutput{}, nil
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
	f.transacts = append(f.transacts, in)
	if err := next(&f.transactAnswers); err != nil {
		return nil, err
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
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
		})
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

	bad := &fakeDB{queryAnswers: []*dynamodb.QueryOutput{{Items: []map[string]types.AttributeValue{{"envelope": str(`{"id":"x"}`)}}}}}
	var ve *events.ValidationError
	if _, err := NewEventStore(bad, "events").Load(context.Background(), id); !errors.As(err, &ve) {
		t.Errorf("corrupt stored event: err = %v", err)
	}
}

// --- inventory

func res(status store.ReservationStatus) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("RES#o"), "status": str(string(status))}
}

func TestInventoryReserve(t *testing.T) {
	lines := []store.Line{{SKU: "SKU-003", Quantity: 2, InitialStock: 5}, {SKU: "SKU-001", Quantity: 1, InitialStock: 100}, {SKU: "SKU-404", Quantity: 1, InitialStock: 0}}
	tests := []struct {
		name       string
		transact   error
		gets       []map[string]types.AttributeValue
		puts       []error
		want       store.ReservationStatus
		wantErr    error
		wantAnyErr bool
		wantPuts   int
	}{
		{name: "reserved", want: store.Reserved},
		{name: "retry of a reserved order", transact: cancelled("ConditionalCheckFailed", "None", "None", "None"), gets: []map[string]types.AttributeValue{res(store.Reserved)}, want: store.Reserved},
		{name: "retry of an out-of-stock order", transact: cancelled("ConditionalCheckFailed", "None", "None", "ConditionalCheckFailed"), gets: []map[string]types.AttributeValue{res(store.OutOfStock)}, want: store.OutOfStock},
		{name: "short of stock: decision recorded", transact: cancelled("None", "None", "None", "ConditionalCheckFailed"), gets: []map[string]types.AttributeValue{nil}, want: store.OutOfStock, wantPuts: 1},
		{name: "emulator gives no reasons", transact: sdkErr("TransactWriteItems", &types.TransactionCanceledException{}), gets: []map[string]types.AttributeValue{nil}, want: store.OutOfStock, wantPuts: 1},
		{name: "concurrent attempt reserved first", transact: cancelled("ConditionalCheckFailed", "None", "None", "None"), gets: []map[string]types.AttributeValue{nil, res(store.Reserved)},
			puts: []error{conditionFailed(nil)}, want: store.Reserved, wantPuts: 1},
		{name: "contention is not out of stock", transact: cancelled("None", "TransactionConflict", "None", "None"), wantAnyErr: true},
		{name: "already released", transact: cancelled("ConditionalCheckFailed", "None", "None", "None"), gets: []map[string]types.AttributeValue{res(store.Released)}, wantErr: store.ErrConflict},
		{name: "throttled", transact: sdkErr("TransactWriteItems", &types.ProvisionedThroughputExceededException{}), wantAnyErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{transactAnswers: []error{tc.transact}, getAnswers: tc.gets, putAnswers: tc.puts}
			inv := NewInventory(db, "inventory")
			inv.now = func() time.Time { return fixture.Now }
			got, err := inv.Reserve(context.Background(), "o", lines)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.wantAnyErr:
				if err == nil || errors.Is(err, store.ErrConflict) {
					t.Errorf("err = %v, want a transient error", err)
				}
			case err != nil || got != tc.want:
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
			if len(db.puts) != tc.wantPuts {
				t.Errorf("puts = %d, want %d", len(db.puts), tc.wantPuts)
			}
			for _, p := range db.puts {
				if getS(p.Item, "status") != string(store.OutOfStock) || aws.ToString(p.ConditionExpression) != "attribute_not_exists(pk)" {
					t.Errorf("out-of-stock put = %+v", p.Item)
				}
			}
			for _, g := range db.gets {
				if !aws.ToBool(g.ConsistentRead) {
					t.Error("reservation read is not consistent")
				}
			}

			// The transaction: the reservation, then one guarded update per line, sorted by SKU.
			ops := db.transacts[0].TransactItems
			if len(ops) != 4 || ops[0].Put == nil || aws.ToString(ops[0].Put.ConditionExpression) != "attribute_not_exists(pk)" {
				t.Fatalf("ops = %+v", ops)
			}
			wantLines := []struct {
				key, cond    string
				qty, initial int
			}{
				{"SKU#SKU-001", "attribute_not_exists(stock) OR stock >= :qty", 1, 100},
				{"SKU#SKU-003", "attribute_not_exists(stock) OR stock >= :qty", 2, 5},
				{"SKU#SKU-404", "stock >= :qty", 1, 0}, // more than the initial stock: the item must exist
			}
			for i, w := range wantLines {
				u := ops[i+1].Update
				if getS(u.Key, "pk") != w.key || aws.ToString(u.ConditionExpression) != w.cond ||
					aws.ToString(u.UpdateExpression) != "SET stock = if_not_exists(stock, :initial) - :qty" ||
					fmt.Sprint(u.ExpressionAttributeValues[":qty"]) != fmt.Sprint(num(w.qty)) ||
					fmt.Sprint(u.ExpressionAttributeValues[":initial"]) != fmt.Sprint(num(w.initial)) {
					t.Errorf("line %d = %s %q %q", i, getS(u.Key, "pk"), aws.ToString(u.ConditionExpression), aws.ToString(u.UpdateExpression))
				}
			}
		})
	}
}

func TestInventoryRelease(t *testing.T) {
	lines := []store.Line{{SKU: "SKU-001", Quantity: 1}, {SKU: "SKU-001", Quantity: 2}} // merged into one update
	tests := []struct {
		name     string
		transact error
		got      map[string]types.AttributeValue
		want     store.ReservationStatus
		wantErr  bool
	}{
		{name: "released", want: store.Released},
		{name: "already released", transact: cancelled("ConditionalCheckFailed", "None"), got: res(store.Released), want: store.Released},
		{name: "never reserved", transact: cancelled("ConditionalCheckFailed", "None"), got: nil, want: store.NoReservation},
		{name: "was out of stock", transact: cancelled("ConditionalCheckFailed", "None"), got: res(store.OutOfStock), want: store.OutOfStock},
		{name: "lost a race, still reserved", transact: cancelled("ConditionalCheckFailed", "None"), got: res(store.Reserved), wantErr: true},
		{name: "contention", transact: cancelled("None", "TransactionConflict"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{transactAnswers: []error{tc.transact}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			got, err := NewInventory(db, "inventory").Release(context.Background(), "o", lines)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %q, %v; want %q (err %v)", got, err, tc.want, tc.wantErr)
			}
			ops := db.transacts[0].TransactItems
			if len(ops) != 2 || aws.ToString(ops[0].Update.ConditionExpression) != "#status = :reserved" ||
				aws.ToString(ops[1].Update.UpdateExpression) != "ADD stock :qty" || fmt.Sprint(ops[1].Update.ExpressionAttributeValues[":qty"]) != fmt.Sprint(num(3)) {
				t.Errorf("ops = %+v", ops)
			}
		})
	}
}

func TestInventoryStock(t *testing.T) {
	db := &fakeDB{batchGetAnswers: []*dynamodb.BatchGetItemOutput{
		{
			Responses:       map[string][]map[string]types.AttributeValue{"inventory": {{"pk": str("SKU#SKU-001"), "stock": num(97)}, {"pk": str("SKU#SKU-002")}}},
			UnprocessedKeys: map[string]types.KeysAndAttributes{"inventory": {Keys: []map[string]types.AttributeValue{{"pk": str("SKU#SKU-003")}}}},
		},
		{Responses: map[string][]map[string]types.AttributeValue{"inventory": {{"pk": str("SKU#SKU-003"), "stock": num(0)}}}},
	}}
	got, err := NewInventory(db, "inventory").Stock(context.Background(), []string{"SKU-001", "SKU-002", "SKU-003", "SKU-042"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"SKU-001": 97, "SKU-003": 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("stock = %v, want %v", got, want)
	}
	if len(db.batchGets) != 2 {
		t.Errorf("batch gets = %d: unprocessed keys not retried", len(db.batchGets))
	}
}

// --- write-once tables

// payment is a payments item as DynamoDB returns it.
func payment(status string, attempts int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"orderId": str("o"), "attempts": num(attempts)}
	if status != "" && status != store.PaymentVoided {
		item["paymentId"], item["amountCents"], item["createdAt"] = str("p"), num(4999), str("2026-02-01T00:00:00Z")
	}
	if status != "" {
		item["status"] = str(status)
	}
	if status == store.PaymentDeclined {
		item["reason"] = str("card-declined")
	}
	if status == store.PaymentRefunded || status == store.PaymentVoided {
		item["refundedAt"] = str("2026-02-02T00:00:00Z")
	}
	return item
}

func updateFailed(old map[string]types.AttributeValue) error {
	return sdkErr("UpdateItem", &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: old})
}

func TestPaymentsAttempt(t *testing.T) {
	tests := []struct {
		name         string
		answer       updateAnswer
		got          map[string]types.AttributeValue
		wantStatus   string
		wantAttempts int
		wantGets     int
		wantErr      bool
	}{
		{name: "first attempt counted", answer: updateAnswer{item: payment("", 1)}, wantAttempts: 1},
		{name: "second attempt counted", answer: updateAnswer{item: payment("", 2)}, wantAttempts: 2},
		{name: "decided: the decision is returned, nothing counted", answer: updateAnswer{err: updateFailed(payment(store.PaymentApproved, 2))}, wantStatus: store.PaymentApproved, wantAttempts: 2},
		{name: "decided, read back", answer: updateAnswer{err: updateFailed(nil)}, got: payment(store.PaymentDeclined, 1), wantStatus: store.PaymentDeclined, wantAttempts: 1, wantGets: 1},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{updateAnswers: []updateAnswer{tc.answer}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			got, err := NewPayments(db, "payments").Attempt(context.Background(), "o")
			if (err != nil) != tc.wantErr || got.Status != tc.wantStatus || got.Attempts != tc.wantAttempts || len(db.gets) != tc.wantGets {
				t.Fatalf("got %+v, %v (gets %d)", got, err, len(db.gets))
			}
			u := db.updates[0]
			if aws.ToString(u.UpdateExpression) != "ADD attempts :one" || aws.ToString(u.ConditionExpression) != "attribute_not_exists(#status)" ||
				u.ExpressionAttributeNames["#status"] != "status" || getS(u.Key, "orderId") != "o" || u.ReturnValues != types.ReturnValueAllNew {
				t.Errorf("update = %+v", u)
			}
		})
	}
}

func TestPaymentsRecord(t *testing.T) {
	p := store.Payment{OrderID: "o", PaymentID: "p", Status: store.PaymentApproved, AmountCents: 4999, CreatedAt: fixture.Now}
	decided := payment(store.PaymentApproved, 2)
	tests := []struct {
		name       string
		answer     updateAnswer
		got        map[string]types.AttributeValue
		wantStatus string
		wantGets   int
		wantErr    bool
	}{
		{name: "first decision stored", answer: updateAnswer{item: decided}, wantStatus: store.PaymentApproved},
		{name: "earlier decision returned with the failed condition", answer: updateAnswer{err: updateFailed(payment(store.PaymentDeclined, 1))}, wantStatus: store.PaymentDeclined},
		{name: "earlier decision read back", answer: updateAnswer{err: updateFailed(nil)}, got: payment(store.PaymentDeclined, 1), wantStatus: store.PaymentDeclined, wantGets: 1},
		{name: "voided before the decision", answer: updateAnswer{err: updateFailed(payment(store.PaymentVoided, 1))}, wantStatus: store.PaymentVoided},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{updateAnswers: []updateAnswer{tc.answer}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			got, err := NewPayments(db, "payments").Record(context.Background(), p)
			if (err != nil) != tc.wantErr || got.Status != tc.wantStatus || len(db.gets) != tc.wantGets {
				t.Fatalf("got %+v, %v (gets %d)", got, err, len(db.gets))
			}
			if !tc.wantErr && tc.wantStatus != store.PaymentVoided && (got.AmountCents != 4999 || got.OrderID != "o" || got.PaymentID != "p" || got.CreatedAt.IsZero()) {
				t.Errorf("payment = %+v", got)
			}
			u := db.updates[0]
			if c := aws.ToString(u.ConditionExpression); c != "attribute_not_exists(#status)" || u.ExpressionAttributeNames["#status"] != "status" ||
				fmt.Sprint(u.ExpressionAttributeValues[":status"]) != fmt.Sprint(str(store.PaymentApproved)) {
				t.Errorf("update = %+v", u)
			}
			if _, ok := u.ExpressionAttributeValues[":reason"]; ok {
				t.Error("an approval carries a reason")
			}
		})
	}
}

func TestPaymentsRefund(t *testing.T) {
	tests := []struct {
		name         string
		answers      []updateAnswer
		got          []map[string]types.AttributeValue
		wantStatus   string
		wantRefunded bool
		wantUpdates  []string // the conditions, in order
		wantErr      bool
	}{
		{name: "approved: refunded", answers: []updateAnswer{{item: payment(store.PaymentRefunded, 1)}},
			wantStatus: store.PaymentRefunded, wantRefunded: true, wantUpdates: []string{"#status = :approved"}},
		{name: "already refunded: nothing more", answers: []updateAnswer{{err: updateFailed(payment(store.PaymentRefunded, 1))}},
			wantStatus: store.PaymentRefunded, wantUpdates: []string{"#status = :approved"}},
		{name: "declined: nothing to refund", answers: []updateAnswer{{err: updateFailed(payment(store.PaymentDeclined, 1))}},
			wantStatus: store.PaymentDeclined, wantUpdates: []string{"#status = :approved"}},
		{name: "no payment: voided", answers: []updateAnswer{{err: updateFailed(nil)}, {item: payment(store.PaymentVoided, 0)}}, got: []map[string]types.AttributeValue{nil},
			wantStatus: store.PaymentVoided, wantUpdates: []string{"#status = :approved", "attribute_not_exists(#status)"}},
		{name: "attempted, undecided: voided", answers: []updateAnswer{{err: updateFailed(payment("", 1))}, {item: payment(store.PaymentVoided, 1)}},
			wantStatus: store.PaymentVoided, wantUpdates: []string{"#status = :approved", "attribute_not_exists(#status)"}},
		{name: "approved while voiding: refunded on the second round", answers: []updateAnswer{
			{err: updateFailed(payment("", 1))}, {err: updateFailed(payment(store.PaymentApproved, 1))}, {item: payment(store.PaymentRefunded, 1)}},
			wantStatus: store.PaymentRefunded, wantRefunded: true, wantUpdates: []string{"#status = :approved", "attribute_not_exists(#status)", "#status = :approved"}},
		{name: "throttled", answers: []updateAnswer{{err: throttled}}, wantErr: true, wantUpdates: []string{"#status = :approved"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{updateAnswers: tc.answers, getAnswers: tc.got}
			got, refunded, err := NewPayments(db, "payments").Refund(context.Background(), "o", fixture.Now)
			if (err != nil) != tc.wantErr || got.Status != tc.wantStatus || refunded != tc.wantRefunded {
				t.Fatalf("got %+v, refunded %v, %v", got, refunded, err)
			}
			var conds []string
			for _, u := range db.updates {
				conds = append(conds, aws.ToString(u.ConditionExpression))
				if getS(u.Key, "orderId") != "o" || u.ExpressionAttributeNames["#status"] != "status" || u.ExpressionAttributeValues[":at"] == nil {
					t.Errorf("update = %+v", u)
				}
			}
			if !reflect.DeepEqual(conds, tc.wantUpdates) {
				t.Errorf("conditions %v, want %v", conds, tc.wantUpdates)
			}
			if tc.wantStatus == store.PaymentRefunded && (got.PaymentID != "p" || got.AmountCents != 4999 || got.RefundedAt.IsZero()) {
				t.Errorf("refunded payment = %+v", got)
			}
		})
	}
}

func TestShipmentsRecord(t *testing.T) {
	old := map[string]types.AttributeValue{"orderId": str("o"), "shipmentId": str("s-old"), "carrier": str("ACME Parcel"), "createdAt": str("2026-02-01T00:00:00Z")}
	db := &fakeDB{putAnswers: []error{conditionFailed(old)}}
	got, err := NewShipments(db, "shipments").Record(context.Background(), store.Shipment{OrderID: "o", ShipmentID: "s-new", Carrier: "ACME Parcel", CreatedAt: fixture.Now})
	if err != nil || got.ShipmentID != "s-old" || got.CreatedAt.IsZero() {
		t.Errorf("got %+v, %v; want the stored shipment", got, err)
	}
}

func TestNotificationsRecord(t *testing.T) {
	n := store.Notification{EventID: "e", Channel: "sms", OrderID: "o", Type: events.TypeOrderShipped, Message: "hi", SentAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour)}
	tests := []struct {
		putErr  error
		wantErr error
	}{{nil, nil}, {conditionFailed(nil), store.ErrDuplicate}, {throttled, throttled}}
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
