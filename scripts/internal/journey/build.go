package journey

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Build turns the evidence into a journey: one hop per arrow of the sequence diagram, each linked
// to the hop that caused it, then ordered (see Order). It reads nothing but ev.
func Build(ev Evidence) Journey {
	j := Journey{OrderID: ev.OrderID, Events: ev.Events, Rules: ev.Rules, RuleCheck: ev.RuleCheck,
		Resources: ev.Resources, Notes: ev.Notes}
	b := &builder{ev: ev, byID: map[string]Event{}, busKey: map[string]string{}, busByBusID: map[string]string{}, busIDOf: map[string]string{},
		keys: map[string]bool{}, owned: map[string][]*Write{}, placed: map[*Write]bool{}}
	for _, e := range ev.Events {
		b.byID[e.ID] = e
		if j.CorrelationID == "" {
			j.CorrelationID = e.CorrelationID
		}
	}
	b.api()
	for i, x := range ev.Executions {
		b.execution(x, i > 0 && x.RescueOf == "")
	}
	if len(ev.Executions) > 0 {
		last := ev.Executions[0]
		j.ExecutionArn, j.Status = last.Arn, last.Status
	}
	b.unpublished()
	firstRecord := b.stream()
	b.eventStore(firstRecord)
	b.analytics(firstRecord)
	b.notifications()
	j.Hops = Order(b.hops)
	return j
}

type builder struct {
	ev         Evidence
	byID       map[string]Event
	hops       []Hop
	keys       map[string]bool
	busKey     map[string]string   // event id → key of its (first) hop onto the bus
	busByBusID map[string]string   // EventBridge id → key of that hop onto the bus
	busIDOf    map[string]string   // key of a hop onto the bus → the id EventBridge gave it
	owned      map[string][]*Write // attempt key → the table writes it made
	placed     map[*Write]bool
}

func (b *builder) add(h Hop) string {
	if b.keys[h.Key] { // a repeated fact (a retry, a redelivery) gets a key of its own
		base := h.Key
		for n := 2; b.keys[h.Key]; n++ {
			h.Key = fmt.Sprintf("%s~%d", base, n)
		}
	}
	b.keys[h.Key] = true
	b.hops = append(b.hops, h)
	return h.Key
}

// withEvent fills the hop's event fields from the stored event with that id.
func (b *builder) withEvent(h Hop, id string) Hop {
	h.EventID = id
	if e, ok := b.byID[id]; ok {
		h.EventType, h.Sequence, h.CausationID = e.Type, e.Sequence, e.CausationID
	}
	return h
}

// rule names the matched rule of the event that routes to a target whose ARN contains physical.
func (b *builder) rule(eventID, physical string) string {
	if physical == "" {
		return ""
	}
	for _, short := range b.ev.Matches[eventID] {
		for _, r := range b.ev.Rules {
			if r.Short != short {
				continue
			}
			for _, t := range r.Targets {
				if strings.Contains(t, physical) {
					return short
				}
			}
		}
	}
	return ""
}

func ruleLabel(r, fallback string) string {
	if r == "" {
		return fallback
	}
	return "rule " + r
}

