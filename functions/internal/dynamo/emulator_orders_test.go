package dynamo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// eventStoreTable creates an event store with the customer orders index, as the CDK app does.
func eventStoreTable(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	attr := func(n string, ty types.ScalarAttributeType) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: ty}
	}
	key := func(n string, ty types.KeyType) types.KeySchemaElement {
		return types.KeySchemaElement{AttributeName: aws.String(n), KeyType: ty}
	}
	return fixture.Table(t, db, &dynamodb.CreateTableInput{
		AttributeDefinitions: []types.AttributeDefinition{
			attr("orderId", types.ScalarAttributeTypeS), attr("sequence", types.ScalarAttributeTypeN),
			attr("customerId", types.ScalarAttributeTypeS), attr("placedAt", types.ScalarAttributeTypeS),
		},
		KeySchema: []types.KeySchemaElement{key("orderId", types.KeyTypeHash), key("sequence", types.KeyTypeRange)},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(CustomerOrdersIndex),
			KeySchema:  []types.KeySchemaElement{key("customerId", types.KeyTypeHash), key("placedAt", types.KeyTypeRange)},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	})
}

func TestEmulatorCustomerOrders(t *testing.T) {
	db := emulator(t)
	es := NewEventStore(db, eventStoreTable(t, db))
	ctx := context.Background()
	customer := uuid.NewString()
	var want []string // newest first
	for i := 4; i >= 0; i-- {
		id := fixture.OrderID(300 + i)
		p := events.OrderPlaced{
			OrderID: id, CustomerID: customer, Currency: "USD", TotalCents: 4999, PaymentIntentID: fixture.IntentID(id, "tok_visa"),
			Items: []events.Item{{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}},
		}
		e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Source: events.SourceOrders, OrderID: id, Sequence: 1, Payload: p, Time: fixture.Now.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := es.Append(ctx, store.EventRecord{Envelope: e, Detail: fixture.JSON(t, e)}); err != nil && !errors.Is(err, store.ErrDuplicate) {
			t.Fatal(err)
		}
		later := fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
		if err := es.Append(ctx, store.EventRecord{Envelope: later, Detail: fixture.JSON(t, later)}); err != nil && !errors.Is(err, store.ErrDuplicate) {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	other := fixture.Placed(t, fixture.OrderID(399), "tok_visa") // fixture.Customer's
	if err := es.Append(ctx, store.EventRecord{Envelope: other, Detail: fixture.JSON(t, other)}); err != nil && !errors.Is(err, store.ErrDuplicate) {
		t.Fatal(err)
	}

	// By 2: pages of 2, 2 and 1. By 5: one page, exactly full, with no next page after it.
	for _, limit := range []int{2, 5} {
		var got []string
		var after *store.OrderCursor
		pages := 0
		for ; pages < 5; pages++ {
			placed, next, err := es.CustomerOrders(ctx, customer, limit, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range placed {
				got = append(got, e.OrderID)
			}
			if next == nil {
				break
			}
			after = next
		}
		if len(got) != len(want) {
			t.Fatalf("by %d: listed %v, want %v (one entry per order, newest first)", limit, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("by %d: listed %v, want %v (newest first)", limit, got, want)
			}
		}
		if wantPages := (len(want) + limit - 1) / limit; pages+1 != wantPages {
			t.Errorf("by %d: %d pages, want %d (no empty page after a full one)", limit, pages+1, wantPages)
		}
	}
}

func TestEmulatorIdempotencyKeys(t *testing.T) {
	db := emulator(t)
	keys := NewIdempotencyKeys(db, table(t, db, "customerId", "key", "S"))
	ctx := context.Background()
	now := time.Now().Truncate(time.Second)
	rec := func(lease string) store.IdempotencyRecord {
		return store.IdempotencyRecord{
			CustomerID: fixture.Customer, Key: "k-" + lease[:1], Fingerprint: "fp", Status: store.KeyInProgress,
			OrderID: fixture.OrderID(1), IntentID: fixture.IntentID(fixture.OrderID(1), "tok_visa"), LeaseID: lease,
			LeaseUntil: now.Add(30 * time.Second), CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
		}
	}

	// Twelve requests claim one key at the same moment: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rec("a" + uuid.NewString())
			r.Key = "same"
			_, claimed, err := keys.Claim(ctx, r, now)
			if err != nil {
				t.Errorf("claim %d: %v", i, err)
			}
			if claimed {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d of 12 concurrent claims won, want exactly 1", winners)
	}

	r := rec("b1")
	if _, claimed, err := keys.Claim(ctx, r, now); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if held, claimed, err := keys.Claim(ctx, rec("b2"), now); err != nil || claimed || held.LeaseID != "b1" || !held.LeaseUntil.Equal(r.LeaseUntil) {
		t.Fatalf("second claim = %+v, %v, %v", held, claimed, err)
	}
	if _, ok, err := keys.TakeOver(ctx, r.CustomerID, r.Key, "fp", "b3", now.Add(time.Minute), now); err != nil || ok {
		t.Fatalf("take over a live lease: %v %v", ok, err)
	}
	if err := keys.Release(ctx, r.CustomerID, r.Key, "b1", now); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := keys.TakeOver(ctx, r.CustomerID, r.Key, "other-fp", "b3", now.Add(time.Minute), now); err != nil || ok {
		t.Fatalf("take over with another fingerprint: %v %v", ok, err)
	}
	if _, ok, err := keys.TakeOver(ctx, r.CustomerID, r.Key, "fp", "b3", now.Add(time.Minute), now); err != nil || !ok {
		t.Fatalf("take over a released lease: %v %v", ok, err)
	}
	if err := keys.Complete(ctx, r.CustomerID, r.Key, "b1", "{}"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("complete with the lost lease: %v", err)
	}
	if err := keys.Complete(ctx, r.CustomerID, r.Key, "b3", `{"orderId":"x"}`); err != nil {
		t.Fatal(err)
	}
	if held, claimed, err := keys.Claim(ctx, rec("b4"), now); err != nil || claimed || held.Status != store.KeyCompleted || held.Response != `{"orderId":"x"}` {
		t.Fatalf("claim a completed key = %+v, %v, %v", held, claimed, err)
	}
	// Expired (DynamoDB's TTL may not have deleted it yet): claimable again.
	if _, claimed, err := keys.Claim(ctx, rec("b5"), now.Add(25*time.Hour)); err != nil || !claimed {
		t.Fatalf("claim an expired key: %v %v", claimed, err)
	}

	// The table and store.IdempotencyRecord.LeaseRunOut agree on when a lease has run out,
	// half a second either side of the second it ends with.
	d := rec("d1")
	if _, claimed, err := keys.Claim(ctx, d, now); err != nil || !claimed {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	for _, at := range []time.Time{d.LeaseUntil.Add(-500 * time.Millisecond), d.LeaseUntil.Add(500 * time.Millisecond)} {
		_, ok, err := keys.TakeOver(ctx, d.CustomerID, d.Key, "fp", "d2", at.Add(time.Minute), at)
		if err != nil || ok != d.LeaseRunOut(at) {
			t.Fatalf("take over at %v (lease until %v): %v %v, but LeaseRunOut says %v", at, d.LeaseUntil, ok, err, d.LeaseRunOut(at))
		}
	}
}

func TestEmulatorPaymentIntents(t *testing.T) {
	db := emulator(t)
	intents := NewPaymentIntents(db, table(t, db, "intentId"))
	ctx := context.Background()
	in := store.PaymentIntent{
		IntentID: "pi_" + uuid.NewString()[:8] + "000000000000000000000000", OrderID: fixture.OrderID(1), CustomerID: fixture.Customer,
		Token: "tok_visa", AmountCents: 4999, Currency: "USD", CreatedAt: fixture.Now, ExpiresAt: fixture.Now.Add(time.Hour),
	}
	if err := intents.Put(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := intents.Put(ctx, in); err != nil {
		t.Fatalf("put again: %v", err)
	}
	for name, change := range map[string]func(*store.PaymentIntent){
		"token":    func(o *store.PaymentIntent) { o.Token = "tok_declined" },
		"order":    func(o *store.PaymentIntent) { o.OrderID = fixture.OrderID(2) },
		"customer": func(o *store.PaymentIntent) { o.CustomerID = "another" },
		"amount":   func(o *store.PaymentIntent) { o.AmountCents++ },
		"currency": func(o *store.PaymentIntent) { o.Currency = "EUR" },
	} {
		other := in
		change(&other)
		if err := intents.Put(ctx, other); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("put another %s under the id: %v, want ErrConflict", name, err)
		}
	}
	got, err := intents.Get(ctx, in.IntentID)
	if err != nil || got.Token != "tok_visa" || got.OrderID != in.OrderID || !got.ExpiresAt.Equal(in.ExpiresAt) {
		t.Fatalf("get = %+v, %v", got, err)
	}
	if _, err := intents.Get(ctx, "pi_ffffffffffffffffffffffffffffffff"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}
