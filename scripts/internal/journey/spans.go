package journey

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stages of an order's journey that Spans measures, each the time between two of its hops.
const (
	StageBusToWorkflow     = "bus → workflow"
	StageWorkflow          = "workflow"
	StagePaymentsQueue     = "payments queue wait"
	StagePaymentAnswer     = "payment → saga"
	StageBusToStream       = "bus → stream"
	StageStreamToProjector = "stream → projector"
	StageBusToNotification = "bus → notification"
	stageTaskPrefix        = "task "
)

// TaskStage names the stage of one Task state of the saga, e.g. "task ReserveInventory".
func TaskStage(state string) string { return stageTaskPrefix + state }

// StageDefinition says from which hop to which hop a stage runs.
type StageDefinition struct {
	Stage, From, To string
}

// StageDefinitions defines the stages Spans measures, for people (reports print them).
var StageDefinitions = []StageDefinition{
	{StageBusToWorkflow, "OrderPlaced onto the bus (its time: when order-api created the event, just before PutEvents)",
		"StartExecution of the order's saga (ExecutionStarted in its history); duplicate executions are left out"},
	{StageWorkflow, "StartExecution of a (non-duplicate) execution", "the execution's end (ExecutionSucceeded/Failed/…)"},
	{TaskStage("<State>"), "a Task state entered (TaskStateEntered)",
		"its last attempt ended (TaskSucceeded/TaskFailed/TaskTimedOut); a Publish state, drawn without an end, until the next state entered"},
	{StagePaymentsQueue, "a payment task's SendMessage to the payments queue (TaskScheduled)",
		"payment's receive, which the journey infers at the time payment wrote its decision (payments table createdAt; for a refund, refundedAt): SQS wait, poller, function start and the charge"},
	{StagePaymentAnswer, "payment's decision written", "the task's end in the execution (SendTaskSuccess/Failure arrived)"},
	{StageBusToStream, "an event onto the bus (OrderPlaced: its creation; the saga's: the Publish task scheduled)",
		"streamer's PutRecord (the record's ApproximateArrivalTimestamp); first record of each event"},
	{StageStreamToProjector, "the event's record on the stream (arrival)", "projector's PutItem into the event store (recordedAt)"},
	{StageBusToNotification, "a customer-facing event onto the bus", "notifier's PutItem, one per event per channel (sentAt)"},
}

// Span is one stretch of an order's journey: a stage, measured between two hops.
type Span struct {
	Stage    string
	From, To string // the hops' keys
	Duration time.Duration
}

// Spans measures the journey's stages (see StageDefinitions) on its hops, as ordered: an
// approximate time is already raised to its cause's. A stage whose end is not reached yet (a
// task still running, an event not yet stored) has no span.
func (j Journey) Spans() []Span {
	byKey := make(map[string]Hop, len(j.Hops))
	for _, h := range j.Hops {
		byKey[h.Key] = h
	}
	var out []Span
	span := func(stage string, from, to Hop) {
		out = append(out, Span{Stage: stage, From: from.Key, To: to.Key, Duration: to.Time.Sub(from.Time)})
	}
	// ancestor follows causes up from h to the first hop that matches.
	ancestor := func(h Hop, match func(Hop) bool) (Hop, bool) {
		for range j.Hops { // a cycle of causes (a bug in Build) ends the walk
			c, ok := byKey[h.Cause]
			if h.Cause == "" || !ok {
				return Hop{}, false
			}
			if match(c) {
				return c, true
			}
			h = c
		}
		return Hop{}, false
	}
	onBus := func(h Hop) bool { return h.Service == EventBridge }
	onStream := func(h Hop) bool { return h.Service == Kinesis }

	for _, h := range j.Hops {
		switch {
		case h.Service == StepFunctions && h.Action == "StartExecution" && !h.Duplicate:
			name := strings.TrimSuffix(strings.TrimPrefix(h.Key, "sfn/"), "/start")
			if cause, ok := byKey[h.Cause]; ok && onBus(cause) {
				span(StageBusToWorkflow, cause, h)
			}
			if end, ok := byKey["sfn/"+name+"/end"]; ok {
				span(StageWorkflow, h, end)
			}
			out = append(out, taskSpans(j.Hops, byKey, name)...)
		case h.Service == Kinesis && !h.Duplicate:
			if bus, ok := ancestor(h, onBus); ok {
				span(StageBusToStream, bus, h)
			}
		case h.Service == DynamoDB && h.Resource == ResEventStore:
			if rec, ok := ancestor(h, onStream); ok {
				span(StageStreamToProjector, rec, h)
			}
		case h.Service == DynamoDB && h.Resource == ResNotifications:
			if bus, ok := ancestor(h, onBus); ok {
				span(StageBusToNotification, bus, h)
			}
		}
	}
	return out
}

