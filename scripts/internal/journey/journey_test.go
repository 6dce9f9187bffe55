package journey

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

var t0 = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func keys(hops []Hop) []string {
	out := make([]string, len(hops))
	for i, h := range hops {
		out[i] = h.Key
	}
	return out
}

func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		hops  []Hop
		want  []string
		times map[string]time.Time // expected times after ordering, where they change
	}{
		{
			name: "by time when causes allow",
			hops: []Hop{{Key: "c", Cause: "a", Time: at(30)}, {Key: "a", Time: at(10)}, {Key: "b", Cause: "a", Time: at(20)}},
			want: []string{"a", "b", "c"},
		},
		{
			name: "ties keep the given order",
			hops: []Hop{{Key: "a", Time: at(10)}, {Key: "b", Time: at(10)}, {Key: "c", Time: at(10)}},
			want: []string{"a", "b", "c"},
		},
		{
			name: "an effect stamped before its cause by another clock still comes after it, with its own time",
			hops: []Hop{{Key: "effect", Cause: "cause", Time: at(5)}, {Key: "cause", Time: at(10)}, {Key: "other", Time: at(7)}},
			want: []string{"other", "cause", "effect"},
		},
		{
			name:  "an approximate time before its cause is raised to the cause's",
			hops:  []Hop{{Key: "cause", Time: at(10)}, {Key: "effect", Cause: "cause", Time: at(3), Approx: true}},
			want:  []string{"cause", "effect"},
			times: map[string]time.Time{"effect": at(10)},
		},
		{
			name: "a chain is followed to the end",
			hops: []Hop{{Key: "d", Cause: "c", Time: at(1)}, {Key: "c", Cause: "b", Time: at(2)}, {Key: "b", Cause: "a", Time: at(3)}, {Key: "a", Time: at(4)}},
			want: []string{"a", "b", "c", "d"},
		},
		{
			name: "a cause that is not in the journey is no constraint",
			hops: []Hop{{Key: "b", Cause: "missing", Time: at(5)}, {Key: "a", Time: at(10)}},
			want: []string{"b", "a"},
		},
		{
			name: "a cycle of causes still shows every hop, at the end",
			hops: []Hop{{Key: "x", Cause: "y", Time: at(1)}, {Key: "y", Cause: "x", Time: at(2)}, {Key: "a", Time: at(10)}},
			want: []string{"a", "x", "y"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Order(tc.hops)
			if !slices.Equal(keys(got), tc.want) {
				t.Fatalf("Order = %v, want %v", keys(got), tc.want)
			}
			for _, h := range got {
				if want, ok := tc.times[h.Key]; ok && !h.Time.Equal(want) {
					t.Errorf("%s at %v, want %v", h.Key, h.Time, want)
				}
			}
			if len(tc.hops) > 0 && &tc.hops[0] == &got[0] {
				t.Error("Order must not sort its argument in place")
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	j := Journey{Hops: []Hop{
		{Key: "a", Time: at(100)},
		{Key: "b", Cause: "a", Time: at(130)},
		{Key: "c", Time: at(135)},
		{Key: "d", Cause: "a", Time: at(180)},
		{Key: "e", Cause: "d", Time: at(170)}, // another clock: a negative latency is shown as it is
	}}
	got := j.Timeline()
	want := []struct {
		n                            int
		prev, cause, elapsed, cause2 time.Duration
		causeN                       int
	}{
		{1, 0, 0, 0, 0, 0},
		{2, 30 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond, 0, 1},
		{3, 5 * time.Millisecond, 0, 35 * time.Millisecond, 0, 0},
		{4, 45 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond, 0, 1},
		{5, -10 * time.Millisecond, -10 * time.Millisecond, 70 * time.Millisecond, 0, 4},
	}
	for i, w := range want {
		s := got[i]
		if s.N != w.n || s.SincePrev != w.prev || s.SinceCause != w.cause || s.Elapsed != w.elapsed || s.CauseN != w.causeN {
			t.Errorf("step %d = N %d prev %v cause %v (#%d) elapsed %v; want N %d prev %v cause %v (#%d) elapsed %v",
				i, s.N, s.SincePrev, s.SinceCause, s.CauseN, s.Elapsed, w.n, w.prev, w.cause, w.causeN, w.elapsed)
		}
	}
	if d := j.Duration(); d != 70*time.Millisecond {
		t.Errorf("Duration = %v, want first to last hop = 70ms", d)
	}
}

// says stands for render.HopSays (render imports journey): what a hop's line shows.
func says(h Hop) string {
	return fmt.Sprint(h.Service, h.Resource, h.EventType, h.Sequence, h.What, h.Duplicate, h.Conflict)
}

func TestPrintedNumbersNewHopsAsPrinted(t *testing.T) {
	var p Printed
	j := Journey{Hops: []Hop{{Key: "a", Time: at(1)}, {Key: "b", Time: at(2)}}}
	if got := p.Next(j, says); len(got) != 2 {
		t.Fatalf("first poll: %d new hops, want 2", len(got))
	}
	j.Hops = append(j.Hops, Hop{Key: "c", Time: at(3)})
	got := p.Next(j, says)
	if len(got) != 1 || got[0].Key != "c" || got[0].N != 3 || got[0].SincePrev != time.Millisecond || got[0].Revised {
		t.Fatalf("second poll: %+v, want only c (#3, +1ms)", got)
	}
	j.Hops = append([]Hop{{Key: "early", Time: at(0)}}, j.Hops...) // found late, earlier in time
	if got := p.Next(j, says); len(got) != 1 || got[0].Key != "early" || got[0].N != 4 {
		t.Fatalf("third poll: %+v, want only early, printed as #4", got)
	}
	j.Hops[1].Time = at(1).Add(time.Microsecond) // a time made more precise is no news
	if got := p.Next(j, says); len(got) != 0 {
		t.Fatalf("fourth poll: %d hops, want none", len(got))
	}
}

// -follow finds a Publish state's events on the bus, and the streamer's records of them, before
// the projector has stored them: no event number, no rule matched. Once they are stored, those
// hops are printed again, complete, under their first number; at the end no printed line is
// short of what the journey says.
func TestPrintedPrintsAgainWhatBecameKnown(t *testing.T) {
	early := approved()
	early.Events, early.Records = early.Events[:2], early.Records[:4] // #3 to #5 not stored; #3 and #4 on the stream
	for id := range early.Matches {
		if id != "e1" && id != "e2" {
			delete(early.Matches, id)
		}
	}
	var p Printed
	last := map[string]Step{}
	for _, s := range p.Next(Build(early), says) {
		last[s.Key] = s
	}
	if h := last["fn/streamer/k4"]; h.EventType != "" || !strings.HasPrefix(h.What, "the bus invoked streamer") {
		t.Fatalf("before OrderConfirmed is stored, its streamer hop says %q %q: the test's premise changed", h.EventType, h.What)
	}
	final := Build(approved())
	revised := map[string]Step{}
	for _, s := range p.Next(final, says) {
		if s.Revised {
			revised[s.Key] = s
			if s.N != last[s.Key].N {
				t.Errorf("%s printed again as #%d, first as #%d: want its first number", s.Key, s.N, last[s.Key].N)
			}
		}
		last[s.Key] = s
	}
	if h, ok := revised["fn/streamer/k4"]; !ok || h.EventType != "OrderConfirmed" || !strings.HasPrefix(h.What, "rule OrderEventsToStream invoked streamer") {
		t.Errorf("the streamer hop of OrderConfirmed is not printed again complete: %+v", h)
	}
	if h, ok := revised["bus/e4"]; !ok || !strings.Contains(h.What, "matched OrderEventsToStream") {
		t.Errorf("OrderConfirmed on the bus is not printed again with the rules it matched: %+v", h)
	}
	for _, h := range final.Hops {
		if last[h.Key].What != h.What || last[h.Key].EventType != h.EventType {
			t.Errorf("%s: last printed %q %q, the journey says %q %q", h.Key, last[h.Key].EventType, last[h.Key].What, h.EventType, h.What)
		}
	}
	if got := p.Next(final, says); len(got) != 0 {
		t.Errorf("a poll with nothing new printed %d hops", len(got))
	}
}

// An approved order as the APIs of a local stack report it (times in ms after t0), with one
// duplicate of OrderShipped put on the bus afterwards.
func approved() Evidence {
	ev := Evidence{OrderID: "ORD-1", Resources: map[string]string{
		ResWorkflow: "arn:sm:fulfilment", ResTopic: "arn:sns:topic", "streamer": "fn-streamer",
	}}
	types := []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}
	sources := []string{"orderflow.orders", "orderflow.inventory", "orderflow.payments", "orderflow.fulfilment", "orderflow.shipping"}
	created := []int{0, 300, 460, 460, 560}
	recorded := []int{380, 490, 630, 625, 740} // #4 is stored before #3
	arrival := []int{160, 360, 575, 530, 635}  // #4 reaches the stream before #3
	for i, typ := range types {
		version := 1
		if typ == "OrderPlaced" {
			version = events.LatestVersion(events.TypeOrderPlaced) // as order-api emits it
		}
		e := Event{ID: fmt.Sprintf("e%d", i+1), Type: typ, Version: version, Source: sources[i], Sequence: i + 1, CorrelationID: "e1",
			Time: at(created[i]), RecordedAt: at(recorded[i]), KinesisSeq: fmt.Sprintf("k%d", i+1)}
		if i > 0 {
			e.CausationID = fmt.Sprintf("e%d", i)
		}
		ev.Events = append(ev.Events, e)
		ev.Records = append(ev.Records, Record{Shard: "shard-0", Seq: e.KinesisSeq, PartitionKey: "ORD-1", Arrival: at(arrival[i]),
			BusID: fmt.Sprintf("b%d", i+1), EventID: e.ID, Type: typ})
	}
	ev.Records = append(ev.Records, Record{Shard: "shard-0", Seq: "k9", PartitionKey: "ORD-1", Arrival: at(5000), BusID: "b9", EventID: "e5", Type: "OrderShipped"})
	ev.Rules = []Rule{
		{Short: "OrderPlacedToWorkflow", Targets: []string{"arn:sm:fulfilment"}},
		{Short: "OrderEventsToStream", Targets: []string{"arn:lambda:function:fn-streamer"}},
		{Short: "CustomerFacingToNotifications", Targets: []string{"arn:sns:topic"}},
	}
	ev.RuleCheck = RuleCheckAPI
	ev.Matches = map[string][]string{"e1": {"OrderPlacedToWorkflow", "OrderEventsToStream", "CustomerFacingToNotifications"},
		"e2": {"OrderEventsToStream"}, "e3": {"OrderEventsToStream"}, "e4": {"OrderEventsToStream", "CustomerFacingToNotifications"},
		"e5": {"OrderEventsToStream", "CustomerFacingToNotifications"}}
	task := func(name string, entered int, a ...Attempt) State {
		return State{Name: name, Type: "Task", Entered: at(entered), Attempts: a}
	}
	ev.Executions = []Execution{{Arn: "arn:exec:x1", Name: "x1", Status: "SUCCEEDED", Started: at(10), Stopped: at(600), EventID: "e1", BusID: "b1",
		States: []State{
			{Name: "ReadOrderPlaced", Type: "Pass", Entered: at(170)},
			task("ReserveInventory", 170, Attempt{Resource: "lambda:invoke", Target: "inventory", Scheduled: at(170), Ended: at(180), Outcome: "Failed", Error: "TransientError"},
				Attempt{Resource: "lambda:invoke", Target: "inventory", Scheduled: at(200), Ended: at(305), Outcome: "Succeeded"}),
			task("PublishReservation", 305, Attempt{Resource: "events:putEvents", Scheduled: at(305), Ended: at(306), Outcome: "Succeeded",
				Published: []Published{{EventID: "e2", Type: "InventoryReserved", BusID: "b2"}}}),
			{Name: "InStock?", Type: "Choice", Entered: at(306)},
			task("RequestPayment", 306, Attempt{Resource: "sqs:sendMessage.waitForTaskToken", Target: ResPaymentsQueue, Scheduled: at(306), Ended: at(470), Outcome: "Succeeded"}),
			task("PublishPaymentOutcome", 470, Attempt{Resource: "events:putEvents", Scheduled: at(470), Ended: at(471), Outcome: "Succeeded",
				Published: []Published{{EventID: "e3", Type: "PaymentApproved", BusID: "b3"}, {EventID: "e4", Type: "OrderConfirmed", BusID: "b4"}}}),
			task("ShipOrder", 471, Attempt{Resource: "lambda:invoke", Target: "shipping", Scheduled: at(471), Ended: at(570), Outcome: "Succeeded"}),
			task("PublishShipment", 570, Attempt{Resource: "events:putEvents", Scheduled: at(570), Ended: at(571), Outcome: "Succeeded",
				Published: []Published{{EventID: "e5", Type: "OrderShipped", BusID: "b5"}}}),
			{Name: "Shipped", Type: "Succeed", Entered: at(600)},
		}}}
	ev.Reservation = &Write{Item: "RES#ORD-1", Status: "RESERVED", At: at(290)}
	ev.Payment = &Write{Item: "payment p1", Status: "APPROVED", At: at(455)}
	ev.Shipment = &Write{Item: "shipment s1", Status: "ACME Parcel", At: at(550)}
	ev.Notifications = []Notification{{EventID: "e1", Channel: "email", SentAt: at(165)}, {EventID: "e4", Channel: "email", SentAt: at(540)},
		{EventID: "e5", Channel: "sms", SentAt: at(650)}, {EventID: "e5", Channel: "email", SentAt: at(660)}}
	ev.Counted = []Counted{{EventID: "e4", At: at(0)}} // the marker's second: earlier than the record it counts
	return ev
}

// rescued is approved's order aborted while it waited for the payment, and rescued: the rescuer
// started rescue-x1, which compensated (its Compensate task released the stock).
func rescued() Evidence {
	ev := approved()
	stalled := &ev.Executions[0]
	stalled.Status, stalled.Stopped = "ABORTED", at(480)
	stalled.States = stalled.States[:5] // aborted while waiting for the payment
	stalled.States[4].Attempts[0].Ended, stalled.States[4].Attempts[0].Outcome = time.Time{}, ""
	ev.Executions = append(ev.Executions, Execution{Arn: "arn:aws:states:r:1:execution:sm:rescue-x1", Name: "rescue-x1", Status: "FAILED",
		Started: at(700), Stopped: at(900), EventID: "e1", RescueOf: "arn:aws:states:r:1:execution:sm:x1",
		States: []State{{Name: "Compensate", Type: "Task", Entered: at(710),
			Attempts: []Attempt{{Resource: "lambda:invoke", Target: "inventory", Scheduled: at(710), Ended: at(800), Outcome: "Succeeded"}}}}})
	ev.Events, ev.Records, ev.Notifications, ev.Payment = ev.Events[:2], ev.Records[:2], nil, nil
	return ev
}

// Every function of the stack (each has a …FunctionName output in infra/stack.go) is known to the
// collector and drawn in the trace: in an approved order's journey, or, the rescuer, in a rescued
// one's. A function added to the stack fails here until the trace shows what it does.
func TestEveryFunctionOfTheStackIsInTheTrace(t *testing.T) {
	src, err := os.ReadFile("../../../infra/stack.go")
	if err != nil {
		t.Fatal(err)
	}
	outputs := regexp.MustCompile(`"(\w+FunctionName)"`).FindAllStringSubmatch(string(src), -1)
	if len(outputs) < 9 {
		t.Fatalf("infra/stack.go declares only %d …FunctionName outputs", len(outputs))
	}
	nameOf := map[string]string{}
	for name, out := range resourceOutputs {
		nameOf[out] = name
	}
	drawn := map[string]bool{}
	for _, ev := range []Evidence{approved(), rescued()} {
		for _, h := range Build(ev).Hops {
			drawn[h.Actor] = true
		}
	}
	for _, o := range outputs {
		name, ok := nameOf[o[1]]
		switch {
		case !ok:
			t.Errorf("the stack's output %s names a function the trace does not know: add it to resourceOutputs (collect.go) and draw its hops (build*.go)", o[1])
		case !drawn[name]:
			t.Errorf("function %s (output %s) acts in no hop of an approved order's or a rescued one's journey (build*.go)", name, o[1])
		}
	}
}

func index(t *testing.T, j Journey, what string, match func(Hop) bool) int {
	t.Helper()
	for i, h := range j.Hops {
		if match(h) {
			return i
		}
	}
	t.Fatalf("no hop %s in %v", what, keys(j.Hops))
	return -1
}

// count is how many of j's hops match.
func count(j Journey, match func(Hop) bool) int {
	n := 0
	for _, h := range j.Hops {
		if match(h) {
			n++
		}
	}
	return n
}

func TestBuildApprovedOrder(t *testing.T) {
	j := Build(approved())
	if j.CorrelationID != "e1" || j.Status != "SUCCEEDED" || j.ExecutionArn != "arn:exec:x1" {
		t.Errorf("journey %q %q %q", j.CorrelationID, j.Status, j.ExecutionArn)
	}
	want := []string{APIGateway, Lambda, EventBridge, StepFunctions, SQS, SNS, Kinesis, DynamoDB}
	for _, s := range want {
		if !slices.Contains(j.Services(), s) {
			t.Errorf("services %v lack %s", j.Services(), s)
		}
	}
	seen := map[string]bool{}
	for _, h := range j.Hops {
		if seen[h.Key] {
			t.Errorf("key %s twice", h.Key)
		}
		seen[h.Key] = true
	}
	for i := 1; i < len(j.Hops); i++ { // time order, except where a cause had to come first
		h, prev := j.Hops[i], j.Hops[i-1]
		if h.Time.Before(prev.Time) && !(h.Cause != "" && seen[h.Cause]) {
			t.Errorf("hop %d %s at %v before hop %d %s at %v", i, h.Key, h.Time, i-1, prev.Key, prev.Time)
		}
	}
	pos := map[string]int{}
	for i, h := range j.Hops {
		pos[h.Key] = i
	}
	for _, h := range j.Hops {
		if p, ok := pos[h.Cause]; ok && p >= pos[h.Key] {
			t.Errorf("%s comes before its cause %s", h.Key, h.Cause)
		}
	}
	// Causal order, as a learner would check it.
	for _, e := range j.Events {
		bus := index(t, j, "bus of "+e.Type, func(h Hop) bool { return h.Service == EventBridge && h.EventID == e.ID && !h.Duplicate })
		rec := index(t, j, "record of "+e.Type, func(h Hop) bool { return h.Service == Kinesis && h.EventID == e.ID })
		store := index(t, j, "store of "+e.Type, func(h Hop) bool { return h.Resource == ResEventStore && h.EventID == e.ID })
		if !(bus < rec && rec < store) {
			t.Errorf("%s: bus %d, record %d, store %d: want bus < record < store", e.Type, bus, rec, store)
		}
		if e.CausationID != "" {
			cause := index(t, j, "bus of the cause", func(h Hop) bool { return h.Service == EventBridge && h.EventID == e.CausationID })
			if cause >= bus {
				t.Errorf("%s on the bus (%d) before its cause (%d)", e.Type, bus, cause)
			}
		}
	}
	start := index(t, j, "execution start", func(h Hop) bool { return h.Action == "StartExecution" })
	placed := index(t, j, "OrderPlaced on the bus", func(h Hop) bool { return h.Service == EventBridge && h.EventID == "e1" })
	if start < placed {
		t.Errorf("execution started (%d) before OrderPlaced was on the bus (%d)", start, placed)
	}
	if h := j.Hops[start]; !strings.Contains(h.What, "rule OrderPlacedToWorkflow") {
		t.Errorf("execution start %q does not name the rule that started it", h.What)
	}
	if h := j.Hops[placed]; !slices.Equal(h.Rules, []string{"OrderPlacedToWorkflow", "OrderEventsToStream", "CustomerFacingToNotifications"}) {
		t.Errorf("OrderPlaced matched %v", h.Rules)
	}
	// The retried inventory call shows both tries; the write sits under the try that made it.
	if invokes := count(j, func(h Hop) bool { return h.Service == Lambda && h.Actor == "inventory" }); invokes != 2 {
		t.Errorf("%d inventory invocations, want 2 (one retry)", invokes)
	}
	write := j.Hops[index(t, j, "reservation write", func(h Hop) bool { return h.Resource == ResInventory })]
	if !strings.HasSuffix(write.Cause, "/1/invoke") {
		t.Errorf("reservation write caused by %s, want the second try", write.Cause)
	}
	// Point-to-point: message, consumer, its write, its answer.
	send := index(t, j, "payments message", func(h Hop) bool { return h.Service == SQS && h.Resource == ResPaymentsQueue })
	pay := index(t, j, "payment write", func(h Hop) bool { return h.Resource == ResPayments })
	answer := index(t, j, "SendTaskSuccess", func(h Hop) bool { return h.Action == "SendTaskSuccess" })
	if !(send < pay && pay < answer) {
		t.Errorf("payments: send %d, write %d, answer %d", send, pay, answer)
	}
	// Pub/sub: OrderShipped reached both channels, each through its own queue.
	for _, ch := range []string{"sms", "email"} {
		index(t, j, ch+" write for OrderShipped", func(h Hop) bool {
			return h.Resource == ResNotifications && h.EventID == "e5" && strings.Contains(h.Action, ch)
		})
	}
	// Ordering: #4 reached the stream and the store before #3, and the trace says so.
	rec3 := j.Hops[index(t, j, "record of #3", func(h Hop) bool { return h.Service == Kinesis && h.EventID == "e3" })]
	if !strings.Contains(rec3.What, "AFTER event #4") {
		t.Errorf("record of #3 says %q, want it to point out that it arrived after #4", rec3.What)
	}
	store4 := j.Hops[index(t, j, "store of #4", func(h Hop) bool { return h.Resource == ResEventStore && h.EventID == "e4" })]
	if !strings.Contains(store4.What, "before #3") {
		t.Errorf("store of #4 says %q, want it to point out the gap", store4.What)
	}
	// Analytics' second-precision time is raised to the record it counted.
	counted := j.Hops[index(t, j, "analytics write", func(h Hop) bool { return h.Resource == ResAnalytics })]
	if !counted.Approx || counted.Time.Before(at(530)) {
		t.Errorf("analytics hop approx=%v at %v, want approximate and not before the record (530ms)", counted.Approx, counted.Time)
	}
	// Idempotency: the duplicate OrderShipped is on the bus and the stream again, and ignored.
	var dups []string
	for _, h := range j.Hops {
		if h.Duplicate {
			dups = append(dups, h.Service+" "+h.Action)
		}
	}
	wantDups := []string{"EventBridge PutEvents again", "Lambda → streamer", "Kinesis PutRecord", "Lambda → projector (duplicate ignored)"}
	if !slices.Equal(dups, wantDups) {
		t.Errorf("duplicate hops %v, want %v", dups, wantDups)
	}
	if stores := count(j, func(h Hop) bool { return h.Resource == ResEventStore && h.EventID == "e5" }); stores != 1 {
		t.Errorf("OrderShipped written %d times to the event store, want once", stores)
	}
}

// While an order runs (make trace -follow), the executions have put events on the bus that the
// projector has not stored yet: which rules they matched is not known then, and no hop says they
// matched none (-follow prints such a hop again once its event is stored, Printed).
func TestBuildDoesNotSayAnEventNotYetStoredMatchedNoRule(t *testing.T) {
	ev := approved()
	ev.Events, ev.Records = ev.Events[:2], ev.Records[:2] // #3 to #5 put on the bus, not stored yet
	for id := range ev.Matches {
		if id != "e1" && id != "e2" {
			delete(ev.Matches, id)
		}
	}
	published := 0
	for _, h := range Build(ev).Hops {
		if h.Service != EventBridge {
			continue
		}
		published++
		if strings.Contains(h.What, "matched no rule") && h.EventID != "e1" && h.EventID != "e2" {
			t.Errorf("hop %s (event %s, not stored yet): %q", h.Key, h.EventID, h.What)
		}
	}
	if published < 5 {
		t.Fatalf("%d hops onto the bus, want the 5 events'", published)
	}
}

func TestBuildDuplicateOrderPlaced(t *testing.T) {
	ev := approved()
	again := Execution{Arn: "arn:exec:x2", Name: "x2", Status: "SUCCEEDED", Started: at(9000), Stopped: at(9500), EventID: "e1", BusID: "b1-again",
		States: []State{{Name: "ReserveInventory", Type: "Task", Entered: at(9100),
			Attempts: []Attempt{{Resource: "lambda:invoke", Target: "inventory", Scheduled: at(9100), Ended: at(9200), Outcome: "Succeeded"}}}}}
	ev.Executions = append(ev.Executions, again)
	ev.Records = append(ev.Records, Record{Shard: "shard-0", Seq: "k10", PartitionKey: "ORD-1", Arrival: at(9050), BusID: "b1-again", EventID: "e1", Type: "OrderPlaced"})
	j := Build(ev)
	if j.ExecutionArn != "arn:exec:x1" {
		t.Errorf("the journey's execution is %s, want the first one", j.ExecutionArn)
	}
	dup := j.Hops[index(t, j, "OrderPlaced put on the bus again", func(h Hop) bool { return h.Key == "bus/e1/b1-again" })]
	if !dup.Duplicate || dup.From != Client || dup.Cause != "bus/e1" {
		t.Errorf("the second OrderPlaced on the bus: %+v", dup)
	}
	start := j.Hops[index(t, j, "second execution", func(h Hop) bool { return h.Key == "sfn/x2/start" })]
	if !start.Duplicate || start.Cause != dup.Key {
		t.Errorf("second execution: duplicate %v, caused by %s; want a duplicate caused by %s", start.Duplicate, start.Cause, dup.Key)
	}
	rec := j.Hops[index(t, j, "its record", func(h Hop) bool { return h.Key == "kinesis/k10" })]
	if !rec.Duplicate {
		t.Error("the second record of OrderPlaced is not marked as a duplicate")
	}
	for _, h := range j.Hops {
		if strings.HasPrefix(h.Key, "sfn/x2/") && h.Service == DynamoDB {
			t.Errorf("the second execution is drawn writing %s: the write belongs to the first", h.Resource)
		}
	}
	if n := strings.Count(strings.Join(keys(j.Hops), " "), "bus/e1/"); n != 1 {
		t.Errorf("%d extra bus hops for OrderPlaced, want 1 (the execution and the record share it)", n)
	}
}

func TestBuildOrderPlacedV1ComesFromOutsideTheAPI(t *testing.T) {
	ev := approved()
	ev.Events[0].Version = 1
	j := Build(ev)
	if slices.ContainsFunc(j.Hops, func(h Hop) bool { return h.Service == APIGateway || h.Actor == "order-api" }) {
		t.Error("a v1 OrderPlaced is drawn as coming through the API, which only emits the latest version")
	}
	h := j.Hops[index(t, j, "OrderPlaced v1 on the bus", func(h Hop) bool { return h.Key == "bus/e1" })]
	if h.From != Client || !strings.Contains(h.What, fmt.Sprintf("upcasts it to v%d", events.LatestVersion(events.TypeOrderPlaced))) {
		t.Errorf("OrderPlaced v1: from %q, %q", h.From, h.What)
	}
	if i := slices.IndexFunc(j.Hops, func(h Hop) bool { return h.Key == "bus/e1" }); i != 0 {
		t.Errorf("the journey starts with %s, want OrderPlaced v1 on the bus", j.Hops[0].Key)
	}
}

func TestBuildWithoutExecutionHistory(t *testing.T) {
	ev := approved()
	ev.Executions, ev.Records, ev.Notifications, ev.Counted = nil, nil, nil, nil
	ev.Reservation, ev.Payment, ev.Shipment = nil, nil, nil
	j := Build(ev)
	var bus []string
	for _, h := range j.Hops {
		if h.Service == EventBridge {
			bus = append(bus, h.EventID)
			if h.From == "" || h.Cause == "" {
				t.Errorf("bus hop %s has no producer or cause", h.Key)
			}
		}
	}
	if !slices.Equal(bus, []string{"e1", "e2", "e3", "e4", "e5"}) {
		t.Errorf("events on the bus %v, want all five in causal order", bus)
	}
	if j.Status != "" || j.ExecutionArn != "" {
		t.Errorf("no execution, got %q %q", j.Status, j.ExecutionArn)
	}
}

func TestTerminal(t *testing.T) {
	for _, tc := range []struct {
		types []string
		want  bool
	}{
		{[]string{"OrderPlaced"}, false},
		{[]string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}, true},
		{[]string{"OrderPlaced", "OrderCancelled"}, true},
	} {
		var j Journey
		for _, typ := range tc.types {
			j.Events = append(j.Events, Event{Type: typ})
		}
		if got := j.Terminal(); got != tc.want {
			t.Errorf("Terminal(%v) = %v, want %v", tc.types, got, tc.want)
		}
	}
}

// A rescue's writes are drawn under the rescue, not under an attempt of the execution it
// rescued that was still running when that execution stopped: the refund of an execution
// aborted in ShipOrder, the release the rescue's Compensate made. No stage comes out negative.
func TestRescueWritesAreTheRescues(t *testing.T) {
	refunded := approved()
	x1 := &refunded.Executions[0]
	x1.Status, x1.Stopped = "ABORTED", at(580)
	x1.States = x1.States[:7] // ... RequestPayment (ended 470), PublishPaymentOutcome, ShipOrder (running)
	x1.States[6].Attempts[0].Ended, x1.States[6].Attempts[0].Outcome = time.Time{}, ""
	refunded.Shipment = nil
	refunded.Executions = append(refunded.Executions, Execution{Arn: "arn:aws:states:r:1:execution:sm:rescue-x1", Name: "rescue-x1", Status: "FAILED",
		Started: at(700), Stopped: at(900), EventID: "e1", RescueOf: "arn:aws:states:r:1:execution:sm:x1",
		States: []State{{Name: "RefundPayment", Type: "Task", Entered: at(710),
			Attempts: []Attempt{{Resource: "sqs:sendMessage.waitForTaskToken", Target: ResPaymentsQueue, Scheduled: at(710), Ended: at(790), Outcome: "Succeeded"}}}}})
	refunded.Refund = &Write{Item: "payment p1", Status: "REFUNDED", At: at(780)}

	released := rescued()
	released.Reservation = &Write{Item: "RES#ORD-1", Status: "RELEASED", At: at(790)}

	for _, tc := range []struct {
		name string
		ev   Evidence
		hop  string // in the What of the write's hop
	}{
		{"the refund", refunded, "gave the charge back"},
		{"the release", released, "RELEASED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := Build(tc.ev)
			found := false
			for _, h := range j.Hops {
				if strings.Contains(h.What, tc.hop) {
					found = true
					if !strings.HasPrefix(h.Key, "sfn/rescue-x1/") {
						t.Errorf("drawn under %s, want under the rescue", h.Key)
					}
				}
			}
			if !found {
				t.Fatalf("no hop says %q", tc.hop)
			}
			for _, s := range j.Spans() {
				if s.Duration < 0 {
					t.Errorf("negative span %s %s→%s: %v", s.Stage, s.From, s.To, s.Duration)
				}
			}
		})
	}
}

