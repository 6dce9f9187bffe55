package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// PaymentsAPI is the part of the DynamoDB client the payments ledger uses.
type PaymentsAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Payments is the payments ledger: one item per order (partition key "orderId") that counts
// the charge attempts, then holds the one decision (status APPROVED or DECLINED), and
// finally, if the order is compensated, REFUNDED (or VOIDED when nothing was decided). Every
// change is a conditional update, so a redelivered request never charges or refunds twice.
type Payments struct {
	client PaymentsAPI
	table  string
}

// NewPayments returns the payments kept in table.
func NewPayments(client PaymentsAPI, table string) *Payments {
	return &Payments{client: client, table: table}
}

// The status attribute: "status" is a DynamoDB reserved word.
var statusName = map[string]string{"#status": "status"}

// Attempt counts one charge attempt for an order that has no decision yet and returns the
// record with the count (Status ""). If the order already has a decision it returns that
// decision and counts nothing: a redelivered request reuses it.
func (ps *Payments) Attempt(ctx context.Context, orderID string) (store.Payment, error) {
	item, _, err := ps.update(ctx, orderID, "ADD attempts :one", "attribute_not_exists(#status)",
		statusName, map[string]types.AttributeValue{":one": num(1)})
	if err != nil {
		return store.Payment{}, fmt.Errorf("count payment attempt %s: %w", orderID, err)
	}
	return decodePayment(orderID, item)
}

// Record stores p as the order's decision unless it has one, and returns the decision in
// force: p, or the one an earlier delivery stored.
func (ps *Payments) Record(ctx context.Context, p store.Payment) (store.Payment, error) {
	expr := "SET paymentId = :paymentId, #status = :status, amountCents = :amount, createdAt = :createdAt"
	values := map[string]types.AttributeValue{
		":paymentId": str(p.PaymentID), ":status": str(p.Status), ":amount": num(p.AmountCents), ":createdAt": ts(p.CreatedAt),
	}
	if p.Reason != "" {
		expr += ", reason = :reason"
		values[":reason"] = str(p.Reason)
	}
	item, _, err := ps.update(ctx, p.OrderID, expr, "attribute_not_exists(#status)", statusName, values)
	if err != nil {
		return store.Payment{}, fmt.Errorf("record payment %s: %w", p.OrderID, err)
	}
	return decodePayment(p.OrderID, item)
}

// Refund gives the order's approved payment back, once: APPROVED becomes REFUNDED under a
// condition, and refunded reports whether this call did it. A payment already refunded,
// declined or voided is returned as it is: nothing more is refunded. An order without a
// decision is VOIDED, so that a charge request still in flight (a payment that timed out)
// finds the void and charges nothing.
func (ps *Payments) Refund(ctx context.Context, orderID string, at time.Time) (p store.Payment, refunded bool, err error) {
	for range 3 { // a decision taken between the two conditions sends us round once more
		item, ok, err := ps.update(ctx, orderID, "SET #status = :refunded, refundedAt = :at", "#status = :approved", statusName,
			map[string]types.AttributeValue{":refunded": str(store.PaymentRefunded), ":approved": str(store.PaymentApproved), ":at": ts(at)})
		if err != nil {
			return store.Payment{}, false, fmt.Errorf("refund payment %s: %w", orderID, err)
		}
		if ok || getS(item, "status") != "" {
			p, err := decodePayment(orderID, item)
			return p, ok, err
		}
		item, ok, err = ps.update(ctx, orderID, "SET #status = :voided, refundedAt = :at", "attribute_not_exists(#status)", statusName,
			map[string]types.AttributeValue{":voided": str(store.PaymentVoided), ":at": ts(at)})
		if err != nil {
			return store.Payment{}, false, fmt.Errorf("void payment %s: %w", orderID, err)
		}
		if ok {
			p, err := decodePayment(orderID, item)
			return p, false, err
		}
	}
	return store.Payment{}, false, fmt.Errorf("refund payment %s: its status kept changing", orderID)
}

// update applies expr to the order's item under cond. It returns the item after the update
// and true, or, when the condition failed, the item as it stands (nil if there is none) and
// false, read consistently when the endpoint does not return it with the failed condition.
func (ps *Payments) update(ctx context.Context, orderID, expr, cond string, names map[string]string, values map[string]types.AttributeValue) (map[string]types.AttributeValue, bool, error) {
	key := map[string]types.AttributeValue{"orderId": str(orderID)}
	out, err := ps.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(ps.table),
		Key:                                 key,
		UpdateExpression:                    aws.String(expr),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	old, failed := isConditionFailed(err)
	switch {
	case err == nil:
		return out.Attributes, true, nil
	case !failed:
		return nil, false, err
	case len(old) > 0:
		return old, false, nil
	}
	got, err := ps.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(ps.table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, fmt.Errorf("read current: %w", err)
	}
	return got.Item, false, nil
}

// decodePayment reads a payments item; attributes a stage has not written yet are zero.
func decodePayment(orderID string, item map[string]types.AttributeValue) (store.Payment, error) {
	p := store.Payment{OrderID: orderID, PaymentID: getS(item, "paymentId"), Status: getS(item, "status"), Reason: getS(item, "reason")}
	var err error
	if _, ok := item["amountCents"]; ok {
		if p.AmountCents, err = getN(item, "amountCents"); err != nil {
			return store.Payment{}, fmt.Errorf("payment %s: %w", orderID, err)
		}
	}
	if _, ok := item["attempts"]; ok {
		n, err := getN(item, "attempts")
		if err != nil {
			return store.Payment{}, fmt.Errorf("payment %s: %w", orderID, err)
		}
		p.Attempts = int(n)
	}
	if p.CreatedAt, err = getTime(item, "createdAt"); err != nil {
		return store.Payment{}, fmt.Errorf("payment %s: %w", orderID, err)
	}
	if p.RefundedAt, err = getTime(item, "refundedAt"); err != nil {
		return store.Payment{}, fmt.Errorf("payment %s: %w", orderID, err)
	}
	return p, nil
}
