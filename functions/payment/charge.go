package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// charge takes (or reuses) the order's payment decision: PaymentApproved + OrderConfirmed, or
// PaymentDeclined. It claims the payment (PENDING) before it asks the provider, names the
// payment id as the provider's idempotency key, and records the answer only over its claim:
//
//   - a payment already decided is reused, with no provider call (a redelivered request);
//   - a payment voided by compensation is refunded at the provider, since an earlier
//     delivery may have charged it and stopped before recording, and the task is failed; while
//     a delivery that claimed it may still be charging (until its deadline: ClaimedUntil), the
//     message is not let go but retried, so that it refunds again once that charge can no
//     longer land (see chargeMayLand);
//   - a payment refunded already fails the task: any charge under its id was that one (a
//     request whose task has closed is a late duplicate, done with);
//   - an approval that finds the payment closed when it is recorded (voided meanwhile) is
//     refunded at once: compensation has run or is running, and must not be outlived by a charge;
//   - a request whose task is closed (taskClosed: answered already, or given up on by the
//     workflow, which then compensates) finds the payment decided, or voids it as the
//     compensation would: nothing is charged for an answer no one waits for, even when the
//     compensation's own request never reached this function (its send failed).
//
// A transient provider or ledger error fails the message, which SQS redelivers.
func (h *Handler) charge(ctx context.Context, msg taskMessage, taskClosed bool) error {
	st := msg.State
	orderID, paymentID := st.Order.OrderID, PaymentID(st.Order.OrderID)
	var p store.Payment
	var err error
	if taskClosed {
		var voidedNow bool
		if p, voidedNow, err = h.payments.Void(ctx, orderID, h.now()); err != nil {
			return err // transient: the message is retried
		}
		if voidedNow {
			record.Logger(ctx).WarnContext(ctx, "charge request of a closed task: the workflow no longer waits for it; the payment is voided, not charged")
		}
	} else if p, err = h.payments.Claim(ctx, orderID, paymentID, st.Order.TotalCents, h.deadline(ctx)); err != nil {
		return err // transient: the message is retried
	}
	switch p.Status {
	case store.PaymentPending:
		if p, err = h.decide(ctx, msg, p); err != nil {
			var invalid *workflow.InvalidInputError
			if errors.As(err, &invalid) {
				return h.fail(ctx, msg.TaskToken, err) // the claim stays PENDING: compensation voids it
			}
			return err
		}
	case store.PaymentVoided:
		if err := h.provider.Refund(ctx, paymentID); err != nil {
			return fmt.Errorf("refund voided payment %s at the provider: %w", orderID, err)
		}
		if h.chargeMayLand(p) {
			return fmt.Errorf("payment %s voided while a delivery that claimed it may still be charging (until %s): refunded, and to be refunded again once that charge cannot land",
				orderID, p.ClaimedUntil.Add(chargeSettles).Format(time.RFC3339)) // transient: SQS brings it back after the visibility timeout
		}
		if taskClosed {
			return nil // no answer to give: the workflow has moved on
		}
	case store.PaymentRefunded:
		if taskClosed { // a late duplicate of a compensated order's request: not an error
			record.Logger(ctx).InfoContext(ctx, "charge request of a closed task: the payment was refunded already, nothing to answer")
			return nil
		}
	}
	st.KeepUnpublished()
	st.PaymentID = p.PaymentID
	if err := h.emitDecision(st, p); err != nil {
		return h.fail(ctx, msg.TaskToken, err)
	}
	closed, err := h.succeed(ctx, msg.TaskToken, workflow.Doc{Event: msg.Event, State: st})
	if err != nil {
		return err
	}
	if closed {
		record.Logger(ctx).InfoContext(ctx, "task already closed: duplicate delivery", "outcome", st.Outcome)
		return nil
	}
	record.Logger(ctx).InfoContext(ctx, "payment decided", "outcome", st.Outcome, "paymentId", p.PaymentID, "amountCents", p.AmountCents, "attempts", p.Attempts)
	return nil
}