// A record that carries a stored event's id and sequence with other content (a forged or buggy
// producer) is no duplicate: the projector's Append compares the content (events.SameFact) and
// parks it as a sequence conflict. The trace says so; the same event again stays a duplicate.
func TestBuildTellsAConflictFromADuplicate(t *testing.T) {
	envelope := func(items string) string {
		return fmt.Sprintf(`{"id":"e2","type":"InventoryReserved","version":1,"source":"orderflow.inventory","time":"2026-11-26T10:30:00.3Z",`+
			`"orderId":"ORD-1","sequence":2,"correlationId":"e1","causationId":"e1","payload":{"items":%s}}`, items)
	}
	record := func(seq, busID, items string, ms int) Record {
		raw := fmt.Sprintf(`{"id":%q,"detail-type":"InventoryReserved","detail":%s}`, busID, envelope(items))
		return Record{Shard: "shard-0", Seq: seq, PartitionKey: "ORD-1", Arrival: at(ms), BusID: busID, EventID: "e2", Type: "InventoryReserved", Raw: []byte(raw)}
	}
	ev := approved()
	stored := `[{"sku":"SKU-1","quantity":1}]`
	ev.Events[1].Detail = envelope(stored)
	ev.Records[1] = record("k2", "b2", stored, 360)
	ev.Records = append(ev.Records,
		record("k20", "b20", `[{"sku":"SKU-1", "quantity":1}]`, 6000), // the same fact, encoded another way
		record("k21", "b21", `[{"sku":"SKU-9","quantity":7}]`, 7000))  // another fact in its slot
	j := Build(ev)
	for _, tc := range []struct {
		key, tag, says string
	}{
		{"fn/projector/k20", "duplicate", "projector read the duplicate"},
		{"fn/projector/k21", "conflict", "a sequence conflict, not a duplicate"},
		{"kinesis/k21", "conflict", "a different event under the id and sequence of #2"},
		{"bus/e2/b21", "conflict", "different content"},
	} {
		h := j.Hops[index(t, j, tc.key, func(h Hop) bool { return h.Key == tc.key })]
		if h.Conflict != (tc.tag == "conflict") || !h.Duplicate || !strings.Contains(h.What, tc.says) {
			t.Errorf("%s: conflict %v, duplicate %v, %q; want a %s saying %q", tc.key, h.Conflict, h.Duplicate, h.What, tc.tag, tc.says)
		}
	}
	if h := j.Hops[index(t, j, "first record", func(h Hop) bool { return h.Key == "kinesis/k2" })]; h.Duplicate || h.Conflict {
		t.Errorf("the stored event's own record is marked duplicate %v, conflict %v", h.Duplicate, h.Conflict)
	}
}

