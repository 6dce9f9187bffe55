package workflow

// The saga's contract with its definition (infra/workflow/order-fulfilment.asl.json), beside the
// outcomes above: what each task is asked to do, and how an execution that failed ends.
// TestDefinitionKeepsTheContract holds the definition and this file to each other, both ways.

// Actions: the "action" of a task's payload (inventory, shipping) or message (payment).
const (
	ActionReserve    = "reserve"    // ReserveInventory: take the stock, or cancel for lack of it
	ActionRelease    = "release"    // ReleaseInventory, after a declined payment: give it back, cancel
	ActionCompensate = "compensate" // Compensate, after any failure: give back what was taken, cancel
	ActionShip       = "ship"       // ShipOrder, and ShipBooked (a shipment found booked before its compensation's seal): book the carrier
	ActionCharge     = "charge"     // RequestPayment (payments queue): decide the order's payment once
	ActionRefund     = "refund"     // RefundPayment (payments queue): give an approved payment back
)

// The errors of the definition's Fail states.
const (
	FailFulfilment   = "FulfilmentFailed"   // compensated: the order is cancelled (and any payment refunded)
	FailRefund       = "RefundFailed"       // compensated, but the refund failed: an operator refunds
	FailCompensation = "CompensationFailed" // compensation itself failed: the rescuer tries once more, then an operator
	FailNotStarted   = "SagaNotStarted"     // the order could not be claimed: nothing was done
)

// Compensated reports whether an execution that failed with errName compensated its order itself
// (then nothing is left to rescue).
func Compensated(errName string) bool {
	return errName == FailFulfilment || errName == FailRefund
}
