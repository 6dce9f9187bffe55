package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// The payments ledger's protocol on a real DynamoDB API: a charge claimed twice (a
// processing error retried), its decision, a rival decision and a late claim that reuse it,
// a refund and its redelivery; a payment voided before any claim, and one voided while
// PENDING, that no claim or decision can reopen; a late charge noted once; a decision
// without a claim refused; a record from before PENDING existed, claimed.
func TestEmulatorPaymentsLedger(t *testing.T) {
	db := emulator(t)
	ctx := context.Background()
	name := table(t, db, "orderId")
	payments := NewPayments(db, name)
	type want struct {
		status   string
		attempts int
		ok       bool
	}
	check := func(step string, p store.Payment, ok bool, err error, w want) {
		t.Helper()
		if err != nil || p.Status != w.status || p.Attempts != w.attempts || ok != w.ok || p.OrderID == "" {
			t.Fatalf("%s: %+v ok %v, %v; want %+v", step, p, ok, err, w)
		}
	}
	decision := func(orderID, status string, at time.Time) store.Payment {
		p := store.Payment{OrderID: orderID, PaymentID: "pay-" + orderID, Status: status, AmountCents: 899, CreatedAt: at}
		if status == store.PaymentDeclined {
			p.Reason = "card-declined"
		}
		return p
	}

	p, err := payments.Claim(ctx, "o1", "pay-o1", 899, fixture.Now)
	check("first claim", p, false, err, want{store.PaymentPending, 1, false})
	if p.PaymentID != "pay-o1" || p.AmountCents != 899 {
		t.Errorf("claimed payment = %+v", p)
	}
	p, err = payments.Claim(ctx, "o1", "pay-o1", 899, fixture.Now)
	check("second claim", p, false, err, want{store.PaymentPending, 2, false})
	p, err = payments.Record(ctx, decision("o1", store.PaymentApproved, fixture.Now))
	check("approve", p, false, err, want{store.PaymentApproved, 2, false})
	if p.PaymentID != "pay-o1" || p.AmountCents != 899 || !p.CreatedAt.Equal(fixture.Now) || p.Reason != "" {
		t.Errorf("approved payment = %+v", p)
	}
	p, err = payments.Record(ctx, decision("o1", store.PaymentDeclined, fixture.Now.Add(time.Second)))
	check("rival decision", p, false, err, want{store.PaymentApproved, 2, false})
	p, err = payments.Claim(ctx, "o1", "pay-o1", 899, fixture.Now)
	check("claim after the decision", p, false, err, want{store.PaymentApproved, 2, false})
	p, voided, err := payments.Void(ctx, "o1", fixture.Now)
	check("void after the decision", p, voided, err, want{store.PaymentApproved, 2, false})
	p, marked, err := payments.LateChargeRefunded(ctx, "o1", fixture.Now)
	check("late charge of an approved payment", p, marked, err, want{store.PaymentApproved, 2, false})
	p, refunded, err := payments.Refund(ctx, "o1", fixture.Now.Add(time.Minute))
	check("refund", p, refunded, err, want{store.PaymentRefunded, 2, true})
	if p.AmountCents != 899 || !p.RefundedAt.Equal(fixture.Now.Add(time.Minute)) || !p.CreatedAt.Equal(fixture.Now) {
		t.Errorf("refunded payment = %+v", p)
	}
	p, refunded, err = payments.Refund(ctx, "o1", fixture.Now.Add(time.Hour))
	check("refund again", p, refunded, err, want{store.PaymentRefunded, 2, false})
	if !p.RefundedAt.Equal(fixture.Now.Add(time.Minute)) {
		t.Errorf("a second refund changed the record: %+v", p)
	}
	p, err = payments.Claim(ctx, "o1", "pay-o1", 899, fixture.Now)
	check("claim after the refund", p, false, err, want{store.PaymentRefunded, 2, false})

	p, voided, err = payments.Void(ctx, "o2", fixture.Now)
	check("void before any claim", p, voided, err, want{store.PaymentVoided, 0, true})
	p, err = payments.Claim(ctx, "o2", "pay-o2", 899, fixture.Now)
	check("late claim", p, false, err, want{store.PaymentVoided, 0, false})
	p, err = payments.Record(ctx, decision("o2", store.PaymentApproved, fixture.Now))
	check("late approval", p, false, err, want{store.PaymentVoided, 0, false})
	p, refunded, err = payments.Refund(ctx, "o2", fixture.Now)
	check("refund of a void", p, refunded, err, want{store.PaymentVoided, 0, false})
	p, marked, err = payments.LateChargeRefunded(ctx, "o2", fixture.Now.Add(time.Minute))
	check("late charge refunded", p, marked, err, want{store.PaymentVoided, 0, true})
	p, marked, err = payments.LateChargeRefunded(ctx, "o2", fixture.Now.Add(time.Hour))
	check("late charge refunded again", p, marked, err, want{store.PaymentVoided, 0, true})
	if !p.LateChargeRefundedAt.Equal(fixture.Now.Add(time.Minute)) || !p.RefundedAt.Equal(fixture.Now) {
		t.Errorf("late charge noted as %+v, want the first time kept", p)
	}

	p, err = payments.Claim(ctx, "o3", "pay-o3", 899, fixture.Now.Add(9*time.Second))
	check("claim", p, false, err, want{store.PaymentPending, 1, false})
	p, err = payments.Claim(ctx, "o3", "pay-o3", 899, fixture.Now.Add(2*time.Second)) // a delivery that ends sooner
	check("claim again", p, false, err, want{store.PaymentPending, 2, false})
	p, voided, err = payments.Void(ctx, "o3", fixture.Now)
	check("void while pending", p, voided, err, want{store.PaymentVoided, 2, true})
	if p.PaymentID != "pay-o3" || !p.ClaimedUntil.Equal(fixture.Now.Add(9*time.Second)) {
		t.Errorf("voided payment = %+v, want its payment id and its latest claimant's deadline kept", p)
	}
	p, voided, err = payments.Void(ctx, "o3", fixture.Now.Add(time.Hour))
	check("void again", p, voided, err, want{store.PaymentVoided, 2, false})
	p, err = payments.Record(ctx, decision("o3", store.PaymentDeclined, fixture.Now))
	check("decision after the void", p, false, err, want{store.PaymentVoided, 2, false})

	p, err = payments.Record(ctx, decision("o4", store.PaymentApproved, fixture.Now))
	check("decision without a claim", p, false, err, want{"", 0, false})

	// An item the previous version left: attempts counted, no status.
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name),
		Item: map[string]types.AttributeValue{"orderId": str("o5"), "attempts": num(1)}}); err != nil {
		t.Fatal(err)
	}
	p, err = payments.Claim(ctx, "o5", "pay-o5", 899, fixture.Now)
	check("claim of an old undecided record", p, false, err, want{store.PaymentPending, 2, false})
}
