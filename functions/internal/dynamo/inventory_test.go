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

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

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
		{name: "released first (tombstone): nothing taken", transact: cancelled("ConditionalCheckFailed", "None", "None", "None"), gets: []map[string]types.AttributeValue{res(store.Tombstone)}, wantErr: store.ErrConflict},
		{name: "emulator gives no reasons, tombstone", transact: sdkErr("TransactWriteItems", &types.TransactionCanceledException{}), gets: []map[string]types.AttributeValue{res(store.Tombstone)}, wantErr: store.ErrConflict},
		{name: "short of stock, a release's tombstone came first", transact: cancelled("None", "None", "None", "ConditionalCheckFailed"), gets: []map[string]types.AttributeValue{nil, res(store.Tombstone)},
			puts: []error{conditionFailed(nil)}, wantErr: store.ErrConflict, wantPuts: 1},
		{name: "short of stock, reserved and released meanwhile", transact: cancelled("None", "None", "None", "ConditionalCheckFailed"), gets: []map[string]types.AttributeValue{nil, res(store.Released)},
			puts: []error{conditionFailed(nil)}, wantErr: store.ErrConflict, wantPuts: 1},
		{name: "corrupt reservation", transact: cancelled("ConditionalCheckFailed", "None", "None", "None"), gets: []map[string]types.AttributeValue{{"pk": str("RES#o"), "status": num(1)}}, wantAnyErr: true},
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
			// The reservation holds the merged lines, sorted: what Release will give back.
			if want := stored(store.Reserved, store.Line{SKU: "SKU-001", Quantity: 1}, store.Line{SKU: "SKU-003", Quantity: 2}, store.Line{SKU: "SKU-404", Quantity: 1}); !reflect.DeepEqual(ops[0].Put.Item, want) {
				t.Errorf("reservation = %v, want %v", ops[0].Put.Item, want)
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

// stored is a reservation item as DynamoDB returns it, with the lines Reserve wrote.
func stored(status store.ReservationStatus, lines ...store.Line) map[string]types.AttributeValue {
	item := res(status)
	item["updatedAt"] = str("2026-03-01T12:00:00Z")
	if len(lines) > 0 {
		l := &types.AttributeValueMemberL{}
		for _, line := range lines {
			l.Value = append(l.Value, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"sku": str(line.SKU), "quantity": num(line.Quantity)}})
		}
		item["items"] = l
	}
	return item
}

func TestInventoryRelease(t *testing.T) {
	// What the reservation holds; the order's lines (the caller's) no longer matter.
	held := []store.Line{{SKU: "SKU-001", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}
	reserved, released := stored(store.Reserved, held...), stored(store.Released, held...)
	tombstone := stored(store.Tombstone)
	lost := cancelled("ConditionalCheckFailed", "None", "None") // the status was no longer RESERVED
	tests := []struct {
		name          string
		gets          []map[string]types.AttributeValue
		getErr        error
		transacts     []error
		puts          []error
		want          store.ReservationStatus
		wantLines     []store.Line
		wantErr       bool
		wantTransacts int
		wantPuts      int
	}{
		{name: "released: the stored lines", gets: []map[string]types.AttributeValue{reserved}, want: store.Released, wantLines: held, wantTransacts: 1},
		{name: "already released: the same lines", gets: []map[string]types.AttributeValue{released}, want: store.Released, wantLines: held},
		{name: "was out of stock: nothing", gets: []map[string]types.AttributeValue{stored(store.OutOfStock, held...)}, want: store.OutOfStock},
		{name: "never reserved: tombstone", gets: []map[string]types.AttributeValue{nil}, want: store.NoReservation, wantPuts: 1},
		{name: "tombstone already there", gets: []map[string]types.AttributeValue{tombstone}, want: store.NoReservation},
		{name: "a reserve wins the race with the tombstone: release what it took", gets: []map[string]types.AttributeValue{nil, reserved},
			puts: []error{conditionFailed(nil)}, want: store.Released, wantLines: held, wantPuts: 1, wantTransacts: 1},
		{name: "a concurrent release came first", gets: []map[string]types.AttributeValue{reserved, released},
			transacts: []error{lost}, want: store.Released, wantLines: held, wantTransacts: 1},
		{name: "emulator gives no reasons", gets: []map[string]types.AttributeValue{reserved, released},
			transacts: []error{sdkErr("TransactWriteItems", &types.TransactionCanceledException{})}, want: store.Released, wantLines: held, wantTransacts: 1},
		{name: "contention", gets: []map[string]types.AttributeValue{reserved}, transacts: []error{cancelled("None", "TransactionConflict", "None")}, wantErr: true, wantTransacts: 1},
		{name: "still reserved after every attempt", gets: repeat(reserved, releaseAttempts), transacts: repeat(lost, releaseAttempts), wantErr: true, wantTransacts: releaseAttempts},
		{name: "tombstone throttled", gets: []map[string]types.AttributeValue{nil}, puts: []error{throttled}, wantErr: true, wantPuts: 1},
		{name: "read throttled", getErr: throttled, wantErr: true},
		{name: "unknown status", gets: []map[string]types.AttributeValue{stored("PENDING")}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{getAnswers: tc.gets, getErr: tc.getErr, transactAnswers: tc.transacts, putAnswers: tc.puts}
			inv := NewInventory(db, "inventory")
			inv.now = func() time.Time { return fixture.Now }
			got, lines, err := inv.Release(context.Background(), "o")
			if (err != nil) != tc.wantErr || got != tc.want || !reflect.DeepEqual(lines, tc.wantLines) {
				t.Errorf("got %q %v, %v; want %q %v (err %v)", got, lines, err, tc.want, tc.wantLines, tc.wantErr)
			}
			if len(db.transacts) != tc.wantTransacts || len(db.puts) != tc.wantPuts {
				t.Errorf("transactions %d, puts %d; want %d, %d", len(db.transacts), len(db.puts), tc.wantTransacts, tc.wantPuts)
			}
			for _, g := range db.gets {
				if !aws.ToBool(g.ConsistentRead) || getS(g.Key, "pk") != "RES#o" {
					t.Errorf("read %v: want the reservation, consistently", g.Key)
				}
			}
			// Every transaction: RESERVED -> RELEASED, and the stored lines back in stock.
			for _, tr := range db.transacts {
				ops := tr.TransactItems
				if len(ops) != 1+len(held) || getS(ops[0].Update.Key, "pk") != "RES#o" || aws.ToString(ops[0].Update.ConditionExpression) != "#status = :reserved" {
					t.Fatalf("ops = %+v", ops)
				}
				for i, l := range held {
					u := ops[i+1].Update
					if getS(u.Key, "pk") != "SKU#"+l.SKU || aws.ToString(u.UpdateExpression) != "ADD stock :qty" || fmt.Sprint(u.ExpressionAttributeValues[":qty"]) != fmt.Sprint(num(l.Quantity)) {
						t.Errorf("line %d = %s %q %v", i, getS(u.Key, "pk"), aws.ToString(u.UpdateExpression), u.ExpressionAttributeValues[":qty"])
					}
				}
			}
			// Every put: a tombstone, which never overwrites a reservation.
			for _, p := range db.puts {
				if getS(p.Item, "pk") != "RES#o" || getS(p.Item, "status") != string(store.Tombstone) || p.Item["items"] != nil ||
					aws.ToString(p.ConditionExpression) != "attribute_not_exists(pk)" {
					t.Errorf("tombstone put = %+v, condition %q", p.Item, aws.ToString(p.ConditionExpression))
				}
			}
		})
	}
}

func repeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// Release gives back what Reserve wrote: the merged lines, whatever the order says later.
func TestInventoryReleaseReadsWhatReserveWrote(t *testing.T) {
	db := &fakeDB{}
	inv := NewInventory(db, "inventory")
	inv.now = func() time.Time { return fixture.Now }
	ctx := context.Background()
	if _, err := inv.Reserve(ctx, "o", []store.Line{{SKU: "SKU-042", Quantity: 1, InitialStock: 100}, {SKU: "SKU-001", Quantity: 1, InitialStock: 100}, {SKU: "SKU-001", Quantity: 2, InitialStock: 100}}); err != nil {
		t.Fatal(err)
	}
	written := db.transacts[0].TransactItems[0].Put.Item
	db.getAnswers = []map[string]types.AttributeValue{written}
	status, lines, err := inv.Release(ctx, "o")
	if want := []store.Line{{SKU: "SKU-001", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}; err != nil || status != store.Released || !reflect.DeepEqual(lines, want) {
		t.Errorf("got %q %v, %v; want %q %v", status, lines, err, store.Released, want)
	}
	if getS(written, "updatedAt") != "2026-03-01T12:00:00Z" {
		t.Errorf("updatedAt = %v", written["updatedAt"])
	}
}

// Release twice: one transaction, the same answer.
func TestInventoryReleaseTwice(t *testing.T) {
	held := []store.Line{{SKU: "SKU-003", Quantity: 2}}
	db := &fakeDB{getAnswers: []map[string]types.AttributeValue{stored(store.Reserved, held...), stored(store.Released, held...)}}
	inv := NewInventory(db, "inventory")
	for i := range 2 {
		status, lines, err := inv.Release(context.Background(), "o")
		if err != nil || status != store.Released || !reflect.DeepEqual(lines, held) {
			t.Errorf("release %d: got %q %v, %v", i+1, status, lines, err)
		}
	}
	if len(db.transacts) != 1 {
		t.Errorf("transactions = %d, want 1", len(db.transacts))
	}
}

func TestInventorySetStock(t *testing.T) {
	tests := []struct {
		name       string
		sku        string
		units      int
		updateErr  error
		wantErr    bool
		wantUpdate bool
	}{
		{name: "restock", sku: "SKU-042", units: 7, wantUpdate: true},
		{name: "empty the shelf", sku: "SKU-042", units: 0, wantUpdate: true},
		{name: "negative", sku: "SKU-042", units: -1, wantErr: true},
		{name: "no sku", units: 3, wantErr: true},
		{name: "throttled", sku: "SKU-042", units: 7, updateErr: throttled, wantErr: true, wantUpdate: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{updateAnswers: []updateAnswer{{err: tc.updateErr}}}
			err := NewInventory(db, "inventory").SetStock(context.Background(), tc.sku, tc.units)
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if got := len(db.updates) == 1; got != tc.wantUpdate {
				t.Fatalf("updates = %d", len(db.updates))
			}
			if !tc.wantUpdate {
				return
			}
			u := db.updates[0]
			if aws.ToString(u.TableName) != "inventory" || getS(u.Key, "pk") != "SKU#SKU-042" || aws.ToString(u.UpdateExpression) != "SET stock = :units" ||
				fmt.Sprint(u.ExpressionAttributeValues[":units"]) != fmt.Sprint(num(tc.units)) || u.ConditionExpression != nil {
				t.Errorf("update %v %q %v", u.Key, aws.ToString(u.UpdateExpression), u.ExpressionAttributeValues)
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
	if !aws.ToBool(db.batchGets[0].RequestItems["inventory"].ConsistentRead) {
		t.Error("stock read eventually consistent: a reconciliation right after a run could read it stale")
	}
}

// --- write-once tables
