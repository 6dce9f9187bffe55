//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// callbackTimeout is the TimeoutSeconds of the deployed saga's RequestPayment state: 300 as
// written, shorter in a test deploy (make test-e2e passes -c callbackTimeout).
func callbackTimeout(t *testing.T) int {
	t.Helper()
	out, err := sfn.NewFromConfig(stack.AWS).DescribeStateMachine(context.Background(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(stack.Output("StateMachineArn"))})
	if err != nil {
		t.Fatal(err)
	}
	var def struct {
		States map[string]struct{ TimeoutSeconds int }
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Definition)), &def); err != nil {
		t.Fatal(err)
	}
	return def.States["RequestPayment"].TimeoutSeconds
}

// The payment's answer does not come in time: tok_provider_slow fails twice, so the provider
// approves on the third attempt, about a minute after the request (two 30 s visibility
// timeouts), later than the callback timeout of a test deploy. The callback task times out, the
// saga voids the payment, releases the stock and cancels the order as timed-out; the late
// approval then finds the payment voided and takes no money, and its message leaves the queue
// (not parked: nothing is left for an operator).
func TestPaymentTimeoutCancelsTheOrder(t *testing.T) {
	t.Parallel() // it orders mug, whose stock no test compares
	timeout := callbackTimeout(t)
	if timeout >= 55 {
		t.Skipf("RequestPayment waits %d s, longer than tok_provider_slow takes: deploy with -c callbackTimeout=45 (make test-e2e does)", timeout)
	}
	c, _ := signIn(t)
	placedAt := time.Now()
	p, err := c.PlaceOrder(context.Background(), shop.NewOrder(shop.TokenSlow, shop.Line{SKU: mug, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	o := waitTerminalAs(t, c, p.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "InventoryReleased", "OrderCancelled"}
	if o.Status != "CANCELLED" || o.Reason != "timed-out" || !slices.Equal(eventTypes(o), want) {
		t.Fatalf("order %s %s (%s) with %v, want CANCELLED (timed-out) with %v", o.OrderID, o.Status, o.Reason, eventTypes(o), want)
	}
	if res := item(t, "InventoryTable", map[string]string{"pk": "RES#" + p.OrderID}); s(res, "status") != "RELEASED" {
		t.Errorf("reservation %v, want RELEASED", res)
	}

	// Step Functions: RequestPayment timed out (States.Timeout, caught), and the saga compensated.
	j := executionFor(t, p.OrderID)
	if status, errName := executionError(t, j.ExecutionArn); status != "FAILED" || errName != "FulfilmentFailed" {
		t.Errorf("execution %s (%s), want FAILED with FulfilmentFailed (compensated)", status, errName)
	}
	if !timedOut(t, j.ExecutionArn) {
		t.Errorf("execution %s: no task timed out with States.Timeout in its history", j.ExecutionArn)
	}

	// The provider's late answer: the third delivery, about 60 s after the order, finds the
	// payment voided, asks the provider for nothing (two attempts counted) and is done with (its
	// "message done"); had it failed, it would come back once more and then be parked in the DLQ
	// with its reason (the fourth is a message's last attempt: record.LastReceive).
	eventually(t, 2*time.Minute, "the charge request's last delivery", func(ctx context.Context) error {
		done, err := logged(ctx, "PaymentFunctionName", placedAt, p.OrderID, "message done", "action", "charge")
		if err != nil {
			return err
		}
		if done != 1 {
			return fmt.Errorf("the charge request of %s done %d times, want once (the third delivery)", p.OrderID, done)
		}
		return nil
	})
	pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID})
	if st := s(pay, "status"); st != "VOIDED" || n(pay, "attempts") != 2 {
		t.Errorf("payment %v, want VOIDED after 2 attempts: a late charge must not be taken", pay)
	}
	if err := notInDLQ(p.OrderID); err != nil {
		t.Error(err)
	}
}

// timedOut reports whether an execution's history has a task that timed out: a TaskTimedOut event
// on AWS, a TaskFailed one with States.Timeout on MiniStack (README, emulator gaps).
func timedOut(t *testing.T, arn string) bool {
	t.Helper()
	p := sfn.NewGetExecutionHistoryPaginator(sfn.NewFromConfig(stack.AWS), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if d := e.TaskTimedOutEventDetails; d != nil && aws.ToString(d.Error) == "States.Timeout" {
				return true
			}
			if d := e.TaskFailedEventDetails; d != nil && aws.ToString(d.Error) == "States.Timeout" {
				return true
			}
		}
	}
	return false
}
