package load

import (
	"slices"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

var t0 = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// handMade is a journey as journey.Build keys its hops: OrderPlaced on the bus, an execution
// "x" (a claim, an inventory call, a payment through the queue, a publication), the stream,
// the event store and one notification. d shifts every latency after the bus hop.
func handMade(d int) journey.Journey {
	hops := []journey.Hop{
		{Key: "bus/e1", Time: at(0), From: journey.Lambda, Service: journey.EventBridge},
		{Key: "sfn/x/start", Cause: "bus/e1", Time: at(10 + d), From: journey.EventBridge, Service: journey.StepFunctions, Action: "StartExecution"},
		{Key: "sfn/x/0", Cause: "sfn/x/start", Time: at(20 + d), From: journey.StepFunctions, Service: journey.StepFunctions, Actor: "ClaimSaga", Action: "ClaimSaga"},
		{Key: "sfn/x/0/0/claim", Cause: "sfn/x/0", Time: at(20 + d), From: journey.StepFunctions, Service: journey.DynamoDB},
		{Key: "sfn/x/0/0/end", Cause: "sfn/x/0/0/claim", Time: at(22 + d), From: journey.DynamoDB, Service: journey.StepFunctions},
		{Key: "sfn/x/1", Cause: "sfn/x/0/0/end", Time: at(30 + d), From: journey.StepFunctions, Service: journey.StepFunctions, Actor: "ReserveInventory", Action: "ReserveInventory"},
		{Key: "sfn/x/1/0/invoke", Cause: "sfn/x/1", Time: at(30 + d), From: journey.StepFunctions, Service: journey.Lambda},
		{Key: "sfn/x/1/0/end", Cause: "sfn/x/1/0/invoke", Time: at(130 + 2*d), From: journey.Lambda, Service: journey.StepFunctions},
		{Key: "sfn/x/2", Cause: "sfn/x/1/0/end", Time: at(140 + 2*d), From: journey.StepFunctions, Service: journey.StepFunctions, Actor: "RequestPayment", Action: "RequestPayment"},
		{Key: "sfn/x/2/0/send", Cause: "sfn/x/2", Time: at(140 + 2*d), From: journey.StepFunctions, Service: journey.SQS},
		{Key: "sfn/x/2/0/consumer", Cause: "sfn/x/2/0/send", Time: at(440 + 3*d), Approx: true, From: journey.SQS, Service: journey.Lambda},
		{Key: "sfn/x/2/0/write", Cause: "sfn/x/2/0/consumer", Time: at(440 + 3*d), From: journey.Lambda, Service: journey.DynamoDB},
		{Key: "sfn/x/2/0/end", Cause: "sfn/x/2/0/write", Time: at(460 + 3*d), From: journey.Lambda, Service: journey.StepFunctions},
		{Key: "sfn/x/3", Cause: "sfn/x/2/0/end", Time: at(470 + 3*d), From: journey.StepFunctions, Service: journey.StepFunctions, Actor: "PublishShipment", Action: "PublishShipment"},
		{Key: "bus/e2", Cause: "sfn/x/3", Time: at(470 + 3*d), From: journey.StepFunctions, Service: journey.EventBridge},
		{Key: "sfn/x/4", Cause: "sfn/x/3", Time: at(475 + 3*d), From: journey.StepFunctions, Service: journey.StepFunctions, Actor: "Shipped", Action: "Shipped"},
		{Key: "sfn/x/end", Cause: "sfn/x/4", Time: at(480 + 3*d), From: journey.StepFunctions, Service: journey.StepFunctions, Action: "execution SUCCEEDED"},
		{Key: "fn/streamer/k1", Cause: "bus/e1", Time: at(50 + d), Approx: true, From: journey.EventBridge, Service: journey.Lambda},
		{Key: "kinesis/k1", Cause: "fn/streamer/k1", Time: at(50 + d), From: journey.Lambda, Service: journey.Kinesis},
		{Key: "fn/projector/#1", Cause: "kinesis/k1", Time: at(250 + d), Approx: true, From: journey.Kinesis, Service: journey.Lambda},
		{Key: "ddb/events/1", Cause: "fn/projector/#1", Time: at(250 + d), From: journey.Lambda, Service: journey.DynamoDB, Resource: journey.ResEventStore},
		{Key: "sns/e1", Cause: "bus/e1", Time: at(300 + d), Approx: true, From: journey.EventBridge, Service: journey.SNS},
		{Key: "ddb/notifications/email/e1", Cause: "sns/e1", Time: at(300 + d), From: journey.Lambda, Service: journey.DynamoDB, Resource: journey.ResNotifications},
	}
	return journey.Journey{OrderID: "ORD-1", Hops: journey.Order(hops)}
}

func TestStages(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	post := []time.Duration{ms(80), ms(120)}
	stages := Stages(post, []journey.Journey{handMade(0), handMade(100)})
	var names []string
	got := map[string]Summary{}
	for _, s := range stages {
		names = append(names, s.Stage)
		got[s.Stage] = s.Summary
		if s.From == "" || s.To == "" {
			t.Errorf("%s has no definition", s.Stage)
		}
	}
	wantOrder := []string{StageAPI, journey.StageBusToWorkflow, journey.StageWorkflow, journey.TaskStage("ClaimSaga"),
		journey.TaskStage("ReserveInventory"), journey.TaskStage("RequestPayment"), journey.TaskStage("PublishShipment"),
		journey.StagePaymentsQueue, journey.StagePaymentAnswer, journey.StageBusToStream, journey.StageStreamToProjector, journey.StageBusToNotification}
	if !slices.Equal(names, wantOrder) {
		t.Errorf("stages %v,\nwant %v", names, wantOrder)
	}
	for _, tc := range []struct {
		stage    string
		p50, max time.Duration
	}{
		{StageAPI, ms(80), ms(120)},
		{journey.StageBusToWorkflow, ms(10), ms(110)},
		{journey.StageWorkflow, ms(470), ms(670)}, // 10 → 480, and 110 → 780
		{journey.TaskStage("ClaimSaga"), ms(2), ms(2)},
		{journey.TaskStage("ReserveInventory"), ms(100), ms(200)},
		{journey.TaskStage("RequestPayment"), ms(320), ms(420)},
		{journey.TaskStage("PublishShipment"), ms(5), ms(5)}, // no end hop: until the next state
		{journey.StagePaymentsQueue, ms(300), ms(400)},
		{journey.StagePaymentAnswer, ms(20), ms(20)},
		{journey.StageBusToStream, ms(50), ms(150)},
		{journey.StageStreamToProjector, ms(200), ms(200)},
		{journey.StageBusToNotification, ms(300), ms(400)},
	} {
		s := got[tc.stage]
		if s.Count != 2 || s.P50 != tc.p50 || s.Max != tc.max {
			t.Errorf("%s: %+v, want 2 values, p50 %v, max %v", tc.stage, s, tc.p50, tc.max)
		}
	}
}

func TestStagesWithoutJourneys(t *testing.T) {
	stages := Stages(nil, nil)
	for _, s := range stages {
		if s.Count != 0 {
			t.Errorf("%s: %d values from nothing", s.Stage, s.Count)
		}
	}
	if len(stages) == 0 || stages[0].Stage != StageAPI {
		t.Errorf("stages %v: want the fixed stages, API first, even when empty", stages)
	}
}
