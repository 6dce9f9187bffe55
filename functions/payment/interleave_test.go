package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// The interleaving proof: two deliveries (two copies of one message, or a charge and the
// refund that compensates it; three in the last scenarios) run the real handler against one in-memory ledger (the
// conditions of dynamo.Payments, see TestLedgerContract) and one provider that deduplicates
// by idempotency key in the weakest way (no cancel: a refund before the charge does not stop
// it). Every port call is a step; a scheduler runs one delivery at a time, step by step, and
// explores every schedule of the steps depth-first, not a sample. A schedule may also crash
// one delivery before any of its steps (so: after the step before, the money moved but
// nothing recorded), including after its last one, before SQS deletes the message. A delivery
// that crashed or failed (a transient error) leaves its message on the queue, and SQS delivers
// it again, once, after the visibility timeout (30 s): unless another delivery of it (a
// duplicate) deleted it meanwhile, and only after every earlier delivery of it has ended (each
// lives at most the function's timeout, 5 s; the model assumes duplicates of a message are
// received within the visibility timeout of each other). The redelivery interleaves with
// whatever is left of the other messages' deliveries. Each delivery reads the clock at its
// receive: the first ones at fixture.Now, a redelivery 30 s after the one before it.
//
// Reading the intent is not a step: it reads immutable data, so it commutes with every other
// step and adds schedules without adding behaviours.
//
// After every schedule: the provider charged at most one key, the order's payment id; the
// money it holds is the amount if and only if the ledger ends APPROVED and no refund was
// asked, and nothing whenever compensation ran; the ledger ends in a status the scenario
// allows, never PENDING; every task is answered exactly once, and what it says agrees with
// the ledger; nothing is parked; no token is logged; and no delivery waits forever.
//
// By default the exploration skips a schedule that only reorders commuting steps of one
// already explored (steps of two deliveries on different objects: the ledger, the provider,
// one task; see scheduler); -interleavings.all explores every schedule of two deliveries:
// the same verdicts, in about 39,000 schedules (some 6 s). -interleavings.long adds three
// deliveries with a crash (some 16,500 schedules, under a minute): the scenario that showed a
// duplicate delivery letting go of a message a crashed charge counted on (see chargeMayLand).
func TestInterleavings(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		deliveries []string // "charge" or "refund": the same word is the same message, delivered again
		before     string   // the ledger's status before the run ("" = no record)
		charged    bool     // the provider holds the charge before the run (a delivery took it, then stopped for good)
		crashes    int
		statuses   []string // the ledger's allowed final statuses
		long       bool     // minutes: run with -interleavings.long
	}{
		{name: "charge+charge", token: provider.TokenApprove, deliveries: []string{"charge", "charge"}, statuses: []string{store.PaymentApproved}},
		{name: "charge+charge, a crash", token: provider.TokenApprove, deliveries: []string{"charge", "charge"}, crashes: 1, statuses: []string{store.PaymentApproved}},
		{name: "charge+charge declined, a crash", token: provider.TokenDecline, deliveries: []string{"charge", "charge"}, crashes: 1, statuses: []string{store.PaymentDeclined}},
		{name: "charge+charge processing error, a crash", token: provider.TokenProcessingError, deliveries: []string{"charge", "charge"}, crashes: 1, statuses: []string{store.PaymentApproved}},
		{name: "charge+refund", token: provider.TokenApprove, deliveries: []string{"charge", "refund"},
			statuses: []string{store.PaymentVoided, store.PaymentRefunded}},
		{name: "charge+refund, a crash", token: provider.TokenApprove, deliveries: []string{"charge", "refund"}, crashes: 1,
			statuses: []string{store.PaymentVoided, store.PaymentRefunded}},
		{name: "charge+refund declined, a crash", token: provider.TokenDecline, deliveries: []string{"charge", "refund"}, crashes: 1,
			statuses: []string{store.PaymentVoided, store.PaymentDeclined}},
		{name: "charge+refund processing error, a crash", token: provider.TokenProcessingError, deliveries: []string{"charge", "refund"}, crashes: 1,
			statuses: []string{store.PaymentVoided, store.PaymentRefunded}},
		{name: "charge+refund after a charge that stopped, a crash", token: provider.TokenApprove, deliveries: []string{"charge", "refund"},
			before: store.PaymentPending, charged: true, crashes: 1, statuses: []string{store.PaymentVoided, store.PaymentRefunded}},
		{name: "charge+charge+refund", token: provider.TokenApprove, deliveries: []string{"charge", "charge", "refund"},
			statuses: []string{store.PaymentVoided, store.PaymentRefunded}},
		{name: "charge+charge+refund, a crash", token: provider.TokenApprove, deliveries: []string{"charge", "charge", "refund"}, crashes: 1,
			statuses: []string{store.PaymentVoided, store.PaymentRefunded}, long: true},
		{name: "refund+refund, nothing claimed, a crash", token: provider.TokenApprove, deliveries: []string{"refund", "refund"}, crashes: 1,
			statuses: []string{store.PaymentVoided}},
		{name: "refund+refund, pending, a crash", token: provider.TokenApprove, deliveries: []string{"refund", "refund"},
			before: store.PaymentPending, crashes: 1, statuses: []string{store.PaymentVoided}},
		{name: "refund+refund, pending and charged, a crash", token: provider.TokenApprove, deliveries: []string{"refund", "refund"},
			before: store.PaymentPending, charged: true, crashes: 1, statuses: []string{store.PaymentVoided}},
		{name: "refund+refund, approved, a crash", token: provider.TokenApprove, deliveries: []string{"refund", "refund"},
			before: store.PaymentApproved, charged: true, crashes: 1, statuses: []string{store.PaymentRefunded}},
		{name: "refund+refund, declined, a crash", token: provider.TokenDecline, deliveries: []string{"refund", "refund"},
			before: store.PaymentDeclined, crashes: 1, statuses: []string{store.PaymentDeclined}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.long && !*longInterleavings {
				t.Skip("a long exploration: run it with -interleavings.long")
			}
			if *allInterleavings && len(tc.deliveries) > 2 {
				t.Skip("three deliveries have too many schedules to explore them all")
			}
			t.Parallel()
			sc := scenario{orderN: 200 + i, token: tc.token, deliveries: tc.deliveries, before: tc.before, charged: tc.charged, crashes: tc.crashes, statuses: tc.statuses}
			n, cut := explore(t, !*allInterleavings, sc.build(t))
			t.Logf("%d schedules explored (%d more cut as reorderings of commuting steps)", n, cut)
			if n < 2 {
				t.Errorf("only %d schedule: nothing interleaved", n)
			}
		})
	}
}