// api adds the synchronous part: the client's POST, order-api, and OrderPlaced onto the bus.
func (b *builder) api() {
	var placed Event
	for _, e := range b.ev.Events {
		if e.Type == "OrderPlaced" {
			placed = e
			break
		}
	}
	if placed.ID == "" {
		return
	}
	if latest := events.LatestVersion(events.TypeOrderPlaced); placed.Version < latest {
		// order-api emits the latest version: an older one was put on the bus by someone else.
		b.bus(b.withEvent(Hop{Key: "bus/" + placed.ID, Time: placed.Time, Approx: true, From: Client, Service: EventBridge,
			Resource: ResBus, Action: fmt.Sprintf("PutEvents OrderPlaced v%d", placed.Version), Evidence: "event store",
			What: fmt.Sprintf("OrderPlaced v%d put straight on the bus, not by the API (it emits v%d; e.g. `make inject ARGS=-v1`): "+
				"every consumer upcasts it to v%d", placed.Version, latest, latest)}, placed.ID), "")
		return
	}
	api := b.add(b.withEvent(Hop{Key: "api", Time: placed.Time, Approx: true, From: Client, Service: APIGateway, Resource: ResAPI,
		Action: "POST /orders", Evidence: "event store (OrderPlaced's time)",
		What: "the signed-in client's request (the JWT authorizer checked its token), answered 201 PLACED at once (synchronous); everything after this is asynchronous"}, placed.ID))
	fn := b.add(b.withEvent(Hop{Key: "fn/order-api", Cause: api, Time: placed.Time, Approx: true, From: APIGateway, Service: Lambda,
		Resource: "order-api", Actor: "order-api", Action: "invoke order-api", Evidence: "event store (OrderPlaced's time)",
		What: "order-api (producer) checked the customer's token, validated and priced the order, handed the payment token to the payments service (a payment intent) and built OrderPlaced"}, placed.ID))
	b.bus(b.withEvent(Hop{Key: "bus/" + placed.ID, Cause: fn, Time: placed.Time, Approx: true, From: Lambda,
		Service: EventBridge, Resource: ResBus, Actor: "order-api", Action: "PutEvents OrderPlaced", Evidence: "event store",
		What: "order-api put OrderPlaced on the bus and returned; it does not know who consumes it"}, placed.ID), "")
}

