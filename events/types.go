package events

import (
	"fmt"
	"slices"
)

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

// Order statuses an event can set (the registry's Status; the order package's Status values).
const (
	StatusPlaced    = "PLACED"
	StatusConfirmed = "CONFIRMED"
	StatusShipped   = "SHIPPED"
	StatusCancelled = "CANCELLED"
)

// Info is what the registry knows about an event type; every other place derives from it: the
// bus rules and the SNS subscriptions' filters (infra), the notifier's routing, the fold's
// statuses and end, the trace's and the shop's "finished", the load run's outcome.
type Info struct {
	Type   Type
	source string // the one producer's EventBridge source, pinned by the schema's const
	latest int    // the version producers emit; every version 1..latest has a schema and a sample
	// CustomerFacing: the bus routes it to the notifications topic and the notifier tells the
	// customer (by e-mail; SMS too if SMS is set, the SMS subscription's filter).
	CustomerFacing, SMS bool
	// Status is the order status the event sets ("": the status does not change).
	Status string
	// EndsOrder: the order's last event; nothing may follow it.
	EndsOrder bool
}

// Source is the EventBridge source of the type's events.
func (i Info) Source() string { return i.source }

// Latest is the version producers emit.
func (i Info) Latest() int { return i.latest }

// registry lists every known type in the order of an order's life. Adding a type: its entry
// here, its payload (payloads.go), its schema and sample, its producer, and the consumers that
// care; `go test ./...` then names every place that does not know it yet.
var registry = []Info{
	{Type: TypeOrderPlaced, source: SourceOrders, latest: 3, CustomerFacing: true, Status: StatusPlaced},
	{Type: TypeInventoryReserved, source: SourceInventory, latest: 1},
	{Type: TypeInventoryReleased, source: SourceInventory, latest: 1},
	{Type: TypePaymentApproved, source: SourcePayments, latest: 1},
	{Type: TypePaymentDeclined, source: SourcePayments, latest: 1},
	{Type: TypeOrderConfirmed, source: SourceFulfilment, latest: 1, CustomerFacing: true, Status: StatusConfirmed},
	{Type: TypePaymentRefunded, source: SourcePayments, latest: 1, CustomerFacing: true},
	{Type: TypeOrderShipped, source: SourceShipping, latest: 1, CustomerFacing: true, SMS: true, Status: StatusShipped, EndsOrder: true},
	{Type: TypeOrderCancelled, source: SourceFulfilment, latest: 1, CustomerFacing: true, Status: StatusCancelled, EndsOrder: true},
}

// typeInfo indexes the registry by type.
var typeInfo = func() map[Type]Info {
	m := make(map[Type]Info, len(registry))
	for _, i := range registry {
		m[i.Type] = i
	}
	return m
}()

// Registry returns every known type's entry, in the order of an order's life.
func Registry() []Info { return append([]Info(nil), registry...) }

// Lookup returns t's entry; ok is false for an unknown type.
func Lookup(t Type) (Info, bool) {
	i, ok := typeInfo[t]
	return i, ok
}

// Types lists every known event type in the order of an order's life.
func Types() []Type { return typesWhere(func(Info) bool { return true }) }

// CustomerFacing lists the types a customer hears about.
func CustomerFacing() []Type { return typesWhere(func(i Info) bool { return i.CustomerFacing }) }

// SMSTypes lists the customer-facing types also sent by text message.
func SMSTypes() []Type { return typesWhere(func(i Info) bool { return i.SMS }) }

// Sources lists the producers' EventBridge sources, each once, in the registry's order.
func Sources() []string {
	var out []string
	for _, i := range registry {
		if !slices.Contains(out, i.source) {
			out = append(out, i.source)
		}
	}
	return out
}

// EndsOrder reports whether t is an order's last event (nothing may follow it).
func EndsOrder(t Type) bool { return typeInfo[t].EndsOrder }

// FinalStatus reports whether an order in status s is finished: an event that ends an order
// sets it.
func FinalStatus(s string) bool {
	return s != "" && slices.ContainsFunc(registry, func(i Info) bool { return i.EndsOrder && i.Status == s })
}

func typesWhere(keep func(Info) bool) []Type {
	var out []Type
	for _, i := range registry {
		if keep(i) {
			out = append(out, i.Type)
		}
	}
	return out
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
