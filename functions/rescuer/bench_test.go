package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	orderevents "github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

const (
	benchStateMachine = "arn:aws:states:us-east-1:000000000000:stateMachine:OrderFulfilment-Xk2Lq9"
	benchExecution    = "arn:aws:states:us-east-1:000000000000:execution:OrderFulfilment-Xk2Lq9:0b4c6f7e-2a1d-5e3f-9c8b-7a6d5e4f3a2b"
)

// benchHistoryPage answers GetExecutionHistory with one page, the same every call.
type benchHistoryPage struct {
	out *sfn.GetExecutionHistoryOutput
}

func (h benchHistoryPage) GetExecutionHistory(context.Context, *sfn.GetExecutionHistoryInput, ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	return h.out, nil
}

type benchDescriber struct{}

func (benchDescriber) DescribeExecution(context.Context, *sfn.DescribeExecutionInput, ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	return nil, fmt.Errorf("not in the benchmark")
}

// benchStarter starts every rescue, and counts them.
type benchStarter struct{ started int }

func (s *benchStarter) StartExecution(context.Context, *sfn.StartExecutionInput, ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	s.started++
	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(benchExecution + "-rescue"), StartDate: aws.Time(fixture.Now)}, nil
}

// benchTimedOut is the history of an execution that reserved a three-line order, published
// the reservation and then waited in RequestPayment until the state machine's timeout: the
// events Step Functions records, newest first (as the rescuer asks for them).
func benchTimedOut(b testing.TB) (input string, newestFirst []types.HistoryEvent) {
	id := fixture.OrderID(1)
	placed := fixture.Placed(b, id, "tok_visa", benchfixture.Items()...)
	input = string(fixture.EventBridge(b, placed))
	st, err := workflow.Start(placed)
	if err != nil {
		b.Fatal(err)
	}
	lines := []orderevents.StockLine{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}
	if err := st.Emit("orders", orderevents.TypeInventoryReserved, orderevents.InventoryReserved{OrderID: id, Items: lines}, fixture.Now); err != nil {
		b.Fatal(err)
	}
	st.Outcome = workflow.OutcomeReserved
	doc0 := string(benchfixture.JSON(b, workflow.Doc{Event: fixture.JSON(b, placed)}))
	reserved := string(benchfixture.JSON(b, workflow.Doc{Event: fixture.JSON(b, placed), State: st}))
	st.Published = &workflow.PublishResult{}
	published := string(benchfixture.JSON(b, workflow.Doc{Event: fixture.JSON(b, placed), State: st}))
	lambdaResult := string(benchfixture.JSON(b, map[string]any{"ExecutedVersion": "$LATEST", "Payload": json.RawMessage(reserved), "StatusCode": 200}))

	var evs []types.HistoryEvent
	add := func(typ types.HistoryEventType, set func(*types.HistoryEvent)) {
		n := int64(len(evs) + 1)
		e := types.HistoryEvent{Id: n, PreviousEventId: n - 1, Type: typ, Timestamp: aws.Time(fixture.Now.Add(time.Duration(n) * 100 * time.Millisecond))}
		set(&e)
		evs = append(evs, e)
	}
	data := &types.HistoryEventExecutionDataDetails{}
	state := func(name, in, out string, task func()) {
		add(types.HistoryEventTypeTaskStateEntered, func(e *types.HistoryEvent) {
			e.StateEnteredEventDetails = &types.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(in), InputDetails: data}
		})
		if task != nil {
			task()
		}
		if out != "" {
			add(types.HistoryEventTypeTaskStateExited, func(e *types.HistoryEvent) {
				e.StateExitedEventDetails = &types.StateExitedEventDetails{Name: aws.String(name), Output: aws.String(out), OutputDetails: data}
			})
		}
	}
	call := func(resource, params, result string) func() {
		return func() {
			add(types.HistoryEventTypeTaskScheduled, func(e *types.HistoryEvent) {
				e.TaskScheduledEventDetails = &types.TaskScheduledEventDetails{ResourceType: aws.String("lambda"), Resource: aws.String(resource), Region: aws.String("us-east-1"), Parameters: aws.String(params)}
			})
			add(types.HistoryEventTypeTaskStarted, func(e *types.HistoryEvent) {
				e.TaskStartedEventDetails = &types.TaskStartedEventDetails{ResourceType: aws.String("lambda"), Resource: aws.String(resource)}
			})
			if result != "" {
				add(types.HistoryEventTypeTaskSucceeded, func(e *types.HistoryEvent) {
					e.TaskSucceededEventDetails = &types.TaskSucceededEventDetails{ResourceType: aws.String("lambda"), Resource: aws.String(resource), Output: aws.String(result), OutputDetails: data}
				})
			}
		}
	}
	add(types.HistoryEventTypeExecutionStarted, func(e *types.HistoryEvent) {
		e.ExecutionStartedEventDetails = &types.ExecutionStartedEventDetails{Input: aws.String(input), InputDetails: data,
			RoleArn: aws.String("arn:aws:iam::000000000000:role/Orderflow-FulfilmentRole-1A2B3C")}
	})
	state("ClaimSaga", input, input, call("putItem", input, `{"SdkHttpMetadata":{"HttpStatusCode":200}}`))
	state("ReadOrderPlaced", input, doc0, nil)
	state("ReserveInventory", doc0, reserved, call("invoke", doc0, lambdaResult))
	state("PublishReservation", reserved, published, call("putEvents", reserved, `{"Entries":[{"EventId":"11710aed-b79e-4468-a20b-bb3c0c3b4860"}],"FailedEntryCount":0}`))
	state("InStock?", published, published, nil)
	state("RequestPayment", published, "", call("sendMessage.waitForTaskToken", published, ""))
	add(types.HistoryEventTypeExecutionTimedOut, func(e *types.HistoryEvent) { e.ExecutionTimedOutEventDetails = &types.ExecutionTimedOutEventDetails{} })
	slices.Reverse(evs)
	return input, evs
}

