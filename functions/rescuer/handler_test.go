package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/google/uuid"

	orderevents "github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

const (
	stateMachineARN = "arn:aws:states:us-east-1:000000000000:stateMachine:OrderFulfilment-Xk2Lq9"
	executionPrefix = "arn:aws:states:us-east-1:000000000000:execution:OrderFulfilment-Xk2Lq9:"
	busName         = "orderflow-orders"
)

// Causes of the Fail states, as the definition writes them.
const (
	compensationFailedCause = "Compensation itself failed: the rescuer starts a rescue execution that tries once more; if that fails too, the order needs an operator (see the execution history)."
	runtimeCause            = "An error occurred while executing the state 'InStock?' (entered at the event id #19). Invalid path '$.state.outcome' : The choice state's condition path references an invalid value."
	sagaNotStartedCause     = "The order could not be claimed for its saga (the event had no order id, or DynamoDB kept failing): nothing was reserved or charged, and the order needs an operator (see $.error in the execution history)."
)

// order is one order's saga data: its OrderPlaced event, the execution input and its states.
type order struct {
	id       string
	placed   orderevents.Envelope
	envelope json.RawMessage // the OrderPlaced envelope: $.event
	input    string          // the execution's input: the EventBridge event that carries it
}

func newOrder(t *testing.T, n int) order {
	t.Helper()
	id := fixture.OrderID(n)
	placed := fixture.Placed(t, id, "tok_visa")
	return order{id: id, placed: placed, envelope: fixture.JSON(t, placed), input: string(fixture.EventBridge(t, placed))}
}

