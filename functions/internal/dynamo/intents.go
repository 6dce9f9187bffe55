package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// PaymentIntents keeps the payment intents of the payments service: partition key
// "intentId", TTL attribute "expiresAt". order-api puts one per order; the payment function
// reads it when it charges. It is the only table that holds payment tokens.
type PaymentIntents struct {
	client RecordsAPI
	table  string
}

// NewPaymentIntents returns the intents kept in table.
func NewPaymentIntents(client RecordsAPI, table string) *PaymentIntents {
	return &PaymentIntents{client: client, table: table}
}

// Put stores in once. Putting the same intent again (a retried request: same id, order and
// token) is done already, nil; an id that holds anything else is store.ErrConflict.
func (pi *PaymentIntents) Put(ctx context.Context, in store.PaymentIntent) error {
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return fmt.Errorf("put payment intent %s: %w", in.IntentID, err)
	}
	held, err := putOnce(ctx, pi.client, pi.table, "intentId", item)
	if err != nil {
		return fmt.Errorf("put payment intent %s: %w", in.IntentID, err)
	}
	var got store.PaymentIntent
	if err := attributevalue.UnmarshalMap(held, &got); err != nil {
		return fmt.Errorf("put payment intent %s: stored intent: %w", in.IntentID, err)
	}
	if got.OrderID != in.OrderID || got.CustomerID != in.CustomerID || got.Token != in.Token || got.AmountCents != in.AmountCents {
		return fmt.Errorf("put payment intent %s: held by order %s: %w", in.IntentID, got.OrderID, store.ErrConflict)
	}
	return nil
}

// Get reads an intent consistently; store.ErrNotFound if there is none.
func (pi *PaymentIntents) Get(ctx context.Context, intentID string) (store.PaymentIntent, error) {
	item, err := readItem(ctx, pi.client, pi.table, map[string]types.AttributeValue{"intentId": str(intentID)})
	if err != nil {
		return store.PaymentIntent{}, fmt.Errorf("get payment intent %s: %w", intentID, err)
	}
	if item == nil {
		return store.PaymentIntent{}, fmt.Errorf("payment intent %s: %w", intentID, store.ErrNotFound)
	}
	var in store.PaymentIntent
	if err := attributevalue.UnmarshalMap(item, &in); err != nil {
		return store.PaymentIntent{}, fmt.Errorf("payment intent %s: %w", intentID, err)
	}
	return in, nil
}
