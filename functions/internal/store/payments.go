package store

import "time"

// Payment statuses, and the only moves between them (each a conditional write):
//
//	(none) or PENDING --claim--> PENDING      a delivery is about to ask the provider
//	PENDING --record--> APPROVED | DECLINED   the provider's answer; a decision is final
//	(none) or PENDING --void--> VOIDED        compensation before any decision: a charge in flight cannot stick
//	APPROVED --refund--> REFUNDED             compensation after an approval
//
// "" means no status at all: no record, or a record from before PENDING existed (attempts only).
const (
	PaymentPending  = "PENDING"
	PaymentApproved = "APPROVED"
	PaymentDeclined = "DECLINED"
	PaymentRefunded = "REFUNDED"
	PaymentVoided   = "VOIDED"
)

// Payment is the one payment of an order (payments table, pk orderId).
type Payment struct {
	OrderID     string
	PaymentID   string // the provider's idempotency key for the charge and its refund
	Status      string // one of the Payment* statuses, "" before the first claim
	AmountCents int64
	Reason      string    // why it was declined
	Attempts    int       // claims made while PENDING: each one may have asked the provider once
	CreatedAt   time.Time // when it was decided (APPROVED or DECLINED)
	RefundedAt  time.Time // when it was refunded or voided
	// ClaimedUntil is the latest deadline of the deliveries that claimed it: until then (and the
	// moment a provider may take to settle a charge sent just before) a charge may still land.
	ClaimedUntil time.Time
	// LateChargeRefundedAt is set when a charge the provider approved found the payment
	// already closed (voided by compensation) and was given back at the provider.
	LateChargeRefundedAt time.Time
}
