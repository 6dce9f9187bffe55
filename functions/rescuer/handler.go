package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	orderevents "github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// historyReader reads an execution's history, a page at a time (sfn.Client; it is also the
// SDK's sfn.GetExecutionHistoryAPIClient, which the paginator takes).
type historyReader interface {
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
}

// describer reads an execution's input, error and cause when the event left them out (sfn.Client).
type describer interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// starter starts the rescue execution (sfn.Client).
type starter interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// ports are the handler's adapters.
type ports struct {
	history   historyReader
	describer describer
	starter   starter
}

// The event this function is the target of: Step Functions sends it to the default bus.
const (
	eventSource = "aws.states"
	detailType  = "Step Functions Execution Status Change"
)

// statusChange is the detail of a "Step Functions Execution Status Change" event: the fields of
// DescribeExecution at the time of the change, {"executionArn", "stateMachineArn", "name",
// "status", "startDate", "stopDate" (epoch milliseconds), "input", "inputDetails": {"included"},
// "output", "outputDetails", "error", "cause"}, plus redrive fields on newer events. input and
// output are JSON strings; input is null and inputDetails.included false when the event would
// be too large (over 248 KB with the output). error and cause are absent or null unless the
// execution failed (or was stopped with them). Only the fields used are decoded.
type statusChange struct {
	ExecutionARN    string        `json:"executionArn"`
	StateMachineARN string        `json:"stateMachineArn"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	Input           *string       `json:"input"`
	InputDetails    *dataIncluded `json:"inputDetails"`
	Error           *string       `json:"error"`
	Cause           *string       `json:"cause"`
}

type dataIncluded struct {
	Included bool `json:"included"`
}

// StatusChangeEvent is the EventBridge event that carries a status change: aws-lambda-go's
// events.EventBridgeEvent with its detail decoded in the same pass (the outer Detail takes
// "detail"; a detail that does not decode fails the invoke, which is retried, then dead-lettered).
type StatusChangeEvent struct {
	events.EventBridgeEvent
	Detail statusChange `json:"detail"`
}

// Handler is the target of the rule that sends order-fulfilment's FAILED, TIMED_OUT and ABORTED
// status changes from the default bus (an asynchronous invoke: an error is retried, then
// dead-lettered).
type Handler struct {
	stateMachineARN string
	ports
	logger *slog.Logger
}

func newHandler(stateMachineARN string, p ports, logger *slog.Logger) *Handler {
	return &Handler{stateMachineARN: stateMachineARN, ports: p, logger: logger}
}

// Handle starts the rescue of one execution that stopped without compensating, at most once:
// the rescue's name follows from the failed execution's. It returns nil for an event that
// needs no rescue, or none that can help (a failed rescue: an operator is paged by the alarm
// on failed executions). Payloads are never logged: they hold customer data.
func (h *Handler) Handle(ctx context.Context, ev StatusChangeEvent) error {
	d, err := parse(ev)
	if err != nil {
		// A rule routes what it should not: an error, so that the event reaches the DLQ.
		h.logger.ErrorContext(ctx, "not a status change", "eventId", ev.ID, "error", err.Error())
		return err
	}
	logger := h.logger.With("executionName", d.Name, "status", d.Status)
	if d.StateMachineARN != h.stateMachineARN {
		logger.InfoContext(ctx, "ignored: another state machine's execution", "stateMachineArn", d.StateMachineARN)
		return nil
	}
	if !slices.Contains(workflow.Stalled(), d.Status) {
		logger.InfoContext(ctx, "ignored: the execution did not fail")
		return nil
	}

	failed, err := h.execution(ctx, d)
	if err != nil {
		logger.ErrorContext(ctx, "rescue failed", "error", err.Error())
		return err
	}
	logger = logger.With("executionError", failed.err)
	in, err := orderevents.ReadJSON([]byte(failed.input))
	if err != nil || !in.IsObject() {
		logger.ErrorContext(ctx, "cannot rescue: the execution input is not a JSON object; the order needs an operator")
		return nil // retrying cannot change the input
	}
	// The input is the OrderPlaced EventBridge event (its detail), or a rescue's (RescueInput).
	envelope := in.Member("detail")
	rescue := in.Member("rescue")
	isRescue := rescue.Exists()
	if isRescue {
		envelope = in.Member("event")
		logger = logger.With("rescuedExecution", nameOf(rescue.Member("execution").Str()))
	}
	ids := orderIDs{OrderID: envelope.Member("orderId").Str(), CorrelationID: envelope.Member("correlationId").Str()}
	logger = logger.With("orderId", ids.OrderID, "correlationId", ids.CorrelationID)
	if workflow.Compensated(failed.err) {
		// A rescue whose compensation ran ends at the same Fail states as the saga's own.
		logger.InfoContext(ctx, "ignored: the execution compensated the order itself", "rescue", isRescue)
		return nil
	}
	if isRescue {
		// Rescuing a rescue could loop; the alarm on failed executions pages an operator.
		logger.ErrorContext(ctx, "a rescue failed: the order needs an operator")
		return nil
	}
	if ids.OrderID == "" {
		// The rescue's claim would fail on it: the order (if any) needs an operator.
		logger.ErrorContext(ctx, "cannot rescue: the execution input has no OrderPlaced event with an order id; the order needs an operator")
		return nil
	}

	last, exited, err := h.lastState(ctx, d.ExecutionARN)
	if errors.Is(err, errNotStopped) {
		// Forged, or replayed from a dead-letter queue after a redrive of the execution: retrying
		// cannot make it true. Nothing is rescued; the log says so.
		logger.ErrorContext(ctx, "not rescued: the status change does not match the execution", "error", err.Error())
		return nil
	}
	if err != nil {
		logger.ErrorContext(ctx, "rescue failed", "error", err.Error())
		return err
	}
	name := workflow.RescueName(d.Name)
	logger = logger.With("rescueName", name, "stateFrom", exited, "outcome", last.outcome, "refundFailed", last.RefundError != nil)
	input, err := rescueInput(d, failed, envelope.Raw(), last).encode()
	if err != nil {
		err = fmt.Errorf("rescue input: %w", err)
		logger.ErrorContext(ctx, "rescue failed", "error", err.Error())
		return err
	}
	_, err = h.starter.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.stateMachineARN),
		Name:            aws.String(name),
		Input:           aws.String(string(input)),
	})
	var exists *types.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		// An earlier delivery of this event started it (and it has closed since: while it runs,
		// a start with the same name and input succeeds).
		logger.InfoContext(ctx, "rescue already started")
		return nil
	}
	if err != nil {
		err = fmt.Errorf("start rescue %s: %w", name, err)
		logger.ErrorContext(ctx, "rescue failed", "error", err.Error())
		return err
	}
	logger.InfoContext(ctx, "rescue started")
	return nil
}

// parse checks that ev is a status change.
func parse(ev StatusChangeEvent) (statusChange, error) {
	d := ev.Detail
	if ev.Source != eventSource || ev.DetailType != detailType {
		return d, fmt.Errorf("want %q from %s, got %q from %q", detailType, eventSource, ev.DetailType, ev.Source)
	}
	if d.ExecutionARN == "" {
		return d, errors.New("status change detail: no executionArn")
	}
	if d.Name == "" {
		d.Name = nameOf(d.ExecutionARN)
	}
	return d, nil
}

// failedExecution is what the rescue needs of the execution beyond the event's header.
type failedExecution struct {
	input string // JSON
	err   string // "" when it has none
	cause string
}

// execution takes the input, error and cause from the event, or from DescribeExecution when the
// event left the input out (too large) or carries no error for a failure (an older event shape).
func (h *Handler) execution(ctx context.Context, d statusChange) (failedExecution, error) {
	f := failedExecution{input: aws.ToString(d.Input), err: aws.ToString(d.Error), cause: aws.ToString(d.Cause)}
	inputLeftOut := aws.ToString(d.Input) == "" || (d.InputDetails != nil && !d.InputDetails.Included)
	if !inputLeftOut && (d.Error != nil || d.Status != workflow.StatusFailed) {
		return f, nil
	}
	out, err := h.describer.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(d.ExecutionARN)})
	if err != nil {
		return failedExecution{}, fmt.Errorf("describe execution %s: %w", d.Name, err)
	}
	f.input = aws.ToString(out.Input)
	if d.Error == nil {
		f.err, f.cause = aws.ToString(out.Error), aws.ToString(out.Cause)
	}
	return f, nil
}

// recorded is what the rescue carries of the last workflow document a failed execution
// recorded: its saga state and, when a refund had failed before it ($.refundError, which
// RefundPayment's Catch writes), that error, so that the rescue still ends RefundFailed
// (an operator refunds) rather than FulfilmentFailed, which says the payment was refunded.
type recorded struct {
	State       json.RawMessage // nil: none (the execution stopped before its first task)
	RefundError json.RawMessage // nil: no refund failed
	// Caught is the error a Catch wrote ($.error) before the execution stopped: the failure its
	// compensation was for, whose reason the refund and the cancellation it made give. Nil: none.
	Caught  *workflow.TaskError
	outcome string // the state's outcome, which the rescue's Choice reads, for the log
}

// lastState reads the execution's history from the newest event back to the last saga state
// it recorded: the output of the newest state exit whose "state" is an object ($.compensation.state
// first: Compensate writes the newer state there). It returns that document's state and refund
// error (none if there is no state: the execution stopped before its first task) and the name
// of the state that exited. A history with no stop event (ExecutionFailed, TimedOut, Aborted) is
// errNotStopped: the status change that named it was not Step Functions'.
func (h *Handler) lastState(ctx context.Context, executionARN string) (recorded, string, error) {
	pages := sfn.NewGetExecutionHistoryPaginator(h.history, &sfn.GetExecutionHistoryInput{
		ExecutionArn:         aws.String(executionARN),
		ReverseOrder:         true,
		IncludeExecutionData: aws.Bool(true),
	})
	var last recorded
	var exited string
	stopped := false
	for pages.HasMorePages() && !(stopped && last.State != nil) {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return recorded{}, "", fmt.Errorf("execution history of %s: %w", nameOf(executionARN), err)
		}
		for _, e := range page.Events {
			stopped = stopped || slices.Contains(stoppedEvents, e.Type)
			if last.State == nil {
				if r := recordedIn(e); r.State != nil {
					last, exited = r, aws.ToString(e.StateExitedEventDetails.Name)
				}
			}
		}
	}
	if !stopped {
		// The status change said it stopped; its history says otherwise (a running execution):
		// the event is not Step Functions' own, and nothing is rescued. (Anywhere in the history,
		// not only last: MiniStack lets an aborted execution's task finish after the abort.)
		return recorded{}, "", fmt.Errorf("execution %s has not stopped (no %v in its history): %w", nameOf(executionARN), stoppedEvents, errNotStopped)
	}
	return last, exited, nil
}

// stoppedEvents end the history of an execution that stopped without succeeding (workflow.Stalled).
var stoppedEvents = []types.HistoryEventType{types.HistoryEventTypeExecutionFailed, types.HistoryEventTypeExecutionTimedOut, types.HistoryEventTypeExecutionAborted}

// errNotStopped is a status change whose execution's history has not stopped: not Step Functions'.
var errNotStopped = errors.New("a status change of an execution that has not stopped")

// recordedIn is the saga state a state-exited event's output carries (State nil if none) and
// its refund error. The output is read once (orderevents.ReadJSON): it holds the whole order.
func recordedIn(e types.HistoryEvent) recorded {
	d := e.StateExitedEventDetails
	if d == nil || d.Output == nil {
		return recorded{}
	}
	out, err := orderevents.ReadJSON([]byte(*d.Output))
	if err != nil {
		return recorded{} // not a workflow document
	}
	state := out.Member("compensation").Member("state")
	if !state.IsObject() {
		state = out.Member("state")
	}
	if !state.IsObject() {
		return recorded{}
	}
	r := recorded{State: state.Raw(), outcome: state.Member("outcome").Str()}
	if refund := out.Member("refundError"); refund.IsObject() {
		r.RefundError = refund.Raw()
	}
	if caught := out.Member("error"); caught.IsObject() && caught.Member("Error").Str() != "" {
		r.Caught = &workflow.TaskError{Error: caught.Member("Error").Str(), Cause: caught.Member("Cause").Str()}
	}
	return r
}

// nameOf is the execution name at the end of an execution ARN
// (arn:aws:states:<region>:<account>:execution:<stateMachine>:<name>).
func nameOf(executionARN string) string {
	return executionARN[strings.LastIndex(executionARN, ":")+1:]
}

// orderIDs are an OrderPlaced envelope's order and correlation ids: what the rescue's logs
// name it by (no customer data), and what its claim needs.
type orderIDs struct {
	OrderID, CorrelationID string
}