// reserved is the state ReserveInventory returns (InventoryReserved, not yet published).
func (o order) reserved(t *testing.T) *workflow.State {
	t.Helper()
	st, err := workflow.Start(o.placed)
	if err != nil {
		t.Fatal(err)
	}
	st.Outcome = workflow.OutcomeReserved
	if err := st.Emit(busName, orderevents.TypeInventoryReserved, orderevents.InventoryReserved{OrderID: o.id, Items: []orderevents.StockLine{{SKU: "SKU-001", Quantity: 1}}}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	return st
}

// published is the state after PublishReservation.
func (o order) published(t *testing.T) *workflow.State {
	st := o.reserved(t)
	st.Published = &workflow.PublishResult{FailedEntryCount: 0}
	return st
}

// cancelled is the state Compensate returns after a failure with st's entries unpublished.
func (o order) cancelled(t *testing.T, st *workflow.State) *workflow.State {
	t.Helper()
	st.KeepUnpublished()
	for _, e := range []struct {
		typ orderevents.Type
		p   any
	}{
		{orderevents.TypeInventoryReleased, orderevents.InventoryReleased{OrderID: o.id, Items: []orderevents.StockLine{{SKU: "SKU-001", Quantity: 1}}, Reason: orderevents.ReasonFulfilmentFailed}},
		{orderevents.TypeOrderCancelled, orderevents.OrderCancelled{OrderID: o.id, Reason: orderevents.ReasonFulfilmentFailed}},
	} {
		if err := st.Emit(busName, e.typ, e.p, fixture.Now); err != nil {
			t.Fatal(err)
		}
	}
	st.Outcome, st.Reason = workflow.OutcomeCancelled, orderevents.ReasonFulfilmentFailed
	return st
}

// lambdaResult is what lambda:invoke returns; OutputPath $.Payload keeps the function's answer.
func lambdaResult(t *testing.T, payload string) string {
	return mustJSON(t, map[string]any{
		"ExecutedVersion": "$LATEST", "Payload": json.RawMessage(payload), "StatusCode": 200,
		"SdkHttpMetadata": map[string]any{"HttpStatusCode": 200}, "SdkResponseMetadata": map[string]any{"RequestId": "7e8f4c0a-2b9d-4c1e-8a3f-6d5b4e3c2a1f"},
	})
}

const putEventsResult = `{"Entries":[{"EventId":"11710aed-b79e-4468-a20b-bb3c0c3b4860"}],"FailedEntryCount":0}`

// start is the beginning every saga shares: the claim, then ReadOrderPlaced.
func (o order) start(t *testing.T) (*history, string) {
	doc0 := doc(t, o.envelope, nil, nil)
	return newHistory(o.input).
		task("ClaimSaga", "dynamodb:putItem", o.input, `{"SdkHttpMetadata":{"HttpStatusCode":200}}`, o.input).
		pass("Pass", "ReadOrderPlaced", o.input, doc0), doc0
}

// timedOutInPayment: reserved, published, then waiting in RequestPayment until the
// execution's timeout.
func (o order) timedOutInPayment(t *testing.T) []types.HistoryEvent {
	h, doc0 := o.start(t)
	reserved, published := doc(t, o.envelope, o.reserved(t), nil), doc(t, o.envelope, o.published(t), nil)
	return h.task("ReserveInventory", "lambda:invoke", doc0, lambdaResult(t, reserved), reserved).
		task("PublishReservation", "events:putEvents", reserved, putEventsResult, published).
		pass("Choice", "InStock?", published, published).
		entered("Task", "RequestPayment", published).
		scheduled("sqs:sendMessage.waitForTaskToken", published).
		submitted("sqs:sendMessage.waitForTaskToken").
		timedOut().events
}

// abortedBeforeReserving: stopped while ReserveInventory ran.
func (o order) abortedBeforeReserving(t *testing.T) []types.HistoryEvent {
	h, doc0 := o.start(t)
	return h.entered("Task", "ReserveInventory", doc0).scheduled("lambda:invoke", doc0).aborted().events
}

// compensationFailed: PublishReservation failed, Compensate cancelled the order, and
// PublishCompensation failed after its retries.
func (o order) compensationFailed(t *testing.T) []types.HistoryEvent {
	return o.compensationFailedAfter(t, catch{"PublishReservation", "events:putEvents", "EventBridge.EventBridgeException", "Service Unavailable (Status Code: 503)"},
		map[string]any{"error": workflow.TaskError{Error: "EventBridge.EventBridgeException", Cause: "Service Unavailable (Status Code: 503)"}})
}

// refundThenCompensationFailed: RefundPayment's task timed out (its Catch wrote $.refundError),
// Compensate cancelled the order, and PublishCompensation failed after its retries.
func (o order) refundThenCompensationFailed(t *testing.T) []types.HistoryEvent {
	return o.compensationFailedAfter(t, catch{"RefundPayment", "sqs:sendMessage.waitForTaskToken", "States.Timeout", ""},
		map[string]any{"error": workflow.TaskError{Error: "States.TaskFailed", Cause: "carrier down"}, "refundError": refundTimedOut})
}

// catch is a task state whose error a Catch took.
type catch struct{ state, resource, errName, cause string }

// compensationFailedAfter: after the order was reserved, c's state failed and its Catch wrote
// caught into the document, Compensate cancelled the order, and PublishCompensation failed
// after its retries.
func (o order) compensationFailedAfter(t *testing.T, c catch, caught map[string]any) []types.HistoryEvent {
	h, doc0 := o.start(t)
	reserved := doc(t, o.envelope, o.reserved(t), nil)
	afterCatch := with(t, reserved, caught)
	compensated := with(t, afterCatch, map[string]any{"compensation": map[string]any{"state": o.cancelled(t, o.reserved(t))}})
	failed := with(t, compensated, map[string]any{"compensationError": map[string]any{"Error": "EventBridge.EventBridgeException", "Cause": "Service Unavailable (Status Code: 503)"}})
	return h.task("ReserveInventory", "lambda:invoke", doc0, lambdaResult(t, reserved), reserved).
		caught(c.state, c.resource, reserved, c.errName, c.cause, afterCatch).
		task("Compensate", "lambda:invoke", afterCatch, lambdaResult(t, doc(t, o.envelope, o.cancelled(t, o.reserved(t)), nil)), compensated).
		caught("PublishCompensation", "events:putEvents", compensated, "EventBridge.EventBridgeException", "Service Unavailable (Status Code: 503)", failed).
		failState("CompensationFailed", failed, "CompensationFailed", compensationFailedCause).events
}

// refundTimedOut is RefundPayment's Catch's $.refundError when its task timed out.
var refundTimedOut = workflow.TaskError{Error: "States.Timeout", Cause: ""}

// runtimeError: InStock? failed with an error no Catch can take (States.Runtime).
func (o order) runtimeError(t *testing.T) []types.HistoryEvent {
	h := &history{events: o.timedOutInPayment(t)[:19]} // up to InStock?'s entry, event 19
	return h.executionFailed("States.Runtime", runtimeCause).events
}

// sagaNotStarted: the claim kept failing.
func (o order) sagaNotStarted(t *testing.T) []types.HistoryEvent {
	caught := with(t, o.input, map[string]any{"error": workflow.TaskError{Error: "DynamoDB.AmazonDynamoDBException", Cause: "Internal server error (Service: DynamoDb, Status Code: 500)"}})
	return newHistory(o.input).
		caught("ClaimSaga", "dynamodb:putItem", o.input, "DynamoDB.AmazonDynamoDBException", "Internal server error (Service: DynamoDb, Status Code: 500)", caught).
		failState("SagaNotStarted", caught, "SagaNotStarted", sagaNotStartedCause).events
}

// executionName is a name as EventBridge gives the executions it starts: unique per event.
func executionName(n int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("execution/"+string(rune('a'+n)))).String()
}

