//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/rescue"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// An execution aborted in the middle of its saga does not leave its order PLACED: Step Functions
// reports the abort on the default bus, the rule StalledExecutions invokes the rescuer, and the
// rescue execution voids the payment, releases the stock and cancels the order. The test then
// checks that the rule's pattern matches the event as AWS documents it (TestEventPattern) and
// delivers that event again itself: a second delivery changes nothing.
func TestAbortedExecutionIsRescued(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := signIn(t)
	p, stalled, desc := abortWhilePaying(t, c)
	sf := sfn.NewFromConfig(stack.AWS)

	o := waitTerminalAs(t, c, p.OrderID)
	if o.Status != "CANCELLED" || o.Reason != "fulfilment-failed" || eventTypes(o)[len(o.Events)-1] != "OrderCancelled" {
		t.Fatalf("order %s %s (%s) with %v, want CANCELLED (fulfilment-failed)", o.OrderID, o.Status, o.Reason, eventTypes(o))
	}
	if res := item(t, "InventoryTable", map[string]string{"pk": "RES#" + p.OrderID}); s(res, "status") != "RELEASED" {
		t.Errorf("reservation %v, want RELEASED", res)
	}
	if pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID}); s(pay, "status") != "VOIDED" && s(pay, "status") != "REFUNDED" {
		t.Errorf("payment %v, want VOIDED (or REFUNDED): a late charge must not stick", pay)
	}
	rescueARN := rescue.RescueARN(stalled.Arn, aws.ToString(desc.Name))
	if claim := item(t, "SagasTable", map[string]string{"orderId": p.OrderID}); s(claim, "executionArn") != rescueARN || s(claim, "rescuedFrom") != stalled.Arn {
		t.Errorf("the order's claim %v, want the rescue %s, rescued from %s", claim, rescueARN, stalled.Arn)
	}

	// The event AWS puts on the default bus, which the rule must match: built as scripts/rescue
	// builds it for an execution whose event never came.
	event, err := rescue.StatusChange(desc, stack.AWS.Region, "000000000000", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	matchesRule(t, string(event))

	// The same event again (EventBridge delivers at least once): the rescuer finds the rescue
	// started already, and nothing more happens: the order keeps its two executions (the stalled
	// one and its rescue, ended) and its events.
	eventually(t, time.Minute, "the rescue ends", func(ctx context.Context) error {
		d, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(rescueARN)})
		if err != nil {
			return err
		}
		if d.Status == "RUNNING" {
			return fmt.Errorf("rescue %s", d.Status)
		}
		return nil
	})
	againAt := time.Now()
	if out, err := lambda.NewFromConfig(stack.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(stack.Output("RescuerFunctionName")), Payload: event}); err != nil || out.FunctionError != nil {
		t.Fatalf("rescuer, again: %v %s", err, out.Payload)
	}
	eventually(t, time.Minute, "the rescuer's answer to the event again", func(ctx context.Context) error {
		if n, err := logged(ctx, "RescuerFunctionName", againAt, p.OrderID, "rescue already started"); err != nil || n == 0 {
			return fmt.Errorf("no \"rescue already started\" logged for %s (%v)", p.OrderID, err)
		}
		return nil
	})
	ev, err := journey.NewCollector(stack).Gather(ctx, p.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Executions) != 2 {
		t.Errorf("after the event again: %d executions of %s, want 2 (the stalled one and its rescue)", len(ev.Executions), p.OrderID)
	}
	for _, x := range ev.Executions {
		if x.Status == "RUNNING" {
			t.Errorf("after the event again: execution %s running", x.Name)
		}
	}
	if again, err := c.GetOrder(ctx, p.OrderID); err != nil || len(again.Events) != len(o.Events) {
		t.Errorf("after the event again: %d events (%v), want %d", len(again.Events), err, len(o.Events))
	}

	// make rescue finds the execution rescued already, and hands nothing more to the rescuer.
	results, err := rescue.Sweep(ctx, sf, lambda.NewFromConfig(stack.AWS), rescue.Options{StateMachineARN: stack.Output("StateMachineArn"),
		Rescuer: stack.Output("RescuerFunctionName"), Since: time.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range results {
		if r.Execution == aws.ToString(desc.Name) {
			found = true
			if r.Status != "ABORTED" || r.Outcome != rescue.AlreadyDone || r.Err != nil {
				t.Errorf("make rescue: %+v, want ABORTED, %q", r, rescue.AlreadyDone)
			}
		}
	}
	if !found {
		t.Errorf("make rescue did not list the aborted execution %s (%d results)", aws.ToString(desc.Name), len(results))
	}
}

// abortWhilePaying places an order whose first charge fails (tok_processing_error: the saga waits
// about 30 s in RequestPayment for SQS to redeliver the message) and aborts its execution
// meanwhile, as an operator would.
func abortWhilePaying(t *testing.T, c *shop.Client) (shop.Placed, journey.Execution, *sfn.DescribeExecutionOutput) {
	t.Helper()
	ctx := context.Background()
	p, err := c.PlaceOrder(ctx, shop.NewOrder(shop.TokenProcessingError, shop.Line{SKU: mug, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	var stalled journey.Execution
	eventually(t, time.Minute, "the saga waits for the payment", func(ctx context.Context) error {
		ev, err := journey.NewCollector(stack).Gather(ctx, p.OrderID)
		if err != nil {
			return err
		}
		for _, x := range ev.Executions {
			if x.Status == "RUNNING" && len(x.States) > 0 && x.States[len(x.States)-1].Name == "RequestPayment" {
				stalled = x
				return nil
			}
		}
		return fmt.Errorf("no execution waiting in RequestPayment yet (%d executions)", len(ev.Executions))
	})
	sf := sfn.NewFromConfig(stack.AWS)
	if _, err := sf.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(stalled.Arn), Cause: aws.String("e2e: an operator's abort")}); err != nil {
		t.Fatal(err)
	}
	desc, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(stalled.Arn)})
	if err != nil || desc.Status != "ABORTED" {
		t.Fatalf("after StopExecution: %v, %v", desc.Status, err)
	}
	return p, stalled, desc
}

