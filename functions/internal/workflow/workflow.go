// Package workflow is the contract between the order-fulfilment state machine and its tasks
// (inventory, payment, shipping): the document carried from state to state, the
// deterministic emission of the next events, and the two error types the state machine's
// Retry and Catch match on.
//
// Every task receives a Doc, appends the events it decides to State.Entries with Emit, and
// returns the Doc; the next Publish state sends Entries with the native events:putEvents
// integration. Sequence numbers (and so event ids) follow from the state alone, so a retried
// task re-emits identical events and consumers deduplicate them.
package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Outcomes a task records in State.Outcome.
const (
	OutcomeReserved   = "reserved"
	OutcomeOutOfStock = "out-of-stock"
	OutcomeApproved   = "approved"
	OutcomeDeclined   = "declined"
	OutcomeShipped    = "shipped"
	OutcomeRefunded   = "refunded" // compensation: the approved payment was given back
	OutcomeCancelled  = "cancelled"
)

// Doc is the document the state machine carries from state to state.
type Doc struct {
	Event json.RawMessage `json:"event"`           // the OrderPlaced envelope that started the execution
	State *State          `json:"state"`           // nil before the first task (and in a compensation after it failed)
	Error *TaskError      `json:"error,omitempty"` // set by a Catch
}

// LogIDs are the order's id and correlation id, as log attributes ("orderId", …,
// "correlationId", …): from the state, or before the first task from the OrderPlaced envelope
// (read leniently: a document too broken to name them gives empty values, never an error, so
// that the line that reports what broke is still written).
func (d Doc) LogIDs() []any {
	var ids struct {
		OrderID       string `json:"orderId"`
		CorrelationID string `json:"correlationId"`
	}
	if d.State != nil {
		ids.OrderID, ids.CorrelationID = d.State.Order.OrderID, d.State.CorrelationID
	} else {
		_ = json.Unmarshal(d.Event, &ids)
	}
	return []any{"orderId", ids.OrderID, "correlationId", ids.CorrelationID}
}

// Encode is json.Marshal(d) as a string (a task's output, as SendTaskSuccess takes it), but for
// Event, which it writes as it is: a task decodes Event from its input, so it is valid JSON
// already, and json.Marshal would scan it twice more to check and compact it (more than half of
// json.Marshal's time on a payment task's document). Event must be valid JSON, or nil (null).
// The string is built once, not marshalled and then copied (a payment task's document is ~2.5 KB).
func (d Doc) Encode() (string, error) {
	rest, err := json.Marshal(struct {
		State *State     `json:"state"`
		Error *TaskError `json:"error,omitempty"`
	}{d.State, d.Error})
	if err != nil {
		return "", err
	}
	event := d.Event
	if event == nil {
		event = json.RawMessage("null") // as json.Marshal writes a nil RawMessage
	}
	var out strings.Builder
	out.Grow(len(`{"event":,`) + len(event) + len(rest) - 1)
	out.WriteString(`{"event":`)
	out.Write(event)
	out.WriteByte(',')
	out.Write(rest[1:]) // rest without its opening brace
	return out.String(), nil
}

// TaskError is what a Catch puts in $.error.
type TaskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// TimedOut reports whether the saga gave up waiting: a task's TimeoutSeconds passed
// (States.Timeout: the payment callback), or the execution's own (a rescue's error for a
// TIMED_OUT execution: see the rescuer). A nil TaskError did not time out.
func (e *TaskError) TimedOut() bool {
	return e != nil && (e.Error == "States.Timeout" || e.Error == "States.TIMED_OUT")
}

// CompensationReason is the reason a compensation of e gives its OrderCancelled and
// PaymentRefunded: timed-out when the saga gave up waiting (TimedOut), fulfilment-failed otherwise.
func (e *TaskError) CompensationReason() string {
	if e.TimedOut() {
		return events.ReasonTimedOut
	}
	return events.ReasonFulfilmentFailed
}

// State is the order as the workflow knows it.
type State struct {
	Order         events.OrderPlaced `json:"order"` // the upcast OrderPlaced payload (no payment token: see PaymentIntentID)
	CorrelationID string             `json:"correlationId"`
	LastEventID   string             `json:"lastEventId"`       // causation of the next event
	Sequence      int                `json:"sequence"`          // the last sequence used
	Outcome       string             `json:"outcome,omitempty"` // the last task's Outcome*; the state machine's Choices read it
	Reason        string             `json:"reason,omitempty"`
	PaymentID     string             `json:"paymentId,omitempty"`
	ShipmentID    string             `json:"shipmentId,omitempty"`
	Entries       []events.Entry     `json:"entries"` // what the next Publish state puts on the bus
	// Published is set by a Publish state once it has put Entries on the bus (its ResultSelector
	// writes the PutEvents result here); a task that replaces Entries clears it.
	Published *PublishResult `json:"published,omitempty"`
}