// detail is a status change's detail, as Step Functions sends it: input (a JSON string) is
// left out (null, included false) when it is nil; errName and cause are null when nil.
func detail(name, status string, input, errName, cause any) map[string]any {
	return map[string]any{
		"executionArn": executionPrefix + name, "stateMachineArn": stateMachineARN, "name": name, "status": status,
		"startDate": fixture.Now.UnixMilli(), "stopDate": fixture.Now.Add(30 * time.Minute).UnixMilli(),
		"input": input, "inputDetails": map[string]any{"included": input != nil},
		"output": nil, "outputDetails": nil, "error": errName, "cause": cause,
		"redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
	}
}

// statusEventJSON is the EventBridge event carrying d from source, as the default bus delivers it.
func statusEventJSON(t *testing.T, source string, d map[string]any) []byte {
	t.Helper()
	return []byte(mustJSON(t, map[string]any{
		"version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175", "detail-type": detailType, "source": source,
		"account": "000000000000", "time": "2026-03-01T12:30:00Z", "region": "us-east-1",
		"resources": []string{executionPrefix + "x"}, "detail": d,
	}))
}

// statusEvent is the status change event carrying d, decoded as the Lambda runtime decodes it.
func statusEvent(t *testing.T, d map[string]any) StatusChangeEvent {
	t.Helper()
	var ev StatusChangeEvent
	if err := json.Unmarshal(statusEventJSON(t, eventSource, d), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

type harness struct {
	history   *fakeHistory
	describer *fakeDescriber
	starter   *fakeStarter
	logs      *bytes.Buffer
	h         *Handler
}

func newHarness(events []types.HistoryEvent) *harness {
	f := &harness{history: &fakeHistory{events: events}, describer: &fakeDescriber{}, starter: &fakeStarter{}, logs: &bytes.Buffer{}}
	f.h = newHandler(stateMachineARN, ports{history: f.history, describer: f.describer, starter: f.starter},
		slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return f
}

// handle hands the handler the status change event carrying d, and fails the test if the
// handler returns an error.
func (f *harness) handle(t *testing.T, d map[string]any) {
	t.Helper()
	if err := f.h.Handle(context.Background(), statusEvent(t, d)); err != nil {
		t.Fatal(err)
	}
}

// logLines are the JSON log records written so far.
func (f *harness) logLines(t *testing.T) []map[string]any {
	t.Helper()
	return fixture.LogRecords(t, f.logs.String())
}

// lastLog is the last log record.
func (f *harness) lastLog(t *testing.T) map[string]any {
	t.Helper()
	lines := f.logLines(t)
	if len(lines) == 0 {
		t.Fatal("nothing logged")
	}
	return lines[len(lines)-1]
}

// normalize is v as encoding/json decodes it into an any.
func normalize(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(mustJSON(t, v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRescue(t *testing.T) {
	o := newOrder(t, 1)
	tests := []struct {
		name           string
		status         string
		errName, cause any
		history        []types.HistoryEvent
		wantState      any // nil: none
		wantFrom       string
		wantError      workflow.TaskError
		wantRefundErr  any // nil: none
	}{
		{
			name: "timed out waiting in RequestPayment", status: workflow.StatusTimedOut,
			history:   o.timedOutInPayment(t),
			wantState: o.published(t), wantFrom: "InStock?",
			wantError: workflow.TaskError{Error: "States.TIMED_OUT"},
		},
		{
			name: "aborted before any saga task", status: workflow.StatusAborted,
			history:   o.abortedBeforeReserving(t),
			wantError: workflow.TaskError{Error: "States.ABORTED"},
		},
		{
			// The compensation's error too: the failure it was compensating, whose reason its
			// refund and cancellation gave.
			name: "CompensationFailed: the compensation's state wins", status: workflow.StatusFailed, errName: "CompensationFailed", cause: compensationFailedCause,
			history:   o.compensationFailed(t),
			wantState: o.cancelled(t, o.reserved(t)), wantFrom: "PublishCompensation",
			wantError: workflow.TaskError{Error: "EventBridge.EventBridgeException", Cause: "Service Unavailable (Status Code: 503)"},
		},
		{
			// A payment answer that timed out was being compensated: the rescue cancels as
			// timed-out, as the refund already told (PaymentRefunded), not as fulfilment-failed.
			name: "CompensationFailed after the payment timed out: its reason kept", status: workflow.StatusFailed, errName: "CompensationFailed", cause: compensationFailedCause,
			history: o.compensationFailedAfter(t, catch{"RequestPayment", "sqs:sendMessage.waitForTaskToken", "States.Timeout", ""},
				map[string]any{"error": workflow.TaskError{Error: "States.Timeout", Cause: ""}}),
			wantState: o.cancelled(t, o.reserved(t)), wantFrom: "PublishCompensation",
			wantError: workflow.TaskError{Error: "States.Timeout"},
		},
		{
			// The rescue carries the failed refund, so that it ends RefundFailed (an operator
			// refunds), not FulfilmentFailed (refunded).
			name: "CompensationFailed after a refund failed", status: workflow.StatusFailed, errName: "CompensationFailed", cause: compensationFailedCause,
			history:   o.refundThenCompensationFailed(t),
			wantState: o.cancelled(t, o.reserved(t)), wantFrom: "PublishCompensation",
			wantError:     workflow.TaskError{Error: "States.TaskFailed", Cause: "carrier down"},
			wantRefundErr: refundTimedOut,
		},
		{
			name: "SagaNotStarted", status: workflow.StatusFailed, errName: "SagaNotStarted", cause: sagaNotStartedCause,
			history:   o.sagaNotStarted(t),
			wantError: workflow.TaskError{Error: "SagaNotStarted", Cause: sagaNotStartedCause},
		},
		{
			name: "a runtime error no Catch takes", status: workflow.StatusFailed, errName: "States.Runtime",
			cause:     runtimeCause,
			history:   o.runtimeError(t),
			wantState: o.published(t), wantFrom: "PublishReservation",
			wantError: workflow.TaskError{Error: "States.Runtime", Cause: runtimeCause},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHarness(tc.history)
			name := executionName(i)
			f.handle(t, detail(name, tc.status, o.input, tc.errName, tc.cause))
			if len(f.describer.calls) != 0 {
				t.Errorf("DescribeExecution called %v: the event had all it needed", f.describer.calls)
			}
			if len(f.starter.calls) != 1 {
				t.Fatalf("%d starts, want 1", len(f.starter.calls))
			}
			got := f.starter.calls[0]
			if aws.ToString(got.StateMachineArn) != stateMachineARN || aws.ToString(got.Name) != "rescue-"+name {
				t.Errorf("started %s as %s", aws.ToString(got.StateMachineArn), aws.ToString(got.Name))
			}
			errName, _ := tc.errName.(string)
			cause, _ := tc.cause.(string)
			want := map[string]any{
				"rescue": map[string]any{"execution": executionPrefix + name, "status": tc.status, "error": errName, "cause": cause},
				"event":  o.envelope,
				"state":  tc.wantState,
				"error":  tc.wantError,
			}
			if tc.wantRefundErr != nil {
				want["refundError"] = tc.wantRefundErr
			}
			var input any
			if err := json.Unmarshal([]byte(aws.ToString(got.Input)), &input); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(input, normalize(t, want)) {
				t.Errorf("rescue input\n got %s\nwant %s", aws.ToString(got.Input), mustJSON(t, want))
			}
			var doc workflow.Doc // the tasks read it as their document
			if err := json.Unmarshal([]byte(aws.ToString(got.Input)), &doc); err != nil || doc.Error == nil || (tc.wantState == nil) != (doc.State == nil) {
				t.Errorf("as a workflow.Doc: %+v (%v)", doc, err)
			}
			last := f.lastLog(t)
			if last["msg"] != "rescue started" || last["orderId"] != o.id || last["rescueName"] != "rescue-"+name ||
				last["stateFrom"] != tc.wantFrom || last["executionName"] != name || last["status"] != tc.status || last["executionError"] != errName {
				t.Errorf("log = %v", last)
			}
		})
	}
}

// A status change saying FAILED for an execution whose history has not stopped (it is still
// running: the event is forged, or an old one moved back from a dead-letter queue) rescues
// nothing: a rescue would cancel an order its saga is still taking care of.
func TestNoRescueOfAnExecutionThatHasNotStopped(t *testing.T) {
	o := newOrder(t, 1)
	running := o.timedOutInPayment(t)[:19] // up to InStock?'s entry: no end
	f := newHarness(running)
	name := executionName(1)
	if err := f.h.Handle(context.Background(), statusEvent(t, detail(name, workflow.StatusFailed, o.input, "States.TaskFailed", "forged"))); err != nil {
		t.Fatalf("Handle = %v, want nil (retrying cannot make it true)", err)
	}
	if len(f.starter.calls) != 0 {
		t.Fatalf("%d rescues started for a running execution", len(f.starter.calls))
	}
	if last := f.lastLog(t); last["msg"] != "not rescued: the status change does not match the execution" || last["level"] != "ERROR" {
		t.Errorf("log = %v", last)
	}
}

func TestHistoryPages(t *testing.T) {
	o := newOrder(t, 2)
	events := o.timedOutInPayment(t)
	f := newHarness(events)
	f.history.pageSize = 2
	f.handle(t, detail(executionName(0), workflow.StatusTimedOut, o.input, nil, nil))
	calls := f.history.calls
	if len(calls) != 3 { // newest first: TimedOut, Submitted | Started, Scheduled | RequestPayment entered, InStock? exited
		t.Errorf("%d pages read, want 3 (stop at the last state)", len(calls))
	}
	for i, c := range calls {
		if aws.ToString(c.ExecutionArn) != executionPrefix+executionName(0) || !c.ReverseOrder || !aws.ToBool(c.IncludeExecutionData) {
			t.Errorf("call %d = %+v", i, c)
		}
		if wantToken := i > 0; (c.NextToken != nil) != wantToken {
			t.Errorf("call %d: token %v", i, c.NextToken)
		}
	}
	var input RescueInput
	if len(f.starter.calls) != 1 || json.Unmarshal([]byte(aws.ToString(f.starter.calls[0].Input)), &input) != nil {
		t.Fatalf("starts = %+v", f.starter.calls)
	}
	var state workflow.State
	if err := json.Unmarshal(input.State, &state); err != nil || state.Outcome != workflow.OutcomeReserved {
		t.Errorf("state = %s (%v)", input.State, err)
	}

	// No state at all: every page is read.
	events = o.abortedBeforeReserving(t) // 12 events
	f = newHarness(events)
	f.history.pageSize = 3
	f.handle(t, detail(executionName(1), workflow.StatusAborted, o.input, nil, nil))
	if len(f.history.calls) != 4 || len(f.starter.calls) != 1 {
		t.Fatalf("%d pages, %d starts", len(f.history.calls), len(f.starter.calls))
	}
	if err := json.Unmarshal([]byte(aws.ToString(f.starter.calls[0].Input)), &input); err != nil || string(input.State) != "null" {
		t.Errorf("state = %s (%v)", input.State, err)
	}
}

func TestInputLeftOut(t *testing.T) {
	o := newOrder(t, 3)
	name := executionName(0)
	tests := []struct {
		name    string
		detail  map[string]any
		out     *sfn.DescribeExecutionOutput
		wantErr string
	}{
		{
			name:   "input too large for the event",
			detail: detail(name, workflow.StatusFailed, nil, "CompensationFailed", compensationFailedCause),
			out: &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(executionPrefix + name), Status: types.ExecutionStatusFailed,
				Input: aws.String(o.input), InputDetails: &types.CloudWatchEventsExecutionDataDetails{Included: true},
				Error: aws.String("CompensationFailed"), Cause: aws.String(compensationFailedCause)},
			wantErr: "CompensationFailed",
		},
		{
			name: "a failure without its error (an older event)",
			detail: func() map[string]any {
				d := detail(name, workflow.StatusFailed, o.input, nil, nil)
				delete(d, "error")
				delete(d, "cause")
				return d
			}(),
			out: &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(executionPrefix + name), Status: types.ExecutionStatusFailed,
				Input: aws.String(o.input), Error: aws.String("CompensationFailed"), Cause: aws.String(compensationFailedCause)},
			wantErr: "CompensationFailed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHarness(o.compensationFailed(t))
			f.describer.out = tc.out
			f.handle(t, tc.detail)
			if !reflect.DeepEqual(f.describer.calls, []string{executionPrefix + name}) {
				t.Errorf("DescribeExecution calls = %v", f.describer.calls)
			}
			var input RescueInput
			if len(f.starter.calls) != 1 || json.Unmarshal([]byte(aws.ToString(f.starter.calls[0].Input)), &input) != nil {
				t.Fatalf("starts = %+v", f.starter.calls)
			}
			if !reflect.DeepEqual(normalize(t, input.Event), normalize(t, o.envelope)) || input.Error.Error != "EventBridge.EventBridgeException" ||
				input.Rescue.Error != tc.wantErr || input.Rescue.Cause != compensationFailedCause {
				t.Errorf("rescue input = %s", aws.ToString(f.starter.calls[0].Input))
			}
		})
	}
}

func TestIgnored(t *testing.T) {
	o := newOrder(t, 4)
	name := executionName(0)
	rescue := mustJSON(t, RescueInput{
		Rescue: Rescue{Execution: executionPrefix + executionName(9), Status: workflow.StatusTimedOut},
		Event:  o.envelope, State: json.RawMessage("null"), Error: workflow.TaskError{Error: "States.TIMED_OUT"},
	})
	other := detail(name, workflow.StatusFailed, o.input, "States.Runtime", "boom")
	other["stateMachineArn"] = "arn:aws:states:us-east-1:000000000000:stateMachine:SomethingElse"
	noOrder := string(fixture.EventBridge(t, o.placed))
	noOrder = with(t, noOrder, map[string]any{"detail": map[string]any{"type": "OrderPlaced"}})
	tests := []struct {
		name      string
		detail    map[string]any
		describe  *sfn.DescribeExecutionOutput
		wantLevel string
		wantMsg   string
	}{
		{name: "another state machine", detail: other, wantLevel: "INFO", wantMsg: "ignored: another state machine's execution"},
		{name: "succeeded", detail: detail(name, "SUCCEEDED", o.input, nil, nil), wantLevel: "INFO", wantMsg: "ignored: the execution did not fail"},
		{name: "running", detail: detail(name, "RUNNING", o.input, nil, nil), wantLevel: "INFO", wantMsg: "ignored: the execution did not fail"},
		{name: "FulfilmentFailed", detail: detail(name, workflow.StatusFailed, o.input, "FulfilmentFailed", "A step failed after its retries; the order was compensated and cancelled (see the execution history)."),
			wantLevel: "INFO", wantMsg: "ignored: the execution compensated the order itself"},
		{name: "RefundFailed", detail: detail(name, workflow.StatusFailed, o.input, "RefundFailed", "The order was cancelled and its stock released, but the refund failed"),
			wantLevel: "INFO", wantMsg: "ignored: the execution compensated the order itself"},
		{name: "FulfilmentFailed, told by DescribeExecution", detail: detail(name, workflow.StatusFailed, nil, nil, nil),
			describe:  &sfn.DescribeExecutionOutput{Input: aws.String(o.input), Error: aws.String("FulfilmentFailed"), Cause: aws.String("A step failed")},
			wantLevel: "INFO", wantMsg: "ignored: the execution compensated the order itself"},
		{name: "a rescue failed", detail: detail("rescue-"+executionName(9), workflow.StatusFailed, rescue, "CompensationFailed", compensationFailedCause),
			wantLevel: "ERROR", wantMsg: "a rescue failed: the order needs an operator"},
		{name: "a rescue that compensated the order", detail: detail("rescue-"+executionName(9), workflow.StatusFailed, rescue, "FulfilmentFailed", "A step failed after its retries; the order was compensated and cancelled (see the execution history)."),
			wantLevel: "INFO", wantMsg: "ignored: the execution compensated the order itself"},
		{name: "a rescue timed out", detail: detail("rescue-"+executionName(9), workflow.StatusTimedOut, rescue, nil, nil),
			wantLevel: "ERROR", wantMsg: "a rescue failed: the order needs an operator"},
		{name: "no order id", detail: detail(name, workflow.StatusFailed, noOrder, "SagaNotStarted", sagaNotStartedCause),
			wantLevel: "ERROR", wantMsg: "cannot rescue: the execution input has no OrderPlaced event with an order id; the order needs an operator"},
		{name: "input not an object", detail: detail(name, workflow.StatusFailed, `"hello"`, "SagaNotStarted", sagaNotStartedCause),
			wantLevel: "ERROR", wantMsg: "cannot rescue: the execution input is not a JSON object; the order needs an operator"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHarness(o.timedOutInPayment(t))
			f.describer.out = tc.describe
			f.handle(t, tc.detail)
			if len(f.starter.calls) != 0 || len(f.history.calls) != 0 {
				t.Errorf("%d starts, %d history reads, want none", len(f.starter.calls), len(f.history.calls))
			}
			last := f.lastLog(t)
			if last["level"] != tc.wantLevel || last["msg"] != tc.wantMsg {
				t.Errorf("log = %v", last)
			}
			if strings.HasPrefix(tc.name, "a rescue") && (last["orderId"] != o.id || last["rescuedExecution"] != executionName(9)) {
				t.Errorf("log = %v, want the order and the execution rescued", last)
			}
		})
	}
}

func TestStart(t *testing.T) {
	o := newOrder(t, 5)
	throttled := errors.New("operation error SFN: StartExecution, https response error StatusCode: 400, ThrottlingException: Rate exceeded")
	tests := []struct {
		name    string
		err     error
		wantErr error
		wantMsg string
	}{
		{name: "started", wantMsg: "rescue started"},
		{name: "an earlier delivery started it", err: &types.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists")}, wantMsg: "rescue already started"},
		{name: "start failed", err: throttled, wantErr: throttled, wantMsg: "rescue failed"},
		{name: "no such state machine", err: &types.StateMachineDoesNotExist{Message: aws.String("State Machine Does Not Exist")}, wantErr: &types.StateMachineDoesNotExist{}, wantMsg: "rescue failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHarness(o.timedOutInPayment(t))
			f.starter.err = tc.err
			err := f.h.Handle(context.Background(), statusEvent(t, detail(executionName(0), workflow.StatusTimedOut, o.input, nil, nil)))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tc.wantErr != nil && (err == nil || !errors.Is(err, tc.err)):
				t.Fatalf("err = %v, want it to wrap %v", err, tc.err)
			}
			if len(f.starter.calls) != 1 {
				t.Errorf("%d starts", len(f.starter.calls))
			}
			if last := f.lastLog(t); last["msg"] != tc.wantMsg {
				t.Errorf("log = %v", last)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	o := newOrder(t, 6)
	name := executionName(0)
	failed := errors.New("operation error SFN: GetExecutionHistory, exceeded maximum number of attempts, 3")
	tests := []struct {
		name        string
		ev          []byte
		historyErr  error
		describeErr error
	}{
		{name: "another event type", ev: statusEventJSON(t, "orderflow.orders", detail(name, workflow.StatusFailed, o.input, "States.Runtime", ""))},
		{name: "a detail that is not a status change", ev: statusEventJSON(t, eventSource, map[string]any{"executionArn": 42})},
		{name: "no execution ARN", ev: statusEventJSON(t, eventSource, map[string]any{"status": workflow.StatusFailed, "stateMachineArn": stateMachineARN})},
		{name: "DescribeExecution failed", ev: statusEventJSON(t, eventSource, detail(name, workflow.StatusTimedOut, nil, nil, nil)), describeErr: failed},
		{name: "GetExecutionHistory failed", ev: statusEventJSON(t, eventSource, detail(name, workflow.StatusTimedOut, o.input, nil, nil)), historyErr: failed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newHarness(o.timedOutInPayment(t))
			f.history.err, f.describer.err = tc.historyErr, tc.describeErr
			_, err := lambda.NewHandler(f.h.Handle).Invoke(context.Background(), tc.ev) // as the runtime calls it
			if err == nil {
				t.Fatal("no error: the event would be lost instead of retried, then dead-lettered")
			}
			if (tc.historyErr != nil || tc.describeErr != nil) && !errors.Is(err, failed) {
				t.Errorf("err = %v, want it to wrap the SDK's", err)
			}
			if len(f.starter.calls) != 0 {
				t.Errorf("%d starts", len(f.starter.calls))
			}
		})
	}
}

// The rescue of the longest name Step Functions allows is named by workflow.RescueName (which
// keeps it within the limit).
func TestRescueOfTheLongestName(t *testing.T) {
	// Through Handle: the longest name Step Functions allows.
	o := newOrder(t, 7)
	f := newHarness(o.timedOutInPayment(t))
	longest := strings.Repeat("b", 80)
	f.handle(t, detail(longest, workflow.StatusTimedOut, o.input, nil, nil))
	if len(f.starter.calls) != 1 || aws.ToString(f.starter.calls[0].Name) != workflow.RescueName(longest) || len(aws.ToString(f.starter.calls[0].Name)) != 80 {
		t.Errorf("started %+v", f.starter.calls)
	}
}

func TestCauseTruncated(t *testing.T) {
	o := newOrder(t, 8)
	f := newHarness(o.sagaNotStarted(t))
	cause := strings.Repeat("x", 40000)
	f.handle(t, detail(executionName(0), workflow.StatusFailed, o.input, "SagaNotStarted", cause))
	var input RescueInput
	if len(f.starter.calls) != 1 || json.Unmarshal([]byte(aws.ToString(f.starter.calls[0].Input)), &input) != nil {
		t.Fatalf("starts = %+v", f.starter.calls)
	}
	if len(input.Rescue.Cause) != maxCauseLen || input.Error.Cause != input.Rescue.Cause {
		t.Errorf("cause lengths %d and %d, want %d", len(input.Rescue.Cause), len(input.Error.Cause), maxCauseLen)
	}
}

// TestNoCustomerDataInLogs runs every path and checks that no customer data (the customer,
// the items, the amounts, the payment intent) and no cause (free text) reaches the logs.
func TestNoCustomerDataInLogs(t *testing.T) {
	o := newOrder(t, 9)
	logs := &bytes.Buffer{}
	run := func(events []types.HistoryEvent, d map[string]any, startErr error) {
		f := newHarness(events)
		// Without the time: its nanoseconds may spell an amount ("…33.998749998Z" holds 4999).
		noTime := func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}
		f.h.logger = slog.New(slog.NewJSONHandler(io.MultiWriter(logs, f.logs), &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: noTime}))
		f.describer.out = &sfn.DescribeExecutionOutput{Input: aws.String(o.input), Error: aws.String("CompensationFailed"), Cause: aws.String(compensationFailedCause)}
		f.starter.err = startErr
		_ = f.h.Handle(context.Background(), statusEvent(t, d))
	}
	rescue := mustJSON(t, RescueInput{Rescue: Rescue{Execution: executionPrefix + "x", Status: workflow.StatusAborted}, Event: o.envelope, State: json.RawMessage("null")})
	run(o.timedOutInPayment(t), detail("a", workflow.StatusTimedOut, o.input, nil, nil), nil)
	run(o.abortedBeforeReserving(t), detail("b", workflow.StatusAborted, o.input, nil, nil), nil)
	run(o.compensationFailed(t), detail("c", workflow.StatusFailed, nil, nil, nil), nil)
	run(o.sagaNotStarted(t), detail("d", workflow.StatusFailed, o.input, "SagaNotStarted", sagaNotStartedCause), errors.New("throttled"))
	run(o.sagaNotStarted(t), detail("e", workflow.StatusFailed, o.input, "SagaNotStarted", sagaNotStartedCause), &types.ExecutionAlreadyExists{})
	run(nil, detail("f", workflow.StatusFailed, rescue, "CompensationFailed", compensationFailedCause), nil)
	run(nil, detail("g", workflow.StatusFailed, o.input, "FulfilmentFailed", "A step failed after its retries"), nil)

	out := logs.String()
	if !strings.Contains(out, o.id) {
		t.Fatalf("the order id is not logged:\n%s", out)
	}
	p, err := orderevents.DecodePayload[orderevents.OrderPlaced](o.placed)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{fixture.Customer, p.PaymentIntentID, p.Items[0].Name, p.Items[0].SKU, "4999", `"payload"`, "tok_visa",
		compensationFailedCause, sagaNotStartedCause, "A step failed", "Service Unavailable"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
}

// encode writes what json.Marshal writes.
func TestRescueInputEncode(t *testing.T) {
	o := newOrder(t, 2)
	var event bytes.Buffer
	if err := json.Compact(&event, o.envelope); err != nil {
		t.Fatal(err)
	}
	in := RescueInput{
		Rescue: Rescue{Execution: executionPrefix + "x", Status: workflow.StatusFailed, Error: "States.Runtime", Cause: `a "quoted" cause <&>`},
		Event:  event.Bytes(),
		State:  json.RawMessage(`{"outcome":"reserved","sequence":2}`),
		Error:  workflow.TaskError{Error: "States.Runtime", Cause: `a "quoted" cause <&>`},
	}
	noState := in
	noState.State = nil
	refundFailed := in
	refundFailed.RefundError = json.RawMessage(`{"Error":"States.Timeout","Cause":""}`)
	for _, in := range []RescueInput{in, noState, refundFailed} {
		fixture.EncodesAsMarshal(t, in, in.encode)
	}
}
