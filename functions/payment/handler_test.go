package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// maxReceiveCount is the payments queue's redrive setting in these tests: three attempts, and the
// receive the function keeps to park a message whose last attempt never answered.
const maxReceiveCount = 4

type fakes struct {
	h        *Handler
	payments *memLedger
	intents  *fakeIntents
	provider *fakeProvider
	tasks    *fakeTasks
	seals    *fakeSeals
	dlq      *fixture.DLQ
	source   *fixture.Source
	logs     *fixture.Buffer
}

func newFakes() fakes {
	f := fakes{
		payments: newMemLedger(),
		intents:  &fakeIntents{intents: map[string]store.PaymentIntent{}},
		provider: newFakeProvider(),
		tasks:    &fakeTasks{succeeded: map[string]string{}, closed: map[string]bool{}, forged: map[string]bool{}},
		seals:    newFakeSeals(),
		dlq:      &fixture.DLQ{},
		source:   &fixture.Source{},
		logs:     &fixture.Buffer{},
	}
	f.h = newHandler("orders", ports{payments: f.payments, intents: f.intents, provider: f.provider, tasks: f.tasks, seals: f.seals, dlq: f.dlq, source: f.source},
		maxReceiveCount, slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	f.h.now = func() time.Time { return fixture.Now }
	return f
}

// placed is the OrderPlaced event of order n paid with token, whose intent order-api stored.
func (f fakes) placed(t *testing.T, n int, token string) events.Envelope {
	t.Helper()
	placed := fixture.Placed(t, fixture.OrderID(n), token)
	f.intents.add(placed, token)
	return placed
}

// fakesWith is newFakes holding placed's intent (its token tok_visa), then changed by setup when
// a table's case has one.
func fakesWith(placed events.Envelope, setup func(fakes)) fakes {
	f := newFakes()
	f.intents.add(placed, "tok_visa")
	if setup != nil {
		setup(f)
	}
	return f
}

// reservedState is the state after the inventory task reserved the order's stock and
// PublishReservation put InventoryReserved on the bus.
func reservedState(t *testing.T, placed events.Envelope) *workflow.State {
	t.Helper()
	st, err := workflow.Start(placed)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Emit("orders", events.TypeInventoryReserved, events.InventoryReserved{OrderID: placed.OrderID, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	st.Outcome = workflow.OutcomeReserved
	st.Published = &workflow.PublishResult{}
	return st
}

func taskBody(t *testing.T, token string, placed events.Envelope, st *workflow.State) string {
	t.Helper()
	b, err := json.Marshal(taskMessage{TaskToken: token, Event: fixture.JSON(t, placed), State: st})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sqsEvent(msgs ...lambdaevents.SQSMessage) lambdaevents.SQSEvent {
	return lambdaevents.SQSEvent{Records: msgs}
}

func msg(id, body string) lambdaevents.SQSMessage {
	return lambdaevents.SQSMessage{MessageId: id, Body: body, EventSourceARN: paymentsQueue, ReceiptHandle: "rh-" + id}
}

// paymentsQueue is the queue the tests' messages come from.
const paymentsQueue = "arn:aws:sqs:us-east-1:000000000000:payments"

var failedIDs = fixture.SQSFailures

// Every message delivered twice, shuffled: one decision and one task answer per order.
func TestDecisions(t *testing.T) {
	type order struct {
		token, wantOutcome, wantReason string
		wantTypes                      []events.Type
	}
	orders := []order{
		{token: "tok_visa", wantOutcome: workflow.OutcomeApproved, wantTypes: []events.Type{events.TypePaymentApproved, events.TypeOrderConfirmed}},
		{token: "tok_declined", wantOutcome: workflow.OutcomeDeclined, wantReason: "card-declined", wantTypes: []events.Type{events.TypePaymentDeclined}},
		{token: "tok_mystery", wantOutcome: workflow.OutcomeDeclined, wantReason: "unknown-token", wantTypes: []events.Type{events.TypePaymentDeclined}},
	}
	f := newFakes()
	var batch []lambdaevents.SQSMessage
	for i, o := range orders {
		placed := f.placed(t, i, o.token)
		batch = append(batch, msg(fmt.Sprintf("m-%d", i), taskBody(t, "token-"+o.token, placed, reservedState(t, placed))))
	}
	resp, err := f.h.Handle(context.Background(), sqsEvent(fixture.TwiceShuffled(7, batch)...))
	fixture.NothingFailed(t, resp, err)
	if len(f.payments.stored) != len(orders) || len(f.tasks.succeeded) != len(orders) || len(f.tasks.failed) != 0 || len(f.dlq.Parked()) != 0 {
		t.Fatalf("payments %d, answers %d, failures %d, parked %d", len(f.payments.stored), len(f.tasks.succeeded), len(f.tasks.failed), len(f.dlq.Parked()))
	}
	for i, o := range orders {
		t.Run(o.token, func(t *testing.T) {
			id := fixture.OrderID(i)
			p := f.payments.stored[id]
			// The two copies of a message may be handled at the same moment: then both claim the
			// PENDING payment (2 attempts) and both ask the provider, under the one payment id.
			if p.PaymentID != PaymentID(id) || p.AmountCents != 4999 || p.Reason != o.wantReason || p.Attempts < 1 || p.Attempts > 2 {
				t.Errorf("payment = %+v", p)
			}
			wantCharged := int64(0)
			if o.wantOutcome == workflow.OutcomeApproved {
				wantCharged = 4999
			}
			if got := f.provider.charged[PaymentID(id)]; got != wantCharged || f.provider.answers[PaymentID(id)].Reason != o.wantReason {
				t.Errorf("provider charged %d (%+v), want %d", got, f.provider.answers[PaymentID(id)], wantCharged)
			}
			var doc workflow.Doc
			if err := json.Unmarshal([]byte(f.tasks.succeeded["token-"+o.token]), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.State == nil || doc.State.Outcome != o.wantOutcome || doc.State.Reason != o.wantReason || doc.State.PaymentID != p.PaymentID || len(doc.Event) == 0 {
				t.Fatalf("output state = %+v", doc.State)
			}
			if len(doc.State.Entries) != len(o.wantTypes) {
				t.Fatalf("entries = %+v", doc.State.Entries)
			}
			for j, en := range doc.State.Entries {
				e, err := events.Parse([]byte(en.Detail))
				if err != nil {
					t.Fatalf("entry breaks its schema: %v", err)
				}
				if seq := 3 + j; e.Type != o.wantTypes[j] || e.Sequence != seq || e.ID != events.ID(id, seq) || e.CausationID != events.ID(id, seq-1) || en.EventBusName != "orders" {
					t.Errorf("entry %d = %s #%d", j, e.Type, e.Sequence)
				}
			}
		})
	}
}

// A redelivered request reuses the decision taken the first time, even if it would differ now.
func TestStoredDecisionWins(t *testing.T) {
	id := fixture.OrderID(10)
	f := newFakes()
	placed := f.placed(t, 10, "tok_visa")
	f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentDeclined, Reason: "card-declined", AmountCents: 4999}
	if _, err := f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk", placed, reservedState(t, placed))))); err != nil {
		t.Fatal(err)
	}
	if out := f.tasks.succeeded["tk"]; !strings.Contains(out, `"outcome":"declined"`) || len(f.provider.calls) != 0 {
		t.Errorf("output = %s, provider calls %v", out, f.provider.calls)
	}
}

func TestPoisonAndFailures(t *testing.T) {
	placed := fixture.Placed(t, fixture.OrderID(20), "tok_visa")
	good := taskBody(t, "tk-good", placed, reservedState(t, placed))
	mistyped := strings.Replace(good, `"entries":[{`, `"entries":5,"was":[{`, 1)
	if mistyped == good {
		t.Fatalf("the reserved state carries no entries: %s", good)
	}
	tests := []struct {
		name         string
		body         string
		setup        func(f fakes)
		wantFailed   []string
		wantParked   string // reason substring
		wantTaskFail bool
		wantAnswered bool
		// its task failed as dead-lettered: the state machine compensates now, not at the timeout
		wantDeadLettered bool
		wantNoMoney      bool // refused before the ledger or the provider is asked
	}{
		{name: "unparseable body is parked", body: "{not json", wantParked: "not a payment task"},
		{name: "no task token is parked", body: `{"event":{},"state":null}`, wantParked: "no taskToken"},
		{name: "token without state fails the task", body: `{"taskToken":"tk-bad","event":{}}`, wantTaskFail: true},
		{name: "a mistyped field is parked, its task failed", body: mistyped, wantParked: "not a payment task", wantDeadLettered: true},
		{name: "token with a broken state fails the task", body: `{"taskToken":"tk-bad","state":{"order":{"orderId":"nope"},"correlationId":"x","sequence":2}}`, wantTaskFail: true, wantNoMoney: true},
		{name: "a state whose correlation id is another order's fails the task", body: func() string {
			st := reservedState(t, placed)
			st.CorrelationID = events.ID(fixture.OrderID(21), 1)
			return taskBody(t, "tk-bad", placed, st)
		}(), wantTaskFail: true, wantNoMoney: true},
		{name: "a state whose last event id is not its sequence's fails the task", body: func() string {
			st := reservedState(t, placed)
			st.LastEventID = events.ID(placed.OrderID, st.Sequence+1)
			return taskBody(t, "tk-bad", placed, st)
		}(), wantTaskFail: true, wantNoMoney: true},
		{name: "state that cannot emit fails the task", body: func() string {
			st := reservedState(t, placed)
			st.Order.TotalCents = -1 // the schemas want cents >= 0: the event cannot be emitted
			return taskBody(t, "tk-bad", placed, st)
		}(), setup: func(f fakes) {
			in := f.intents.intents[fixture.IntentID(placed.OrderID, "tok_visa")]
			in.AmountCents = -1
			f.intents.intents[in.IntentID] = in
		}, wantTaskFail: true},
		{name: "store throttled: retried", body: good, setup: func(f fakes) { f.payments.err[fixture.OrderID(20)] = errors.New("throttled") }, wantFailed: []string{"m-1"}},
		{name: "intents throttled: retried", body: good, setup: func(f fakes) { f.intents.err = errors.New("throttled") }, wantFailed: []string{"m-1"}},
		{name: "provider down: retried", body: good, setup: func(f fakes) { f.provider.err = errors.New("502 bad gateway") }, wantFailed: []string{"m-1"}},
		{name: "task answer throttled: retried", body: good, setup: func(f fakes) { f.tasks.err = errors.New("throttled") }, wantFailed: []string{"m-1"}},
		{name: "task already answered: done", body: good, setup: func(f fakes) { f.tasks.closed["tk-good"] = true }},
		{name: "dead-letter queue down: retried", body: "{", setup: func(f fakes) { f.dlq.Err = errors.New("down") }, wantFailed: []string{"m-1"}},
		{name: "panic: retried", body: good, setup: func(f fakes) { f.payments.panics = true }, wantFailed: []string{"m-1"}},
		{name: "healthy", body: good, wantAnswered: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakesWith(placed, tc.setup)
			resp, err := f.h.Handle(context.Background(), sqsEvent(msg("m-1", tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.wantFailed
			if want == nil {
				want = []string{}
			}
			if got := failedIDs(resp); !reflect.DeepEqual(got, want) {
				t.Errorf("failed = %v, want %v", got, want)
			}
			switch {
			case tc.wantParked != "":
				if len(f.dlq.Parked()) != 1 || !strings.Contains(f.dlq.Parked()[0].Reason, tc.wantParked) || f.dlq.Parked()[0].Body != tc.body {
					t.Errorf("parked = %+v, want reason with %q", f.dlq.Parked(), tc.wantParked)
				}
			case len(f.dlq.Parked()) != 0:
				t.Errorf("parked = %+v", f.dlq.Parked())
			}
			if got := len(f.tasks.failed) == 1 && f.tasks.failed[0].name == "InvalidInputError" && f.tasks.failed[0].cause != ""; got != tc.wantTaskFail {
				t.Errorf("task failures = %+v", f.tasks.failed)
			}
			if got := len(f.tasks.failed) == 1 && f.tasks.failed[0].name == errorDeadLettered; got != tc.wantDeadLettered {
				t.Errorf("task failures = %+v, want one dead-lettered: %v", f.tasks.failed, tc.wantDeadLettered)
			}
			if tc.wantNoMoney && (f.payments.records != 0 || len(f.provider.calls) != 0) {
				t.Errorf("a broken state reached the provider (%v) or the ledger (%d records)", f.provider.calls, f.payments.records)
			}
			if got := len(f.tasks.succeeded) == 1; got != tc.wantAnswered {
				t.Errorf("answered = %v", f.tasks.succeeded)
			}
		})
	}
}

// Only the failing message of a batch is reported, by its MessageId.
func TestBatchReportsOnlyFailures(t *testing.T) {
	f := newFakes()
	var batch []lambdaevents.SQSMessage
	for i := range 4 {
		placed := f.placed(t, 30+i, "tok_visa")
		batch = append(batch, msg(fmt.Sprintf("m-%d", i), taskBody(t, fmt.Sprintf("tk-%d", i), placed, reservedState(t, placed))))
	}
	batch = append(batch, msg("m-poison", "{"))
	f.payments.err[fixture.OrderID(32)] = errors.New("throttled")
	resp, _ := f.h.Handle(context.Background(), sqsEvent(batch...))
	if got := failedIDs(resp); !reflect.DeepEqual(got, []string{"m-2"}) {
		t.Errorf("failed = %v, want [m-2]", got)
	}
	if len(f.tasks.succeeded) != 3 || len(f.dlq.Parked()) != 1 {
		t.Errorf("answered %d, parked %d", len(f.tasks.succeeded), len(f.dlq.Parked()))
	}
}

// receive is the nth delivery of a message, as SQS counts it.
func receive(m lambdaevents.SQSMessage, n int) lambdaevents.SQSMessage {
	m.Attributes = map[string]string{"ApproximateReceiveCount": fmt.Sprint(n)}
	return m
}

// entryTypes parses the entries of a task output and checks their sequence chain from first.
func entryTypes(t *testing.T, orderID string, st *workflow.State, first int) []events.Type {
	t.Helper()
	var out []events.Type
	for i, en := range st.Entries {
		e, err := events.Parse([]byte(en.Detail))
		if err != nil {
			t.Fatalf("entry breaks its schema: %v", err)
		}
		if seq := first + i; e.Sequence != seq || e.ID != events.ID(orderID, seq) || e.CausationID != events.ID(orderID, seq-1) {
			t.Errorf("entry %d = %s #%d, want #%d", i, e.Type, e.Sequence, seq)
		}
		out = append(out, e.Type)
	}
	return out
}

func output(t *testing.T, f fakes, token string) workflow.Doc {
	t.Helper()
	out, ok := f.tasks.succeeded[token]
	if !ok {
		t.Fatalf("task %s not answered (failures %+v)", token, f.tasks.failed)
	}
	var doc workflow.Doc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// tok_processing_error: the provider fails the first attempt transiently; the message is
// failed (SQS redelivers it after the visibility timeout), the attempt is counted in the
// ledger, and the redelivery is approved: one charge, attempts 2, one task answer.
func TestTransientProviderErrorIsRetriedBySQS(t *testing.T) {
	id := fixture.OrderID(40)
	f := newFakes()
	placed := f.placed(t, 40, "tok_processing_error")
	m := msg("m-1", taskBody(t, "tk", placed, reservedState(t, placed)))

	resp, _ := f.h.Handle(context.Background(), sqsEvent(receive(m, 1)))
	if got := failedIDs(resp); !reflect.DeepEqual(got, []string{"m-1"}) {
		t.Fatalf("first attempt: failed = %v, want the message retried", got)
	}
	if p := f.payments.stored[id]; p.Status != store.PaymentPending || p.Attempts != 1 || len(f.tasks.succeeded)+len(f.tasks.failed)+len(f.dlq.Parked()) != 0 {
		t.Fatalf("after the processing error: payment %+v, answers %v, failures %v, parked %v", p, f.tasks.succeeded, f.tasks.failed, f.dlq.Parked())
	}

	resp, _ = f.h.Handle(context.Background(), sqsEvent(receive(m, 2)))
	if got := failedIDs(resp); len(got) != 0 {
		t.Fatalf("second attempt: failed = %v", got)
	}
	p := f.payments.stored[id]
	if p.Status != store.PaymentApproved || p.Attempts != 2 || f.payments.records != 1 || f.provider.net() != 4999 {
		t.Errorf("payment = %+v after %d records, provider holds %d; want APPROVED after 2 attempts, recorded once", p, f.payments.records, f.provider.net())
	}
	doc := output(t, f, "tk")
	if doc.State.Outcome != workflow.OutcomeApproved || !slices.Equal(entryTypes(t, id, doc.State, 3), []events.Type{events.TypePaymentApproved, events.TypeOrderConfirmed}) {
		t.Errorf("output state = %+v", doc.State)
	}

	// A late duplicate charges nothing and counts no attempt.
	resp, _ = f.h.Handle(context.Background(), sqsEvent(receive(m, 3)))
	if got := failedIDs(resp); len(got) != 0 || f.payments.stored[id].Attempts != 2 || f.payments.records != 1 || len(f.provider.calls) != 2 {
		t.Errorf("duplicate: failed %v, payment %+v, records %d, provider calls %v", got, f.payments.stored[id], f.payments.records, f.provider.calls)
	}
}

// A charge after a Publish state that recorded a failed entry (an endpoint that does not fail
// the task on it; AWS does) keeps the state's entries ahead of its own: which one failed is not
// recorded, and dropping it would leave a gap in the order's history.
func TestChargeKeepsWhatAPublishFailed(t *testing.T) {
	f := newFakes()
	placed := f.placed(t, 70, "tok_visa")
	st := reservedState(t, placed)
	st.Published.FailedEntryCount = 1
	resp, err := f.h.Handle(context.Background(), sqsEvent(msg("m-partial", taskBody(t, "tk-partial", placed, st))))
	if err != nil || len(failedIDs(resp)) != 0 {
		t.Fatalf("failed %v, %v", failedIDs(resp), err)
	}
	doc := output(t, f, "tk-partial")
	want := []events.Type{events.TypeInventoryReserved, events.TypePaymentApproved, events.TypeOrderConfirmed}
	if got := entryTypes(t, placed.OrderID, doc.State, 2); !slices.Equal(got, want) || doc.State.Published != nil {
		t.Errorf("entries %v (published %+v), want %v and none yet published", got, doc.State.Published, want)
	}
}

// approvedState is the state after the charge: PaymentApproved #3, OrderConfirmed #4.
func approvedState(t *testing.T, placed events.Envelope) *workflow.State {
	t.Helper()
	st := reservedState(t, placed)
	st.ClearEntries() // as the payment task does: its entries replace the reservation's
	id := placed.OrderID
	if err := st.Emit("orders", events.TypePaymentApproved, events.PaymentApproved{OrderID: id, PaymentID: PaymentID(id), AmountCents: 4999}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	if err := st.Emit("orders", events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: id, TotalCents: 4999}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	st.Outcome, st.PaymentID = workflow.OutcomeApproved, PaymentID(id)
	return st
}

func refundBody(t *testing.T, token string, placed events.Envelope, st *workflow.State) string {
	t.Helper()
	b, err := json.Marshal(taskMessage{Action: workflow.ActionRefund, TaskToken: token, Event: fixture.JSON(t, placed), State: st,
		Error: &workflow.TaskError{Error: "ShipmentRefusedError", Cause: "dangerous goods"}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The refund, delivered twice and shuffled with other orders' refunds: an approved payment is
// refunded once (REFUNDED) and PaymentRefunded follows the last event; a charge the workflow
// never heard of (its request timed out) is refunded with PaymentApproved told first; an order
// never charged is voided and emits nothing; a declined one is left alone. The error being
// compensated stays in the output.
func TestRefund(t *testing.T) {
	type order struct {
		name        string
		stored      string // the ledger's status before the refund
		state       func(placed events.Envelope) *workflow.State
		wantStatus  string
		wantOutcome string
		wantFirst   int
		wantTypes   []events.Type
	}
	orders := []order{
		{"approved, shipping failed", store.PaymentApproved, func(p events.Envelope) *workflow.State {
			st := approvedState(t, p)
			st.Published = &workflow.PublishResult{} // PublishPaymentOutcome had sent them
			return st
		}, store.PaymentRefunded, workflow.OutcomeRefunded, 5, []events.Type{events.TypePaymentRefunded}},
		{"approved, publishing the outcome failed", store.PaymentApproved, func(p events.Envelope) *workflow.State { return approvedState(t, p) },
			// Never published: PaymentApproved and OrderConfirmed go out first, then the refund.
			store.PaymentRefunded, workflow.OutcomeRefunded, 3, []events.Type{events.TypePaymentApproved, events.TypeOrderConfirmed, events.TypePaymentRefunded}},
		// RequestPayment timed out: the reservation was on the bus, the decision never reached the saga.
		{"charged but the workflow timed out", store.PaymentApproved, func(p events.Envelope) *workflow.State { return reservedState(t, p) },
			store.PaymentRefunded, workflow.OutcomeRefunded, 3, []events.Type{events.TypePaymentApproved, events.TypePaymentRefunded}},
		{"never charged", "", func(p events.Envelope) *workflow.State { return reservedState(t, p) },
			store.PaymentVoided, workflow.OutcomeReserved, 3, nil},
		{"declined", store.PaymentDeclined, func(p events.Envelope) *workflow.State { return reservedState(t, p) },
			store.PaymentDeclined, workflow.OutcomeReserved, 3, nil},
		// PublishReservation recorded a failed entry (an endpoint that does not fail the task on it):
		// the reservation goes out again, ahead of the refund's own.
		{"charged, the reservation's publish partly failed", store.PaymentApproved, func(p events.Envelope) *workflow.State {
			st := reservedState(t, p)
			st.Published.FailedEntryCount = 1
			return st
		}, store.PaymentRefunded, workflow.OutcomeRefunded, 2, []events.Type{events.TypeInventoryReserved, events.TypePaymentApproved, events.TypePaymentRefunded}},
	}
	f := newFakes()
	var batch []lambdaevents.SQSMessage
	for i, o := range orders {
		id := fixture.OrderID(50 + i)
		placed := f.placed(t, 50+i, "tok_visa")
		if o.stored != "" {
			f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: o.stored, AmountCents: 4999, Attempts: 1}
		}
		if o.stored == store.PaymentApproved {
			f.provider.charged[PaymentID(id)] = 4999
		}
		batch = append(batch, msg(fmt.Sprintf("m-%d", i), refundBody(t, fmt.Sprintf("tk-%d", i), placed, o.state(placed))))
	}
	resp, err := f.h.Handle(context.Background(), sqsEvent(fixture.TwiceShuffled(11, batch)...))
	if err != nil {
		t.Fatal(err)
	}
	if ids := failedIDs(resp); len(ids) != 0 || len(f.tasks.failed) != 0 || len(f.dlq.Parked()) != 0 {
		t.Fatalf("failed %v, task failures %+v, parked %v", ids, f.tasks.failed, f.dlq.Parked())
	}
	if f.payments.refunds != 4 || f.provider.net() != 0 {
		t.Errorf("%d refunds, provider holds %d; want 4 (one per charged order, whatever the deliveries), all given back", f.payments.refunds, f.provider.net())
	}
	for i, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			id := fixture.OrderID(50 + i)
			if got := f.payments.stored[id].Status; got != o.wantStatus {
				t.Errorf("ledger status %q, want %q", got, o.wantStatus)
			}
			doc := output(t, f, fmt.Sprintf("tk-%d", i))
			if doc.State.Outcome != o.wantOutcome || doc.Error == nil || doc.Error.Error != "ShipmentRefusedError" || len(doc.Event) == 0 {
				t.Errorf("output = outcome %q error %+v", doc.State.Outcome, doc.Error)
			}
			if got := entryTypes(t, id, doc.State, o.wantFirst); !slices.Equal(got, o.wantTypes) {
				t.Errorf("entries %v, want %v", got, o.wantTypes)
			}
			for _, en := range doc.State.Entries {
				e, _ := events.Parse([]byte(en.Detail))
				if e.Type != events.TypePaymentRefunded {
					continue
				}
				p, err := events.DecodePayload[events.PaymentRefunded](e)
				if err != nil || p.PaymentID != PaymentID(id) || p.AmountCents != 4999 || p.Reason != events.ReasonFulfilmentFailed {
					t.Errorf("PaymentRefunded = %+v (%v)", p, err)
				}
			}
		})
	}
}

// PaymentRefunded gives the reason the order's OrderCancelled gives: timed-out when the saga
// gave up waiting for the payment's answer (States.Timeout), fulfilment-failed otherwise.
func TestRefundReason(t *testing.T) {
	for _, tc := range []struct {
		caught workflow.TaskError
		want   string
	}{
		{workflow.TaskError{Error: "States.Timeout", Cause: "the callback did not come"}, events.ReasonTimedOut},
		{workflow.TaskError{Error: "ShipmentRefusedError", Cause: "dangerous goods"}, events.ReasonFulfilmentFailed},
	} {
		f := newFakes()
		id := fixture.OrderID(90)
		placed := f.placed(t, 90, "tok_visa")
		f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentApproved, AmountCents: 4999, Attempts: 1}
		f.provider.charged[PaymentID(id)] = 4999
		caught := tc.caught
		body, err := json.Marshal(taskMessage{Action: workflow.ActionRefund, TaskToken: "tk", Event: fixture.JSON(t, placed), State: approvedState(t, placed), Error: &caught})
		if err != nil {
			t.Fatal(err)
		}
		if resp, _ := f.h.Handle(context.Background(), sqsEvent(msg("m", string(body)))); len(failedIDs(resp)) != 0 {
			t.Fatalf("%s: failed %v", tc.caught.Error, failedIDs(resp))
		}
		var reasons []string
		for _, en := range output(t, f, "tk").State.Entries {
			if e, _ := events.Parse([]byte(en.Detail)); e.Type == events.TypePaymentRefunded {
				p, err := events.DecodePayload[events.PaymentRefunded](e)
				if err != nil {
					t.Fatal(err)
				}
				reasons = append(reasons, p.Reason)
			}
		}
		if !slices.Equal(reasons, []string{tc.want}) {
			t.Errorf("after %s: PaymentRefunded reasons %v, want [%s]", tc.caught.Error, reasons, tc.want)
		}
	}
}

// A message whose taskToken Step Functions never issued (forged onto the queue, or a direct
// invoke) moves no money: a charge for a cancelled order is not taken, a refund of a shipped
// one not given; each is parked with its reason and no task is answered.
func TestForgedTaskToken(t *testing.T) {
	f := newFakes()
	cancelled, shipped := fixture.OrderID(80), fixture.OrderID(81)
	placedCancelled, placedShipped := f.placed(t, 80, "tok_visa"), f.placed(t, 81, "tok_visa")
	f.payments.stored[shipped] = store.Payment{OrderID: shipped, PaymentID: PaymentID(shipped), Status: store.PaymentApproved, AmountCents: 4999, Attempts: 1}
	f.provider.charged[PaymentID(shipped)] = 4999
	f.tasks.forged["tk-forged-1"], f.tasks.forged["tk-forged-2"] = true, true
	resp, err := f.h.Handle(context.Background(), sqsEvent(
		msg("m-1", taskBody(t, "tk-forged-1", placedCancelled, reservedState(t, placedCancelled))),
		msg("m-2", refundBody(t, "tk-forged-2", placedShipped, approvedState(t, placedShipped)))))
	if err != nil || len(failedIDs(resp)) != 0 {
		t.Fatalf("err %v, failed %v: want both parked", err, failedIDs(resp))
	}
	if calls := f.provider.calls; len(calls) != 0 || f.provider.net() != 4999 {
		t.Errorf("provider calls %v, holds %d cents; want none, the shipped order's 4999 untouched", calls, f.provider.net())
	}
	if _, ok := f.payments.stored[cancelled]; ok || f.payments.stored[shipped].Status != store.PaymentApproved {
		t.Errorf("ledger %+v: want nothing for the cancelled order, the shipped one APPROVED", f.payments.stored)
	}
	if len(f.tasks.succeeded) != 0 {
		t.Errorf("answered %v", f.tasks.succeeded)
	}
	if reasons := f.dlq.Reasons(); len(reasons) != 2 || !strings.Contains(reasons[0]+reasons[1], "no task token Step Functions issued") {
		t.Errorf("parked %q, want both, saying why", reasons)
	}
}

// A refund redriven from the dead-letter queue after its task timed out (the saga ended
// RefundFailed) still gives the money back, once, and warns that the order's history will not
// show it; a second delivery of it is a quiet duplicate.
func TestRefundAfterTaskClosed(t *testing.T) {
	id := fixture.OrderID(70)
	f := newFakes()
	placed := f.placed(t, 70, "tok_visa")
	f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentApproved, AmountCents: 4999, Attempts: 1}
	f.provider.charged[PaymentID(id)] = 4999
	f.tasks.closed["tk-late"] = true // timed out
	body := refundBody(t, "tk-late", placed, approvedState(t, placed))
	for i := range 2 {
		resp, err := f.h.Handle(context.Background(), sqsEvent(msg(fmt.Sprintf("m-%d", i), body)))
		if err != nil || len(failedIDs(resp)) != 0 || len(f.dlq.Parked()) != 0 || len(f.tasks.failed) != 0 {
			t.Fatalf("delivery %d: err %v, failed %v, parked %v, task failures %+v", i, err, failedIDs(resp), f.dlq.Parked(), f.tasks.failed)
		}
	}
	if got := f.payments.stored[id].Status; got != store.PaymentRefunded || f.payments.refunds != 1 || f.provider.net() != 0 {
		t.Errorf("ledger %q after %d refunds, provider holds %d; want REFUNDED once, nothing held", got, f.payments.refunds, f.provider.net())
	}
	if _, answered := f.tasks.succeeded["tk-late"]; answered {
		t.Error("a closed task was answered")
	}
	var warned, duplicate int
	for _, l := range fixture.LogRecords(t, f.logs.String()) {
		msg, _ := l["msg"].(string)
		switch {
		case l["level"] == "WARN" && strings.Contains(msg, "PaymentRefunded is not published"):
			warned++
		case msg == "task already closed: duplicate delivery":
			duplicate++
		case msg == "refund done":
			t.Errorf("logged %q for a refund whose task had closed", msg)
		}
	}
	if warned != 1 || duplicate != 1 {
		t.Errorf("%d warnings and %d duplicates logged, want 1 and 1:\n%s", warned, duplicate, f.logs.String())
	}
}

// A refund of a shipped order (a closed task token of another order, or an invoke the queue's
// policy cannot stop) is refused and parked: the money stays, and nothing is told to the task.
// An approved order not shipped yet is sealed before its charge is given back, so that it
// cannot ship after.
func TestRefundNeverLeavesAnOrderThatCanShip(t *testing.T) {
	f := newFakes()
	shipped, open := fixture.OrderID(80), fixture.OrderID(81)
	for n, id := range map[int]string{80: shipped, 81: open} {
		placed := f.placed(t, n, "tok_visa")
		f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentApproved, AmountCents: 4999, Attempts: 1}
		f.provider.charged[PaymentID(id)] = 4999
		f.tasks.closed[fmt.Sprintf("tk-of-another-order-%d", n)] = true
		body := refundBody(t, fmt.Sprintf("tk-of-another-order-%d", n), placed, approvedState(t, placed))
		if n == 80 {
			f.seals.shipped[id] = true
		}
		resp, err := f.h.Handle(context.Background(), sqsEvent(msg(fmt.Sprintf("m-%d", n), body)))
		if err != nil || len(failedIDs(resp)) != 0 {
			t.Fatalf("order %d: err %v, failed %v", n, err, failedIDs(resp))
		}
	}
	if got := f.payments.stored[shipped].Status; got != store.PaymentApproved || f.provider.charged[PaymentID(shipped)] != 4999 {
		t.Errorf("shipped order: ledger %q, provider holds %d; want the charge kept", got, f.provider.charged[PaymentID(shipped)])
	}
	if parked := f.dlq.Reasons(); len(parked) != 1 || !strings.Contains(parked[0], "refund of "+shipped+" refused: the order is shipping") {
		t.Errorf("parked %v, want the shipped order's refund with its reason", parked)
	}
	if got := f.payments.stored[open].Status; got != store.PaymentRefunded || !f.seals.sealed[open] {
		t.Errorf("open order: ledger %q, sealed %v; want sealed, then refunded", got, f.seals.sealed[open])
	}
}

// A charge request that arrives after the order was voided (the workflow gave up waiting and
// compensated) charges nothing: it refunds the payment id at the provider (an earlier delivery
// may have charged it before it stopped) and its task is failed, which Step Functions answers
// as closed.
func TestLateChargeAfterVoid(t *testing.T) {
	id := fixture.OrderID(60)
	f := newFakes()
	placed := f.placed(t, 60, "tok_visa")
	resp, _ := f.h.Handle(context.Background(), sqsEvent(msg("m-refund", refundBody(t, "tk-refund", placed, reservedState(t, placed)))))
	if len(failedIDs(resp)) != 0 || f.payments.stored[id].Status != store.PaymentVoided {
		t.Fatalf("refund of an uncharged order: failed %v, payment %+v", failedIDs(resp), f.payments.stored[id])
	}
	resp, _ = f.h.Handle(context.Background(), sqsEvent(msg("m-charge", taskBody(t, "tk-charge", placed, reservedState(t, placed)))))
	if len(failedIDs(resp)) != 0 || f.payments.records != 0 || f.payments.stored[id].Status != store.PaymentVoided {
		t.Errorf("late charge: failed %v, records %d, payment %+v; want nothing charged", failedIDs(resp), f.payments.records, f.payments.stored[id])
	}
	key := PaymentID(id)
	if want := []string{"refund " + key, "refund " + key}; !slices.Equal(f.provider.calls, want) || f.provider.net() != 0 {
		t.Errorf("provider calls %v, want %v (the void's, the late charge's)", f.provider.calls, want)
	}
	if len(f.tasks.failed) != 1 || f.tasks.failed[0].token != "tk-charge" || !strings.Contains(f.tasks.failed[0].cause, "VOIDED") {
		t.Errorf("task failures = %+v, want the late charge's task failed", f.tasks.failed)
	}
}

// A charge request that finds the payment voided while a delivery that claimed it may still be
// charging (its invocation has not reached its deadline, or the charge it sent may still settle)
// refunds, and then keeps its message: SQS brings it back after the visibility timeout, when that
// charge can no longer land, and it refunds again before letting it go. Let go at once, it would
// leave a duplicate delivery that charged and stopped before refunding nothing to come back.
func TestVoidedWhileAChargeMayBeInFlight(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(fmt.Sprintf("task closed %v", closed), func(t *testing.T) {
			id := fixture.OrderID(63)
			f := newFakes()
			placed := f.placed(t, 63, "tok_visa")
			f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentVoided, AmountCents: 4999, Attempts: 1,
				ClaimedUntil: fixture.Now.Add(3 * time.Second)} // claimed by a delivery still running
			f.tasks.closed["tk-charge"] = closed
			charge := msg("m-charge", taskBody(t, "tk-charge", placed, reservedState(t, placed)))
			key := PaymentID(id)

			resp, _ := f.h.Handle(context.Background(), sqsEvent(charge))
			if got := failedIDs(resp); !slices.Equal(got, []string{"m-charge"}) || !slices.Equal(f.provider.calls, []string{"refund " + key}) {
				t.Fatalf("failed %v, provider calls %v; want a refund, then the message kept for later", got, f.provider.calls)
			}
			if len(f.tasks.failed) != 0 || len(f.tasks.succeeded) != 0 || len(f.dlq.Parked()) != 0 {
				t.Errorf("answered %v / %v, parked %d: want nothing yet", f.tasks.succeeded, f.tasks.failed, len(f.dlq.Parked()))
			}

			f.h.now = func() time.Time { return fixture.Now.Add(30 * time.Second) } // the visibility timeout later
			resp, _ = f.h.Handle(context.Background(), sqsEvent(receive(charge, 2)))
			if got := failedIDs(resp); len(got) != 0 || !slices.Equal(f.provider.calls, []string{"refund " + key, "refund " + key}) {
				t.Errorf("failed %v, provider calls %v; want a second refund, then the message let go", got, f.provider.calls)
			}
			wantFailed := 1 // the open task is failed: the order was compensated
			if closed {
				wantFailed = 0
			}
			if len(f.tasks.failed) != wantFailed || len(f.tasks.succeeded) != 0 {
				t.Errorf("answered %v / %v; want the task failed once if it is open", f.tasks.succeeded, f.tasks.failed)
			}
		})
	}

	// A claim keeps the deadline of the invocation that made it.
	f := newFakes()
	placed := f.placed(t, 64, "tok_visa")
	deadline := time.Now().Add(5 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	f.provider.onCharge = func() {
		if p := f.payments.get(placed.OrderID); p.ClaimedUntil.Before(deadline.Add(-time.Second-time.Millisecond)) || p.ClaimedUntil.After(deadline) {
			t.Errorf("claimed until %s, want the invocation's deadline %s (less the time kept to park)", p.ClaimedUntil, deadline)
		}
	}
	if resp, _ := f.h.Handle(ctx, sqsEvent(msg("m-1", taskBody(t, "tk-1", placed, reservedState(t, placed))))); len(failedIDs(resp)) != 0 {
		t.Errorf("failed %v", failedIDs(resp))
	}
	if !slices.Contains(f.provider.calls, "charge "+PaymentID(placed.OrderID)) {
		t.Errorf("provider calls %v: no charge, so the claim's deadline was not looked at", f.provider.calls)
	}
}

// A charge request whose task has closed (the workflow gave up waiting and compensates) takes
// no money even when the compensation's refund request never arrived (its send failed, and the
// execution ended RefundFailed with nothing parked): it voids the payment, as that request
// would have, refunds the payment id at the provider in case an earlier delivery charged it,
// and answers nothing. One whose payment was decided already changes nothing.
func TestChargeOfAClosedTask(t *testing.T) {
	id := fixture.OrderID(61)
	f := newFakes()
	placed := f.placed(t, 61, "tok_visa")
	f.tasks.closed["tk-late"] = true // timed out
	resp, _ := f.h.Handle(context.Background(), sqsEvent(msg("m-late", taskBody(t, "tk-late", placed, reservedState(t, placed)))))
	if len(failedIDs(resp)) != 0 || f.payments.stored[id].Status != store.PaymentVoided || f.provider.net() != 0 {
		t.Errorf("failed %v, payment %+v, provider holds %d; want done, VOIDED, nothing held", failedIDs(resp), f.payments.stored[id], f.provider.net())
	}
	if key := PaymentID(id); !slices.Equal(f.provider.calls, []string{"refund " + key}) {
		t.Errorf("provider calls %v, want only the refund of %s", f.provider.calls, key)
	}
	if len(f.tasks.failed) != 0 || len(f.tasks.succeeded) != 0 || len(f.dlq.Parked()) != 0 {
		t.Errorf("answered %v / %v, parked %d: want nothing", f.tasks.succeeded, f.tasks.failed, len(f.dlq.Parked()))
	}
	if !strings.Contains(f.logs.String(), "the payment is voided, not charged") {
		t.Errorf("no warning logged: %s", f.logs.String())
	}

	// Decided before the task closed (a redelivery after its answer): the decision stands.
	approved := fixture.OrderID(62)
	placed2 := f.placed(t, 62, "tok_visa")
	resp, _ = f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk-2", placed2, reservedState(t, placed2)))))
	if len(failedIDs(resp)) != 0 || f.payments.stored[approved].Status != store.PaymentApproved {
		t.Fatalf("first delivery: failed %v, payment %+v", failedIDs(resp), f.payments.stored[approved])
	}
	held := f.provider.net()
	resp, _ = f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk-2", placed2, reservedState(t, placed2)))))
	if len(failedIDs(resp)) != 0 || f.payments.stored[approved].Status != store.PaymentApproved || f.provider.net() != held {
		t.Errorf("redelivery after the answer: failed %v, payment %+v, provider %d (was %d); want the approval kept", failedIDs(resp), f.payments.stored[approved], f.provider.net(), held)
	}

	// Refunded since (the order was compensated): a late duplicate is done with, quietly: no
	// answer tried, nothing logged as an error.
	p := f.payments.stored[approved]
	p.Status = store.PaymentRefunded
	f.payments.stored[approved] = p
	f.tasks.closed["tk-2"] = true
	logged := len(f.logs.String())
	resp, _ = f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk-2", placed2, reservedState(t, placed2)))))
	if len(failedIDs(resp)) != 0 || len(f.tasks.failed) != 0 || f.provider.net() != held || strings.Contains(f.logs.String()[logged:], `"level":"ERROR"`) {
		t.Errorf("a late duplicate of a refunded order: failed %v, tasks failed %v, provider %d (was %d), logs %s", failedIDs(resp), f.tasks.failed, f.provider.net(), held, f.logs.String())
	}
}

// A message still failing transiently on its last attempt is parked with the last error as its
// reason, and its waiting task is failed so that the workflow compensates now; before the last
// attempt it is retried. One received again after its last attempt (that attempt crashed or
// timed out) is parked unhandled, saying so, and its task failed too. A refund's task is not
// failed: the saga would cancel the order with its money still taken, and the refund's
// PaymentRefunded goes out through that task once the message is redriven. A message without a
// token is parked and nothing is answered.
func TestLastReceive(t *testing.T) {
	id := fixture.OrderID(70)
	placed := fixture.Placed(t, id, "tok_visa")
	charge := msg("m-1", taskBody(t, "tk", placed, reservedState(t, placed)))
	tests := []struct {
		name          string
		m             lambdaevents.SQSMessage
		setup         func(f fakes)
		wantFailed    bool
		wantReason    string // "" = not parked
		wantTaskFail  bool
		wantUnhandled bool // nothing claimed, no provider call
	}{
		{name: "receive 1: retried", m: receive(charge, 1), setup: func(f fakes) { f.payments.err[id] = errors.New("ThrottlingException") }, wantFailed: true},
		{name: "receive 2: retried", m: receive(charge, 2), setup: func(f fakes) { f.payments.err[id] = errors.New("ThrottlingException") }, wantFailed: true},
		{name: "receive 3, the last attempt: parked, task failed", m: receive(charge, 3), setup: func(f fakes) { f.payments.err[id] = errors.New("ThrottlingException") },
			wantReason: "gave up after 3 receives (maxReceiveCount 4): ThrottlingException", wantTaskFail: true},
		{name: "receive 4, after an attempt that never answered: parked unhandled, task failed", m: receive(charge, 4),
			wantReason: "received 4 times (maxReceiveCount 4) and not handled again", wantTaskFail: true, wantUnhandled: true},
		{name: "refund on its last attempt: parked, its task left waiting for the redrive", m: receive(msg("m-1", refundBody(t, "tk", placed, approvedState(t, placed))), 3),
			setup: func(f fakes) { f.payments.err[id] = errors.New("ThrottlingException") }, wantReason: "ThrottlingException"},
		{name: "refund received after an attempt that never answered: parked unhandled, its task left waiting",
			m: receive(msg("m-1", refundBody(t, "tk", placed, approvedState(t, placed))), 4), wantReason: "received 4 times", wantUnhandled: true},
		{name: "task answer keeps failing: parked, task failed (best effort)", m: receive(charge, 3), setup: func(f fakes) { f.tasks.err = errors.New("sfn down") },
			wantReason: "sfn down"},
		{name: "last receive succeeds", m: receive(charge, 3)},
		{name: "parking fails on the last attempt: failed, received again", m: receive(charge, 3),
			setup: func(f fakes) {
				f.payments.err[id] = errors.New("ThrottlingException")
				f.dlq.Err = errors.New("sqs down")
			}, wantFailed: true},
		{name: "no token on its first receive: parked, nothing answered", m: receive(msg("m-1", `{"event":{}}`), 1), wantReason: "no taskToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fakesWith(placed, tc.setup)
			resp, _ := f.h.Handle(context.Background(), sqsEvent(tc.m))
			if got := len(failedIDs(resp)) == 1; got != tc.wantFailed {
				t.Errorf("failed = %v, want failed %v", failedIDs(resp), tc.wantFailed)
			}
			switch {
			case tc.wantReason == "" && len(f.dlq.Parked()) != 0:
				t.Errorf("parked %+v", f.dlq.Parked())
			case tc.wantReason != "" && (len(f.dlq.Parked()) != 1 || !strings.Contains(f.dlq.Parked()[0].Reason, tc.wantReason) || f.dlq.Parked()[0].Body != tc.m.Body):
				t.Errorf("parked %+v, want the message with a reason containing %q", f.dlq.Parked(), tc.wantReason)
			}
			// A parked message is deleted from the queue at once, not left to the batch's answer.
			if want := len(f.dlq.Parked()); len(f.source.Deleted()) != want || (want == 1 && f.source.Deleted()[0] != paymentsQueue+" rh-m-1") {
				t.Errorf("deleted from the queue %v, want the %d parked", f.source.Deleted(), want)
			}
			if tc.wantUnhandled && (len(f.payments.stored) != 0 || len(f.provider.calls) != 0) {
				t.Errorf("payment %+v, provider calls %v; want the message left unhandled", f.payments.stored, f.provider.calls)
			}
			gotFail := len(f.tasks.failed) == 1 && f.tasks.failed[0].name == errorDeadLettered && f.tasks.failed[0].token == "tk" && strings.Contains(f.tasks.failed[0].cause, tc.wantReason)
			if gotFail != tc.wantTaskFail {
				t.Errorf("task failures %+v, want the task failed with %s: %v", f.tasks.failed, errorDeadLettered, tc.wantTaskFail)
			}
		})
	}
}

// A payment id is stored (the ledger, the provider's idempotency key): a refund after a deploy
// computes it again and must find the charge under it. So the id of an order never changes.
func TestPaymentIDIsStable(t *testing.T) {
	const id, want = "ORD-00000000-0000-4000-8000-000000000001", "3dbeaabe-0201-582b-963b-188e278064f3"
	if got := PaymentID(id); got != want {
		t.Errorf("PaymentID(%s) = %s, want %s, as every deploy before this one computed it", id, got, want)
	}
}