// benchRescue is the status change of that execution (TIMED_OUT, its input included) as the
// default bus delivers it, and the handler. The check: the rescue was started.
func benchRescue(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	input, history := benchTimedOut(b)
	raw := benchfixture.JSON(b, map[string]any{
		"version": "0", "id": "315c1398-40ff-a850-213b-158f73e60175", "detail-type": detailType, "source": eventSource,
		"account": "000000000000", "time": "2026-03-01T12:30:00Z", "region": "us-east-1", "resources": []string{benchExecution},
		"detail": map[string]any{
			"executionArn": benchExecution, "stateMachineArn": benchStateMachine, "name": nameOf(benchExecution), "status": workflow.StatusTimedOut,
			"startDate": fixture.Now.UnixMilli(), "stopDate": fixture.Now.Add(30 * time.Minute).UnixMilli(),
			"input": input, "inputDetails": map[string]any{"included": true}, "output": nil, "outputDetails": nil,
			"error": nil, "cause": nil, "redriveCount": 0, "redriveStatus": "NOT_REDRIVABLE",
		},
	})
	s := &benchStarter{}
	h := newHandler(benchStateMachine, ports{history: benchHistoryPage{&sfn.GetExecutionHistoryOutput{Events: history}}, describer: benchDescriber{}, starter: s},
		benchfixture.Logger())
	return raw, boot.Sink(h.Handle), func([]byte) error {
		if s.started != 1 {
			return fmt.Errorf("%d rescues started", s.started)
		}
		return nil
	}
}

// One status change: decode it, read the history back to the last saga state, start the rescue.
func BenchmarkHandleRescuer(b *testing.B) { benchfixture.Invoke(b, benchRescue) }

func BenchmarkFloorRescuer(b *testing.B) {
	benchfixture.Floor[StatusChangeEvent, json.RawMessage](b, benchRescue)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchRescue, build, Config{}) }
