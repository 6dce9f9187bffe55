package dynamo

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

func keyRecord(t *testing.T) (store.IdempotencyRecord, map[string]types.AttributeValue) {
	t.Helper()
	rec := store.IdempotencyRecord{
		CustomerID: fixture.Customer, Key: "k1", Fingerprint: "fp", Status: store.KeyInProgress,
		OrderID: fixture.OrderID(1), IntentID: fixture.IntentID(fixture.OrderID(1), "tok_visa"), LeaseID: "lease-1",
		LeaseUntil: fixture.Now.Add(30 * time.Second), CreatedAt: fixture.Now, ExpiresAt: fixture.Now.Add(24 * time.Hour),
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		t.Fatal(err)
	}
	return rec, item
}

func TestIdempotencyKeysClaim(t *testing.T) {
	rec, own := keyRecord(t)
	held := rec
	held.LeaseID, held.Fingerprint = "lease-0", "fp-other"
	_, heldItem := func() (store.IdempotencyRecord, map[string]types.AttributeValue) {
		i, _ := attributevalue.MarshalMap(held)
		return held, i
	}()
	tests := []struct {
		name        string
		putErr      error
		got         map[string]types.AttributeValue
		wantClaimed bool
		wantLease   string
		wantErr     bool
	}{
		{name: "claimed", wantClaimed: true, wantLease: "lease-1"},
		{name: "held: the record in force", putErr: conditionFailed(heldItem), wantLease: "lease-0"},
		{name: "held, old item not returned: read it", putErr: conditionFailed(nil), got: heldItem, wantLease: "lease-0"},
		// The SDK's retry of a put that landed fails its condition on this claim's own record.
		{name: "held by this claim's own earlier try", putErr: conditionFailed(own), wantClaimed: true, wantLease: "lease-1"},
		{name: "throttled", putErr: throttled, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{putAnswers: []error{tc.putErr}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			got, claimed, err := NewIdempotencyKeys(db, "keys").Claim(context.Background(), rec, fixture.Now)
			if (err != nil) != tc.wantErr || claimed != tc.wantClaimed || (!tc.wantErr && got.LeaseID != tc.wantLease) {
				t.Fatalf("Claim = %+v, %v, %v", got, claimed, err)
			}
			put := db.puts[0]
			if aws.ToString(put.ConditionExpression) != "attribute_not_exists(customerId) OR expiresAt < :now" ||
				put.ExpressionAttributeValues[":now"].(*types.AttributeValueMemberN).Value != "1772366400" {
				t.Errorf("condition = %q %v", aws.ToString(put.ConditionExpression), put.ExpressionAttributeValues)
			}
			for attr, want := range map[string]string{"customerId": fixture.Customer, "key": "k1", "status": store.KeyInProgress, "fingerprint": "fp"} {
				if getS(put.Item, attr) != want {
					t.Errorf("item[%s] = %q", attr, getS(put.Item, attr))
				}
			}
			if n, _ := getN(put.Item, "expiresAt"); n != fixture.Now.Add(24*time.Hour).Unix() {
				t.Errorf("expiresAt = %d: want epoch seconds (DynamoDB TTL)", n)
			}
			if n, _ := getN(put.Item, "leaseUntil"); n != fixture.Now.Add(30*time.Second).Unix() {
				t.Errorf("leaseUntil = %d: want epoch seconds, comparable in a condition", n)
			}
		})
	}
}