// A conflicting record usually carries the stored event's id (ids follow from order and sequence)
// but may be of another type: its hops name the record's own type, and the stored event's rules,
// which were tried on the stored event, are not shown as the record's.
func TestBuildLabelsAConflictWithTheRecordsOwnType(t *testing.T) {
	ev := approved()
	ev.Events[1].Detail = `{"id":"e2","type":"InventoryReserved","version":1,"source":"orderflow.inventory","time":"2026-11-26T10:30:00.3Z",` +
		`"orderId":"ORD-1","sequence":2,"correlationId":"e1","causationId":"e1","payload":{"items":[]}}`
	cancelled := `{"id":"e2","type":"OrderCancelled","version":1,"source":"orderflow.fulfilment","time":"2026-11-26T10:31:00Z",` +
		`"orderId":"ORD-1","sequence":2,"correlationId":"e1","causationId":"e9","payload":{"reason":"forged"}}`
	ev.Records = append(ev.Records, Record{Shard: "shard-0", Seq: "k21", PartitionKey: "ORD-1", Arrival: at(7000), BusID: "b21",
		EventID: "e2", Type: "OrderCancelled", Raw: []byte(`{"id":"b21","detail-type":"OrderCancelled","detail":` + cancelled + `}`)})
	j := Build(ev)
	for _, key := range []string{"bus/e2/b21", "fn/streamer/k21", "kinesis/k21", "fn/projector/k21"} {
		h := j.Hops[index(t, j, key, func(h Hop) bool { return h.Key == key })]
		if !h.Conflict || h.EventType != "OrderCancelled" || h.Sequence != 2 || h.CausationID != "e9" {
			t.Errorf("%s: conflict %v, event #%d %s caused by %s; want the conflicting record's #2 OrderCancelled caused by e9",
				key, h.Conflict, h.Sequence, h.EventType, h.CausationID)
		}
		if len(h.Rules) > 0 || strings.Contains(h.What, "OrderEventsToStream") {
			t.Errorf("%s: rules %v, %q; want none of the stored event's rules", key, h.Rules, h.What)
		}
	}
	if h := j.Hops[index(t, j, "bus", func(h Hop) bool { return h.Key == "bus/e2/b21" })]; !strings.Contains(h.What, "which it matched is unknown") {
		t.Errorf("bus hop of the conflict: %q; want it to say its rules are unknown", h.What)
	}
}