var (
	allInterleavings  = flag.Bool("interleavings.all", false, "explore every schedule, not one per ordering of the steps that do not commute")
	longInterleavings = flag.Bool("interleavings.long", false, "also explore the scenarios that take minutes")
)

// --- the scenario: one order, its messages, the world each schedule runs in

type scenario struct {
	orderN     int
	token      string
	deliveries []string
	before     string
	charged    bool
	crashes    int
	statuses   []string
}

// world is one schedule's run: fresh fakes, a handler on them, the deliveries racing.
type world struct {
	sc       scenario
	clock    time.Time       // the running delivery's receive time: the handler's clock
	deleted  map[string]bool // by delivery word: a delivery deleted the message
	orderID  string
	payments *memLedger
	provider *fakeProvider
	tasks    *fakeTasks
	dlq      *fixture.DLQ
	logs     *fixture.Buffer
	h        *Handler
	messages map[string]lambdaevents.SQSMessage // by delivery word
}

// build returns the scenario's world maker: the messages are made once.
func (sc scenario) build(t *testing.T) func(s *scheduler) *world {
	placed := fixture.Placed(t, fixture.OrderID(sc.orderN), sc.token)
	id := placed.OrderID
	messages := map[string]lambdaevents.SQSMessage{
		"charge": msg("m-charge", taskBody(t, "tk-charge", placed, reservedState(t, placed))),
		"refund": msg("m-refund", refundBody(t, "tk-refund", placed, reservedState(t, placed))), // the charge timed out
	}
	if sc.before == store.PaymentApproved {
		messages["refund"] = msg("m-refund", refundBody(t, "tk-refund", placed, approvedState(t, placed))) // shipping failed
	}
	return func(s *scheduler) *world {
		w := &world{
			sc: sc, orderID: id, payments: newMemLedger(), provider: newFakeProvider(),
			tasks: &fakeTasks{succeeded: map[string]string{}, closed: map[string]bool{}}, dlq: &fixture.DLQ{}, logs: &fixture.Buffer{}, messages: messages,
			clock: fixture.Now, deleted: map[string]bool{},
		}
		intents := &fakeIntents{intents: map[string]store.PaymentIntent{}}
		intents.add(placed, sc.token)
		if sc.before != "" {
			p := store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: sc.before, AmountCents: 4999, Attempts: 1}
			if sc.before == store.PaymentDeclined {
				p.Reason = "card-declined"
			}
			w.payments.stored[id] = p
		}
		if sc.charged {
			w.provider.answers[PaymentID(id)] = provider.Result{Approved: true}
			w.provider.charged[PaymentID(id)] = 4999
		}
		w.h = newHandler("orders", ports{
			payments: yieldingLedger{s, w.payments}, intents: intents, provider: yieldingProvider{s, w.provider},
			tasks: yieldingTasks{s, w.tasks}, seals: newFakeSeals(), dlq: yieldingDLQ{s, w.dlq}, source: &fixture.Source{},
		}, maxDeliveries, slog.New(slog.NewJSONHandler(w.logs, nil))) // as deployed: LastReceive parks as it does there
		w.h.now = func() time.Time { return w.clock }
		w.h.deadline = func(ctx context.Context) time.Time { return ctx.Value(procKey{}).(*proc).deadline() }
		return w
	}
}

