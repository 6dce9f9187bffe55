package main

import (
	"context"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// benchTotals counts every event as new, and counts the adds.
type benchTotals struct{ added int }

func (t *benchTotals) Add(context.Context, string, store.Totals, time.Time) error {
	t.added++
	return nil
}

// benchKinesis is a Kinesis batch of ten events of five orders, as the stream carries them:
// each order placed then paid or cancelled; three payments and two cancellations count. The
// check: the five counting events were counted, none parked or failed.
func benchKinesis(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	var keys []string
	var data [][]byte
	for n := 1; n <= 5; n++ {
		id := fixture.OrderID(n)
		last := fixture.Event(b, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 14038})
		if n%2 == 0 {
			last = fixture.Event(b, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock})
		}
		for _, e := range []events.Envelope{fixture.Placed(b, id, "tok_visa", benchfixture.Items()...), last} {
			keys, data = append(keys, id), append(data, fixture.EventBridge(b, e))
		}
	}
	t, d := &benchTotals{}, &fixture.DLQ{}
	return benchfixture.KinesisEvent(b, keys, data...), boot.Handler(newHandler(t, d, benchfixture.Logger()).Handle),
		benchfixture.Handled("counted", 5, func() int { return t.added }, d)
}

// A batch: per record, parse and validate the event, add what it counts to the totals.
func BenchmarkHandleAnalytics(b *testing.B) { benchfixture.Invoke(b, benchKinesis) }

func BenchmarkFloorAnalytics(b *testing.B) {
	benchfixture.Floor[lambdaevents.KinesisEvent, lambdaevents.KinesisEventResponse](b, benchKinesis)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchKinesis, build, Config{}) }
