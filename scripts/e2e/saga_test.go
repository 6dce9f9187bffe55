//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// The saga's harder paths: a failure after the payment was taken is compensated by a refund
// before the stock goes back, and a transient payment failure is retried by the platform (SQS
// redelivery) until it succeeds, charging once.
//
// Stock is shared by every test on the stack, and other tests compare a SKU's stock before and
// after their order: a test here only changes stock that no parallel test compares (SKU-451),
// or runs on its own (not parallel).

func n(it map[string]dbtypes.AttributeValue, k string) int64 {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(v.Value, 10, 64)
		return i
	}
	return -1
}

// executionError is the error a finished execution failed with ("" if it succeeded).
func executionError(t *testing.T, arn string) (status, errName string) {
	t.Helper()
	out, err := sfn.NewFromConfig(stack.AWS).DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	return string(out.Status), aws.ToString(out.Error)
}

// SKU-451 (a camping gas canister) is dangerous goods: the order is reserved, charged and
// confirmed, then the carrier refuses it. The saga refunds the payment (once), releases the
// stock and cancels the order: fulfilment-failed, with every step in the order's history.
func TestRefusedShipmentIsRefunded(t *testing.T) {
	t.Parallel() // only SKU-451's stock changes, and no other test reads it
	before := stock(t, shop.SKUDangerousGoods)
	p := place(t, shop.NewOrder(shop.TokenApprove, shop.Line{SKU: shop.SKUDangerousGoods, Quantity: 2}))
	if p.TotalCents != 2*899 {
		t.Errorf("total %d cents, want the catalogue price 2 x 899", p.TotalCents)
	}
	o := waitTerminal(t, p.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "PaymentRefunded", "InventoryReleased", "OrderCancelled"}
	if o.Status != "CANCELLED" || o.Reason != "fulfilment-failed" || !slices.Equal(eventTypes(o), want) {
		t.Fatalf("order %s %s (%s) with %v, want CANCELLED (fulfilment-failed) with %v", o.OrderID, o.Status, o.Reason, eventTypes(o), want)
	}
	if got := stock(t, shop.SKUDangerousGoods); got != before {
		t.Errorf("SKU-451 stock %d → %d: want the reservation released", before, got)
	}

	// DynamoDB: the one payment was refunded, in full; nothing was shipped, and nothing can be:
	// the order was sealed against shipping before the refund.
	pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID})
	if s(pay, "status") != "REFUNDED" || n(pay, "amountCents") != p.TotalCents || s(pay, "refundedAt") == "" || s(pay, "paymentId") == "" {
		t.Errorf("payment record %v, want REFUNDED of %d cents", pay, p.TotalCents)
	}
	sh := item(t, "ShipmentsTable", map[string]string{"orderId": p.OrderID})
	if sealed, _ := sh["sealed"].(*dbtypes.AttributeValueMemberBOOL); sealed == nil || !sealed.Value || s(sh, "shipmentId") != "" {
		t.Errorf("shipments table holds %v for a refused order, want its seal (no shipment)", sh)
	}

	// Step Functions: the execution ended, as a failure that was compensated.
	j := executionFor(t, p.OrderID)
	if status, errName := executionError(t, j.ExecutionArn); status != "FAILED" || errName != "FulfilmentFailed" {
		t.Errorf("execution %s (%s), want FAILED with FulfilmentFailed (compensated, refund made)", status, errName)
	}

	// SNS → SQS → notifier: the customer hears about the refund and the cancellation.
	ids := map[string]string{}
	for _, e := range o.Events {
		ids[e.Type] = e.ID
	}
	eventually(t, time.Minute, "refund and cancellation e-mails", func(context.Context) error {
		for _, typ := range []string{"PaymentRefunded", "OrderCancelled"} {
			if item(t, "NotificationsTable", map[string]string{"eventId": ids[typ], "channel": "email"}) == nil {
				return fmt.Errorf("no email for %s", typ)
			}
		}
		return nil
	})
}

// tok_processing_error: the provider fails the first attempt with a processing error (counted
// in the payments table). The payment function reports the message as a batch item failure,
// SQS redelivers it after the visibility timeout, the second attempt is approved, and the
// order ships with exactly one charge.
func TestTransientPaymentFailureIsRetried(t *testing.T) {
	// Not parallel: the order ships, so it takes SKU-001, whose stock parallel tests compare.
	p := place(t, shop.NewOrder(shop.TokenProcessingError, shop.Line{SKU: "SKU-001", Quantity: 1}))
	o := waitTerminal(t, p.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}
	if o.Status != "SHIPPED" || !slices.Equal(eventTypes(o), want) {
		t.Fatalf("order %s %s (%s) with %v, want SHIPPED with %v", o.OrderID, o.Status, o.Reason, eventTypes(o), want)
	}
	pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID})
	if s(pay, "status") != "APPROVED" || n(pay, "attempts") < 2 || n(pay, "amountCents") != p.TotalCents {
		t.Errorf("payment record %v, want one APPROVED charge of %d cents after at least 2 attempts", pay, p.TotalCents)
	}
	j := executionFor(t, p.OrderID)
	if status, errName := executionError(t, j.ExecutionArn); status != "SUCCEEDED" {
		t.Errorf("execution %s (%s), want SUCCEEDED: the retry is the platform's, invisible to the saga", status, errName)
	}
	// The message was retried, not dead-lettered.
	if err := notInDLQ(p.OrderID); err != nil {
		t.Error(err)
	}
}

// notInDLQ reports an error if the payment function parked a message about orderID (its log
// says so, once it has read the order from the message: a message parked unread, or before its
// task token was checked, is logged without it), or if one sits in the payments DLQ (peeked with a
// zero visibility timeout, so other readers still see it; a message another test holds hidden
// meanwhile is seen by the log).
func notInDLQ(orderID string) error {
	ctx := context.Background()
	parked, err := logged(ctx, "PaymentFunctionName", time.Now().Add(-time.Hour), orderID, "message parked")
	if err != nil {
		return err
	}
	if parked > 0 {
		return fmt.Errorf("the payment function parked a message of %s %d times", orderID, parked)
	}
	bodies, err := peek(ctx, stack.Output("PaymentsDlqUrl"))
	if err != nil {
		return err
	}
	for _, b := range bodies {
		if strings.Contains(b, orderID) {
			return errors.New("the payment message of " + orderID + " is in the payments DLQ")
		}
	}
	return nil
}

// peek reads up to 10 messages of a queue without hiding them from other readers.
func peek(ctx context.Context, url string) ([]string, error) {
	out, err := sqs.NewFromConfig(stack.AWS).ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 0,
	})
	if err != nil {
		return nil, fmt.Errorf("peek %s: %w", url, err)
	}
	bodies := make([]string, 0, len(out.Messages))
	for _, m := range out.Messages {
		bodies = append(bodies, aws.ToString(m.Body))
	}
	return bodies, nil
}
