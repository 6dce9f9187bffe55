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
	check := func(step string, p store.Payment, moved bool, err error, w want) {
		t.Helper()
		if err != nil || p.Status != w.status || p.Attempts != w.attempts || moved != w.moved {
			t.Fatalf("%s: %+v moved %v, %v; want %+v", step, p, moved, err, w)
		}
	}
	decision := func(orderID, status string) store.Payment {
		return store.Payment{OrderID: orderID, PaymentID: PaymentID(orderID), Status: status, AmountCents: 899, CreatedAt: fixture.Now}
	}
	claim := func(orderID string) (store.Payment, bool, error) {
		p, err := l.Claim(ctx, orderID, PaymentID(orderID), 899)
		return p, p.Status == store.PaymentPending, err
	}
	record := func(p store.Payment) (store.Payment, bool, error) {
		got, err := l.Record(ctx, p)
		return got, got.Status == p.Status && got.CreatedAt.Equal(p.CreatedAt), err
	}
	later := fixture.Now.Add(time.Hour)

	// Charged after a retry, then refunded twice.
	o1 := fixture.OrderID(1)
	p, moved, err := claim(o1)
	check("claim", p, moved, err, want{store.PaymentPending, 1, true})
	p, moved, err = claim(o1)
	check("claim again", p, moved, err, want{store.PaymentPending, 2, true})
	p, moved, err = record(decision(o1, store.PaymentApproved))
	check("approve", p, moved, err, want{store.PaymentApproved, 2, true})
	p, moved, err = record(decision(o1, store.PaymentDeclined))
	check("a rival decision", p, moved, err, want{store.PaymentApproved, 2, false})
	p, moved, err = claim(o1)
	check("claim a decided payment", p, moved, err, want{store.PaymentApproved, 2, false})
	p, moved, err = l.Void(ctx, o1, later)
	check("void a decided payment", p, moved, err, want{store.PaymentApproved, 2, false})
	p, moved, err = l.LateChargeRefunded(ctx, o1, later)
	check("late charge of an approved payment", p, moved, err, want{store.PaymentApproved, 2, false})
	p, moved, err = l.Refund(ctx, o1, later)
	check("refund", p, moved, err, want{store.PaymentRefunded, 2, true})
	if p.PaymentID != PaymentID(o1) || p.AmountCents != 899 || !p.RefundedAt.Equal(later) || !p.CreatedAt.Equal(fixture.Now) {
		t.Errorf("refunded payment = %+v", p)
	}
	p, moved, err = l.Refund(ctx, o1, later.Add(time.Hour))
	check("refund again", p, moved, err, want{store.PaymentRefunded, 2, false})
	p, moved, err = claim(o1)
	check("claim a refunded payment", p, moved, err, want{store.PaymentRefunded, 2, false})

	// Voided while PENDING: a charge in flight can neither record nor claim again.
	o2 := fixture.OrderID(2)
	p, moved, err = claim(o2)
	check("claim", p, moved, err, want{store.PaymentPending, 1, true})
	p, moved, err = l.Void(ctx, o2, later)
	check("void while pending", p, moved, err, want{store.PaymentVoided, 1, true})
	p, moved, err = l.Void(ctx, o2, later.Add(time.Hour))
	check("void again", p, moved, err, want{store.PaymentVoided, 1, false})
	if !p.RefundedAt.Equal(later) {
		t.Errorf("voided payment = %+v, want the first void's time", p)
	}
	p, moved, err = record(decision(o2, store.PaymentApproved))
	check("approve after the void", p, moved, err, want{store.PaymentVoided, 1, false})
	p, moved, err = claim(o2)
	check("claim after the void", p, moved, err, want{store.PaymentVoided, 1, false})
	p, moved, err = l.Refund(ctx, o2, later)
	check("refund a void", p, moved, err, want{store.PaymentVoided, 1, false})
	p, moved, err = l.LateChargeRefunded(ctx, o2, later)
	check("late charge refunded", p, moved, err, want{store.PaymentVoided, 1, true})
	p, moved, err = l.LateChargeRefunded(ctx, o2, later.Add(time.Hour))
	check("late charge refunded again", p, moved, err, want{store.PaymentVoided, 1, true})
	if !p.LateChargeRefundedAt.Equal(later) {
		t.Errorf("payment = %+v, want the first late refund's time kept", p)
	}

	// Voided before any claim; declined; decided without a claim.
	o3 := fixture.OrderID(3)
	p, moved, err = l.Void(ctx, o3, later)
	check("void before any claim", p, moved, err, want{store.PaymentVoided, 0, true})
	p, moved, err = claim(o3)
	check("claim after the void", p, moved, err, want{store.PaymentVoided, 0, false})
	o4 := fixture.OrderID(4)
	_, _, _ = claim(o4)
	declined := decision(o4, store.PaymentDeclined)
	declined.Reason = "card-declined"
	p, moved, err = record(declined)
	check("decline", p, moved, err, want{store.PaymentDeclined, 1, true})
	if p.Reason != "card-declined" {
		t.Errorf("declined payment = %+v", p)
	}
	p, moved, err = l.Void(ctx, o4, later)
	check("void a decline", p, moved, err, want{store.PaymentDeclined, 1, false})
	p, moved, err = l.Refund(ctx, o4, later)
	check("refund a decline", p, moved, err, want{store.PaymentDeclined, 1, false})
	o5 := fixture.OrderID(5)
	p, moved, err = record(decision(o5, store.PaymentApproved))
	check("decide without a claim", p, moved, err, want{"", 0, false})
	p, moved, err = l.Refund(ctx, o5, later)
	check("refund nothing", p, moved, err, want{"", 0, false})
}

// paymentsTable creates a payments table (pk orderId) on the emulator, deleted after the test.
func paymentsTable(t *testing.T, db *dynamodb.Client) string {
	t.Helper()
	return fixture.KeyTable(t, db, "orderId")
}