func TestIdempotencyKeysLease(t *testing.T) {
	rec, item := keyRecord(t)
	ctx := context.Background()

	db := &fakeDB{updateAnswers: []updateAnswer{{item: item}}}
	got, ok, err := NewIdempotencyKeys(db, "keys").TakeOver(ctx, rec.CustomerID, rec.Key, "fp", "lease-2", fixture.Now.Add(time.Minute), fixture.Now)
	if err != nil || !ok || got.OrderID != rec.OrderID {
		t.Fatalf("TakeOver = %+v, %v, %v", got, ok, err)
	}
	u := db.updates[0]
	if cond := aws.ToString(u.ConditionExpression); !strings.Contains(cond, "leaseUntil <= :now") || !strings.Contains(cond, "fingerprint = :fp") || !strings.Contains(cond, "#status = :inProgress") {
		t.Errorf("take-over condition = %q", cond)
	}
	if _, unused := u.ExpressionAttributeNames["#key"]; unused {
		t.Error("unused expression attribute name: DynamoDB rejects it")
	}

	db = &fakeDB{updateAnswers: []updateAnswer{{err: conditionFailed(item)}}}
	if got, ok, err = NewIdempotencyKeys(db, "keys").TakeOver(ctx, rec.CustomerID, rec.Key, "fp", "lease-2", fixture.Now, fixture.Now); err != nil || ok || got.LeaseID != "lease-1" {
		t.Errorf("TakeOver of a live lease = %+v, %v, %v", got, ok, err)
	}

	// The SDK's retry of a take-over that landed fails its condition (the lease is live) on the
	// take-over's own write.
	taken := rec
	taken.LeaseID, taken.LeaseUntil = "lease-2", fixture.Now.Add(time.Minute)
	takenItem, _ := attributevalue.MarshalMap(taken)
	db = &fakeDB{updateAnswers: []updateAnswer{{err: conditionFailed(takenItem)}}}
	if got, ok, err = NewIdempotencyKeys(db, "keys").TakeOver(ctx, rec.CustomerID, rec.Key, "fp", "lease-2", fixture.Now.Add(time.Minute), fixture.Now); err != nil || !ok || got.LeaseID != "lease-2" {
		t.Errorf("TakeOver retried after it landed = %+v, %v, %v", got, ok, err)
	}

	done := rec
	done.Status, done.Response = store.KeyCompleted, `{"orderId":"x"}`
	doneItem, _ := attributevalue.MarshalMap(done)
	db = &fakeDB{updateAnswers: []updateAnswer{{item: item}, {err: conditionFailed(doneItem)}, {err: conditionFailed(doneItem)}}}
	keys := NewIdempotencyKeys(db, "keys")
	if err := keys.Complete(ctx, rec.CustomerID, rec.Key, "lease-1", `{"orderId":"x"}`); err != nil {
		t.Errorf("Complete: %v", err)
	}
	if err := keys.Complete(ctx, rec.CustomerID, rec.Key, "lease-1", `{"orderId":"x"}`); err != nil {
		t.Errorf("Complete retried after it landed: %v, want nil", err)
	}
	if err := keys.Complete(ctx, rec.CustomerID, rec.Key, "lease-9", `{}`); !errors.Is(err, store.ErrConflict) {
		t.Errorf("Complete with a lost lease: %v, want ErrConflict", err)
	}
	if cond := aws.ToString(db.updates[0].ConditionExpression); !strings.Contains(cond, "leaseId = :lease") {
		t.Errorf("complete condition = %q", cond)
	}

	db = &fakeDB{updateAnswers: []updateAnswer{{err: conditionFailed(item)}}}
	if err := NewIdempotencyKeys(db, "keys").Release(ctx, rec.CustomerID, rec.Key, "lease-9", fixture.Now); err != nil {
		t.Errorf("Release of a lost lease: %v, want nil (nothing to do)", err)
	}
}

func TestPaymentIntents(t *testing.T) {
	in := store.PaymentIntent{
		IntentID: "pi_8f14e45fceea167a5a36dedd4bea2543", OrderID: fixture.OrderID(1), CustomerID: fixture.Customer, Token: "tok_visa",
		AmountCents: 4999, Currency: "USD", CreatedAt: fixture.Now, ExpiresAt: fixture.Now.Add(14 * 24 * time.Hour),
	}
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The put itself decides a retry from a conflict (its condition); the fake answers as
	// DynamoDB would for each, and nothing is read back.
	db := &fakeDB{putAnswers: []error{nil, nil, conditionFailed(nil)}, getAnswers: []map[string]types.AttributeValue{item, nil}}
	intents := NewPaymentIntents(db, "intents")
	if err := intents.Put(ctx, in); err != nil {
		t.Errorf("Put: %v", err)
	}
	if err := intents.Put(ctx, in); err != nil {
		t.Errorf("Put again (a retried request): %v, want nil", err)
	}
	if err := intents.Put(ctx, in); !errors.Is(err, store.ErrConflict) || strings.Contains(err.Error(), in.Token) {
		t.Errorf("Put over another intent: %v, want ErrConflict, without the token", err)
	}
	if len(db.gets) != 0 {
		t.Errorf("Put read %d intents back: the writer must not read tokens", len(db.gets))
	}
	want := "attribute_not_exists(#id) OR (#order = :order AND #customer = :customer AND #token = :token AND #amount = :amount AND #currency = :currency)"
	p := db.puts[0]
	if aws.ToString(p.ConditionExpression) != want || p.ExpressionAttributeNames["#id"] != "intentId" || p.ExpressionAttributeNames["#token"] != "token" {
		t.Errorf("put condition = %q %v, want %q", aws.ToString(p.ConditionExpression), p.ExpressionAttributeNames, want)
	}
	for value, attr := range map[string]string{":order": "orderId", ":customer": "customerId", ":token": "token", ":amount": "amountCents", ":currency": "currency"} {
		if !reflect.DeepEqual(p.ExpressionAttributeValues[value], item[attr]) {
			t.Errorf("condition value %s = %v, want the intent's %s %v", value, p.ExpressionAttributeValues[value], attr, item[attr])
		}
	}
	if p.ReturnValuesOnConditionCheckFailure != "" {
		t.Errorf("put asks for the item that fails its condition (%s): another intent's token", p.ReturnValuesOnConditionCheckFailure)
	}
	if n, _ := getN(db.puts[0].Item, "expiresAt"); n != in.ExpiresAt.Unix() {
		t.Errorf("expiresAt = %d, want epoch seconds (DynamoDB TTL)", n)
	}
	got, err := intents.Get(ctx, in.IntentID)
	got.CreatedAt, got.ExpiresAt = got.CreatedAt.UTC(), got.ExpiresAt.UTC()
	if err != nil || got != in {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if !aws.ToBool(db.gets[0].ConsistentRead) {
		t.Error("Get is not a consistent read: an intent just written could be missed")
	}
	if _, err := intents.Get(ctx, "pi_00000000000000000000000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of an unknown intent: %v, want ErrNotFound", err)
	}
}
