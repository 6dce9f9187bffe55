package journey

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// spanList renders spans as "stage: duration", in the order Spans gives them.
func spanList(spans []Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = fmt.Sprintf("%s: %v", s.Stage, s.Duration)
	}
	return out
}

func TestSpansOfAnApprovedOrder(t *testing.T) {
	j := Build(approved())
	got := map[string][]time.Duration{}
	for _, s := range j.Spans() {
		got[s.Stage] = append(got[s.Stage], s.Duration)
	}
	want := map[string][]time.Duration{
		StageBusToWorkflow:                 {ms(10)},  // OrderPlaced created at 0, execution started at 10
		StageWorkflow:                      {ms(590)}, // 10 → 600
		TaskStage("ReserveInventory"):      {ms(135)}, // entered 170, second try ended 305: retries count
		TaskStage("PublishReservation"):    {ms(1)},   // no end hop: until InStock? is entered
		TaskStage("RequestPayment"):        {ms(164)}, // 306 → 470
		TaskStage("PublishPaymentOutcome"): {ms(1)},
		TaskStage("ShipOrder"):             {ms(99)},
		TaskStage("PublishShipment"):       {ms(30)},  // until Shipped is entered at 600
		StagePaymentsQueue:                 {ms(149)}, // sent at 306, decision written at 455
		StagePaymentAnswer:                 {ms(15)},  // 455 → the task's end at 470
		// Each event's bus hop → its first record; the duplicate record of OrderShipped is left out.
		StageBusToStream: {ms(160), ms(55), ms(60), ms(105), ms(65)},
		// Each record → its row in the event store.
		StageStreamToProjector: {ms(220), ms(130), ms(95), ms(55), ms(105)},
		// OrderPlaced by e-mail, OrderConfirmed by e-mail, OrderShipped by SMS and e-mail.
		StageBusToNotification: {ms(165), ms(70), ms(80), ms(90)},
	}
	for stage, w := range want {
		g := got[stage]
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("%s: %v, want %v", stage, g, w)
		}
	}
	for stage := range got {
		if _, ok := want[stage]; !ok {
			t.Errorf("unexpected stage %s: %v (all: %v)", stage, got[stage], spanList(j.Spans()))
		}
	}
}

func TestSpansLeaveOutDuplicatesAndWhatHasNotHappened(t *testing.T) {
	ev := approved()
	// A second execution for the same order, which found the order claimed.
	ev.Executions = append(ev.Executions, Execution{Arn: "arn:exec:x2", Name: "x2", Status: "SUCCEEDED", Started: at(9000), Stopped: at(9100),
		EventID: "e1", BusID: "b1-again", States: []State{{Name: "ClaimSaga", Type: "Task", Entered: at(9010),
			Attempts: []Attempt{{Resource: "dynamodb:putItem", Scheduled: at(9010), Ended: at(9020), Outcome: "Failed"}}}}})
	// The first is still running ShipOrder; OrderShipped is not stored yet.
	x := &ev.Executions[0]
	x.Status, x.Stopped = "RUNNING", time.Time{}
	x.States = x.States[:7]
	x.States[6].Attempts[0].Ended, x.States[6].Attempts[0].Outcome = time.Time{}, ""
	ev.Events = ev.Events[:4]
	ev.Records = ev.Records[:4]
	ev.Notifications = ev.Notifications[:2]
	j := Build(ev)
	got := map[string]int{}
	for _, s := range j.Spans() {
		got[s.Stage]++
	}
	want := map[string]int{StageBusToWorkflow: 1, TaskStage("ReserveInventory"): 1, TaskStage("PublishReservation"): 1,
		TaskStage("RequestPayment"): 1, TaskStage("PublishPaymentOutcome"): 1, StagePaymentsQueue: 1, StagePaymentAnswer: 1,
		StageBusToStream: 4, StageStreamToProjector: 4, StageBusToNotification: 2}
	for stage, n := range want {
		if got[stage] != n {
			t.Errorf("%s: %d spans, want %d", stage, got[stage], n)
		}
	}
	for stage, n := range got {
		if _, ok := want[stage]; !ok {
			t.Errorf("unexpected %d spans of %s (duplicate execution or unfinished task)", n, stage)
		}
	}
}

func TestSpansOfARescue(t *testing.T) {
	j := Build(rescued())
	start := j.Hops[index(t, j, "the rescue's start", func(h Hop) bool { return h.Key == "sfn/rescue-x1/start" })]
	if start.Duplicate || start.Cause != "sfn/x1/end" || start.From != Lambda {
		t.Errorf("rescue start: duplicate %v, cause %q, from %s; want the rescuer's, after the stalled execution's end", start.Duplicate, start.Cause, start.From)
	}
	got := map[string][]time.Duration{}
	for _, s := range j.Spans() {
		got[s.Stage] = append(got[s.Stage], s.Duration)
	}
	if w := []time.Duration{ms(10)}; !slices.Equal(got[StageBusToWorkflow], w) {
		t.Errorf("bus → workflow %v, want %v: only the execution OrderPlaced started", got[StageBusToWorkflow], w)
	}
	if w := []time.Duration{ms(470), ms(200)}; !slices.Equal(got[StageWorkflow], w) {
		t.Errorf("workflow %v, want %v: the stalled execution and its rescue", got[StageWorkflow], w)
	}
	if w := []time.Duration{ms(90)}; !slices.Equal(got[TaskStage("Compensate")], w) {
		t.Errorf("the rescue's Compensate %v, want %v", got[TaskStage("Compensate")], w)
	}
	if n := len(got[TaskStage("RequestPayment")]); n != 0 {
		t.Errorf("%d spans of the payment task that never ended", n)
	}
}

// A putEvents state whose first attempt failed (throttled) and whose retry succeeded lasts
// until the next state is entered, the retry included, as a retried task's does: PublishShipment
// entered at 570, failed at 571, retried 589–590, Shipped entered at 600.
func TestPublishRetryIsPartOfTheTask(t *testing.T) {
	ev := approved()
	st := &ev.Executions[0].States[7]
	if st.Name != "PublishShipment" {
		t.Fatalf("state 7 is %s", st.Name)
	}
	ok := st.Attempts[0]
	failed := Attempt{Resource: "events:putEvents", Scheduled: at(570), Ended: at(571), Outcome: "Failed", Error: "EventBridge.ThrottlingException"}
	ok.Scheduled, ok.Ended = at(589), at(590)
	st.Attempts = []Attempt{failed, ok}
	var got []time.Duration
	for _, s := range Build(ev).Spans() {
		if s.Stage == TaskStage("PublishShipment") {
			got = append(got, s.Duration)
		}
	}
	if want := at(600).Sub(st.Entered); len(got) != 1 || got[0] != want {
		t.Errorf("task PublishShipment spans %v, want one of %v (entered → Shipped entered)", got, want)
	}
}
