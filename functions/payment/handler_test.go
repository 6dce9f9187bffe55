package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// --- recording fakes

// fakePayments keeps the first payment per order, as the conditional put does.
type fakePayments struct {
	stored map[string]store.Payment
	puts   int
	err    map[string]error // per order id
	panics bool
}

func (f *fakePayments) Record(_ context.Context, p store.Payment) (store.Payment, error) {
	if f.panics {
		panic("boom")
	}
	if err := f.err[p.OrderID]; err != nil {
		return store.Payment{}, err
	}
	f.puts++
	if old, ok := f.stored[p.OrderID]; ok {
		return old, nil
	}
	f.stored[p.OrderID] = p
	return p, nil
}

type failure struct{ token, name, cause string }

// fakeTasks answers a token once; later answers get ErrTaskClosed, as Step Functions does.
type fakeTasks struct {
	succeeded map[string]string // token -> output
	failed    []failure
	closed    map[string]bool
	err       error
}

func (f *fakeTasks) answer(token string) error {
	if f.err != nil {
		return f.err
	}
	if f.closed[token] {
		return fmt.Errorf("send task success: %w", tasks.ErrTaskClosed)
	}
	f.closed[token] = true
	return nil
}

func (f *fakeTasks) Succeed(_ context.Context, token, output string) error {
	if err := f.answer(token); err != nil {
		return err
	}
	f.succeeded[token] = output
	return nil
}

func (f *fakeTasks) Fail(_ context.Context, token, name, cause string) error {
	if err := f.answer(token); err != nil {
		return err
	}
	f.failed = append(f.failed, failure{token, name, cause})
	return nil
}

type parked struct{ body, reason string }

type fakeDLQ struct {
	parked []parked
	err    error
}

func (f *fakeDLQ) Park(_ context.Context, body []byte, reason string) error {
	if f.err != nil {
		return f.err
	}
	f.parked = append(f.parked, parked{string(body), reason})
	return nil
}

type fakes struct {
	h        *Handler
	payments *fakePayments
	tasks    *fakeTasks
	dlq      *fakeDLQ
}

