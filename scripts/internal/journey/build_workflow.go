package journey

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Build's hops for a workflow execution: its start, each state entered, each task's attempts
// (an invocation, a message, a claim, a publication) and the table writes they made, its end.

// execution adds the workflow run: its start by the rule, each state entered, each task's
// invocation, message or publication, and its end.
func (b *builder) execution(x Execution, duplicate bool) {
	name := x.Name
	cause := b.busKey[x.EventID]
	if x.BusID != "" && cause != "" {
		switch k, known := b.busByBusID[x.BusID]; {
		case known:
			cause = k
		case b.busIDOf[cause] == "":
			b.busByBusID[x.BusID], b.busIDOf[cause] = cause, x.BusID
		default: // EventBridge gave this delivery another id: the same event was put on the bus again
			cause = b.bus(b.withEvent(Hop{Key: "bus/" + x.EventID + "/" + x.BusID, Cause: cause, Time: x.Started, Approx: true,
				From: Client, Service: EventBridge, Resource: ResBus, Action: "PutEvents again", Evidence: "execution input",
				What: "the same event put on the bus again, same event id (a retry, or `make inject -duplicate`)"}, x.EventID), x.BusID)
		}
	}
	rule := ruleLabel(b.rule(x.EventID, b.ev.Resources[ResWorkflow]), "the bus")
	what := rule + " started execution " + name
	from, actor := EventBridge, ""
	if duplicate {
		what += " (a second execution for the same order: it finds the order claimed and ends at Duplicate, doing nothing)"
	}
	if x.RescueOf != "" {
		stalled := x.RescueOf[strings.LastIndex(x.RescueOf, ":")+1:]
		from, actor, cause = Lambda, "rescuer", ""
		if end := "sfn/" + stalled + "/end"; b.keys[end] {
			cause = end
		}
		what = "the rescuer started rescue execution " + name + " for execution " + stalled +
			", which stopped without compensating: it takes the order's claim over and compensates (refund or void, release, OrderCancelled)"
	}
	own := len(b.hops) // this execution's hops are b.hops[own:]
	prev := b.add(b.withEvent(Hop{Key: "sfn/" + name + "/start", Cause: cause, Time: x.Started, From: from,
		Service: StepFunctions, Resource: ResWorkflow, Actor: actor, Action: "StartExecution", Evidence: "execution history",
		What: what, Duplicate: duplicate}, x.EventID))
	for i, s := range x.States {
		stateKey := b.add(Hop{Key: fmt.Sprintf("sfn/%s/%d", name, i), Cause: prev, Time: s.Entered, From: StepFunctions,
			Service: StepFunctions, Resource: ResWorkflow, Actor: s.Name, Action: s.Name, Evidence: "execution history",
			What: stateWhat(s)})
		prev = stateKey
		for k, a := range s.Attempts {
			prev = b.attempt(fmt.Sprintf("sfn/%s/%d/%d", name, i, k), stateKey, s, k, a)
		}
	}
	if !x.Stopped.IsZero() {
		b.add(Hop{Key: "sfn/" + name + "/end", Cause: b.lastBefore(own, x.Stopped, prev), Time: x.Stopped, From: StepFunctions, Service: StepFunctions,
			Resource: ResWorkflow, Action: "execution " + x.Status, Evidence: "execution history",
			What: "execution " + name + " ended: " + x.Status})
	}
}

// lastBefore is the cause of an execution's end: the latest of its hops (b.hops[from:]) not after
// it stopped, or fallback if none is. Not simply its last hop: an execution stopped while a task
// ran (aborted, timed out) can have that task's end recorded after its own (MiniStack records
// TaskFailed after ExecutionAborted), and an end drawn after it would show a negative latency.
func (b *builder) lastBefore(from int, stopped time.Time, fallback string) string {
	key, at := fallback, time.Time{}
	for _, h := range b.hops[from:] {
		if !h.Time.After(stopped) && !h.Time.Before(at) {
			key, at = h.Key, h.Time
		}
	}
	return key
}

func stateWhat(s State) string {
	switch s.Type {
	case "Choice":
		return "Choice state " + s.Name + " decided where the saga goes next"
	case "Pass":
		return "Pass state " + s.Name
	case "Succeed":
		return "Succeed state " + s.Name + ": the saga reached an outcome"
	case "Fail":
		return "Fail state " + s.Name
	case "Task":
		return "Task state " + s.Name
	}
	return strings.TrimSpace(s.Type + " state " + s.Name)
}

