package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// The ledger's contract, run against the in-memory ledger the interleaving tests use and
// against the DynamoDB adapter on the emulator (when ORDERFLOW_TEST_ENDPOINT is set): the
// same moves under the same conditions, so that what the interleavings prove of the fake
// holds of the adapter.
func TestLedgerContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) { ledgerContract(t, newMemLedger()) })
	t.Run("emulator", func(t *testing.T) {
		db := dynamodb.NewFromConfig(fixture.Emulator(t))
		ledgerContract(t, dynamo.NewPayments(db, paymentsTable(t, db)))
	})
}

func ledgerContract(t *testing.T, l paymentLedger) {
	ctx := context.Background()
	type want struct {
		status   string
		attempts int
		moved    bool
	}
	// outcome is what one call gave: the payment, whether the call moved it, the error. got
	// takes a call's three results whole, so that a step is one line: check(step, got(call), want).
	type outcome struct {
		p     store.Payment
		moved bool
		err   error
	}
	got := func(p store.Payment, moved bool, err error) outcome { return outcome{p, moved, err} }
	check := func(step string, o outcome, w want) store.Payment {
		t.Helper()
		if o.err != nil || o.p.Status != w.status || o.p.Attempts != w.attempts || o.moved != w.moved {
			t.Fatalf("%s: %+v moved %v, %v; want %+v", step, o.p, o.moved, o.err, w)
		}
		return o.p
	}
	decision := func(orderID, status string) store.Payment {
		return store.Payment{OrderID: orderID, PaymentID: PaymentID(orderID), Status: status, AmountCents: 899, CreatedAt: fixture.Now}
	}
	claimUntil := func(orderID string, until time.Time) (store.Payment, bool, error) {
		p, err := l.Claim(ctx, orderID, PaymentID(orderID), 899, until)
		return p, p.Status == store.PaymentPending, err
	}
	claim := func(orderID string) (store.Payment, bool, error) {
		return claimUntil(orderID, fixture.Now.Add(5*time.Second))
	}
	record := func(p store.Payment) (store.Payment, bool, error) {
		got, err := l.Record(ctx, p)
		return got, got.Status == p.Status && got.CreatedAt.Equal(p.CreatedAt), err
	}
	later := fixture.Now.Add(time.Hour)

	// Charged after a retry, then refunded twice.
	o1 := fixture.OrderID(1)
	check("claim", got(claim(o1)), want{store.PaymentPending, 1, true})
	check("claim again", got(claim(o1)), want{store.PaymentPending, 2, true})
	check("approve", got(record(decision(o1, store.PaymentApproved))), want{store.PaymentApproved, 2, true})
	check("a rival decision", got(record(decision(o1, store.PaymentDeclined))), want{store.PaymentApproved, 2, false})
	check("claim a decided payment", got(claim(o1)), want{store.PaymentApproved, 2, false})
	check("void a decided payment", got(l.Void(ctx, o1, later)), want{store.PaymentApproved, 2, false})
	check("late charge of an approved payment", got(l.LateChargeRefunded(ctx, o1, later)), want{store.PaymentApproved, 2, false})
	p := check("refund", got(l.Refund(ctx, o1, later)), want{store.PaymentRefunded, 2, true})
	if p.PaymentID != PaymentID(o1) || p.AmountCents != 899 || !p.RefundedAt.Equal(later) || !p.CreatedAt.Equal(fixture.Now) {
		t.Errorf("refunded payment = %+v", p)
	}
	check("refund again", got(l.Refund(ctx, o1, later.Add(time.Hour))), want{store.PaymentRefunded, 2, false})
	check("claim a refunded payment", got(claim(o1)), want{store.PaymentRefunded, 2, false})

	// Voided while PENDING: a charge in flight can neither record nor claim again. The latest
	// claimant's deadline is kept, whichever claim came last, and the void keeps it.
	o2 := fixture.OrderID(2)
	latest := fixture.Now.Add(9 * time.Second)
	check("claim", got(claimUntil(o2, latest)), want{store.PaymentPending, 1, true})
	p = check("claim by a delivery that ends sooner", got(claimUntil(o2, fixture.Now.Add(2*time.Second))), want{store.PaymentPending, 2, true})
	if !p.ClaimedUntil.Equal(latest) {
		t.Errorf("claimed until %s, want the latest claimant's deadline %s", p.ClaimedUntil, latest)
	}
	p = check("void while pending", got(l.Void(ctx, o2, later)), want{store.PaymentVoided, 2, true})
	if !p.ClaimedUntil.Equal(latest) {
		t.Errorf("voided payment claimed until %s, want %s kept", p.ClaimedUntil, latest)
	}
	p = check("void again", got(l.Void(ctx, o2, later.Add(time.Hour))), want{store.PaymentVoided, 2, false})
	if !p.RefundedAt.Equal(later) {
		t.Errorf("voided payment = %+v, want the first void's time", p)
	}
	check("approve after the void", got(record(decision(o2, store.PaymentApproved))), want{store.PaymentVoided, 2, false})
	check("claim after the void", got(claim(o2)), want{store.PaymentVoided, 2, false})
	check("refund a void", got(l.Refund(ctx, o2, later)), want{store.PaymentVoided, 2, false})
	check("late charge refunded", got(l.LateChargeRefunded(ctx, o2, later)), want{store.PaymentVoided, 2, true})
	p = check("late charge refunded again", got(l.LateChargeRefunded(ctx, o2, later.Add(time.Hour))), want{store.PaymentVoided, 2, true})
	if !p.LateChargeRefundedAt.Equal(later) {
		t.Errorf("payment = %+v, want the first late refund's time kept", p)
	}

	// Voided before any claim; declined; decided without a claim.
	o3 := fixture.OrderID(3)
	check("void before any claim", got(l.Void(ctx, o3, later)), want{store.PaymentVoided, 0, true})
	check("claim after the void", got(claim(o3)), want{store.PaymentVoided, 0, false})
	o4 := fixture.OrderID(4)
	_, _, _ = claim(o4)
	declined := decision(o4, store.PaymentDeclined)
	declined.Reason = "card-declined"
	p = check("decline", got(record(declined)), want{store.PaymentDeclined, 1, true})
	if p.Reason != "card-declined" {
		t.Errorf("declined payment = %+v", p)
	}
	check("void a decline", got(l.Void(ctx, o4, later)), want{store.PaymentDeclined, 1, false})
	check("refund a decline", got(l.Refund(ctx, o4, later)), want{store.PaymentDeclined, 1, false})
	o5 := fixture.OrderID(5)
	check("decide without a claim", got(record(decision(o5, store.PaymentApproved))), want{"", 0, false})
	check("refund nothing", got(l.Refund(ctx, o5, later)), want{"", 0, false})
}

// paymentsTable creates a payments table (pk orderId) on the emulator, deleted after the test.
func paymentsTable(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	return fixture.KeyTable(t, db, "orderId")
}