// check asserts the invariants at the end of a schedule.
func (w *world) check() []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	key := PaymentID(w.orderID)
	compensated := slices.Contains(w.sc.deliveries, "refund")
	p := w.payments.get(w.orderID)
	net := w.provider.net()

	if keys := w.provider.keys(); len(keys) > 1 || (len(keys) == 1 && keys[0] != key) {
		fail("the provider was asked to charge %v, want only the payment id %s", keys, key)
	}
	for k, c := range w.provider.charged {
		if k != key || c != 4999 {
			fail("the provider charged %d under %s", c, k)
		}
	}
	switch {
	case compensated && net != 0:
		fail("compensation ran, yet the provider holds %d", net)
	case !compensated && (net == 4999) != (p.Status == store.PaymentApproved):
		fail("the provider holds %d, the ledger says %s", net, p.Status)
	case net != 0 && net != 4999:
		fail("the provider holds %d", net)
	}
	if !slices.Contains(w.sc.statuses, p.Status) {
		fail("the ledger ends %q, want one of %v", p.Status, w.sc.statuses)
	}
	if p.Status == store.PaymentRefunded && (w.provider.charged[key] == 0 || w.provider.refunded[key] == 0) {
		fail("REFUNDED, yet the provider charged %d and refunded %d", w.provider.charged[key], w.provider.refunded[key])
	}

	for _, word := range slices.Compact(slices.Sorted(slices.Values(w.sc.deliveries))) {
		token := "tk-" + word
		out, succeeded := w.tasks.succeeded[token]
		failures := 0
		for _, f := range w.tasks.failed {
			if f.token == token {
				failures++
			}
		}
		if succeeded == (failures == 1) || failures > 1 {
			fail("task %s: succeeded %v, failed %d times; want exactly one answer", token, succeeded, failures)
			continue
		}
		if !succeeded {
			if word == "refund" || (p.Status != store.PaymentVoided && p.Status != store.PaymentRefunded) {
				fail("task %s failed (%+v), the ledger ends %s", token, w.tasks.failed, p.Status)
			}
			continue
		}
		var doc workflow.Doc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.State == nil {
			fail("task %s output %s: %v", token, out, err)
			continue
		}
		switch o := doc.State.Outcome; {
		case word == "charge" && o == workflow.OutcomeApproved && p.Status != store.PaymentApproved && p.Status != store.PaymentRefunded:
			fail("the charge task said approved, the ledger ends %s", p.Status)
		case word == "charge" && o == workflow.OutcomeDeclined && p.Status != store.PaymentDeclined:
			fail("the charge task said declined, the ledger ends %s", p.Status)
		case word == "refund" && (o == workflow.OutcomeRefunded) != (p.Status == store.PaymentRefunded):
			fail("the refund task said %s, the ledger ends %s", o, p.Status)
		}
	}
	if len(w.dlq.Parked()) != 0 {
		fail("parked %+v", w.dlq.Parked())
	}
	if strings.Contains(w.logs.String(), w.sc.token) {
		fail("the token was logged")
	}
	return bad
}

