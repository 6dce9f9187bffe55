package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// payment is a payments item as DynamoDB returns it, at status after attempts claims.
func payment(status string, attempts int) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"orderId": str("o"), "attempts": num(attempts)}
	if attempts > 0 {
		item["paymentId"], item["amountCents"] = str("p"), num(4999)
	}
	if status != "" {
		item["status"] = str(status)
	}
	if status == store.PaymentApproved || status == store.PaymentDeclined || status == store.PaymentRefunded {
		item["createdAt"] = str("2026-02-01T00:00:00Z")
	}
	if status == store.PaymentDeclined {
		item["reason"] = str("card-declined")
	}
	if status == store.PaymentRefunded || status == store.PaymentVoided {
		item["refundedAt"] = str("2026-02-02T00:00:00Z")
	}
	return item
}

func updateFailed(old map[string]types.AttributeValue) error {
	return sdkErr("UpdateItem", &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed"), Item: old})
}

// ledgerCase is one scripted call of a ledger method: the UpdateItem answer, and the GetItem
// answer when the failed condition does not return the item.
type ledgerCase struct {
	name       string
	answer     updateAnswer
	got        map[string]types.AttributeValue
	wantStatus string
	wantOK     bool // the condition held: this call made the move (as the method reports it)
	wantGets   int
	wantErr    bool
}

// runLedgerCases runs call once per case against a scripted client and checks the answer and
// the one conditional update it sent.
func runLedgerCases(t *testing.T, cases []ledgerCase, wantExpr, wantCond string, wantValues map[string]string,
	call func(ps *Payments) (store.Payment, bool, error),
) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{updateAnswers: []updateAnswer{tc.answer}, getAnswers: []map[string]types.AttributeValue{tc.got}}
			got, ok, err := call(NewPayments(db, "payments"))
			if (err != nil) != tc.wantErr || got.Status != tc.wantStatus || ok != tc.wantOK || len(db.gets) != tc.wantGets {
				t.Fatalf("got %+v, ok %v, %v (gets %d); want %q, ok %v", got, ok, err, len(db.gets), tc.wantStatus, tc.wantOK)
			}
			if !tc.wantErr && got.OrderID != "o" {
				t.Errorf("payment = %+v", got)
			}
			if len(db.gets) > 0 && !aws.ToBool(db.gets[0].ConsistentRead) {
				t.Error("the current record is read without ConsistentRead")
			}
			checkUpdate(t, db.updates, wantExpr, wantCond, wantValues)
		})
	}
}

func checkUpdate(t *testing.T, updates []*dynamodb.UpdateItemInput, wantExpr, wantCond string, wantValues map[string]string) {
	t.Helper()
	if len(updates) != 1 {
		t.Fatalf("%d updates, want 1", len(updates))
	}
	u := updates[0]
	if aws.ToString(u.UpdateExpression) != wantExpr || aws.ToString(u.ConditionExpression) != wantCond || aws.ToString(u.TableName) != "payments" ||
		u.ExpressionAttributeNames["#status"] != "status" || getS(u.Key, "orderId") != "o" ||
		u.ReturnValues != types.ReturnValueAllNew || u.ReturnValuesOnConditionCheckFailure != types.ReturnValuesOnConditionCheckFailureAllOld {
		t.Errorf("update = %q if %q (%+v)", aws.ToString(u.UpdateExpression), aws.ToString(u.ConditionExpression), u)
	}
	for name, want := range wantValues {
		if got := fmt.Sprint(u.ExpressionAttributeValues[name]); got != fmt.Sprint(str(want)) && got != fmt.Sprint(&types.AttributeValueMemberN{Value: want}) {
			t.Errorf("value %s = %s, want %s", name, got, want)
		}
	}
}

// Get reads the order's payment consistently; no item is a payment with no status.
func TestPaymentsGet(t *testing.T) {
	stored := map[string]types.AttributeValue{"orderId": str("o"), "paymentId": str("p"), "status": str(store.PaymentApproved), "amountCents": num(4999)}
	db := &fakeDB{getAnswers: []map[string]types.AttributeValue{stored, nil}}
	ps := NewPayments(db, "payments")
	if p, err := ps.Get(context.Background(), "o"); err != nil || p.Status != store.PaymentApproved || p.AmountCents != 4999 || p.OrderID != "o" {
		t.Errorf("Get = %+v, %v", p, err)
	}
	if p, err := ps.Get(context.Background(), "o"); err != nil || p.Status != "" {
		t.Errorf("Get of no item = %+v, %v; want no status", p, err)
	}
	if !aws.ToBool(db.gets[0].ConsistentRead) || getS(db.gets[0].Key, "orderId") != "o" {
		t.Errorf("read %+v, want a consistent read by orderId", db.gets[0])
	}
}

