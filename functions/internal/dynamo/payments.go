package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// PaymentsAPI is the part of the DynamoDB client the payments ledger uses.
type PaymentsAPI interface {
	updater
	getter
}

// Payments is the payments ledger: one item per order (partition key "orderId") that the
// payment function moves through the statuses of store.Payment, each move a conditional
// update, so that no interleaving of deliveries charges twice or loses a refund:
//
//   - Claim marks the payment PENDING (counting the attempt) before the provider is asked,
//     unless it is decided or closed;
//   - Record stores the provider's answer, APPROVED or DECLINED, only over PENDING;
//   - Void closes an undecided payment (VOIDED), so that a charge in flight cannot stick;
//   - Refund moves APPROVED to REFUNDED, after the provider has given the money back;
//   - LateChargeRefunded notes that a charge approved after the payment was closed was
//     given back at the provider.
//
// Each method returns the record as it stands after the call: the one it wrote, or, when
// its condition failed, the one another delivery wrote.
type Payments struct {
	client PaymentsAPI
	table  string
}

// NewPayments returns the payments kept in table.
func NewPayments(client PaymentsAPI, table string) *Payments {
	return &Payments{client: client, table: table}
}

// paymentItem is a payments item as stored; a stage not reached yet leaves its attributes out.
type paymentItem struct {
	OrderID              string    `dynamodbav:"orderId"`
	PaymentID            string    `dynamodbav:"paymentId"`
	Status               string    `dynamodbav:"status"`
	AmountCents          int64     `dynamodbav:"amountCents"`
	Reason               string    `dynamodbav:"reason"`
	Attempts             int       `dynamodbav:"attempts"`
	ClaimsUntil          []int64   `dynamodbav:"claimsUntil,numberset"` // each claimant's deadline, Unix milliseconds
	CreatedAt            time.Time `dynamodbav:"createdAt"`
	RefundedAt           time.Time `dynamodbav:"refundedAt"`
	LateChargeRefundedAt time.Time `dynamodbav:"lateChargeRefundedAt"`
}

// The status attribute: "status" is a DynamoDB reserved word.
var statusName = map[string]string{"#status": "status"}

// undecided is the condition of the moves allowed before a decision: no status yet (no
// record, or one from before PENDING existed) or PENDING.
const undecided = "attribute_not_exists(#status) OR #status = :pending"

// Claim marks the order's payment PENDING under paymentID for amountCents, counts one attempt
// and keeps until, the claimant's deadline, unless it is decided or closed: then it returns
// the record as it stands and changes nothing (a redelivered request reuses the decision, or
// learns it was voided). The record is PENDING if and only if the claim was made. The
// deadlines are a set, so that ClaimedUntil is the latest whatever order the claims came in.
func (ps *Payments) Claim(ctx context.Context, orderID, paymentID string, amountCents int64, until time.Time) (store.Payment, error) {
	p, _, err := ps.update(ctx, "claim payment", orderID, "SET #status = :pending, paymentId = :paymentId, amountCents = :amount ADD attempts :one, claimsUntil :until", undecided,
		map[string]types.AttributeValue{":pending": str(store.PaymentPending), ":paymentId": str(paymentID), ":amount": num(amountCents), ":one": num(1),
			":until": &types.AttributeValueMemberNS{Value: []string{strconv.FormatInt(until.UnixMilli(), 10)}}})
	return p, err
}

// Record stores p (APPROVED or DECLINED, with its reason) as the order's decision if the
// payment is still PENDING, and returns the record in force: p, or the decision another
// delivery stored, or VOIDED if compensation closed it first.
func (ps *Payments) Record(ctx context.Context, p store.Payment) (store.Payment, error) {
	expr := "SET paymentId = :paymentId, #status = :status, amountCents = :amount, createdAt = :createdAt"
	values := map[string]types.AttributeValue{
		":paymentId": str(p.PaymentID), ":status": str(p.Status), ":amount": num(p.AmountCents), ":createdAt": ts(p.CreatedAt),
		":pending": str(store.PaymentPending),
	}
	if p.Reason != "" {
		expr += ", reason = :reason"
		values[":reason"] = str(p.Reason)
	}
	held, _, err := ps.update(ctx, "record payment", p.OrderID, expr, "#status = :pending", values)
	return held, err
}