func newFakes() fakes {
	f := fakes{
		payments: &fakePayments{stored: map[string]store.Payment{}, err: map[string]error{}},
		tasks:    &fakeTasks{succeeded: map[string]string{}, closed: map[string]bool{}},
		dlq:      &fakeDLQ{},
	}
	f.h = newHandler("orders", f.payments, f.tasks, f.dlq, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.h.now = func() time.Time { return fixture.Now }
	return f
}

// reservedState is the state after the inventory task reserved the order's stock.
func reservedState(t *testing.T, placed events.Envelope) *workflow.State {
	t.Helper()
	st, err := workflow.Start(placed)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Emit("orders", events.TypeInventoryReserved, events.SourceInventory,
		events.InventoryReserved{OrderID: placed.OrderID, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}, fixture.Now); err != nil {
		t.Fatal(err)
	}
	st.Outcome = workflow.OutcomeReserved
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
	return lambdaevents.SQSMessage{MessageId: id, Body: body, EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:payments"}
}

func failedIDs(resp lambdaevents.SQSEventResponse) []string {
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	sort.Strings(ids)
	return ids
}

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
	var batch []lambdaevents.SQSMessage
	for i, o := range orders {
		placed := fixture.Placed(t, fixture.OrderID(i), o.token)
		batch = append(batch, msg(fmt.Sprintf("m-%d", i), taskBody(t, "token-"+o.token, placed, reservedState(t, placed))))
	}
	f := newFakes()
	resp, err := f.h.Handle(context.Background(), sqsEvent(fixture.TwiceShuffled(7, batch)...))
	if err != nil {
		t.Fatal(err)
	}
	if ids := failedIDs(resp); len(ids) != 0 {
		t.Fatalf("failed = %v", ids)
	}
	if b, _ := json.Marshal(resp); string(b) != `{"batchItemFailures":[]}` { // never null: MiniStack's poller crashes on it
		t.Errorf("response = %s", b)
	}
	if len(f.payments.stored) != len(orders) || len(f.tasks.succeeded) != len(orders) || len(f.tasks.failed) != 0 || len(f.dlq.parked) != 0 {
		t.Fatalf("payments %d, answers %d, failures %d, parked %d", len(f.payments.stored), len(f.tasks.succeeded), len(f.tasks.failed), len(f.dlq.parked))
	}
	for i, o := range orders {
		t.Run(o.token, func(t *testing.T) {
			id := fixture.OrderID(i)
			p := f.payments.stored[id]
			if p.PaymentID != PaymentID(id) || p.AmountCents != 4999 || p.Reason != o.wantReason {
				t.Errorf("payment = %+v", p)
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
	placed := fixture.Placed(t, id, "tok_visa")
	f := newFakes()
	f.payments.stored[id] = store.Payment{OrderID: id, PaymentID: PaymentID(id), Status: store.PaymentDeclined, Reason: "card-declined", AmountCents: 4999}
	if _, err := f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk", placed, reservedState(t, placed))))); err != nil {
		t.Fatal(err)
	}
	if out := f.tasks.succeeded["tk"]; !strings.Contains(out, `"outcome":"declined"`) {
		t.Errorf("output = %s", out)
	}
}

func TestPoisonAndFailures(t *testing.T) {
	placed := fixture.Placed(t, fixture.OrderID(20), "tok_visa")
	good := taskBody(t, "tk-good", placed, reservedState(t, placed))
	tests := []struct {
		name         string
		body         string
		setup        func(f fakes)
		wantFailed   []string
		wantParked   string // reason substring
		wantTaskFail bool
		wantAnswered bool
	}{
		{name: "unparseable body is parked", body: "{not json", wantParked: "not a payment task"},
		{name: "no task token is parked", body: `{"event":{},"state":null}`, wantParked: "no taskToken"},
		{name: "token without state fails the task", body: `{"taskToken":"tk-bad","event":{}}`, wantTaskFail: true},
		{name: "token with a broken state fails the task", body: `{"taskToken":"tk-bad","state":{"order":{"orderId":"nope"},"correlationId":"x","sequence":2}}`, wantTaskFail: true},
		{name: "state that cannot emit fails the task", body: func() string {
			st := reservedState(t, placed)
			st.Order.TotalCents = -1 // the schemas want cents >= 0: the event cannot be emitted
			return taskBody(t, "tk-bad", placed, st)
		}(), wantTaskFail: true},
		{name: "store throttled: retried", body: good, setup: func(f fakes) { f.payments.err[fixture.OrderID(20)] = errors.New("throttled") }, wantFailed: []string{"m-1"}},
		{name: "task answer throttled: retried", body: good, setup: func(f fakes) { f.tasks.err = errors.New("throttled") }, wantFailed: []string{"m-1"}},
		{name: "task already answered: done", body: good, setup: func(f fakes) { f.tasks.closed["tk-good"] = true }},
		{name: "dead-letter queue down: retried", body: "{", setup: func(f fakes) { f.dlq.err = errors.New("down") }, wantFailed: []string{"m-1"}},
		{name: "panic: retried", body: good, setup: func(f fakes) { f.payments.panics = true }, wantFailed: []string{"m-1"}},
		{name: "healthy", body: good, wantAnswered: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			if tc.setup != nil {
				tc.setup(f)
			}
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
				if len(f.dlq.parked) != 1 || !strings.Contains(f.dlq.parked[0].reason, tc.wantParked) || f.dlq.parked[0].body != tc.body {
					t.Errorf("parked = %+v, want reason with %q", f.dlq.parked, tc.wantParked)
				}
			case len(f.dlq.parked) != 0:
				t.Errorf("parked = %+v", f.dlq.parked)
			}
			if got := len(f.tasks.failed) == 1 && f.tasks.failed[0].name == "InvalidInputError" && f.tasks.failed[0].cause != ""; got != tc.wantTaskFail {
				t.Errorf("task failures = %+v", f.tasks.failed)
			}
			if tc.wantTaskFail && f.payments.puts != 0 && strings.Contains(tc.body, "nope") {
				t.Errorf("a payment was recorded for a broken state")
			}
			if got := len(f.tasks.succeeded) == 1; got != tc.wantAnswered {
				t.Errorf("answered = %v", f.tasks.succeeded)
			}
		})
	}
}

// Only the failing message of a batch is reported, by its MessageId.
func TestBatchReportsOnlyFailures(t *testing.T) {
	var batch []lambdaevents.SQSMessage
	for i := range 4 {
		placed := fixture.Placed(t, fixture.OrderID(30+i), "tok_visa")
		batch = append(batch, msg(fmt.Sprintf("m-%d", i), taskBody(t, fmt.Sprintf("tk-%d", i), placed, reservedState(t, placed))))
	}
	batch = append(batch, msg("m-poison", "{"))
	f := newFakes()
	f.payments.err[fixture.OrderID(32)] = errors.New("throttled")
	resp, _ := f.h.Handle(context.Background(), sqsEvent(batch...))
	if got := failedIDs(resp); !reflect.DeepEqual(got, []string{"m-2"}) {
		t.Errorf("failed = %v, want [m-2]", got)
	}
	if len(f.tasks.succeeded) != 3 || len(f.dlq.parked) != 1 {
		t.Errorf("answered %d, parked %d", len(f.tasks.succeeded), len(f.dlq.parked))
	}
}