func attemptNote(k int) string {
	if k == 0 {
		return ""
	}
	return fmt.Sprintf(" (retry %d)", k)
}

// attempt adds one try of a task and returns the key of its last hop.
func (b *builder) attempt(key, stateKey string, s State, k int, a Attempt) string {
	ended := !a.Ended.IsZero()
	outcome := func(from string, cause string, action, ok string) string {
		if !ended {
			return cause
		}
		what := s.Name + ": " + ok
		if a.Outcome == "TimedOut" {
			from = StepFunctions // nobody answered: the workflow's own timer ended the task
		}
		if a.Outcome != "Succeeded" {
			action = "task " + strings.ToLower(a.Outcome)
			what = s.Name + " " + strings.ToLower(a.Outcome) + ": " + a.Error
		}
		return b.add(Hop{Key: key + "/end", Cause: cause, Time: a.Ended, From: from, Service: StepFunctions,
			Resource: ResWorkflow, Actor: a.Target, Action: action, Evidence: "execution history", What: what})
	}
	switch {
	case strings.Contains(a.Resource, "lambda:invoke"):
		fn := cmp.Or(a.Target, "a function")
		inv := b.add(Hop{Key: key + "/invoke", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: Lambda,
			Resource: fn, Actor: fn, Action: "invoke " + fn, Evidence: "execution history",
			What: s.Name + " invoked " + fn + " synchronously (lambda:invoke) and waits for its answer" + attemptNote(k)})
		last := inv
		for _, w := range b.owned[key] {
			res, action := writeTarget(fn)
			last = b.add(Hop{Key: key + "/write", Cause: last, Time: w.At, From: Lambda, Service: DynamoDB,
				Resource: res, Actor: fn, Action: action, Evidence: res,
				What: fmt.Sprintf("%s wrote %s = %s (conditional write: a retry finds it and does not repeat it)", fn, w.Item, w.Status)})
		}
		return outcome(Lambda, last, fn+" returned", fn+" returned the saga's next state and the events it decided, if any")
	case strings.Contains(a.Resource, "sqs:sendMessage"):
		q := cmp.Or(a.Target, "a queue")
		send := b.add(Hop{Key: key + "/send", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: SQS,
			Resource: q, Action: "SendMessage", Evidence: "execution history",
			What: s.Name + " sent one message with a task token to the " + q + " (point-to-point) and pauses until it is answered" + attemptNote(k)})
		last := send
		for _, w := range b.owned[key] {
			fn := b.add(Hop{Key: key + "/consumer", Cause: last, Time: w.At, Approx: true, From: SQS, Service: Lambda,
				Resource: "payment", Actor: "payment", Action: "receive → payment", Evidence: ResPayments,
				What: "payment (consumer) received the message from the " + q})
			what := "payment recorded its decision " + w.Status + " (conditional update: a redelivered message reuses it)"
			if w == b.ev.Refund {
				what = compensationWhat(w.Status)
			}
			if w.Note != "" {
				what += ", " + w.Note
			}
			last = b.add(Hop{Key: key + "/write", Cause: fn, Time: w.At, From: Lambda, Service: DynamoDB,
				Resource: ResPayments, Actor: "payment", Action: "UpdateItem " + w.Status, Evidence: ResPayments, What: what})
		}
		from := Lambda
		if last == send {
			from = SQS
		}
		return outcome(from, last, "SendTaskSuccess", "the consumer answered with SendTaskSuccess; the saga resumes")
	case strings.Contains(a.Resource, "dynamodb:putItem") && a.Target == ResShipments:
		seal := b.add(Hop{Key: key + "/seal", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: DynamoDB,
			Resource: ResShipments, Actor: s.Name, Action: "PutItem (seal)", Evidence: "execution history",
			What: s.Name + " tried to put a seal where the order's shipment would go, before its refund (conditional put: a ShipOrder that comes later refuses; a shipment booked first fails the condition, and the order ships instead)" + attemptNote(k)})
		return outcome(DynamoDB, seal, "sealed", "sealed: no shipment will be booked, the refund goes on")
	case strings.Contains(a.Resource, "dynamodb:putItem"):
		what := s.Name + " claimed the order for this execution (conditional put: a second execution for the same order finds the claim and stops)"
		if a.Outcome != "Succeeded" { // failed, or not answered yet: the put may not have taken the claim
			what = s.Name + " tried to claim the order for this execution (conditional put: it fails if another execution holds the claim)"
		}
		claim := b.add(Hop{Key: key + "/claim", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: DynamoDB,
			Resource: ResSagas, Actor: s.Name, Action: "PutItem (claim)", Evidence: "execution history", What: what + attemptNote(k)})
		return outcome(DynamoDB, claim, "claimed", "the order's saga is this execution's")
	case strings.Contains(a.Resource, "events:putEvents"):
		for _, p := range a.Published {
			b.bus(b.withEvent(Hop{Key: "bus/" + p.EventID, Cause: stateKey, Time: a.Scheduled, From: StepFunctions,
				Service: EventBridge, Resource: ResBus, Actor: s.Name, Action: "PutEvents " + p.Type, Evidence: "execution history",
				What: s.Name + " put " + p.Type + " on the bus (events:putEvents)" + attemptNote(k)}, p.EventID), p.BusID)
		}
		if ended && a.Outcome != "Succeeded" {
			return outcome(EventBridge, stateKey, "", "")
		}
		return stateKey
	}
	task := b.add(Hop{Key: key + "/task", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: StepFunctions,
		Resource: ResWorkflow, Action: a.Resource, Evidence: "execution history", What: s.Name + " called " + a.Resource + attemptNote(k)})
	return outcome(StepFunctions, task, "task done", "done")
}