// bus adds a hop onto the bus for an event and remembers it for the consumers' hops.
func (b *builder) bus(h Hop, busID string) string {
	h.Rules = b.ev.Matches[h.EventID]
	if len(h.Rules) > 0 {
		h.What += "; matched " + strings.Join(h.Rules, ", ")
	} else if b.ev.RuleCheck != "" {
		h.What += "; matched no rule"
	}
	if _, seen := b.busKey[h.EventID]; seen {
		h.Duplicate = true
	}
	k := b.add(h)
	if _, seen := b.busKey[h.EventID]; !seen {
		b.busKey[h.EventID] = k
	}
	if busID != "" {
		b.busByBusID[busID], b.busIDOf[k] = k, busID
	}
	return k
}

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
	from := EventBridge
	if duplicate {
		what += " (a second execution for the same order: it finds the order claimed and ends at Duplicate, doing nothing)"
	}
	if x.RescueOf != "" {
		stalled := x.RescueOf[strings.LastIndex(x.RescueOf, ":")+1:]
		from, cause = Lambda, ""
		if end := "sfn/" + stalled + "/end"; b.keys[end] {
			cause = end
		}
		what = "the rescuer started rescue execution " + name + " for execution " + stalled +
			", which stopped without compensating: it takes the order's claim over and compensates (refund or void, release, OrderCancelled)"
	}
	b.ownWrites(x)
	prev := b.add(b.withEvent(Hop{Key: "sfn/" + name + "/start", Cause: cause, Time: x.Started, From: from,
		Service: StepFunctions, Resource: ResWorkflow, Action: "StartExecution", Evidence: "execution history",
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
		b.add(Hop{Key: "sfn/" + name + "/end", Cause: prev, Time: x.Stopped, From: StepFunctions, Service: StepFunctions,
			Resource: ResWorkflow, Action: "execution " + x.Status, Evidence: "execution history",
			What: "execution " + name + " ended: " + x.Status})
	}
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
		fn := orDefault(a.Target, "a function")
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
		return outcome(Lambda, last, fn+" returned", fn+" returned the events to publish")
	case strings.Contains(a.Resource, "sqs:sendMessage"):
		q := orDefault(a.Target, "a queue")
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
				what = "payment gave the charge back: " + w.Status + " (conditional update from APPROVED: never refunded twice)"
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
	case strings.Contains(a.Resource, "dynamodb:putItem"):
		claim := b.add(Hop{Key: key + "/claim", Cause: stateKey, Time: a.Scheduled, From: StepFunctions, Service: DynamoDB,
			Resource: ResSagas, Actor: s.Name, Action: "PutItem (claim)", Evidence: "execution history",
			What: s.Name + " claimed the order for this execution (conditional put: a second execution for the same order finds the claim and stops)" + attemptNote(k)})
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

// ownWrites decides which attempt of an execution made each table write: the attempt whose run
// holds the write's time or, lacking one (clocks differ), the last one begun before it. A write
// is drawn once, under that attempt.
func (b *builder) ownWrites(x Execution) {
	for _, target := range []string{"inventory", "shipping", ResPaymentsQueue} {
		for _, w := range b.writes(target) {
			if b.placed[w] {
				continue
			}
			within, before := "", ""
			for i, s := range x.States {
				for k, a := range s.Attempts {
					if a.Target != target || a.Scheduled.After(w.At.Add(time.Second)) {
						continue
					}
					key := fmt.Sprintf("sfn/%s/%d/%d", x.Name, i, k)
					before = key
					if !a.Scheduled.After(w.At) && (a.Ended.IsZero() || !a.Ended.Before(w.At)) && within == "" {
						within = key
					}
				}
			}
			if owner := orDefault(within, before); owner != "" {
				b.owned[owner] = append(b.owned[owner], w)
				b.placed[w] = true
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

// unpublished adds a hop onto the bus for every stored event no execution history accounts
// for (the history is gone, or the event came from elsewhere), at the time its producer made it.
func (b *builder) unpublished() {
	for _, e := range b.ev.Events {
		if _, ok := b.busKey[e.ID]; ok {
			continue
		}
		from := StepFunctions
		if e.Source == "orderflow.orders" {
			from = Lambda
		}
		b.bus(b.withEvent(Hop{Key: "bus/" + e.ID, Cause: b.busKey[e.CausationID], Time: e.Time, Approx: true, From: from,
			Service: EventBridge, Resource: ResBus, Action: "PutEvents " + e.Type, Evidence: "event store",
			What: e.Source + " put " + e.Type + " on the bus"}, e.ID), "")
	}
}

// stream adds, per record of the order, the streamer's invocation by the rule and its PutRecord.
// It returns the key of the first record of each event (the one the consumers act on).
func (b *builder) stream() map[string]string {
	first := map[string]string{}
	recs := append([]Record(nil), b.ev.Records...)
	sort.SliceStable(recs, func(x, y int) bool { return recs[x].Arrival.Before(recs[y].Arrival) })
	rule := func(id string) string {
		return ruleLabel(b.rule(id, b.ev.Resources["streamer"]), "the bus")
	}
	maxSeq := 0
	for _, r := range recs {
		cause, known := b.busByBusID[r.BusID]
		if !known {
			cause = b.busKey[r.EventID]
		}
		_, dup := first[r.EventID]
		if dup && !known {
			// The same event put on the bus again by someone outside the saga (a retry, or
			// `make inject -duplicate`): EventBridge gave it a new id, the envelope kept its own.
			cause = b.bus(b.withEvent(Hop{Key: "bus/" + r.EventID + "/" + r.BusID, Cause: cause, Time: r.Arrival, Approx: true,
				From: Client, Service: EventBridge, Resource: ResBus, Action: "PutEvents again", Evidence: "Kinesis record",
				What: "the same event put on the bus again, same event id (a retry, or `make inject -duplicate`)"}, r.EventID), r.BusID)
		}
		fn := b.add(b.withEvent(Hop{Key: "fn/streamer/" + r.Seq, Cause: cause, Time: r.Arrival, Approx: true, From: EventBridge,
			Service: Lambda, Resource: "streamer", Actor: "streamer", Action: "→ streamer", Evidence: "Kinesis record",
			What: rule(r.EventID) + " invoked streamer, which validated the event against its schema", Duplicate: dup}, r.EventID))
		what := fmt.Sprintf("streamer appended record %s to %s (partition key = the order id: all its records go to this one shard, in arrival order)",
			Tail(r.Seq), r.Shard)
		if e, ok := b.byID[r.EventID]; ok && !dup {
			if e.Sequence < maxSeq {
				what = fmt.Sprintf("streamer appended record %s to %s AFTER event #%d: the two were put on the bus together and two streamer "+
					"invocations raced; the stream keeps arrival order, the envelope's sequence number keeps the order of the facts",
					Tail(r.Seq), r.Shard, maxSeq)
			} else {
				maxSeq = e.Sequence
			}
		}
		if dup {
			what = fmt.Sprintf("a second record %s of the same event (the stream keeps everything; consumers must de-duplicate)", Tail(r.Seq))
		}
		k := b.add(b.withEvent(Hop{Key: "kinesis/" + r.Seq, Cause: fn, Time: r.Arrival, From: Lambda, Service: Kinesis,
			Resource: ResStream, Actor: "streamer", Action: "PutRecord", Evidence: "Kinesis GetRecords", What: what, Duplicate: dup}, r.EventID))
		if !dup {
			first[r.EventID] = k
		} else {
			b.ignoredDuplicate(r, k)
		}
	}
	return first
}

// ignoredDuplicate shows the projector reading a second record of an event: the event store
// still holds the first copy, so the conditional put wrote nothing.
func (b *builder) ignoredDuplicate(r Record, recordKey string) {
	e, ok := b.byID[r.EventID]
	if !ok {
		return
	}
	b.add(b.withEvent(Hop{Key: "fn/projector/" + r.Seq, Cause: recordKey, Time: r.Arrival, Approx: true, From: Kinesis,
		Service: Lambda, Resource: "projector", Actor: "projector", Action: "→ projector (duplicate ignored)", Evidence: ResEventStore,
		What: fmt.Sprintf("projector read the duplicate; slot #%d already holds event %s, so its conditional put wrote nothing",
			e.Sequence, short(e.ID)), Duplicate: true}, r.EventID))
}

func (b *builder) recordCause(first map[string]string, e Event) (string, string) {
	if e.KinesisSeq != "" && b.keys["kinesis/"+e.KinesisSeq] {
		return "kinesis/" + e.KinesisSeq, Kinesis
	}
	if k, ok := first[e.ID]; ok {
		return k, Kinesis
	}
	return b.busKey[e.ID], Kinesis
}

// eventStore adds the projector's append of each event (event sourcing: the order is the fold of
// these rows).
func (b *builder) eventStore(first map[string]string) {
	for _, e := range b.ev.Events {
		if e.RecordedAt.IsZero() {
			continue
		}
		cause, from := b.recordCause(first, e)
		fn := b.add(b.withEvent(Hop{Key: fmt.Sprintf("fn/projector/#%d", e.Sequence), Cause: cause, Time: e.RecordedAt, Approx: true,
			From: from, Service: Lambda, Resource: "projector", Actor: "projector", Action: "→ projector", Evidence: ResEventStore,
			What: "the stream invoked projector with the record"}, e.ID))
		what := fmt.Sprintf("projector appended event #%d (key orderId + sequence, conditional put: written once)", e.Sequence)
		for _, earlier := range b.ev.Events {
			if earlier.Sequence < e.Sequence && earlier.RecordedAt.After(e.RecordedAt) {
				what = fmt.Sprintf("projector appended event #%d before #%d was stored: until it is, GET /orders folds the events only up to the gap",
					e.Sequence, earlier.Sequence)
				break
			}
		}
		b.add(b.withEvent(Hop{Key: fmt.Sprintf("ddb/events/%d", e.Sequence), Cause: fn, Time: e.RecordedAt, From: Lambda,
			Service: DynamoDB, Resource: ResEventStore, Actor: "projector", Action: fmt.Sprintf("PutItem #%d", e.Sequence),
			Evidence: ResEventStore, What: what}, e.ID))
	}
}

// analytics adds the analytics function's count of each event it counted.
func (b *builder) analytics(first map[string]string) {
	for _, c := range b.ev.Counted {
		e, ok := b.byID[c.EventID]
		if !ok {
			continue
		}
		cause, from := b.recordCause(first, e)
		fn := b.add(b.withEvent(Hop{Key: "fn/analytics/" + c.EventID, Cause: cause, Time: c.At, Approx: true, From: from,
			Service: Lambda, Resource: "analytics", Actor: "analytics", Action: "→ analytics", Evidence: ResAnalytics,
			What: "the stream invoked analytics, a second reader of the same records at its own pace"}, c.EventID))
		b.add(b.withEvent(Hop{Key: "ddb/analytics/" + c.EventID, Cause: fn, Time: c.At, Approx: true, From: Lambda, Service: DynamoDB,
			Resource: ResAnalytics, Actor: "analytics", Action: "TransactWriteItems", Evidence: ResAnalytics + " (marker's expiry, to the second)",
			What: "analytics counted " + e.Type + " once: marker EVT#" + short(c.EventID) + " and the TOTALS row, in one transaction"}, c.EventID))
	}
}

// notifications adds pub/sub: the rule publishes to the topic, each subscribed queue gets its own
// copy, the notifier records one notification per event per channel.
func (b *builder) notifications() {
	byEvent := map[string][]Notification{}
	var order []string
	for _, n := range b.ev.Notifications {
		if _, ok := byEvent[n.EventID]; !ok {
			order = append(order, n.EventID)
		}
		byEvent[n.EventID] = append(byEvent[n.EventID], n)
	}
	for _, id := range order {
		ns := byEvent[id]
		sort.SliceStable(ns, func(x, y int) bool { return ns[x].SentAt.Before(ns[y].SentAt) })
		channels := make([]string, len(ns))
		for i, n := range ns {
			channels[i] = n.Channel
		}
		rule := ruleLabel(b.rule(id, b.ev.Resources[ResTopic]), "the bus")
		sns := b.add(b.withEvent(Hop{Key: "sns/" + id, Cause: b.busKey[id], Time: ns[0].SentAt, Approx: true, From: EventBridge,
			Service: SNS, Resource: ResTopic, Action: "Publish", Evidence: ResNotifications,
			What: rule + " published it to the topic; subscriptions that got a copy: " + strings.Join(channels, ", ")}, id))
		for _, n := range ns {
			q := n.Channel + " queue"
			sqs := b.add(b.withEvent(Hop{Key: "sqs/" + n.Channel + "/" + id, Cause: sns, Time: n.SentAt, Approx: true, From: SNS,
				Service: SQS, Resource: q, Action: "deliver copy", Evidence: ResNotifications,
				What: "the topic delivered its own copy to the " + q}, id))
			fn := b.add(b.withEvent(Hop{Key: "fn/notifier/" + n.Channel + "/" + id, Cause: sqs, Time: n.SentAt, Approx: true, From: SQS,
				Service: Lambda, Resource: "notifier", Actor: "notifier", Action: "→ notifier", Evidence: ResNotifications,
				What: "notifier received the message from the " + q}, id))
			b.add(b.withEvent(Hop{Key: "ddb/notifications/" + n.Channel + "/" + id, Cause: fn, Time: n.SentAt, From: Lambda,
				Service: DynamoDB, Resource: ResNotifications, Actor: "notifier", Action: "PutItem " + n.Channel, Evidence: ResNotifications,
				What: "notifier sent the " + n.Channel + " notification and recorded it (key eventId + channel: never twice)"}, id))
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// short keeps the first 8 characters of an id (enough to tell the events of one order apart).
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Short is the abbreviated form of an id the trace prints.
func Short(id string) string { return short(id) }

// Tail keeps the distinguishing end of a long number, such as a Kinesis sequence number.
func Tail(s string) string {
	if len(s) > 10 {
		return "…" + s[len(s)-8:]
	}
	return s
}
