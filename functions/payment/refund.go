package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/record"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// refund is compensation: it makes sure no money stays with the order, whatever happened to
// its charge request, and tells what happened to the money.
//
//   - Nothing decided yet (no record, or PENDING): the payment is VOIDED first, so that a charge
//     in flight cannot be recorded (it refunds itself instead), then refunded at the provider
//     in case a charge was taken by a delivery that stopped before recording it. No events.
//   - APPROVED: refunded at the provider, then REFUNDED on the ledger; a redelivery after a
//     stop between the two refunds again (the provider deduplicates) and records once.
//     PaymentRefunded is emitted, after PaymentApproved if the workflow never heard of the
//     charge (the payment request timed out after the money was taken).
//   - REFUNDED: done already; the events are emitted again (same ids: consumers drop them).
//   - DECLINED: nothing was charged.
//   - VOIDED: refunded at the provider again, which costs nothing and covers a charge whose
//     delivery stopped after the void was recorded but before it refunded.
func (h *Handler) refund(ctx context.Context, msg taskMessage) error {
	st := msg.State
	orderID, paymentID := st.Order.OrderID, PaymentID(st.Order.OrderID)
	now := h.now()
	p, voidedNow, err := h.payments.Void(ctx, orderID, now)
	if err != nil {
		return err // transient: the message is retried
	}
	refundedNow := false
	switch p.Status {
	case store.PaymentVoided:
		if err := h.provider.Refund(ctx, paymentID); err != nil {
			return fmt.Errorf("refund voided payment %s at the provider: %w", orderID, err)
		}
	case store.PaymentApproved:
		// One fate per order: no charge is given back while the order can still ship. The saga
		// has sealed it already (SealShipment) when it refunds an approved payment; a refund
		// asked for any other way (a task token of another order, a message or an invoke from
		// someone the queue's policy does not stop) seals it here, or finds it shipped.
		if err := h.seals.Seal(ctx, orderID, now); errors.Is(err, store.ErrConflict) {
			return record.Permanentf("refund of %s refused: the order is shipping (%v); no saga asks for that: the request is stale or forged", orderID, err)
		} else if err != nil {
			return err // transient: the message is retried
		}
		if err := h.provider.Refund(ctx, p.PaymentID); err != nil {
			return fmt.Errorf("refund payment %s at the provider: %w", orderID, err)
		}
		if p, refundedNow, err = h.payments.Refund(ctx, orderID, now); err != nil {
			return err
		}
	}
	st.KeepUnpublished() // reached from a Catch: events the failed step never published go out first
	if p.Status == store.PaymentRefunded {
		if st.Outcome != workflow.OutcomeApproved {
			if err := st.Emit(h.busName, events.TypePaymentApproved, events.PaymentApproved{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents}, now); err != nil {
				return h.fail(ctx, msg.TaskToken, err)
			}
		}
		reason := msg.Error.CompensationReason() // as the compensation's OrderCancelled says (inventory)
		if err := st.Emit(h.busName, events.TypePaymentRefunded, events.PaymentRefunded{OrderID: orderID, PaymentID: p.PaymentID, AmountCents: p.AmountCents, Reason: reason}, now); err != nil {
			return h.fail(ctx, msg.TaskToken, err)
		}
		st.Outcome, st.PaymentID = workflow.OutcomeRefunded, p.PaymentID
	}
	// The output keeps the error being compensated: the states after the refund still read it.
	closed, err := h.succeed(ctx, msg.TaskToken, workflow.Doc{Event: msg.Event, State: st, Error: msg.Error})
	if err != nil {
		return err
	}
	switch {
	case closed && refundedNow:
		// Redriven from the dead-letter queue after the task's timeout: the saga has ended
		// (RefundFailed) and will publish nothing more. The money is back and the ledger says so;
		// the order's history does not, so the operator is told here.
		record.Logger(ctx).WarnContext(ctx, "refunded after the saga gave up waiting: PaymentRefunded is not published",
			"paymentId", p.PaymentID, "amountCents", p.AmountCents)
		return nil
	case closed:
		record.Logger(ctx).InfoContext(ctx, "task already closed: duplicate delivery", "outcome", st.Outcome)
		return nil
	}
	record.Logger(ctx).InfoContext(ctx, "refund done", "status", p.Status, "voidedNow", voidedNow, "refundedNow", refundedNow,
		"paymentId", p.PaymentID, "amountCents", p.AmountCents)
	return nil
}
