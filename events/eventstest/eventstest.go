// Package eventstest builds chains of valid events for tests on both sides of Go's internal
// rule: functions/internal/fixture (the functions' tests) and the tests of scripts/, which
// cannot import it, make an order's history the same way here.
package eventstest

import (
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Event is the seq-th event of orderID with payload, in the latest version of t, caused by the
// event before it and correlated by the order's first, at start + seq seconds: the chain the
// workflow writes, made with events.New so that it passes the schemas and the deterministic-id
// check.
func Event(tb testing.TB, t events.Type, orderID string, seq int, payload any, start time.Time) events.Envelope {
	tb.Helper()
	causation := ""
	if seq > 1 {
		causation = events.ID(orderID, seq-1)
	}
	e, err := events.New(events.Spec{Type: t, OrderID: orderID, Sequence: seq, CorrelationID: events.ID(orderID, 1), CausationID: causation, Payload: payload, Time: start.Add(time.Duration(seq) * time.Second)})
	if err != nil {
		tb.Fatalf("event %s #%d: %v", t, seq, err)
	}
	return e
}