// Void closes the order's payment before any decision (VOIDED at at), so that a charge in
// flight can no longer be recorded; voided reports whether this call did it. A payment
// already decided or closed is returned as it is.
func (ps *Payments) Void(ctx context.Context, orderID string, at time.Time) (p store.Payment, voided bool, err error) {
	return ps.update(ctx, "void payment", orderID, "SET #status = :voided, refundedAt = :at", undecided,
		map[string]types.AttributeValue{":voided": str(store.PaymentVoided), ":pending": str(store.PaymentPending), ":at": ts(at)})
}

// Refund records that the order's approved payment was given back: APPROVED becomes
// REFUNDED at at, once; refunded reports whether this call did it. Any other payment is
// returned as it is. The caller refunds at the provider first.
func (ps *Payments) Refund(ctx context.Context, orderID string, at time.Time) (p store.Payment, refunded bool, err error) {
	return ps.update(ctx, "refund payment", orderID, "SET #status = :refunded, refundedAt = :at", "#status = :approved",
		map[string]types.AttributeValue{":refunded": str(store.PaymentRefunded), ":approved": str(store.PaymentApproved), ":at": ts(at)})
}

// LateChargeRefunded notes (once: the first time is kept) that a charge the provider
// approved after the order's payment was closed (VOIDED, REFUNDED, or DECLINED by another
// delivery) was given back at the provider at at; marked reports whether the payment is
// closed so. An APPROVED or undecided payment is returned as it is: that charge is the
// order's payment, not a late one.
func (ps *Payments) LateChargeRefunded(ctx context.Context, orderID string, at time.Time) (p store.Payment, marked bool, err error) {
	return ps.update(ctx, "note late charge refund", orderID, "SET lateChargeRefundedAt = if_not_exists(lateChargeRefundedAt, :at)", "#status IN (:voided, :refunded, :declined)",
		map[string]types.AttributeValue{
			":voided": str(store.PaymentVoided), ":refunded": str(store.PaymentRefunded), ":declined": str(store.PaymentDeclined), ":at": ts(at),
		})
}

// Get reads the order's payment, consistently: a payment with no status when there is none.
func (ps *Payments) Get(ctx context.Context, orderID string) (store.Payment, error) {
	item, err := readItem(ctx, ps.client, ps.table, map[string]types.AttributeValue{"orderId": str(orderID)})
	if err != nil {
		return store.Payment{}, fmt.Errorf("read payment %s: %w", orderID, err)
	}
	return decodePayment(orderID, item)
}

// update applies expr to the order's item under cond, and returns the payment as it stands
// after the call: the one it wrote and true, or, when the condition failed, the one in force
// (no status if there is none) and false. op names the move in an error.
func (ps *Payments) update(ctx context.Context, op, orderID, expr, cond string, values map[string]types.AttributeValue) (store.Payment, bool, error) {
	item, ok, err := updateIf(ctx, ps.client, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(ps.table),
		Key:                       map[string]types.AttributeValue{"orderId": str(orderID)},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  statusName,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return store.Payment{}, false, fmt.Errorf("%s %s: %w", op, orderID, err)
	}
	p, err := decodePayment(orderID, item)
	return p, ok, err
}

// latest is the latest of Unix-millisecond times; zero for none.
func latest(ms []int64) time.Time {
	if len(ms) == 0 {
		return time.Time{}
	}
	return time.UnixMilli(slices.Max(ms)).UTC()
}

// decodePayment reads a payments item; attributes a stage has not written yet are zero, and
// no item at all is a payment with no status.
func decodePayment(orderID string, item map[string]types.AttributeValue) (store.Payment, error) {
	var it paymentItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return store.Payment{}, fmt.Errorf("payment %s: %w", orderID, err)
	}
	return store.Payment{
		OrderID: orderID, PaymentID: it.PaymentID, Status: it.Status, AmountCents: it.AmountCents, Reason: it.Reason,
		Attempts: it.Attempts, CreatedAt: it.CreatedAt, RefundedAt: it.RefundedAt, LateChargeRefundedAt: it.LateChargeRefundedAt,
		ClaimedUntil: latest(it.ClaimsUntil),
	}, nil
}