// The words follow what the evidence says happened: a claim that failed was not made, and a void
// (compensation before any decision) gave back no charge and did not move from APPROVED.
func TestBuildSaysWhatHappenedNotWhatWasMeant(t *testing.T) {
	ev := approved()
	claim := func(outcome, err string) State {
		return State{Name: "ClaimSaga", Type: "Task", Entered: at(9100), Attempts: []Attempt{{Resource: "dynamodb:putItem", Target: ResSagas,
			Scheduled: at(9100), Ended: at(9101), Outcome: outcome, Error: err}}}
	}
	ev.Executions[0].States = append([]State{claim("Succeeded", "")}, ev.Executions[0].States...)
	ev.Executions = append(ev.Executions, Execution{Arn: "arn:exec:x2", Name: "x2", Status: "SUCCEEDED", Started: at(9000), Stopped: at(9500),
		EventID: "e1", BusID: "b1-again", States: []State{claim("Failed", "DynamoDB.ConditionalCheckFailedException")}})
	voided := rescued()
	voided.Executions[1].States = []State{{Name: "RefundPayment", Type: "Task", Entered: at(710), Attempts: []Attempt{{
		Resource: "sqs:sendMessage.waitForTaskToken", Target: ResPaymentsQueue, Scheduled: at(710), Ended: at(790), Outcome: "Succeeded"}}}}
	voided.Refund = &Write{Item: "payment p1", Status: "VOIDED", At: at(780)}
	j, v := Build(ev), Build(voided)
	for _, tc := range []struct {
		j           Journey
		key         string
		says, avoid string
	}{
		{j, "sfn/x1/0/0/claim", "ClaimSaga claimed the order", "tried"},
		{j, "sfn/x2/0/0/claim", "ClaimSaga tried to claim the order", "claimed"},
		{v, "sfn/rescue-x1/0/0/write", "voided the payment before any decision: VOIDED", "APPROVED"},
	} {
		h := tc.j.Hops[index(t, tc.j, tc.key, func(h Hop) bool { return h.Key == tc.key })]
		if !strings.Contains(h.What, tc.says) || strings.Contains(h.What, tc.avoid) {
			t.Errorf("%s says %q; want %q, not %q", tc.key, h.What, tc.says, tc.avoid)
		}
	}
}

