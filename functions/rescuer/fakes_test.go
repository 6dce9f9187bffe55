package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

// --- recording fakes of the handler's ports

// fakeHistory serves one execution's history as GetExecutionHistory does: oldest first, or
// newest first with ReverseOrder, pageSize events a page (default 100, the API's) with an
// opaque NextToken. It records every request.
type fakeHistory struct {
	events   []types.HistoryEvent // as the execution wrote them, oldest first
	pageSize int
	err      error
	calls    []sfn.GetExecutionHistoryInput
}

func (f *fakeHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	evs := slices.Clone(f.events)
	if in.ReverseOrder {
		slices.Reverse(evs)
	}
	size := f.pageSize
	if size == 0 {
		size = 100
	}
	if in.MaxResults > 0 {
		size = min(size, int(in.MaxResults))
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+size, len(evs))
	out := &sfn.GetExecutionHistoryOutput{Events: evs[start:end]}
	if end < len(evs) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// fakeDescriber answers DescribeExecution with out, and records the ARNs asked for.
type fakeDescriber struct {
	out   *sfn.DescribeExecutionOutput
	err   error
	calls []string
}

func (f *fakeDescriber) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.calls = append(f.calls, aws.ToString(in.ExecutionArn))
	if f.err != nil {
		return nil, f.err
	}
	return f.out, nil
}

// fakeStarter records every StartExecution and fails with err.
type fakeStarter struct {
	err   error
	calls []sfn.StartExecutionInput
}

func (f *fakeStarter) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	return &sfn.StartExecutionOutput{
		ExecutionArn: aws.String(executionPrefix + aws.ToString(in.Name)),
		StartDate:    aws.Time(fixture.Now),
	}, nil
}

// --- execution histories as Step Functions writes them

// history builds an execution's history, event by event: ids from 1, each event following
// the one before, 100 ms apart.
type history struct {
	events []types.HistoryEvent
}

func newHistory(input string) *history {
	h := &history{}
	return h.add(types.HistoryEventTypeExecutionStarted, func(e *types.HistoryEvent) {
		e.ExecutionStartedEventDetails = &types.ExecutionStartedEventDetails{
			Input:        aws.String(input),
			InputDetails: &types.HistoryEventExecutionDataDetails{},
			RoleArn:      aws.String("arn:aws:iam::000000000000:role/OrderflowStack-FulfilmentOrderFulfilmentRole-1A2B3C"),
		}
	})
}

func (h *history) add(typ types.HistoryEventType, set func(*types.HistoryEvent)) *history {
	id := int64(len(h.events) + 1)
	e := types.HistoryEvent{Id: id, PreviousEventId: id - 1, Type: typ, Timestamp: aws.Time(fixture.Now.Add(time.Duration(id) * 100 * time.Millisecond))}
	set(&e)
	h.events = append(h.events, e)
	return h
}

// stateKinds are the entered/exited event types of each kind of state.
var stateKinds = map[string][2]types.HistoryEventType{
	"Task":   {types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeTaskStateExited},
	"Pass":   {types.HistoryEventTypePassStateEntered, types.HistoryEventTypePassStateExited},
	"Choice": {types.HistoryEventTypeChoiceStateEntered, types.HistoryEventTypeChoiceStateExited},
}

func (h *history) entered(kind, name, input string) *history {
	return h.add(stateKinds[kind][0], func(e *types.HistoryEvent) {
		e.StateEnteredEventDetails = &types.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input), InputDetails: &types.HistoryEventExecutionDataDetails{}}
	})
}

func (h *history) exited(kind, name, output string) *history {
	return h.add(stateKinds[kind][1], func(e *types.HistoryEvent) {
		e.StateExitedEventDetails = &types.StateExitedEventDetails{Name: aws.String(name), Output: aws.String(output), OutputDetails: &types.HistoryEventExecutionDataDetails{}}
	})
}

// pass is a Pass or Choice state that turned input into output.
func (h *history) pass(kind, name, input, output string) *history {
	return h.entered(kind, name, input).exited(kind, name, output)
}

