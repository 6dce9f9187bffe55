package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// Put stores in once. Putting the same intent again (a retried request: same id, order,
// customer, token, amount and currency) is done already, nil; an id that holds anything else is
// store.ErrConflict. The comparison is the put's condition, so the writer never reads an
// intent back: order-api, which faces the internet, may put intents but not read their tokens.
// (A repeated put writes the intent again, with its new times.)
func (pi *PaymentIntents) Put(ctx context.Context, in store.PaymentIntent) error {
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		return fmt.Errorf("put payment intent %s: %w", in.IntentID, err)
	}
	_, err = pi.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(pi.table),
		Item:      item,
		ConditionExpression: aws.String("attribute_not_exists(#id) OR " +
			"(#order = :order AND #customer = :customer AND #token = :token AND #amount = :amount AND #currency = :currency)"),
		ExpressionAttributeNames: map[string]string{
			"#id": "intentId", "#order": "orderId", "#customer": "customerId", "#token": "token", "#amount": "amountCents", "#currency": "currency",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":order": item["orderId"], ":customer": item["customerId"], ":token": item["token"], ":amount": item["amountCents"], ":currency": item["currency"],
		},
	})
	if _, failed := isConditionFailed(err); failed {
		return fmt.Errorf("put payment intent %s: held by another order, customer, token, amount or currency: %w", in.IntentID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("put payment intent %s: %w", in.IntentID, err)
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