// Step Functions delivers its status changes best effort: in rare cases the rescuer never hears
// of a stalled execution. make rescue finds it and hands it over. The test stands in for the
// lost event by disabling the rescue rule (not in parallel with other tests, which need it) while
// it aborts an execution; make rescue then starts its rescue, and the order is cancelled.
func TestLostStatusChangeIsRescuedByMakeRescue(t *testing.T) {
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(stack.AWS)
	rule := rescueRule(t).Name
	if _, err := eb.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: rule}); err != nil {
		t.Fatal(err)
	}
	enabled := false
	enable := func() {
		if !enabled {
			if _, err := eb.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: rule}); err != nil {
				t.Errorf("the rescue rule %s stays disabled: %v", aws.ToString(rule), err)
			}
			enabled = true
		}
	}
	t.Cleanup(enable)
	c, _ := signIn(t)
	p, _, desc := abortWhilePaying(t, c)
	time.Sleep(3 * time.Second) // with the rule on, its rescue would have started by now
	sf := sfn.NewFromConfig(stack.AWS)
	rescueARN := rescue.RescueARN(aws.ToString(desc.ExecutionArn), aws.ToString(desc.Name))
	if _, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(rescueARN)}); err == nil {
		t.Fatalf("%s exists: the rule delivered the status change after all", rescueARN)
	}

	results, err := rescue.Sweep(ctx, sf, lambda.NewFromConfig(stack.AWS), rescue.Options{StateMachineARN: stack.Output("StateMachineArn"),
		Rescuer: stack.Output("RescuerFunctionName"), Since: time.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var mine *rescue.Result
	for i, r := range results {
		if r.Execution == aws.ToString(desc.Name) {
			mine = &results[i]
		}
	}
	if mine == nil || mine.Outcome != rescue.Started || mine.Err != nil {
		t.Fatalf("make rescue: %+v, want %q (all: %+v)", mine, rescue.Started, results)
	}
	enable()
	o := waitTerminalAs(t, c, p.OrderID)
	if o.Status != "CANCELLED" || o.Reason != "fulfilment-failed" {
		t.Errorf("order %s %s (%s) with %v, want CANCELLED (fulfilment-failed)", o.OrderID, o.Status, o.Reason, eventTypes(o))
	}
}

// rescueRule is the rule on the default bus that sends Step Functions status changes to the rescuer.
func rescueRule(t *testing.T) ebtypes.Rule {
	t.Helper()
	r, err := findRescueRule(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findRescueRule(ctx context.Context) (ebtypes.Rule, error) {
	rules, err := eventbridge.NewFromConfig(stack.AWS).ListRules(ctx, &eventbridge.ListRulesInput{})
	if err != nil {
		return ebtypes.Rule{}, err
	}
	for _, r := range rules.Rules {
		if strings.Contains(aws.ToString(r.EventPattern), "aws.states") {
			return r, nil
		}
	}
	return ebtypes.Rule{}, errors.New("no rule on the default bus for Step Functions status changes")
}

// enableRescueRule enables the rescue rule, which TestLostStatusChangeIsRescuedByMakeRescue
// disables while it runs: a run cut short (a timeout's panic skips cleanups) must not leave the
// stack without rescues.
func enableRescueRule() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := findRescueRule(ctx)
	if err != nil {
		return err
	}
	if r.State != ebtypes.RuleStateEnabled {
		_, err = eventbridge.NewFromConfig(stack.AWS).EnableRule(ctx, &eventbridge.EnableRuleInput{Name: r.Name})
	}
	return err
}

// matchesRule checks that the rescue rule on the default bus matches event, with the endpoint's
// own EventBridge TestEventPattern.
func matchesRule(t *testing.T, event string) {
	t.Helper()
	r := rescueRule(t)
	out, err := eventbridge.NewFromConfig(stack.AWS).TestEventPattern(context.Background(), &eventbridge.TestEventPatternInput{Event: aws.String(event), EventPattern: r.EventPattern})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Result {
		t.Fatalf("rule %s does not match the status-change event: %s", aws.ToString(r.Name), aws.ToString(r.EventPattern))
	}
}

// Step Functions does not stop a task's Lambda when its execution stops, so an execution aborted
// while ShipOrder ran can leave the order shipped while its last recorded state says "approved".
// The rescue of such an execution must not refund and cancel a shipped order: it seals the order
// against shipping first, finds the shipment, and ships the order instead. The test rescues a
// shipped order from the state its saga recorded before ShipOrder, as the rescuer would have
// after an abort at that moment, and checks that nothing changes: still shipped, charged once,
// the shipment as it was, the same events.
func TestRescueAfterAShipmentShipsTheOrder(t *testing.T) {
	t.Parallel() // it orders mug, whose stock no test compares
	ctx := context.Background()
	c, _ := signIn(t)
	p, err := c.PlaceOrder(ctx, shop.NewOrder(shop.TokenApprove, shop.Line{SKU: mug, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	o := waitTerminalAs(t, c, p.OrderID)
	if o.Status != "SHIPPED" {
		t.Fatalf("order %s %s with %v, want SHIPPED", o.OrderID, o.Status, eventTypes(o))
	}
	saga := executionFor(t, p.OrderID)
	sf := sfn.NewFromConfig(stack.AWS)
	desc, err := sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(saga.ExecutionArn)})
	if err != nil {
		t.Fatal(err)
	}
	var input struct{ Detail json.RawMessage }
	if err := json.Unmarshal([]byte(aws.ToString(desc.Input)), &input); err != nil || len(input.Detail) == 0 {
		t.Fatalf("execution input %s: %v", aws.ToString(desc.Input), err)
	}
	// The state PublishPaymentOutcome recorded: what the rescuer finds after an abort in ShipOrder.
	var approved json.RawMessage
	hist, err := sf.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(saga.ExecutionArn), IncludeExecutionData: aws.Bool(true), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist.Events {
		if d := e.StateExitedEventDetails; d != nil && aws.ToString(d.Name) == "PublishPaymentOutcome" {
			var out struct{ State json.RawMessage }
			if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
				t.Fatal(err)
			}
			approved = out.State
		}
	}
	var st struct{ Outcome string }
	if _ = json.Unmarshal(approved, &st); st.Outcome != "approved" {
		t.Fatalf("PublishPaymentOutcome recorded %s, want an approved state", approved)
	}
	before := map[string]dbItem{
		"payment":  item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID}),
		"shipment": item(t, "ShipmentsTable", map[string]string{"orderId": p.OrderID}),
	}

	in, _ := json.Marshal(map[string]any{
		"rescue": map[string]string{"execution": saga.ExecutionArn, "status": "ABORTED", "error": "", "cause": ""},
		"event":  input.Detail, "state": approved, "error": map[string]string{"Error": "States.ABORTED", "Cause": ""},
	})
	rescuedAt := time.Now()
	start, err := sf.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stack.Output("StateMachineArn")), Name: aws.String("rescue-e2e-" + uuid.NewString()), Input: aws.String(string(in)),
	})
	if err != nil {
		t.Fatal(err)
	}
	var rescue *sfn.DescribeExecutionOutput
	eventually(t, time.Minute, "the rescue ends", func(ctx context.Context) (err error) {
		if rescue, err = sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: start.ExecutionArn}); err != nil {
			return err
		}
		if rescue.Status == "RUNNING" {
			return fmt.Errorf("rescue %s", rescue.Status)
		}
		return nil
	})
	if rescue.Status != "SUCCEEDED" {
		t.Errorf("rescue %s (%s: %s), want SUCCEEDED (shipped)", rescue.Status, aws.ToString(rescue.Error), aws.ToString(rescue.Cause))
	}
	for what, was := range before {
		table := map[string]string{"payment": "PaymentsTable", "shipment": "ShipmentsTable"}[what]
		if now := item(t, table, map[string]string{"orderId": p.OrderID}); !reflect.DeepEqual(now, was) {
			t.Errorf("%s changed by the rescue:\nbefore %v\nafter  %v", what, was, now)
		}
	}
	if s(before["payment"], "status") != "APPROVED" {
		t.Errorf("payment %v, want APPROVED", before["payment"])
	}
	// The rescue published OrderShipped again (same id): once the projector has dropped it as a
	// duplicate, the order is what it was.
	eventually(t, time.Minute, "the projector drops the OrderShipped published again", func(ctx context.Context) error {
		n, err := logged(ctx, "ProjectorFunctionName", rescuedAt, p.OrderID, "already in the event store: duplicate ignored", "eventType", "OrderShipped")
		if err != nil || n == 0 {
			return fmt.Errorf("the projector has not dropped a second OrderShipped of %s (%v)", p.OrderID, err)
		}
		return nil
	})
	if again, err := c.GetOrder(ctx, p.OrderID); err != nil || !reflect.DeepEqual(again, o) {
		t.Errorf("after the rescue: %+v (%v), want it unchanged: %+v", again, err, o)
	}
}