// --- the scheduler

// procKey finds the delivery a port call belongs to.
type procKey struct{}

// proc is one delivery of a message, run by one goroutine that stops at every step.
type proc struct {
	name    string // e.g. "charge#2": the message and its receive count
	word    string
	receive int
	gen     int       // 0: a first delivery; n: n visibility timeouts after it
	at0     time.Time // its receive
	resume  chan bool // true: take the step; false: crash before it
	at      string    // the step it waits to take
	done    bool
	crashed bool
	failed  bool // the batch reported it: SQS redelivers it
}

type report struct {
	p    *proc
	at   string
	done bool
}

// choice is one branching point of a schedule: the option taken, out of how many.
type choice struct{ taken, options int }

// transition is what a schedule can do next: let a delivery take its step, or crash it.
type transition struct {
	p     *proc
	crash bool
}

func (t transition) key() string {
	if t.crash {
		return t.p.name + " crash"
	}
	return t.p.name
}

// object is what the transition acts on. Steps on different objects commute: taken in
// either order they leave the same ledger, provider and tasks, and each delivery sees the
// same answers. A crash only ends its own delivery, but two crashes share the budget.
func (t transition) object() string {
	if t.crash {
		return "crash budget"
	}
	service, rest, _ := strings.Cut(t.p.at, ".")
	switch {
	case service == "sfn": // one task per token
		_, token, _ := strings.Cut(rest, " ")
		return "task " + token
	case rest == "DeleteMessage": // its own message
		return "delete " + t.p.name
	}
	return service // the ledger, the provider, the dead-letter queue
}

// independent reports whether a and b commute: other deliveries, other objects.
func independent(a, b transition) bool { return a.p != b.p && a.object() != b.object() }

// errSleepBlocked ends a schedule whose every next transition is asleep: it can only go on
// as a reordering of a schedule already explored.
var errSleepBlocked = errors.New("sleep-blocked")

// scheduler runs one schedule: it follows prefix, then takes the first option, and records
// every choice it made, so that explore can move on to the next schedule. With reduce, it
// keeps a sleep set (Godefroid): a transition already explored from an earlier branch, and
// independent of everything taken since, is not taken again here, since that would only
// reorder commuting steps of a schedule already explored. Every ordering of the steps that
// do not commute is still explored.
type scheduler struct {
	reports chan report
	prefix  []int
	trace   []choice
	steps   []string // what happened, for a failure message
	reduce  bool
	sleep   map[string]transition
}

// maxDeliveries bounds the deliveries of one message in a schedule (SQS's maxReceiveCount).
const maxDeliveries = 4

// The payments queue's visibility timeout and the function's timeout (infra/payments.go).
const (
	visibilityTimeout = 30 * time.Second
	functionTimeout   = 5 * time.Second
)

// deadline is when Lambda ends the delivery's invocation.
func (p *proc) deadline() time.Time { return p.at0.Add(functionTimeout) }

func (s *scheduler) yield(ctx context.Context, step string) {
	p, ok := ctx.Value(procKey{}).(*proc)
	if !ok {
		return
	}
	s.reports <- report{p: p, at: step}
	if !<-p.resume {
		p.crashed = true
		runtime.Goexit()
	}
}

func (s *scheduler) choose(options int) int {
	if options == 1 {
		return 0
	}
	c := 0
	if len(s.trace) < len(s.prefix) {
		c = s.prefix[len(s.trace)]
	}
	s.trace = append(s.trace, choice{c, options})
	return c
}