// chargeMayLand reports whether a charge of p may still be taken at the provider: a delivery
// that claimed it may still be running, or its charge settling. A voided payment is given back
// by whichever delivery sees it voided; but a delivery that charged and then stopped before it
// could give its late charge back counts on its message coming back, and a duplicate delivery of
// that message which let it go (SQS deletes it) would leave the money taken. So a delivery that
// finds the payment voided lets its message go only once no charge can land after its refund.
// On the message's last attempt (record.LastReceive) the kept message is parked instead, with
// this reason, and the dead-letter alarm fires: redriving it refunds again.
func (h *Handler) chargeMayLand(p store.Payment) bool {
	return !p.ClaimedUntil.IsZero() && !h.now().After(p.ClaimedUntil.Add(chargeSettles))
}

// decide asks the provider to charge the claimed payment (attempt p.Attempts) and records
// its answer. It returns the record in force: the answer, another delivery's decision, or a
// closed payment, in which case an approval of ours has been given back.
func (h *Handler) decide(ctx context.Context, msg taskMessage, p store.Payment) (store.Payment, error) {
	st := msg.State
	orderID := st.Order.OrderID
	token, err := h.token(ctx, msg)
	if err != nil {
		return store.Payment{}, err
	}
	res, err := h.provider.Charge(ctx, provider.ChargeRequest{
		IdempotencyKey: p.PaymentID, Token: token, AmountCents: st.Order.TotalCents, Currency: st.Order.Currency, Attempt: p.Attempts,
	})
	if err != nil {
		return store.Payment{}, fmt.Errorf("charge %s, attempt %d: %w", orderID, p.Attempts, err) // transient: SQS redelivers it
	}
	decision := store.Payment{OrderID: orderID, PaymentID: p.PaymentID, Status: store.PaymentDeclined, AmountCents: st.Order.TotalCents, Reason: res.Reason, CreatedAt: h.now()}
	if res.Approved {
		decision.Status, decision.Reason = store.PaymentApproved, ""
	}
	got, err := h.payments.Record(ctx, decision)
	if err != nil {
		return store.Payment{}, err
	}
	if res.Approved && got.Status != store.PaymentApproved {
		// Closed while we charged: the money must not stay. The same key gives back what
		// the provider took for it (nothing, if it deduplicated our charge into a refunded one).
		if err := h.provider.Refund(ctx, p.PaymentID); err != nil {
			return store.Payment{}, fmt.Errorf("refund late charge of %s at the provider: %w", orderID, err)
		}
		record.Logger(ctx).WarnContext(ctx, "late charge refunded: the payment was closed while the provider charged it",
			"paymentId", p.PaymentID, "status", got.Status, "amountCents", decision.AmountCents)
		if got, _, err = h.payments.LateChargeRefunded(ctx, orderID, h.now()); err != nil {
			return store.Payment{}, err
		}
	}
	return got, nil
}

// emitDecision appends the events of the stored decision: PaymentApproved + OrderConfirmed,
// or PaymentDeclined. A payment refunded or voided before this charge request was handled
// (the workflow gave up on it) cannot be used.
func (h *Handler) emitDecision(st *workflow.State, p store.Payment) error {
	orderID := st.Order.OrderID
	now := h.now()
	switch p.Status {
	case store.PaymentApproved:
		st.Outcome = workflow.OutcomeApproved
		if err := st.Emit(h.busName, events.TypePaymentApproved, events.PaymentApproved{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents}, now); err != nil {
			return err
		}
		return st.Emit(h.busName, events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: orderID, TotalCents: st.Order.TotalCents}, now)
	case store.PaymentDeclined:
		st.Outcome, st.Reason = workflow.OutcomeDeclined, p.Reason
		return st.Emit(h.busName, events.TypePaymentDeclined, events.PaymentDeclined{OrderID: orderID, PaymentID: p.PaymentID, Reason: p.Reason}, now)
	case store.PaymentRefunded, store.PaymentVoided:
		return fmt.Errorf("payment of %s is %s: the order was compensated before this charge request was handled", orderID, p.Status)
	default:
		return fmt.Errorf("stored payment of %s has status %q", orderID, p.Status)
	}
}
