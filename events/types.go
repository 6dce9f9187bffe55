package events

import "fmt"

// Type names an event type. Its value is the EventBridge detail-type.
type Type string

// The event types of an order's life.
const (
	TypeOrderPlaced       Type = "OrderPlaced"
	TypeInventoryReserved Type = "InventoryReserved"
	TypeInventoryReleased Type = "InventoryReleased"
	TypePaymentApproved   Type = "PaymentApproved"
	TypePaymentDeclined   Type = "PaymentDeclined"
	TypePaymentRefunded   Type = "PaymentRefunded"
	TypeOrderConfirmed    Type = "OrderConfirmed"
	TypeOrderShipped      Type = "OrderShipped"
	TypeOrderCancelled    Type = "OrderCancelled"
)

// EventBridge sources, one per producer.
const (
	SourceOrders     = "orderflow.orders"
	SourceInventory  = "orderflow.inventory"
	SourcePayments   = "orderflow.payments"
	SourceShipping   = "orderflow.shipping"
	SourceFulfilment = "orderflow.fulfilment"
)

// Reasons an order is cancelled (OrderCancelled.Reason, the schema's enum).
const (
	ReasonOutOfStock       = "out-of-stock"
	ReasonPaymentDeclined  = "payment-declined"
	ReasonFulfilmentFailed = "fulfilment-failed"
	// ReasonTimedOut: the saga gave up waiting, for the payment's answer (the callback's
	// timeout) or as a whole (the execution's timeout), and compensated.
	ReasonTimedOut = "timed-out"
)

// typeInfo is the registry of known types: the source that owns each and its latest version.
// Every version 1..latest has a schema and a sample (checked by the tests).
var typeInfo = map[Type]struct {
	source string
	latest int
}{
	TypeOrderPlaced:       {SourceOrders, 3},
	TypeInventoryReserved: {SourceInventory, 1},
	TypeInventoryReleased: {SourceInventory, 1},
	TypePaymentApproved:   {SourcePayments, 1},
	TypePaymentDeclined:   {SourcePayments, 1},
	TypePaymentRefunded:   {SourcePayments, 1},
	TypeOrderConfirmed:    {SourceFulfilment, 1},
	TypeOrderShipped:      {SourceShipping, 1},
	TypeOrderCancelled:    {SourceFulfilment, 1},
}

// Types lists every known event type in the order of an order's life.
func Types() []Type {
	return []Type{
		TypeOrderPlaced, TypeInventoryReserved, TypeInventoryReleased, TypePaymentApproved,
		TypePaymentDeclined, TypeOrderConfirmed, TypePaymentRefunded, TypeOrderShipped, TypeOrderCancelled,
	}
}

// Known reports whether t is a known event type.
func (t Type) Known() bool {
	_, ok := typeInfo[t]
	return ok
}

// LatestVersion is the version producers emit for t; 0 for an unknown type.
func LatestVersion(t Type) int {
	return typeInfo[t].latest
}

// SourceOf is the EventBridge source of events of type t (pinned by its schema); "" if unknown.
func SourceOf(t Type) string {
	return typeInfo[t].source
}

// schemaKey is the file stem shared by a schema and its sample: "<Type>.v<N>".
func schemaKey(t Type, version int) string {
	return fmt.Sprintf("%s.v%d", t, version)
}
