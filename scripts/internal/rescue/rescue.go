// Package rescue finds the order-fulfilment executions that stopped without their saga's end
// and without a rescue, and hands each to the rescuer as Step Functions would have. The rescuer
// is invoked by a rule for each "Step Functions Execution Status Change" event, which Step
// Functions sends on a best-effort basis: in rare cases an event is never delivered, and its
// order stays PLACED, maybe charged. The alarms on failed, timed-out and aborted executions
// page an operator either way; this is what the operator runs (`make rescue`).
package rescue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// SFNAPI is the part of the Step Functions client the sweep uses.
type SFNAPI interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
}

// InvokeAPI is the part of the Lambda client the sweep uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// Options are one sweep.
type Options struct {
	StateMachineARN string
	Rescuer         string        // the rescuer function's name
	Since           time.Time     // executions that stopped at or after it
	MaxRun          time.Duration // longer than any execution runs; zero: the state machine's TimeoutSeconds and a margin. Listing stops at executions started before Since-MaxRun
	DryRun          bool          // say what would be handed to the rescuer, hand nothing
	Region, Account string        // of the status-change events built (default: the state machine ARN's)
}

// Stalled are the statuses of an execution that may have stopped without compensating: those
// the rescue rule on the default bus matches (toolkit.Stalled).
var Stalled = func() (out []types.ExecutionStatus) {
	for _, s := range toolkit.Stalled() {
		out = append(out, types.ExecutionStatus(s))
	}
	return out
}()

// Outcomes of one execution.
const (
	Compensated  = "compensated itself"                                                      // FulfilmentFailed: nothing to rescue
	RefundFailed = "compensated, but its refund failed: an operator refunds"                 // RefundFailed: nothing to rescue, an operator's work
	AlreadyDone  = "rescue already started"                                                  // rescue-<name> exists
	Started      = "handed to the rescuer: rescue started"                                   // the rescuer started rescue-<name>
	WouldHand    = "would be handed to the rescuer (dry run)"                                // DryRun
	NoneStarted  = "handed to the rescuer: it started no rescue (read its log: an operator)" // e.g. no order id in the input
	IsRescue     = "a rescue: never rescued again (an operator)"                             // a failed rescue-… execution
)

// Result is what the sweep did with one execution.
type Result struct {
	Execution string // its name
	Status    string // FAILED, TIMED_OUT, ABORTED
	Error     string // its error, if it has one
	Outcome   string // one of the outcomes above
	Err       error  // what went wrong handling it (the outcome is then empty)
}

// Sweep lists the state machine's executions that failed, timed out or were aborted since
// o.Since, newest first (one Result each, those that compensated themselves too), and hands
// every one that neither compensated itself nor has a rescue to the rescuer, with the
// status-change event Step Functions would have sent. It goes on past an execution it cannot
// handle (its Result says why); an error means the listing itself failed.
func Sweep(ctx context.Context, s SFNAPI, l InvokeAPI, o Options) ([]Result, error) {
	if o.MaxRun <= 0 {
		var err error
		if o.MaxRun, err = maxRun(ctx, s, o.StateMachineARN); err != nil {
			return nil, err
		}
	}
	var out []Result
	for _, status := range Stalled {
		pages := sfn.NewListExecutionsPaginator(s, &sfn.ListExecutionsInput{StateMachineArn: aws.String(o.StateMachineARN), StatusFilter: status, MaxResults: 1000})
	listing:
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return out, fmt.Errorf("list %s executions: %w", status, err)
			}
			for _, x := range page.Executions {
				if aws.ToTime(x.StartDate).Before(o.Since.Add(-o.MaxRun)) {
					break listing // newest first: the rest started too early to have stopped since
				}
				if x.Status != status || x.StopDate == nil || x.StopDate.Before(o.Since) {
					continue
				}
				out = append(out, one(ctx, s, l, o, x))
			}
		}
	}
	return out, nil
}