// PublishResult is what a Publish state records of its PutEvents call.
type PublishResult struct {
	FailedEntryCount int `json:"failedEntryCount"`
}

// Start builds the state from the order's OrderPlaced event (any version: it is upcast):
// sequence 1, correlation = the event's id. A wrong or invalid event is an *InvalidInputError.
func Start(orderPlaced events.Envelope) (*State, error) {
	if orderPlaced.Type != events.TypeOrderPlaced || orderPlaced.Sequence != 1 {
		return nil, &InvalidInputError{Err: fmt.Errorf("start: want OrderPlaced with sequence 1, got %s with sequence %d", orderPlaced.Type, orderPlaced.Sequence)}
	}
	up, err := orderPlaced.Upcast()
	if err != nil {
		return nil, &InvalidInputError{Err: fmt.Errorf("start: %w", err)}
	}
	p, err := events.DecodePayload[events.OrderPlaced](up)
	if err != nil {
		return nil, &InvalidInputError{Err: fmt.Errorf("start: %w", err)}
	}
	return &State{
		Order:         p,
		CorrelationID: up.ID,
		LastEventID:   up.ID,
		Sequence:      up.Sequence,
		Entries:       []events.Entry{},
	}, nil
}

// Emit builds the next event of the order (sequence+1, causation = the last event, the latest
// version of t from its source), validates it against its schema and appends it to Entries for bus busName.
// On error the state is unchanged; an invalid event is an *InvalidInputError.
func (s *State) Emit(busName string, t events.Type, payload any, now time.Time) error {
	seq := s.Sequence + 1
	e, err := events.New(events.Spec{Type: t, OrderID: s.Order.OrderID, Sequence: seq, CorrelationID: s.CorrelationID, CausationID: s.LastEventID, Payload: payload, Time: now})
	if err != nil {
		return &InvalidInputError{Err: fmt.Errorf("emit %s #%d of %s: %w", t, seq, s.Order.OrderID, err)}
	}
	entry, err := e.Entry(busName)
	if err != nil {
		return &InvalidInputError{Err: fmt.Errorf("emit %s #%d of %s: %w", t, seq, s.Order.OrderID, err)}
	}
	s.Entries = append(s.Entries, entry)
	s.Sequence = seq
	s.LastEventID = e.ID
	return nil
}

// ClearEntries empties Entries; a task calls it first, since each task replaces them.
func (s *State) ClearEntries() {
	s.Entries = []events.Entry{}
	s.Published = nil
}

// KeepUnpublished is what a task that replaces the entries calls first: entries a Publish state
// has put on the bus go; entries it has not stay, to go out again ahead of the task's own: after a
// Catch (the failed step may be their Publish), or after a PutEvents that failed some of them
// (AWS's integration then fails the task, so this is for an endpoint that does not; which ones
// failed is not recorded, so all stay). Sending an event twice is harmless (same id: every
// consumer drops the duplicate); losing one would leave a gap in the order's history.
func (s *State) KeepUnpublished() {
	if s.Published != nil && s.Published.FailedEntryCount == 0 {
		s.ClearEntries()
	}
	s.Published = nil // what stays has yet to go out, with the task's own
}

// TransientError is a failure worth retrying (throttling, a timeout, a 5xx). A Lambda that
// returns it (unwrapped: aws-lambda-go names the error type after the returned value) fails
// with errorType "TransientError", which the state machine retries with backoff.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// InvalidInputError is a failure retrying cannot fix (a bad event, an impossible state).
// errorType "InvalidInputError" is not retried; the state machine catches it and compensates
// or fails.
type InvalidInputError struct{ Err error }

func (e *InvalidInputError) Error() string { return e.Err.Error() }
func (e *InvalidInputError) Unwrap() error { return e.Err }

// LambdaError turns any error into the one a task Lambda must return so that the state
// machine sees the right errorType: an *InvalidInputError if err is (or wraps) one or an
// *events.ValidationError, the *TransientError it wraps if any, otherwise a *TransientError
// (unknown failures are retried; the retry budget bounds them). The message keeps err's context.
func LambdaError(err error) error {
	if err == nil {
		return nil
	}
	var inv *InvalidInputError
	var ve *events.ValidationError
	if errors.As(err, &inv) || errors.As(err, &ve) {
		if inv != nil && error(inv) == err {
			return inv
		}
		return &InvalidInputError{Err: err}
	}
	var tr *TransientError
	if errors.As(err, &tr) && error(tr) == err {
		return tr
	}
	return &TransientError{Err: err}
}
