package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

// benchStream accepts every record, and counts them.
type benchStream struct{ puts int }

func (s *benchStream) Put(context.Context, string, []byte) (string, error) {
	s.puts++
	return benchfixture.SequenceNumber(s.puts), nil
}

// benchEvent is an OrderPlaced event of a three-line order, as the bus's rule delivers it. The
// check: the event was streamed, not parked.
func benchEvent(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	raw := fixture.EventBridge(b, fixture.Placed(b, fixture.OrderID(1), "tok_visa", benchfixture.Items()...))
	s, d := &benchStream{}, &fixture.DLQ{}
	return raw, boot.Sink(newHandler(s, d, benchfixture.Logger()).Handle), func([]byte) error {
		if s.puts != 1 || len(d.Parked()) != 0 {
			return fmt.Errorf("%d streamed, %d parked", s.puts, len(d.Parked()))
		}
		return nil
	}
}

// One event: parse and validate it, put it on the stream keyed by its order.
func BenchmarkHandleStreamer(b *testing.B) { benchfixture.Invoke(b, benchEvent) }

// The handler takes the event as json.RawMessage; its floor decodes it as aws-lambda-go's
// EventBridgeEvent, the type of the event.
func BenchmarkFloorStreamer(b *testing.B) {
	benchfixture.Floor[lambdaevents.EventBridgeEvent, json.RawMessage](b, benchEvent)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchEvent, build, Config{}) }
