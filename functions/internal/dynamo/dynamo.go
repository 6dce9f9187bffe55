// Package dynamo holds the DynamoDB adapters of the functions: the event store, the
// inventory ledger, and the payments, shipments, notifications and analytics tables.
//
// Idempotency lives here, in conditional writes, never in memory: a second delivery of
// the same message meets a ConditionalCheckFailedException (or a TransactionCanceledException
// whose reason is ConditionalCheckFailed), which the adapters translate with errors.As into
// the sentinels of package store (store.ErrDuplicate, store.ErrConflict) or into "reuse the
// decision already stored". Any other SDK error is returned wrapped, and the caller treats
// it as transient.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// isConditionFailed reports whether err is a ConditionalCheckFailedException, and returns
// the item that failed the check when the request asked for it (ReturnValuesOnConditionCheckFailure).
func isConditionFailed(err error) (map[string]types.AttributeValue, bool) {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return ccf.Item, true
	}
	return nil, false
}

// cancelledByConditions reports whether err is a TransactionCanceledException caused only by
// failed conditions (as opposed to, say, a TransactionConflict with a concurrent transaction,
// which is transient and must not be read as "out of stock" or "duplicate"). failed lists the
// indexes of the operations whose condition failed.
func cancelledByConditions(err error) (failed []int, ok bool) {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, false
	}
	for i, r := range tce.CancellationReasons {
		switch code := aws.ToString(r.Code); code {
		case "", "None":
		case "ConditionalCheckFailed":
			failed = append(failed, i)
		default:
			return nil, false
		}
	}
	// An emulator may omit the reasons; a cancelled transaction then still means a condition failed.
	return failed, true
}

// The DynamoDB client's methods, one interface each: an adapter's API interface lists the
// ones it calls, so a test fake implements only those.
type (
	putter interface {
		PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	}
	getter interface {
		GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	}
	updater interface {
		UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	}
	querier interface {
		Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	}
	batchGetter interface {
		BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	}
	transactWriter interface {
		TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	}
)

// updateGetter is the part of the DynamoDB client updateIf uses.
type updateGetter interface {
	updater
	getter
}

// updateIf applies in (an update with a condition) and returns the item after it and true,
// or, when the condition failed, the item as it stands (nil if there is none) and false: the
// one the failed condition returned, or a consistent read when the endpoint did not return it.
// Any other error is returned as it is.
func updateIf(ctx context.Context, client updateGetter, in *dynamodb.UpdateItemInput) (map[string]types.AttributeValue, bool, error) {
	in.ReturnValues = types.ReturnValueAllNew
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	out, err := client.UpdateItem(ctx, in)
	old, failed := isConditionFailed(err)
	switch {
	case err == nil:
		return out.Attributes, true, nil
	case !failed:
		return nil, false, err
	case len(old) > 0:
		return old, false, nil
	}
	got, err := readItem(ctx, client, aws.ToString(in.TableName), in.Key)
	if err != nil {
		return nil, false, fmt.Errorf("read current: %w", err)
	}
	return got, false, nil
}

// putIf puts in (a put with a condition) and reports whether it was made. When the condition
// failed, it also returns the item that failed it, if the endpoint returned it (not every
// endpoint does: nil then; the caller that needs it reads it). Any other error is returned as
// it is. What a failed condition means (a duplicate, a conflict, a decision to reuse) is the
// caller's to say.
func putIf(ctx context.Context, client putter, in *dynamodb.PutItemInput) (map[string]types.AttributeValue, bool, error) {
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err := client.PutItem(ctx, in)
	if old, failed := isConditionFailed(err); failed {
		return old, false, nil
	}
	return nil, err == nil, err
}

// readItem reads the item at key in table consistently: nil if there is none. An error is
// returned as it is.
func readItem(ctx context.Context, client getter, table string, key map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num[T int | int64](v T) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(v), 10)}
}

func ts(t time.Time) types.AttributeValue { return str(t.UTC().Format(time.RFC3339Nano)) }

func epoch(t time.Time) types.AttributeValue { return num(t.Unix()) }