// scheduled is a task's call to resource (e.g. "lambda:invoke") with its resolved parameters, started.
func (h *history) scheduled(resource, parameters string) *history {
	typ, res, _ := cut(resource)
	return h.add(types.HistoryEventTypeTaskScheduled, func(e *types.HistoryEvent) {
		e.TaskScheduledEventDetails = &types.TaskScheduledEventDetails{ResourceType: aws.String(typ), Resource: aws.String(res), Region: aws.String("us-east-1"), Parameters: aws.String(parameters)}
	}).add(types.HistoryEventTypeTaskStarted, func(e *types.HistoryEvent) {
		e.TaskStartedEventDetails = &types.TaskStartedEventDetails{ResourceType: aws.String(typ), Resource: aws.String(res)}
	})
}

// task is a Task state that called resource, which answered result; the state wrote output.
func (h *history) task(name, resource, input, result, output string) *history {
	typ, res, _ := cut(resource)
	return h.entered("Task", name, input).scheduled(resource, input).
		add(types.HistoryEventTypeTaskSucceeded, func(e *types.HistoryEvent) {
			e.TaskSucceededEventDetails = &types.TaskSucceededEventDetails{ResourceType: aws.String(typ), Resource: aws.String(res), Output: aws.String(result), OutputDetails: &types.HistoryEventExecutionDataDetails{}}
		}).exited("Task", name, output)
}

// caught is a Task state whose call failed with errName; its Catch wrote output.
func (h *history) caught(name, resource, input, errName, cause, output string) *history {
	return h.entered("Task", name, input).scheduled(resource, input).failed(resource, errName, cause).exited("Task", name, output)
}

func (h *history) failed(resource, errName, cause string) *history {
	typ, res, _ := cut(resource)
	return h.add(types.HistoryEventTypeTaskFailed, func(e *types.HistoryEvent) {
		e.TaskFailedEventDetails = &types.TaskFailedEventDetails{ResourceType: aws.String(typ), Resource: aws.String(res), Error: aws.String(errName), Cause: aws.String(cause)}
	})
}

// submitted is a waitForTaskToken call accepted by the service: the task now waits.
func (h *history) submitted(resource string) *history {
	typ, res, _ := cut(resource)
	return h.add(types.HistoryEventTypeTaskSubmitted, func(e *types.HistoryEvent) {
		e.TaskSubmittedEventDetails = &types.TaskSubmittedEventDetails{ResourceType: aws.String(typ), Resource: aws.String(res), Output: aws.String(`{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","MD5OfMessageBody":"e4c1d5d1c0d9f3b3c3e1c1c6a1c2b3d4"}`)}
	})
}

// failState is a Fail state, which ends the execution with its error and cause.
func (h *history) failState(name, input, errName, cause string) *history {
	return h.add(types.HistoryEventTypeFailStateEntered, func(e *types.HistoryEvent) {
		e.StateEnteredEventDetails = &types.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input), InputDetails: &types.HistoryEventExecutionDataDetails{}}
	}).executionFailed(errName, cause)
}

func (h *history) executionFailed(errName, cause string) *history {
	return h.add(types.HistoryEventTypeExecutionFailed, func(e *types.HistoryEvent) {
		e.ExecutionFailedEventDetails = &types.ExecutionFailedEventDetails{Error: aws.String(errName), Cause: aws.String(cause)}
	})
}

func (h *history) timedOut() *history {
	return h.add(types.HistoryEventTypeExecutionTimedOut, func(e *types.HistoryEvent) {
		e.ExecutionTimedOutEventDetails = &types.ExecutionTimedOutEventDetails{}
	})
}

func (h *history) aborted() *history {
	return h.add(types.HistoryEventTypeExecutionAborted, func(e *types.HistoryEvent) {
		e.ExecutionAbortedEventDetails = &types.ExecutionAbortedEventDetails{}
	})
}

// cut splits "lambda:invoke" into the resource type and the resource, as history events carry them.
func cut(resource string) (typ, res string, ok bool) { return strings.Cut(resource, ":") }

// doc is a workflow document as a state writes it: {"event": ..., "state": ...} plus extra members.
func doc(t *testing.T, envelope json.RawMessage, state any, extra map[string]any) string {
	t.Helper()
	m := map[string]any{"event": envelope, "state": state}
	for k, v := range extra {
		m[k] = v
	}
	return mustJSON(t, m)
}

// with is the JSON object raw with more members.
func with(t *testing.T, raw string, extra map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		m[k] = v
	}
	return mustJSON(t, m)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