func TestPaymentsClaim(t *testing.T) {
	cases := []ledgerCase{
		{name: "first claim", answer: updateAnswer{item: payment(store.PaymentPending, 1)}, wantStatus: store.PaymentPending, wantOK: true},
		{name: "claimed again after a failed attempt", answer: updateAnswer{item: payment(store.PaymentPending, 2)}, wantStatus: store.PaymentPending, wantOK: true},
		{name: "decided: the decision is returned, nothing counted", answer: updateAnswer{err: updateFailed(payment(store.PaymentApproved, 2))}, wantStatus: store.PaymentApproved},
		{name: "decided, read back", answer: updateAnswer{err: updateFailed(nil)}, got: payment(store.PaymentDeclined, 1), wantStatus: store.PaymentDeclined, wantGets: 1},
		{name: "voided by compensation", answer: updateAnswer{err: updateFailed(payment(store.PaymentVoided, 1))}, wantStatus: store.PaymentVoided},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	runLedgerCases(t, cases, "SET #status = :pending, paymentId = :paymentId, amountCents = :amount ADD attempts :one, claimsUntil :until",
		"attribute_not_exists(#status) OR #status = :pending", map[string]string{":pending": "PENDING", ":paymentId": "p", ":amount": "4999", ":one": "1"},
		func(ps *Payments) (store.Payment, bool, error) {
			p, err := ps.Claim(context.Background(), "o", "p", 4999, fixture.Now)
			return p, p.Status == store.PaymentPending, err
		})
}

// A claim adds its claimant's deadline to a set; the payment reads the latest of them.
func TestPaymentsClaimKeepsTheLatestDeadline(t *testing.T) {
	item := payment(store.PaymentPending, 2)
	item["claimsUntil"] = &types.AttributeValueMemberNS{Value: []string{
		strconv.FormatInt(fixture.Now.Add(9*time.Second).UnixMilli(), 10), strconv.FormatInt(fixture.Now.Add(2*time.Second).UnixMilli(), 10)}}
	db := &fakeDB{updateAnswers: []updateAnswer{{item: item}}}
	p, err := NewPayments(db, "payments").Claim(context.Background(), "o", "p", 4999, fixture.Now.Add(2*time.Second))
	if err != nil || !p.ClaimedUntil.Equal(fixture.Now.Add(9*time.Second)) {
		t.Errorf("claimed until %s, %v; want the latest deadline, %s", p.ClaimedUntil, err, fixture.Now.Add(9*time.Second))
	}
	until, ok := db.updates[0].ExpressionAttributeValues[":until"].(*types.AttributeValueMemberNS)
	if !ok || !slices.Equal(until.Value, []string{strconv.FormatInt(fixture.Now.Add(2*time.Second).UnixMilli(), 10)}) {
		t.Errorf(":until = %#v, want a number set of the claimant's deadline in Unix milliseconds", db.updates[0].ExpressionAttributeValues[":until"])
	}
}

func TestPaymentsRecord(t *testing.T) {
	approved := store.Payment{OrderID: "o", PaymentID: "p", Status: store.PaymentApproved, AmountCents: 4999, CreatedAt: fixture.Now}
	cases := []ledgerCase{
		{name: "decision stored over PENDING", answer: updateAnswer{item: payment(store.PaymentApproved, 2)}, wantStatus: store.PaymentApproved},
		{name: "earlier decision returned with the failed condition", answer: updateAnswer{err: updateFailed(payment(store.PaymentDeclined, 1))}, wantStatus: store.PaymentDeclined},
		{name: "earlier decision read back", answer: updateAnswer{err: updateFailed(nil)}, got: payment(store.PaymentApproved, 1), wantStatus: store.PaymentApproved, wantGets: 1},
		{name: "voided before the decision", answer: updateAnswer{err: updateFailed(payment(store.PaymentVoided, 1))}, wantStatus: store.PaymentVoided},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	runLedgerCases(t, cases, "SET paymentId = :paymentId, #status = :status, amountCents = :amount, createdAt = :createdAt", "#status = :pending",
		map[string]string{":pending": "PENDING", ":status": "APPROVED", ":paymentId": "p", ":amount": "4999", ":createdAt": "2026-03-01T12:00:00Z"},
		func(ps *Payments) (store.Payment, bool, error) {
			p, err := ps.Record(context.Background(), approved)
			return p, false, err // Record tells the decision in force, not who stored it
		})

	t.Run("a decline keeps its reason", func(t *testing.T) {
		db := &fakeDB{updateAnswers: []updateAnswer{{item: payment(store.PaymentDeclined, 1)}}}
		declined := approved
		declined.Status, declined.Reason = store.PaymentDeclined, "card-declined"
		got, err := NewPayments(db, "payments").Record(context.Background(), declined)
		if err != nil || got.Reason != "card-declined" || got.PaymentID != "p" || got.AmountCents != 4999 || got.CreatedAt.IsZero() {
			t.Fatalf("got %+v, %v", got, err)
		}
		checkUpdate(t, db.updates, "SET paymentId = :paymentId, #status = :status, amountCents = :amount, createdAt = :createdAt, reason = :reason",
			"#status = :pending", map[string]string{":status": "DECLINED", ":reason": "card-declined"})
	})
}

func TestPaymentsVoid(t *testing.T) {
	cases := []ledgerCase{
		{name: "no record: voided", answer: updateAnswer{item: payment(store.PaymentVoided, 0)}, wantStatus: store.PaymentVoided, wantOK: true},
		{name: "pending: voided", answer: updateAnswer{item: payment(store.PaymentVoided, 1)}, wantStatus: store.PaymentVoided, wantOK: true},
		{name: "approved: returned as it is", answer: updateAnswer{err: updateFailed(payment(store.PaymentApproved, 1))}, wantStatus: store.PaymentApproved},
		{name: "declined, read back", answer: updateAnswer{err: updateFailed(nil)}, got: payment(store.PaymentDeclined, 1), wantStatus: store.PaymentDeclined, wantGets: 1},
		{name: "voided already", answer: updateAnswer{err: updateFailed(payment(store.PaymentVoided, 1))}, wantStatus: store.PaymentVoided},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	runLedgerCases(t, cases, "SET #status = :voided, refundedAt = :at", "attribute_not_exists(#status) OR #status = :pending",
		map[string]string{":voided": "VOIDED", ":pending": "PENDING", ":at": "2026-03-01T12:00:00Z"},
		func(ps *Payments) (store.Payment, bool, error) {
			return ps.Void(context.Background(), "o", fixture.Now)
		})
}

func TestPaymentsRefund(t *testing.T) {
	cases := []ledgerCase{
		{name: "approved: refunded", answer: updateAnswer{item: payment(store.PaymentRefunded, 1)}, wantStatus: store.PaymentRefunded, wantOK: true},
		{name: "already refunded: nothing more", answer: updateAnswer{err: updateFailed(payment(store.PaymentRefunded, 1))}, wantStatus: store.PaymentRefunded},
		{name: "declined: nothing to refund", answer: updateAnswer{err: updateFailed(payment(store.PaymentDeclined, 1))}, wantStatus: store.PaymentDeclined},
		{name: "no record", answer: updateAnswer{err: updateFailed(nil)}, wantGets: 1},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	runLedgerCases(t, cases, "SET #status = :refunded, refundedAt = :at", "#status = :approved",
		map[string]string{":refunded": "REFUNDED", ":approved": "APPROVED", ":at": "2026-03-01T12:00:00Z"},
		func(ps *Payments) (store.Payment, bool, error) {
			return ps.Refund(context.Background(), "o", fixture.Now)
		})
}

func TestPaymentsLateChargeRefunded(t *testing.T) {
	late := payment(store.PaymentVoided, 1)
	late["lateChargeRefundedAt"] = str("2026-03-01T12:00:00Z")
	cases := []ledgerCase{
		{name: "voided: noted", answer: updateAnswer{item: late}, wantStatus: store.PaymentVoided, wantOK: true},
		{name: "approved: not a late charge", answer: updateAnswer{err: updateFailed(payment(store.PaymentApproved, 1))}, wantStatus: store.PaymentApproved},
		{name: "throttled", answer: updateAnswer{err: throttled}, wantErr: true},
	}
	runLedgerCases(t, cases, "SET lateChargeRefundedAt = if_not_exists(lateChargeRefundedAt, :at)", "#status IN (:voided, :refunded, :declined)",
		map[string]string{":voided": "VOIDED", ":refunded": "REFUNDED", ":declined": "DECLINED", ":at": "2026-03-01T12:00:00Z"},
		func(ps *Payments) (store.Payment, bool, error) {
			p, ok, err := ps.LateChargeRefunded(context.Background(), "o", fixture.Now)
			if ok && !p.LateChargeRefundedAt.Equal(fixture.Now) {
				t.Errorf("payment = %+v", p)
			}
			return p, ok, err
		})
}

// Every attribute of a stored payment is read back; one of the wrong type is an error.
func TestDecodePayment(t *testing.T) {
	item := payment(store.PaymentRefunded, 2)
	item["lateChargeRefundedAt"] = str("2026-02-03T00:00:00.123Z")
	got, err := decodePayment("o", item)
	day := func(d int) time.Time { return time.Date(2026, 2, d, 0, 0, 0, 0, time.UTC) }
	want := store.Payment{OrderID: "o", PaymentID: "p", Status: store.PaymentRefunded, AmountCents: 4999, Attempts: 2,
		CreatedAt: day(1), RefundedAt: day(2), LateChargeRefundedAt: day(3).Add(123 * time.Millisecond)}
	if err != nil || !got.CreatedAt.Equal(want.CreatedAt) || !got.RefundedAt.Equal(want.RefundedAt) || !got.LateChargeRefundedAt.Equal(want.LateChargeRefundedAt) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	got.CreatedAt, got.RefundedAt, got.LateChargeRefundedAt = want.CreatedAt, want.RefundedAt, want.LateChargeRefundedAt
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if none, err := decodePayment("o", nil); err != nil || none != (store.Payment{OrderID: "o"}) {
		t.Errorf("no item: %+v, %v", none, err)
	}
	item["attempts"] = str("two")
	if _, err := decodePayment("o", item); err == nil {
		t.Error("a corrupt item was decoded")
	}
}
