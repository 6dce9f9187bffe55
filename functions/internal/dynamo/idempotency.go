package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// IdempotencyAPI is the part of the DynamoDB client the idempotency keys use.
type IdempotencyAPI interface {
	putter
	getter
	updater
}

// IdempotencyKeys keeps the Idempotency-Keys of POST /orders: partition key "customerId",
// sort key "key", TTL attribute "expiresAt". Every change is conditional, so two requests
// with one key, even at the same moment, never both place an order. A record past its
// expiresAt counts as absent before DynamoDB's TTL gets round to deleting it.
type IdempotencyKeys struct {
	client IdempotencyAPI
	table  string
}

// NewIdempotencyKeys returns the keys kept in table.
func NewIdempotencyKeys(client IdempotencyAPI, table string) *IdempotencyKeys {
	return &IdempotencyKeys{client: client, table: table}
}

var keyStatusName = map[string]string{"#status": "status", "#key": "key", "#response": "response"}

// Claim stores rec unless its customer already holds rec.Key (and it has not expired at
// now). claimed reports whether rec is now the record; if not, the record in force is
// returned, and the caller compares fingerprints and statuses.
//
// A write can land and its call still fail (a 500, a timeout); the SDK then sends it again, and
// the retry's condition fails on the item the first try wrote. Lease ids are random, so a
// record holding rec's lease is this call's own: claimed (TakeOver and Complete likewise).
func (k *IdempotencyKeys) Claim(ctx context.Context, rec store.IdempotencyRecord, now time.Time) (_ store.IdempotencyRecord, claimed bool, err error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return store.IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	old, ok, err := putIf(ctx, k.client, &dynamodb.PutItemInput{
		TableName:                 aws.String(k.table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(customerId) OR expiresAt < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": epoch(now)},
	})
	switch {
	case err != nil:
		return store.IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: %w", err)
	case ok:
		return rec, true, nil
	}
	if len(old) == 0 {
		if old, err = readItem(ctx, k.client, k.table, keyOf(rec.CustomerID, rec.Key)); err != nil {
			return store.IdempotencyRecord{}, false, fmt.Errorf("claim idempotency key: read idempotency key: %w", err)
		}
	}
	held, err := decodeKey(old)
	if err != nil {
		return store.IdempotencyRecord{}, false, err
	}
	return held, ownLease(held, rec.LeaseID, store.KeyInProgress), nil
}

// ownLease reports whether rec is what the holder of leaseID wrote, in status: its own write,
// landed before a retry of it failed its condition.
func ownLease(rec store.IdempotencyRecord, leaseID, status string) bool {
	return leaseID != "" && rec.LeaseID == leaseID && rec.Status == status
}

// TakeOver hands the work of a key to leaseID (until `until`) if its holder's lease has run out
// at now (store.IdempotencyRecord.LeaseRunOut: in whole seconds) and the request is the same
// one (fingerprint): the holder failed or died, and the retry carries on with the same order
// id. ok is false when someone holds a live lease, the key is completed, or the fingerprint
// differs; the record in force is returned.
func (k *IdempotencyKeys) TakeOver(ctx context.Context, customerID, key, fingerprint, leaseID string, until, now time.Time) (_ store.IdempotencyRecord, ok bool, err error) {
	item, ok, err := k.update(ctx, customerID, key, "SET leaseId = :lease, leaseUntil = :until",
		"#status = :inProgress AND leaseUntil <= :now AND fingerprint = :fp",
		map[string]types.AttributeValue{
			":lease": str(leaseID), ":until": epoch(until), ":now": epoch(now),
			":inProgress": str(store.KeyInProgress), ":fp": str(fingerprint),
		})
	if err != nil {
		return store.IdempotencyRecord{}, false, fmt.Errorf("take over idempotency key: %w", err)
	}
	rec, err := decodeKey(item)
	if err != nil {
		return store.IdempotencyRecord{}, false, err
	}
	return rec, ok || ownLease(rec, leaseID, store.KeyInProgress), nil
}

// Complete stores the answer of the request holding leaseID: from now on every retry gets
// it. store.ErrConflict if leaseID no longer holds the key (it ran out and a retry took it).
func (k *IdempotencyKeys) Complete(ctx context.Context, customerID, key, leaseID, response string) error {
	item, ok, err := k.update(ctx, customerID, key, "SET #status = :completed, #response = :response",
		"leaseId = :lease AND #status = :inProgress",
		map[string]types.AttributeValue{
			":completed": str(store.KeyCompleted), ":response": str(response),
			":lease": str(leaseID), ":inProgress": str(store.KeyInProgress),
		})
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if !ok {
		if held, err := decodeKey(item); err == nil && ownLease(held, leaseID, store.KeyCompleted) {
			return nil
		}
		return fmt.Errorf("complete idempotency key: the lease was taken over: %w", store.ErrConflict)
	}
	return nil
}

// Release ends leaseID's lease now: its request failed, so a retry may take the work over at
// once instead of waiting for the lease to run out. A lease already lost is left alone.
func (k *IdempotencyKeys) Release(ctx context.Context, customerID, key, leaseID string, now time.Time) error {
	_, _, err := k.update(ctx, customerID, key, "SET leaseUntil = :past",
		"leaseId = :lease AND #status = :inProgress",
		map[string]types.AttributeValue{
			":past": epoch(now.Add(-time.Second)), ":lease": str(leaseID), ":inProgress": str(store.KeyInProgress),
		})
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// update applies expr under cond; it returns the item after the update and true, or the item
// as it stands and false when the condition failed.
func (k *IdempotencyKeys) update(ctx context.Context, customerID, key, expr, cond string, values map[string]types.AttributeValue) (map[string]types.AttributeValue, bool, error) {
	cond = "attribute_exists(customerId) AND " + cond
	return updateIf(ctx, k.client, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(k.table),
		Key:                       keyOf(customerID, key),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  namesIn(expr+" "+cond, keyStatusName),
		ExpressionAttributeValues: values,
	})
}

func keyOf(customerID, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"customerId": str(customerID), "key": str(key)}
}

// decodeKey reads a record; an empty item (the key vanished) is the zero record.
func decodeKey(item map[string]types.AttributeValue) (store.IdempotencyRecord, error) {
	var rec store.IdempotencyRecord
	if len(item) == 0 {
		return rec, nil
	}
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return store.IdempotencyRecord{}, fmt.Errorf("idempotency record: %w", err)
	}
	return rec, nil
}

// namesIn keeps the expression attribute names an expression uses (DynamoDB rejects unused ones).
func namesIn(expr string, names map[string]string) map[string]string {
	out := map[string]string{}
	for placeholder, name := range names {
		if strings.Contains(expr, placeholder) {
			out[placeholder] = name
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
