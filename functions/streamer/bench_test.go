package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

// benchStream accepts every record, and counts them.
type benchStream struct{ puts int }

func (s *benchStream) Put(context.Context, string, []byte) (string, error) {
	s.puts++
	return benchfixture.SequenceNumber(s.puts), nil
}

// benchEvent is an OrderPlaced event of a three-line order, as the bus's rule delivers it.
func benchEvent(b testing.TB) ([]byte, *Handler, *benchStream, *fixture.DLQ) {
	raw := fixture.EventBridge(b, fixture.Placed(b, fixture.OrderID(1), "tok_visa", benchfixture.Items()...))
	s, d := &benchStream{}, &fixture.DLQ{}
	return raw, newHandler(s, d, benchfixture.Logger()), s, d
}

// One event: parse and validate it, put it on the stream keyed by its order.
func BenchmarkHandleStreamer(b *testing.B) {
	raw, h, s, d := benchEvent(b)
	benchfixture.Invoke(b, h.Handle, raw, streamed(s, d))
}

// The handler takes the event as json.RawMessage; its floor decodes it as aws-lambda-go's
// EventBridgeEvent, the type of the event.
func BenchmarkFloorStreamer(b *testing.B) {
	raw, h, _, _ := benchEvent(b)
	benchfixture.Floor[lambdaevents.EventBridgeEvent, json.RawMessage](b, h.Handle, raw)
}

// streamed checks that the event was streamed, not parked.
func streamed(s *benchStream, d *fixture.DLQ) func([]byte) error {
	return func([]byte) error {
		if s.puts != 1 || len(d.Parked()) != 0 {
			return fmt.Errorf("%d streamed, %d parked", s.puts, len(d.Parked()))
		}
		return nil
	}
}

// The benchmark's input takes the path it is meant to measure.
func TestBenchmarkInputs(t *testing.T) {
	raw, h, s, d := benchEvent(t)
	benchfixture.Check(t, h.Handle, raw, streamed(s, d))
}