// start runs a delivery up to its first step.
func (s *scheduler) start(w *world, word string, receiveCount, gen int) (*proc, error) {
	p := &proc{name: fmt.Sprintf("%s#%d", word, receiveCount), word: word, receive: receiveCount, gen: gen,
		at0: fixture.Now.Add(time.Duration(gen) * visibilityTimeout), resume: make(chan bool)}
	w.clock = p.at0
	go func() {
		defer func() { s.reports <- report{p: p, done: true} }()
		ctx := context.WithValue(context.Background(), procKey{}, p)
		resp, _ := w.h.Handle(ctx, sqsEvent(receive(w.messages[word], receiveCount)))
		if p.failed = len(resp.BatchItemFailures) > 0; !p.failed {
			s.yield(ctx, "sqs.DeleteMessage") // a crash before it: the message is delivered again
			w.deleted[word] = true
		}
	}()
	return p, s.await(p)
}

// await waits for p to stop at its next step or end; nothing else runs meanwhile.
func (s *scheduler) await(p *proc) error {
	select {
	case r := <-s.reports:
		if r.p != p {
			return fmt.Errorf("%s moved while %s had the turn", r.p.name, p.name)
		}
		p.done, p.at = r.done, r.at
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("deadlock: %s neither took a step nor ended", p.name)
	}
}

// run plays one schedule to its end.
func (s *scheduler) run(w *world) error {
	var procs []*proc
	counts := map[string]int{}
	deliver := func(word string, gen int) error {
		counts[word]++
		if counts[word] > maxDeliveries {
			return fmt.Errorf("%s delivered %d times", word, counts[word])
		}
		p, err := s.start(w, word, counts[word], gen)
		procs = append(procs, p)
		return err
	}
	for _, word := range w.sc.deliveries {
		if err := deliver(word, 0); err != nil {
			return err
		}
	}
	// A message left on the queue (its delivery crashed or failed) comes back once its earlier
	// deliveries have all ended, unless one of them deleted it.
	type redelivery struct {
		word string
		gen  int
	}
	var due []redelivery
	redeliver := func() error {
		for i := 0; i < len(due); i++ {
			r := due[i]
			if slices.ContainsFunc(procs, func(p *proc) bool { return p.word == r.word && p.gen < r.gen && !p.done }) {
				continue
			}
			due = slices.Delete(due, i, i+1)
			i--
			if w.deleted[r.word] {
				s.steps = append(s.steps, r.word+" deleted meanwhile: not delivered again")
				continue
			}
			s.steps = append(s.steps, r.word+" delivered again")
			if err := deliver(r.word, r.gen); err != nil {
				return err
			}
		}
		return nil
	}
	s.sleep = map[string]transition{}
	crashes := w.sc.crashes
	for {
		if err := redeliver(); err != nil {
			return err
		}
		var enabled, awake []transition
		for _, p := range procs {
			if !p.done {
				enabled = append(enabled, transition{p, false})
			}
		}
		for _, p := range procs {
			if !p.done && crashes > 0 {
				enabled = append(enabled, transition{p, true})
			}
		}
		for _, t := range enabled {
			if _, asleep := s.sleep[t.key()]; !asleep {
				awake = append(awake, t)
			}
		}
		switch {
		case len(enabled) == 0:
			return nil
		case len(awake) == 0:
			for _, p := range procs { // end the deliveries left
				if !p.done {
					p.resume <- false
					if err := s.await(p); err != nil {
						return err
					}
				}
			}
			return errSleepBlocked
		}
		c := s.choose(len(awake))
		t := awake[c]
		if s.reduce {
			next := map[string]transition{}
			for _, z := range slices.Concat(slices.Collect(maps.Values(s.sleep)), awake[:c]) {
				if independent(z, t) {
					next[z.key()] = z
				}
			}
			s.sleep = next
		}
		if t.crash {
			crashes--
			s.steps = append(s.steps, t.p.name+" crashes before "+t.p.at)
		} else {
			s.steps = append(s.steps, t.p.name+" "+t.p.at)
		}
		w.clock = t.p.at0
		t.p.resume <- !t.crash
		if err := s.await(t.p); err != nil {
			return err
		}
		if r := (redelivery{t.p.word, t.p.gen + 1}); t.p.done && (t.p.crashed || t.p.failed) && !slices.Contains(due, r) {
			s.steps = append(s.steps, t.p.name+" left on the queue")
			due = append(due, r)
		}
	}
}

