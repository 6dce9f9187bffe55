// Package journey reconstructs the path of one order through the deployed services, from their
// own APIs (DynamoDB, Step Functions, Kinesis, EventBridge), never from log text.
//
// It works in three steps, so that most of it can be tested without AWS:
//
//	Collect   reads the evidence (Evidence) from whatever endpoint the SDK is configured for;
//	Build     turns the evidence into hops, each linked to the hop that caused it (pure);
//	Order     sorts hops by time without ever putting an effect before its cause (pure).
//
// Spans then measures a journey's stages between its hops (bus → workflow, each task, the
// payments queue, the stream, the projector, the notifications): what `make load` aggregates.
package journey

import (
	"container/heap"
	"errors"
	"sort"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Services an order crosses, as hops name them. Client is not a service: it is where the API
// call comes from.
const (
	Client        = "Client"
	APIGateway    = "API Gateway"
	EventBridge   = "EventBridge"
	StepFunctions = "Step Functions"
	SQS           = "SQS"
	SNS           = "SNS"
	Kinesis       = "Kinesis"
	Lambda        = "Lambda"
	DynamoDB      = "DynamoDB"
)

// Lanes is the order in which a sequence diagram lays the services out, left to right: the entry
// point first, then the router and what it routes to, Lambda next to the stream and the tables it
// writes.
var Lanes = []string{Client, APIGateway, EventBridge, StepFunctions, SQS, SNS, Kinesis, Lambda, DynamoDB}

// Hop is one thing that happened to the order in one service: one arrow of the sequence diagram,
// from the service the order came from to the one it reached.
type Hop struct {
	Key      string    // stable identity across polls, e.g. "bus/<eventId>"; unique within a journey
	Cause    string    // Key of the hop this one follows from; "" for the first
	Time     time.Time // when it happened, as the evidence records it
	Approx   bool      // no API records this instant: Time is that of its nearest recorded effect
	From     string    // the service the order came from (one of the constants above)
	Service  string    // the service it reached
	Resource string    // friendly name of the resource: "orders bus", "payments queue", ...
	Actor    string    // the Lambda function or state acting, if any: "projector", "ReserveInventory"
	Action   string    // a few words for the diagram's arrow: "PutEvents", "PutRecord", ...
	What     string    // one sentence for people
	Evidence string    // where the trace read it: "event store", "execution history", ...

	// The order event the hop carried or produced, if any.
	EventType   string
	EventID     string
	Sequence    int
	CausationID string
	Rules       []string // for a hop onto the bus: the rules whose pattern the event matched
	Duplicate   bool     // a second delivery of an event already seen (consumers must ignore it)
	Conflict    bool     // with Duplicate: a delivery with a stored event's id but other content (the projector parks it)
}

// Event is one fact of the order as the event store holds it: the envelope's identity fields.
type Event struct {
	ID            string
	Type          string
	Version       int
	Source        string
	Sequence      int
	CorrelationID string
	CausationID   string
	Time          time.Time // when the producer created it
	RecordedAt    time.Time // when the projector appended it
	KinesisSeq    string    // the stream record the projector appended it from
	Detail        string    // the envelope JSON (the EventBridge detail)
}

// Rule is one rule of the orders bus and where it routes.
type Rule struct {
	Name        string // as deployed
	Short       string // without the stack's prefix and CDK's hash: "OrderPlacedToWorkflow"
	Description string
	Pattern     string
	Targets     []string // target ARNs
}

// Journey is an order's hops, causally and then chronologically ordered (see Order).
type Journey struct {
	OrderID       string
	CorrelationID string
	Status        string // of the workflow execution: RUNNING, SUCCEEDED, FAILED... ("" before it starts)
	ExecutionArn  string
	Events        []Event           // by sequence
	Rules         []Rule            // of the orders bus
	RuleCheck     string            // how rules were evaluated: TestEventPattern, or the fallback and why
	Resources     map[string]string // friendly name → physical name (ARN, table name, URL)
	Notes         []string          // what the trace could not see, said plainly
	Hops          []Hop
}

// ErrUnknownOrder means the event store holds no event for the order.
var ErrUnknownOrder = errors.New("unknown order")

// Services lists the distinct services the journey reached, in first-reached order (the client
// is not a service).
func (j Journey) Services() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range j.Hops {
		for _, s := range []string{h.From, h.Service} {
			if s != "" && s != Client && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Terminal reports whether the order has reached an event that ends it (the event registry's:
// OrderShipped, OrderCancelled).
func (j Journey) Terminal() bool {
	for _, e := range j.Events {
		if events.EndsOrder(events.Type(e.Type)) {
			return true
		}
	}
	return false
}

// Event returns the stored event with the given id.
func (j Journey) Event(id string) (Event, bool) {
	for _, e := range j.Events {
		if e.ID == id {
			return e, true
		}
	}
	return Event{}, false
}

// Step is a hop placed on the timeline.
type Step struct {
	Hop
	N          int           // 1-based position
	SincePrev  time.Duration // since the previous hop of the timeline (0 for the first)
	SinceCause time.Duration // since the hop that caused it (0 without a cause)
	Elapsed    time.Duration // since the first hop
	CauseN     int           // position of the cause, 0 without one
	Revised    bool          // printed before with less known (Printed.Next)
}

// Timeline returns the hops with their latencies: from the previous hop, from their cause and
// from the start. Negative latencies are left as they are: they mean two clocks disagree.
func (j Journey) Timeline() []Step {
	steps := make([]Step, len(j.Hops))
	pos := map[string]int{}
	for i, h := range j.Hops {
		s := Step{Hop: h, N: i + 1}
		if i > 0 {
			s.SincePrev = h.Time.Sub(j.Hops[i-1].Time)
			s.Elapsed = h.Time.Sub(j.Hops[0].Time)
		}
		if p, ok := pos[h.Cause]; ok && h.Cause != "" {
			s.CauseN = p + 1
			s.SinceCause = h.Time.Sub(j.Hops[p].Time)
		}
		pos[h.Key] = i
		steps[i] = s
	}
	return steps
}

// Duration is the time from the first hop to the last.
func (j Journey) Duration() time.Duration {
	if len(j.Hops) < 2 {
		return 0
	}
	return j.Hops[len(j.Hops)-1].Time.Sub(j.Hops[0].Time)
}

// Order sorts hops by time, except that a hop never comes before the hop that caused it: of the
// hops whose cause is already placed, the earliest goes next (ties keep their given order). An
// approximate time earlier than its cause's is raised to the cause's time, since it can only have
// happened after it. A cause missing from hops is no constraint.
func Order(hops []Hop) []Hop {
	in := make([]Hop, len(hops))
	copy(in, hops)
	keys := map[string]bool{}
	for _, h := range in {
		keys[h.Key] = true
	}
	children := map[string][]int{}
	q := &hopQueue{hops: in}
	for i, h := range in {
		if h.Cause != "" && h.Cause != h.Key && keys[h.Cause] {
			children[h.Cause] = append(children[h.Cause], i)
		} else {
			q.idx = append(q.idx, i)
		}
	}
	heap.Init(q)
	out := make([]Hop, 0, len(in))
	placed := make([]bool, len(in))
	for q.Len() > 0 {
		i := heap.Pop(q).(int)
		placed[i] = true
		h := in[i]
		out = append(out, h)
		for _, c := range children[h.Key] {
			if in[c].Approx && in[c].Time.Before(h.Time) {
				in[c].Time = h.Time
			}
			heap.Push(q, c)
		}
		delete(children, h.Key) // a repeated key releases its children once
	}
	// Hops caught in a cycle of causes (a bug in Build) still show, by time, at the end.
	var rest []Hop
	for i, h := range in {
		if !placed[i] {
			rest = append(rest, h)
		}
	}
	sort.SliceStable(rest, func(a, b int) bool { return rest[a].Time.Before(rest[b].Time) })
	return append(out, rest...)
}

// hopQueue is a min-heap of indexes into hops, by time and then by index.
type hopQueue struct {
	hops []Hop
	idx  []int
}

func (q *hopQueue) Len() int { return len(q.idx) }
func (q *hopQueue) Less(a, b int) bool {
	ha, hb := q.hops[q.idx[a]], q.hops[q.idx[b]]
	if !ha.Time.Equal(hb.Time) {
		return ha.Time.Before(hb.Time)
	}
	return q.idx[a] < q.idx[b]
}
func (q *hopQueue) Swap(a, b int) { q.idx[a], q.idx[b] = q.idx[b], q.idx[a] }
func (q *hopQueue) Push(x any)    { q.idx = append(q.idx, x.(int)) }
func (q *hopQueue) Pop() any {
	n := len(q.idx) - 1
	x := q.idx[n]
	q.idx = q.idx[:n]
	return x
}

// Printed is what --follow has printed so far: each hop's number and what its line said. A hop
// can be found before all of it is known (a Publish state's event on the bus, and the streamer's
// record of it, before the projector has stored the event: no event number, no rules matched);
// Next prints it again once it is, so that no line stays incomplete. The zero value is empty.
type Printed struct {
	n     int
	lines map[string]printedHop
}

type printedHop struct {
	n    int
	said string
}

// Next returns what to print for the journey as it now stands, in journey order: the hops not
// printed yet, numbered on from the last printed, and the hops printed before whose line would
// now say something else, under their first number with Revised set. says is what a hop's line
// shows apart from its number and times (render.HopSays for -follow's lines): a field the line
// does not show, or a time made more precise, is no news to print again.
func (p *Printed) Next(j Journey, says func(Hop) string) []Step {
	if p.lines == nil {
		p.lines = map[string]printedHop{}
	}
	var out []Step
	for _, s := range j.Timeline() {
		said := says(s.Hop)
		prev, ok := p.lines[s.Key]
		switch {
		case !ok:
			p.n++
			prev = printedHop{n: p.n}
		case prev.said == said:
			continue
		default:
			s.Revised = true
		}
		s.N = prev.n // a hop found late may belong earlier in time: lines are numbered as printed
		prev.said = said
		p.lines[s.Key] = prev
		out = append(out, s)
	}
	return out
}