// compensationWhat describes the payments ledger's compensation: a refund gives back a charge
// that was approved; a void closes a payment nothing was decided for, so that a charge still in
// flight cannot be recorded (the delivery that took it refunds it instead).
func compensationWhat(status string) string {
	if status == "VOIDED" {
		return "payment voided the payment before any decision: VOIDED (conditional update from no record or PENDING: " +
			"a charge still in flight can no longer be recorded, and is refunded at the provider)"
	}
	return "payment gave the charge back: " + status + " (conditional update from APPROVED: never refunded twice)"
}

// writes lists the table writes the evidence holds for a task's target: a function, or the
// queue whose consumer writes (the payment function behind the payments queue).
func (b *builder) writes(target string) []*Write {
	var out []*Write
	switch target {
	case "inventory":
		out = []*Write{b.ev.Reservation}
	case "shipping":
		out = []*Write{b.ev.Shipment}
	case ResPaymentsQueue:
		out = []*Write{b.ev.Payment, b.ev.Refund}
	}
	return slices.DeleteFunc(out, func(w *Write) bool { return w == nil })
}

// ownWrites decides which attempt, of all the order's executions, made each table write: the
// attempt whose run holds the write's time or, lacking one (clocks differ), the last one begun
// before it. An attempt of an execution that stopped while it ran (aborted, timed out) ends, for
// this, when its execution did: the writes a rescue makes after it are the rescue's. A write is
// drawn once, under that attempt.
func (b *builder) ownWrites(xs []Execution) {
	for _, target := range []string{"inventory", "shipping", ResPaymentsQueue} {
		for _, w := range b.writes(target) {
			var within, before string
			var withinAt, beforeAt time.Time
			for _, x := range xs {
				for i, s := range x.States {
					for k, a := range s.Attempts {
						if a.Target != target || a.Scheduled.After(w.At.Add(time.Second)) {
							continue
						}
						key := fmt.Sprintf("sfn/%s/%d/%d", x.Name, i, k)
						if before == "" || !a.Scheduled.Before(beforeAt) {
							before, beforeAt = key, a.Scheduled
						}
						ended := a.Ended
						if ended.IsZero() || (!x.Stopped.IsZero() && x.Stopped.Before(ended)) {
							ended = x.Stopped // zero while the execution runs; an end recorded after the execution's is not the task's
						}
						if !a.Scheduled.After(w.At) && (ended.IsZero() || !ended.Before(w.At)) && (within == "" || a.Scheduled.Before(withinAt)) {
							within, withinAt = key, a.Scheduled
						}
					}
				}
			}
			if owner := cmp.Or(within, before); owner != "" {
				b.owned[owner] = append(b.owned[owner], w)
			}
		}
	}
}

func writeTarget(fn string) (resource, action string) {
	switch fn {
	case "inventory":
		return ResInventory, "TransactWriteItems"
	case "shipping":
		return ResShipments, "PutItem"
	}
	return "a table", "write"
}