// taskHops are the hops of one state of an execution, as Build keys them: the state
// "sfn/<execution>/<i>", its attempts "sfn/<execution>/<i>/<k>/<step>".
type taskHops struct {
	entered   Hop
	end       *Hop        // the last attempt's end
	sends     map[int]Hop // attempt → its SendMessage
	consumers map[int]Hop // attempt → the first consumer receive
	writes    map[int]Hop // attempt → the last write its consumer made
	ends      map[int]Hop // attempt → its end
	published bool        // an events:putEvents state (it put events on the bus)
}

// taskSpans measures the Task states of one execution, and its payment messages.
func taskSpans(hops []Hop, byKey map[string]Hop, execution string) []Span {
	prefix := "sfn/" + execution + "/"
	states := map[int]*taskHops{}
	state := func(i int) *taskHops {
		if states[i] == nil {
			states[i] = &taskHops{sends: map[int]Hop{}, consumers: map[int]Hop{}, writes: map[int]Hop{}, ends: map[int]Hop{}}
		}
		return states[i]
	}
	lastEnd := map[int]int{} // state → the highest attempt with an end
	for _, h := range hops {
		if h.Service == EventBridge && strings.HasPrefix(h.Cause, prefix) && h.From == StepFunctions {
			if i, err := strconv.Atoi(strings.TrimPrefix(h.Cause, prefix)); err == nil {
				state(i).published = true
			}
		}
		if !strings.HasPrefix(h.Key, prefix) {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(h.Key, prefix), "/")
		i, err := strconv.Atoi(parts[0])
		if err != nil { // "start", "end"
			continue
		}
		s := state(i)
		if len(parts) == 1 {
			s.entered = h
			continue
		}
		if len(parts) != 3 {
			continue
		}
		k, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		step, repeat, _ := strings.Cut(parts[2], "~") // a repeated step gets "~2", "~3"…
		switch step {
		case "end":
			s.ends[k] = h
			if e, ok := lastEnd[i]; !ok || k >= e {
				lastEnd[i], s.end = k, &h
			}
		case "send":
			s.sends[k] = h
		case "consumer":
			if repeat == "" {
				s.consumers[k] = h
			}
		case "write":
			if w, ok := s.writes[k]; !ok || !h.Time.Before(w.Time) {
				s.writes[k] = h
			}
		}
	}
	var out []Span
	for i := 0; ; i++ {
		s, ok := states[i]
		if !ok || s.entered.Key == "" {
			break
		}
		name := s.entered.Actor
		// A putEvents state's successful attempt has no end of its own (a failed one does):
		// it lasts until the next state is entered, retries and all.
		next, nextOK := byKey[prefix+strconv.Itoa(i+1)]
		if !nextOK {
			next, nextOK = byKey[prefix+"end"]
		}
		switch {
		case s.published && nextOK:
			out = append(out, Span{Stage: TaskStage(name), From: s.entered.Key, To: next.Key, Duration: next.Time.Sub(s.entered.Time)})
		case s.end != nil:
			out = append(out, Span{Stage: TaskStage(name), From: s.entered.Key, To: s.end.Key, Duration: s.end.Time.Sub(s.entered.Time)})
		}
		for _, k := range slices.Sorted(maps.Keys(s.sends)) {
			send := s.sends[k]
			if c, ok := s.consumers[k]; ok {
				out = append(out, Span{Stage: StagePaymentsQueue, From: send.Key, To: c.Key, Duration: c.Time.Sub(send.Time)})
			}
			w, okW := s.writes[k]
			e, okE := s.ends[k]
			if okW && okE {
				out = append(out, Span{Stage: StagePaymentAnswer, From: w.Key, To: e.Key, Duration: e.Time.Sub(w.Time)})
			}
		}
	}
	return out
}
