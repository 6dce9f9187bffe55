package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// legacyPlaced is an OrderPlaced event of version 1 or 2, as an old producer still puts on
// the bus: its payment token travels in the event.
func legacyPlaced(t *testing.T, n, version int, token string) events.Envelope {
	t.Helper()
	id := fixture.OrderID(n)
	var payload any = events.OrderPlacedV2{OrderID: id, CustomerID: fixture.Customer, TotalCents: 4999, Currency: "USD", PaymentToken: token,
		Items: []events.Item{{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}}}
	if version == 1 {
		payload = events.OrderPlacedV1{OrderID: id, CustomerID: fixture.Customer, TotalCents: 4999, PaymentToken: token,
			Items: []events.ItemV1{{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}}}
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: version, Source: events.SourceOrders, OrderID: id, Sequence: 1, Payload: payload, Time: fixture.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// The token comes from the order's payment intent, or, for an order placed as v1 or v2, from
// the event. An intent that is missing, or is another order's or amount's, fails the task
// before the provider is asked (the claim stays PENDING: compensation voids it).
func TestTokenSource(t *testing.T) {
	const n = 80
	id := fixture.OrderID(n)
	tests := []struct {
		name      string
		setup     func(f fakes) (placed events.Envelope, st *workflow.State)
		wantToken string // "" = the task fails, the provider is not asked
		wantCause string
	}{
		{name: "intent", setup: func(f fakes) (events.Envelope, *workflow.State) {
			p := f.placed(t, n, "tok_declined")
			return p, reservedState(t, p)
		}, wantToken: "tok_declined"},
		{name: "legacy v2 event", setup: func(fakes) (events.Envelope, *workflow.State) {
			p := legacyPlaced(t, n, 2, "tok_declined")
			return p, reservedState(t, p)
		}, wantToken: "tok_declined"},
		{name: "legacy v1 event", setup: func(fakes) (events.Envelope, *workflow.State) {
			p := legacyPlaced(t, n, 1, "tok_declined")
			return p, reservedState(t, p)
		}, wantToken: "tok_declined"},
		{name: "no intent", setup: func(fakes) (events.Envelope, *workflow.State) {
			p := fixture.Placed(t, id, "tok_declined")
			return p, reservedState(t, p)
		}, wantCause: "no such record"},
		{name: "another order's intent", setup: func(f fakes) (events.Envelope, *workflow.State) {
			p := f.placed(t, n, "tok_declined")
			in := f.intents.intents[fixture.IntentID(id, "tok_declined")]
			in.OrderID = fixture.OrderID(n + 1)
			f.intents.intents[in.IntentID] = in
			return p, reservedState(t, p)
		}, wantCause: "is order " + fixture.OrderID(n+1) + "'s"},
		{name: "another amount's intent", setup: func(f fakes) (events.Envelope, *workflow.State) {
			p := f.placed(t, n, "tok_declined")
			in := f.intents.intents[fixture.IntentID(id, "tok_declined")]
			in.AmountCents = 1
			f.intents.intents[in.IntentID] = in
			return p, reservedState(t, p)
		}, wantCause: "is for 1 USD"},
		{name: "v3 event without its intent id", setup: func(f fakes) (events.Envelope, *workflow.State) {
			p := f.placed(t, n, "tok_declined")
			st := reservedState(t, p)
			st.Order.PaymentIntentID = ""
			return p, st
		}, wantCause: "carries no payment token"},
		{name: "legacy event without a token", setup: func(fakes) (events.Envelope, *workflow.State) {
			p := legacyPlaced(t, n, 2, "tok_declined")
			st := reservedState(t, p)
			p.Payload = json.RawMessage(strings.Replace(string(p.Payload), `"tok_declined"`, `""`, 1))
			return p, st
		}, wantCause: "OrderPlaced event is not valid (at [/payload/paymentToken])"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			placed, st := tc.setup(f)
			resp, _ := f.h.Handle(context.Background(), sqsEvent(msg("m-1", taskBody(t, "tk", placed, st))))
			if ids := failedIDs(resp); len(ids) != 0 || len(f.dlq.Parked()) != 0 {
				t.Fatalf("failed %v, parked %v", ids, f.dlq.Parked())
			}
			if tc.wantToken != "" {
				doc := output(t, f, "tk")
				if !slices.Equal(f.provider.tokens, []string{tc.wantToken}) || doc.State.Outcome != workflow.OutcomeDeclined || doc.State.Reason != "card-declined" {
					t.Errorf("charged with %v: outcome %q %q", f.provider.tokens, doc.State.Outcome, doc.State.Reason)
				}
				return
			}
			if len(f.provider.calls) != 0 || len(f.tasks.failed) != 1 || f.tasks.failed[0].name != "InvalidInputError" || !strings.Contains(f.tasks.failed[0].cause, tc.wantCause) {
				t.Fatalf("provider calls %v, task failures %+v; want the task failed with %q", f.provider.calls, f.tasks.failed, tc.wantCause)
			}
			if strings.Contains(f.tasks.failed[0].cause, "tok_declined") || strings.Contains(f.logs.String(), "tok_declined") {
				t.Errorf("the token leaked: cause %q", f.tasks.failed[0].cause)
			}
			if p := f.payments.get(id); p.Status != store.PaymentPending || p.Attempts != 1 {
				t.Errorf("payment = %+v, want the claim left PENDING for compensation to void", p)
			}
		})
	}
}

// A charge the provider approves while compensation voids the payment (the workflow gave up
// waiting) is given back at once, noted on the ledger, and its task failed.
func TestLateChargeRefunded(t *testing.T) {
	f := newFakes()
	placed := f.placed(t, 90, "tok_visa")
	id := placed.OrderID
	refund := msg("m-refund", refundBody(t, "tk-refund", placed, reservedState(t, placed)))
	f.provider.onCharge = func() {
		f.provider.onCharge = nil
		if resp, _ := f.h.Handle(context.Background(), sqsEvent(refund)); len(failedIDs(resp)) != 0 {
			t.Errorf("refund failed: %v", failedIDs(resp))
		}
	}
	resp, _ := f.h.Handle(context.Background(), sqsEvent(msg("m-charge", taskBody(t, "tk-charge", placed, reservedState(t, placed)))))
	if len(failedIDs(resp)) != 0 {
		t.Fatalf("charge failed: %v", failedIDs(resp))
	}
	key := PaymentID(id)
	if want := []string{"refund " + key, "charge " + key, "refund " + key}; !slices.Equal(f.provider.calls, want) || f.provider.charged[key] != 4999 || f.provider.net() != 0 {
		t.Errorf("provider calls %v, holds %d; want %v and nothing kept", f.provider.calls, f.provider.net(), want)
	}
	p := f.payments.get(id)
	if p.Status != store.PaymentVoided || !p.LateChargeRefundedAt.Equal(fixture.Now) || f.payments.records != 0 {
		t.Errorf("payment = %+v (%d records), want VOIDED with the late charge noted", p, f.payments.records)
	}
	if len(f.tasks.failed) != 1 || f.tasks.failed[0].token != "tk-charge" || !strings.Contains(f.tasks.failed[0].cause, "VOIDED") {
		t.Errorf("task failures %+v, want the charge's task failed", f.tasks.failed)
	}
	if doc := output(t, f, "tk-refund"); doc.State.Outcome != workflow.OutcomeReserved || len(doc.State.Entries) != 0 {
		t.Errorf("refund output %+v: want nothing to tell", doc.State)
	}
	if !strings.Contains(f.logs.String(), "late charge refunded") {
		t.Errorf("no warning logged:\n%s", f.logs.String())
	}
}

// No log line, task output, failure cause or parked message the payment function writes
// holds a payment token, over whole charge and refund runs: approvals, a processing error
// and its redelivery, a decline, a late charge, a bad intent, and a legacy order.
func TestTokenNeverLeaks(t *testing.T) {
	tokens := []string{"tok_visa", "tok_processing_error", "tok_declined", "tok_legacy_secret_9f3a"}
	f := newFakes()
	ctx := context.Background()
	run := func(m string, body string, n int) {
		t.Helper()
		if _, err := f.h.Handle(ctx, sqsEvent(receive(msg(m, body), n))); err != nil {
			t.Fatal(err)
		}
	}
	chargeAndRefund := func(placed events.Envelope, receives int) {
		st := reservedState(t, placed)
		for r := 1; r <= receives; r++ {
			run("charge", taskBody(t, "tk-charge-"+placed.OrderID, placed, st), r)
		}
		run("refund", refundBody(t, "tk-refund-"+placed.OrderID, placed, st), 1)
	}
	chargeAndRefund(f.placed(t, 100, "tok_visa"), 1)
	chargeAndRefund(f.placed(t, 101, "tok_processing_error"), 2)
	chargeAndRefund(f.placed(t, 102, "tok_declined"), 1)
	late := f.placed(t, 103, "tok_visa")
	f.provider.onCharge = func() {
		f.provider.onCharge = nil
		run("refund", refundBody(t, "tk-refund-late", late, reservedState(t, late)), 1)
	}
	run("charge", taskBody(t, "tk-charge-late", late, reservedState(t, late)), 1)
	bad := f.placed(t, 104, "tok_visa")
	in := f.intents.intents[fixture.IntentID(bad.OrderID, "tok_visa")]
	in.AmountCents++
	f.intents.intents[in.IntentID] = in
	chargeAndRefund(bad, 1)
	run("poison", taskBody(t, "", bad, reservedState(t, bad)), maxReceiveCount) // no task token: parked
	legacy := legacyPlaced(t, 105, 2, "tok_legacy_secret_9f3a")
	chargeAndRefund(legacy, 1)

	if len(f.provider.tokens) < 6 || !slices.Contains(f.provider.tokens, "tok_legacy_secret_9f3a") {
		t.Fatalf("the runs did not reach the provider: %v", f.provider.tokens)
	}
	logs := f.logs.String()
	for _, want := range []string{"payment decided", "refund done", "late charge refunded", "payment task failed", "processing error", "message parked"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the runs logged no %q", want)
		}
	}
	written := []string{logs}
	for token, out := range f.tasks.succeeded {
		if !strings.Contains(out, `"paymentIntentId"`) {
			// A legacy order's output carries the execution's own OrderPlaced event, as it
			// came (the token travels in it from the start): check all but that event.
			var doc workflow.Doc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			doc.Event = nil
			b, _ := json.Marshal(doc)
			out = string(b)
		}
		written = append(written, token+" "+out)
	}
	for _, fl := range f.tasks.failed {
		written = append(written, fl.name+" "+fl.cause)
	}
	for _, p := range f.dlq.Parked() {
		written = append(written, p.Body+" "+p.Reason)
	}
	for _, w := range written {
		for _, tok := range tokens {
			if strings.Contains(w, tok) {
				t.Errorf("token %s leaked into: %.300s", tok, w)
			}
		}
	}
}
