// Package store is the vocabulary the functions and their DynamoDB adapters share: the
// records each function keeps and the sentinel errors an adapter returns when a
// conditional write finds the record already there. It has no AWS imports: the adapters
// in package dynamo translate the SDK's ConditionalCheckFailedException and
// TransactionCanceledException into these errors with errors.As, and handlers decide
// what they mean (usually: a redelivered message, already done — idempotency).
package store

import (
	"errors"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// ErrDuplicate means the record is already there, written by an earlier delivery of the
// same message: the caller treats the message as done.
var ErrDuplicate = errors.New("already recorded")

// ErrConflict means a different record already holds the key (for the event store: a
// different event at the same order and sequence). Retrying cannot fix it.
var ErrConflict = errors.New("conflicting record")

// ErrNotFound means there is no record under the key.
var ErrNotFound = errors.New("no such record")

// ErrUnreadable means a stored record no longer reads as what it was stored as: an event that
// fails its schema (written by a newer version of the code than the one reading it, or
// damaged). Retrying cannot fix it; the record is kept as it is.
var ErrUnreadable = errors.New("stored record does not read")

// EventRecord is one event appended to the event store (pk orderId, sk sequence).
type EventRecord struct {
	Envelope events.Envelope // the fact, as published
	Detail   []byte          // the envelope's JSON, stored verbatim

	KinesisSequenceNumber string    // where the projector read it
	KinesisArrival        time.Time // when Kinesis received it
	RecordedAt            time.Time // when the projector stored it
}

// OrderCursor names an order in a customer's list of orders (newest first): a page starts
// after it.
type OrderCursor struct {
	PlacedAt time.Time // when the order was placed (its OrderPlaced's time)
	OrderID  string
}

// ListedOrder is one order in a customer's list: its OrderPlaced as stored or, when that does not
// read (Err wraps ErrUnreadable), the order id and time the list's index keeps for it.
type ListedOrder struct {
	OrderID  string
	PlacedAt time.Time
	Placed   events.Envelope // the zero Envelope when Err is set
	Err      error
}

// Line is a quantity of one SKU to reserve or release. InitialStock is the catalogue's
// starting stock, used when the SKU has no stock item yet (the table starts empty); it is
// not stored, so the lines Release gives back have none.
type Line struct {
	SKU          string
	Quantity     int
	InitialStock int
}

// Reservation statuses, stored on the "RES#<orderId>" item of the inventory table.
type ReservationStatus string

// Reservation statuses.
const (
	Reserved   ReservationStatus = "RESERVED"
	Released   ReservationStatus = "RELEASED"
	OutOfStock ReservationStatus = "OUT_OF_STOCK"
	// Tombstone is stored by a Release that found no reservation: the order is over, so a
	// Reserve for it arriving later (a retry, a task that timed out) takes nothing and fails
	// with ErrConflict. Release reports it as NoReservation.
	Tombstone ReservationStatus = "TOMBSTONE"
	// NoReservation is not stored: Release returns it when there was nothing to release.
	NoReservation ReservationStatus = ""
)

// Shipment is the one shipment of an order (shipments table, pk orderId), or its seal: what a
// compensation writes before it refunds an approved order, so that the order never ships (a
// ShipOrder still running, or retried late, finds it and refuses). A seal has no ShipmentID
// and no Carrier.
type Shipment struct {
	OrderID    string
	ShipmentID string
	Carrier    string
	CreatedAt  time.Time
	Sealed     bool
}

// Notification is one message sent to a customer for one event on one channel
// (notifications table, pk eventId, sk channel).
type Notification struct {
	EventID   string
	Channel   string
	OrderID   string
	Type      events.Type
	Message   string
	SentAt    time.Time
	ExpiresAt time.Time // DynamoDB TTL
}

// Totals is an increment of the sales totals kept by analytics (the "TOTALS" item).
type Totals struct {
	Orders        int64 // paid orders (PaymentApproved)
	RevenueCents  int64 // money taken for them
	Cancelled     int64 // cancelled orders
	Refunds       int64 // refunded payments
	RefundedCents int64 // money given back; net revenue = RevenueCents - RefundedCents
}