// explore runs every schedule of the world's deliveries, depth-first over the choices, and
// checks each one that ends; it returns how many ended, and how many were cut as reorderings.
func explore(t *testing.T, reduce bool, newWorld func(s *scheduler) *world) (schedules, cut int) {
	t.Helper()
	const maxRuns = 500_000
	var prefix []int
	for n := 1; ; n++ {
		s := &scheduler{reports: make(chan report), prefix: prefix, reduce: reduce}
		w := newWorld(s)
		switch err := s.run(w); {
		case errors.Is(err, errSleepBlocked):
			cut++
		case err != nil:
			t.Fatalf("schedule %d: %v\n%s", n, err, strings.Join(s.steps, "\n"))
		default:
			schedules++
			if bad := w.check(); len(bad) > 0 {
				t.Fatalf("schedule %d breaks the protocol:\n  %s\nsteps:\n  %s\nledger %+v\nprovider calls %v\nlogs:\n%s",
					n, strings.Join(bad, "\n  "), strings.Join(s.steps, "\n  "), w.payments.get(w.orderID), w.provider.calls, w.logs.String())
			}
		}
		i := len(s.trace) - 1
		for i >= 0 && s.trace[i].taken+1 >= s.trace[i].options {
			i--
		}
		if i < 0 {
			return schedules, cut
		}
		if n == maxRuns {
			t.Fatalf("more than %d runs", maxRuns)
		}
		prefix = prefix[:0]
		for _, c := range s.trace[:i] {
			prefix = append(prefix, c.taken)
		}
		prefix = append(prefix, s.trace[i].taken+1)
	}
}

// --- ports that stop at every call

type yieldingLedger struct {
	s *scheduler
	l *memLedger
}

func (y yieldingLedger) Claim(ctx context.Context, orderID, paymentID string, amountCents int64, until time.Time) (store.Payment, error) {
	y.s.yield(ctx, "ledger.Claim")
	return y.l.Claim(ctx, orderID, paymentID, amountCents, until)
}

func (y yieldingLedger) Record(ctx context.Context, p store.Payment) (store.Payment, error) {
	y.s.yield(ctx, "ledger.Record "+p.Status)
	return y.l.Record(ctx, p)
}

func (y yieldingLedger) Void(ctx context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	y.s.yield(ctx, "ledger.Void")
	return y.l.Void(ctx, orderID, at)
}

func (y yieldingLedger) Refund(ctx context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	y.s.yield(ctx, "ledger.Refund")
	return y.l.Refund(ctx, orderID, at)
}

func (y yieldingLedger) LateChargeRefunded(ctx context.Context, orderID string, at time.Time) (store.Payment, bool, error) {
	y.s.yield(ctx, "ledger.LateChargeRefunded")
	return y.l.LateChargeRefunded(ctx, orderID, at)
}

type yieldingProvider struct {
	s *scheduler
	p *fakeProvider
}

func (y yieldingProvider) Charge(ctx context.Context, req provider.ChargeRequest) (provider.Result, error) {
	y.s.yield(ctx, fmt.Sprintf("provider.Charge (attempt %d)", req.Attempt))
	return y.p.Charge(ctx, req)
}

func (y yieldingProvider) Refund(ctx context.Context, key string) error {
	y.s.yield(ctx, "provider.Refund")
	return y.p.Refund(ctx, key)
}

type yieldingTasks struct {
	s *scheduler
	t *fakeTasks
}

// Live changes nothing, so it is no point at which to interleave.
func (y yieldingTasks) Live(ctx context.Context, token string) error { return y.t.Live(ctx, token) }

func (y yieldingTasks) Succeed(ctx context.Context, token, output string) error {
	y.s.yield(ctx, "sfn.SendTaskSuccess "+token)
	return y.t.Succeed(ctx, token, output)
}

func (y yieldingTasks) Fail(ctx context.Context, token, name, cause string) error {
	y.s.yield(ctx, "sfn.SendTaskFailure "+token)
	return y.t.Fail(ctx, token, name, cause)
}

type yieldingDLQ struct {
	s *scheduler
	d *fixture.DLQ
}

func (y yieldingDLQ) Park(ctx context.Context, body []byte, reason string) error {
	y.s.yield(ctx, "sqs.Park")
	return y.d.Park(ctx, body, reason)
}