// maxRun is how long an execution of the state machine may run at most: its definition's
// TimeoutSeconds (a test deploy may change it) and ten minutes more; without one, a year.
func maxRun(ctx context.Context, s SFNAPI, arn string) (time.Duration, error) {
	out, err := s.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(arn)})
	if err != nil {
		return 0, fmt.Errorf("describe the state machine: %w", err)
	}
	var def struct{ TimeoutSeconds int }
	if err := json.Unmarshal([]byte(aws.ToString(out.Definition)), &def); err != nil {
		return 0, fmt.Errorf("the state machine's definition: %w", err)
	}
	if def.TimeoutSeconds <= 0 {
		return 365 * 24 * time.Hour, nil
	}
	return time.Duration(def.TimeoutSeconds)*time.Second + 10*time.Minute, nil
}

// one handles one execution that stopped (failed, timed out or aborted).
func one(ctx context.Context, s SFNAPI, l InvokeAPI, o Options, x types.ExecutionListItem) Result {
	name := aws.ToString(x.Name)
	r := Result{Execution: name, Status: string(x.Status)}
	d, err := s.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		r.Err = fmt.Errorf("describe: %w", err)
		return r
	}
	r.Error = aws.ToString(d.Error)
	switch {
	case r.Error == toolkit.FailRefund: // a rescue that compensated ends the same ways
		r.Outcome = RefundFailed
		return r
	case toolkit.Compensated(r.Error):
		r.Outcome = Compensated
		return r
	case strings.HasPrefix(name, toolkit.RescuePrefix):
		r.Outcome = IsRescue
		return r
	}
	rescueARN := RescueARN(aws.ToString(x.ExecutionArn), name)
	switch exists, err := executionExists(ctx, s, rescueARN); {
	case err != nil:
		r.Err = err
		return r
	case exists:
		r.Outcome = AlreadyDone
		return r
	case o.DryRun:
		r.Outcome = WouldHand
		return r
	}
	event, err := StatusChange(d, o.Region, o.Account, time.Now())
	if err != nil {
		r.Err = err
		return r
	}
	res, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(o.Rescuer), Payload: event})
	if err == nil && res.FunctionError != nil {
		err = fmt.Errorf("the rescuer failed (%s): %s", aws.ToString(res.FunctionError), res.Payload)
	}
	if err != nil {
		r.Err = err
		return r
	}
	if exists, err := executionExists(ctx, s, rescueARN); err != nil {
		r.Err = err
	} else if exists {
		r.Outcome = Started
	} else {
		r.Outcome = NoneStarted
	}
	return r
}

// RescueARN is the ARN the rescue of the execution executionARN (named name) has: the same state
// machine's execution named toolkit.RescueName(name).
func RescueARN(executionARN, name string) string {
	return strings.TrimSuffix(executionARN, name) + toolkit.RescueName(name)
}

// executionExists reports whether an execution with that ARN exists.
func executionExists(ctx context.Context, s SFNAPI, arn string) (bool, error) {
	_, err := s.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	var missing *types.ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look for the rescue %s: %w", arn, err)
	}
	return true, nil
}

// StatusChange is the "Step Functions Execution Status Change" event Step Functions sends to the
// default bus when the execution d stops (as the EventBridge reference documents it), sent at now.
// Region and account default to the execution ARN's.
func StatusChange(d *sfn.DescribeExecutionOutput, region, account string, now time.Time) ([]byte, error) {
	arn := aws.ToString(d.ExecutionArn)
	if parts := strings.Split(arn, ":"); len(parts) >= 5 {
		if region == "" {
			region = parts[3]
		}
		if account == "" {
			account = parts[4]
		}
	}
	millis := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UnixMilli()
	}
	detail, err := json.Marshal(map[string]any{
		"executionArn": arn, "stateMachineArn": aws.ToString(d.StateMachineArn), "name": aws.ToString(d.Name),
		"status": string(d.Status), "startDate": millis(d.StartDate), "stopDate": millis(d.StopDate),
		"input": d.Input, "inputDetails": map[string]bool{"included": d.Input != nil},
		"output": d.Output, "outputDetails": nil, "error": d.Error, "cause": d.Cause,
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"version": "0", "id": uuid.NewString(), "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": account, "time": now.UTC().Format(time.RFC3339), "region": region,
		"resources": []string{arn}, "detail": json.RawMessage(detail),
	})
}
