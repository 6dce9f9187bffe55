package journey

import (
	"fmt"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
)

// Build turns the evidence into a journey: one hop per arrow of the sequence diagram, each linked
// to the hop that caused it, then ordered (see Order). It reads nothing but ev.
func Build(ev Evidence) Journey {
	j := Journey{OrderID: ev.OrderID, Events: ev.Events, Rules: ev.Rules, RuleCheck: ev.RuleCheck,
		Resources: ev.Resources, Notes: ev.Notes}
	b := &builder{ev: ev, byID: map[string]Event{}, busKey: map[string]string{}, busByBusID: map[string]string{}, busIDOf: map[string]string{},
		keys: map[string]bool{}, owned: map[string][]*Write{}}
	for _, e := range ev.Events {
		b.byID[e.ID] = e
		if j.CorrelationID == "" {
			j.CorrelationID = e.CorrelationID
		}
	}
	b.api()
	b.ownWrites(ev.Executions)
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
	_, stored := b.byID[h.EventID] // the rules are tried on stored events: of one not stored yet, nothing is known
	if !h.Conflict {
		h.Rules = b.ev.Matches[h.EventID]
	}
	switch {
	case h.Conflict: // the stored event's rules are not this record's
		h.What += "; the rules were tried on the stored event, not on this record: which it matched is unknown"
	case len(h.Rules) > 0:
		h.What += "; matched " + strings.Join(h.Rules, ", ")
	case b.ev.RuleCheck != "" && stored:
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