// MiniStack records the failure of the task an aborted execution was waiting in after the abort
// itself. The execution's end is still drawn after what happened before it, with no negative
// latency, and the rescue's void, made after the abort, is the rescue's, not the aborted task's.
func TestAnAbortRecordedBeforeItsTasksFailure(t *testing.T) {
	ev := rescued()
	ev.Executions[0].States[4].Attempts[0].Ended = at(480 + 26727) // TaskFailed, after ExecutionAborted at 480
	ev.Executions[0].States[4].Attempts[0].Outcome, ev.Executions[0].States[4].Attempts[0].Error = "Failed", "States.Runtime"
	ev.Executions[1].States = []State{{Name: "RefundPayment", Type: "Task", Entered: at(710), Attempts: []Attempt{{
		Resource: "sqs:sendMessage.waitForTaskToken", Target: ResPaymentsQueue, Scheduled: at(710), Ended: at(790), Outcome: "Succeeded"}}}}
	ev.Refund = &Write{Item: "payment p1", Status: "VOIDED", At: at(780)}
	j := Build(ev)
	for _, s := range j.Timeline() {
		if s.Key == "sfn/x1/end" && (s.SincePrev < 0 || s.SinceCause < 0) {
			t.Errorf("execution x1 ended %v after the hop before it, %v after its cause %s", s.SincePrev, s.SinceCause, s.Cause)
		}
	}
	void := j.Hops[index(t, j, "the void", func(h Hop) bool { return h.Resource == ResPayments })]
	if !strings.HasPrefix(void.Key, "sfn/rescue-x1/") {
		t.Errorf("the void is drawn under %s, want under the rescue", void.Key)
	}
}
