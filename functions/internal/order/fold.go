package order

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Status is where an order stands.
type Status string

// Order statuses (the event registry's: each event type names the status it sets). CONFIRMED:
// stock reserved and payment approved. SHIPPED and CANCELLED are final.
const (
	StatusPlaced    Status = events.StatusPlaced
	StatusConfirmed Status = events.StatusConfirmed
	StatusShipped   Status = events.StatusShipped
	StatusCancelled Status = events.StatusCancelled
)

// Final reports whether no event may follow: an event that ends an order sets it.
func (s Status) Final() bool { return events.FinalStatus(string(s)) }

// Errors of Fold (wrapped with context; test with errors.Is).
var (
	ErrNotFound = errors.New("order not found")                 // no events, or no sequence 1
	ErrConflict = errors.New("conflicting events for sequence") // two different events for one sequence
	ErrCorrupt  = errors.New("event history is inconsistent")   // wrong first event, foreign order, impossible transition
)

// Order is the current state of an order: a fold over its events.
type Order struct {
	OrderID    string        `json:"orderId"`
	CustomerID string        `json:"customerId"`
	Status     Status        `json:"status"`
	Reason     string        `json:"reason,omitempty"` // why it was cancelled
	Items      []events.Item `json:"items"`
	TotalCents int64         `json:"totalCents"`
	Currency   string        `json:"currency"`
	Events     []EventRef    `json:"events"`
	Version    int           `json:"-"` // the last applied sequence

	charged, refunded bool // a payment was approved; it was given back
	declined          bool // the payment was declined
}

// EventRef is one applied event, as GET /orders/{id} lists them.
type EventRef struct {
	Sequence int         `json:"sequence"`
	ID       string      `json:"id"`
	Type     events.Type `json:"type"`
	Time     time.Time   `json:"time"`
}

// Fold computes an order from its events, in any order and with duplicates, as the event
// store or a stream may deliver them. It is pure. It sorts by sequence, drops exact duplicates
// (same id, type and payload; see events.SameFact), and applies only the contiguous prefix 1, 2, 3...:
// events after a gap are not visible yet. Errors: ErrNotFound if there is no sequence 1;
// ErrConflict if one sequence holds two different events (anywhere, even after a gap); ErrCorrupt if sequence 1 is not OrderPlaced, an event belongs to another order or
// an event cannot follow the status or the payment (e.g. anything after SHIPPED or CANCELLED, a
// second payment decision, a confirmation without an approved, unrefunded payment).
func Fold(evs []events.Envelope) (Order, error) {
	sorted := append([]events.Envelope(nil), evs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Sequence < sorted[j].Sequence })

	var o Order
	next := 1
	for i, e := range sorted {
		if i > 0 && e.Sequence == sorted[i-1].Sequence {
			if prev := sorted[i-1]; !events.SameFact(prev, e) {
				return Order{}, fmt.Errorf("fold %s: sequence %d is both %s %s and %s %s: %w", e.OrderID, e.Sequence, prev.Type, prev.ID, e.Type, e.ID, ErrConflict)
			}
			continue // the same event delivered (or re-emitted by a retry) twice
		}
		if e.Sequence != next {
			continue // before 1 (invalid) or after a gap; keep scanning for conflicts
		}
		if err := o.apply(e); err != nil {
			return Order{}, fmt.Errorf("fold %s: sequence %d (%s): %w", e.OrderID, e.Sequence, e.Type, err)
		}
		next++
	}
	if next == 1 {
		return Order{}, fmt.Errorf("fold: no OrderPlaced at sequence 1 among %d events: %w", len(evs), ErrNotFound)
	}
	return o, nil
}

// apply applies the next event in sequence.
func (o *Order) apply(e events.Envelope) error {
	if e.Sequence == 1 {
		if e.Type != events.TypeOrderPlaced {
			return fmt.Errorf("the first event must be OrderPlaced: %w", ErrCorrupt)
		}
		up, err := e.Upcast()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		p, err := events.DecodePayload[events.OrderPlaced](up)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		*o = Order{
			OrderID:    e.OrderID,
			CustomerID: p.CustomerID,
			Status:     StatusPlaced,
			Items:      p.Items,
			TotalCents: p.TotalCents,
			Currency:   p.Currency,
		}
		o.record(e)
		return nil
	}
	if e.OrderID != o.OrderID {
		return fmt.Errorf("event of order %s: %w", e.OrderID, ErrCorrupt)
	}
	if o.Status.Final() {
		return fmt.Errorf("nothing may follow %s: %w", o.Status, ErrCorrupt)
	}
	info, known := events.Lookup(e.Type)
	if !known {
		return fmt.Errorf("unknown event type %q: %w", e.Type, ErrCorrupt)
	}
	// The rules a type brings beyond the registry's; a type without any (InventoryReserved:
	// progress inside PLACED) just sets the status the registry names, if any.
	switch e.Type {
	case events.TypePaymentApproved, events.TypePaymentDeclined:
		// One payment an order, decided once: the ledger records one decision.
		if o.charged || o.declined {
			return fmt.Errorf("a second payment decision (%s after approved %v, declined %v): %w", e.Type, o.charged, o.declined, ErrCorrupt)
		}
		o.charged, o.declined = e.Type == events.TypePaymentApproved, e.Type == events.TypePaymentDeclined
	case events.TypePaymentRefunded:
		// compensation: the money goes back; the status changes with the OrderCancelled that follows
		if !o.charged || o.refunded || o.Status == StatusShipped {
			return fmt.Errorf("a refund needs one approved, unrefunded payment of an order not shipped (approved %v, refunded %v, %s): %w", o.charged, o.refunded, o.Status, ErrCorrupt)
		}
		o.refunded = true
	case events.TypeInventoryReleased:
		if o.Status == StatusShipped {
			return fmt.Errorf("cannot release the stock of a %s order: %w", o.Status, ErrCorrupt)
		}
	case events.TypeOrderConfirmed:
		if o.Status != StatusPlaced || !o.charged || o.refunded {
			return fmt.Errorf("cannot confirm a %s order (approved %v, refunded %v): %w", o.Status, o.charged, o.refunded, ErrCorrupt)
		}
	case events.TypeOrderShipped:
		if o.Status != StatusConfirmed || o.refunded {
			return fmt.Errorf("cannot ship a %s order (refunded %v): %w", o.Status, o.refunded, ErrCorrupt)
		}
	case events.TypeOrderCancelled:
		if o.Status == StatusShipped {
			// This guard, the refund's and the release's are unreachable while OrderShipped
			// ends an order; they hold if a later event (a delivery) comes to end it.
			return fmt.Errorf("cannot cancel a %s order: %w", o.Status, ErrCorrupt)
		}
		p, err := events.DecodePayload[events.OrderCancelled](e)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		o.Reason = p.Reason
	case events.TypeOrderPlaced:
		return fmt.Errorf("OrderPlaced must be sequence 1: %w", ErrCorrupt)
	}
	if info.Status != "" {
		o.Status = Status(info.Status)
	}
	o.record(e)
	return nil
}

func (o *Order) record(e events.Envelope) {
	o.Events = append(o.Events, EventRef{Sequence: e.Sequence, ID: e.ID, Type: e.Type, Time: e.Time})
	o.Version = e.Sequence
}
