package main

import (
	"context"
	"io"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// benchStore appends every event as new (and counts them); every order was placed at fixture.Now.
type benchStore struct{ appended int }

func (s *benchStore) Append(context.Context, store.EventRecord) error {
	s.appended++
	return nil
}

func (*benchStore) PlacedAt(context.Context, string) (time.Time, error) { return fixture.Now, nil }

// benchLifecycle is the five events of a shipped order, as the streamer put them on the stream.
func benchLifecycle(b testing.TB, n int) []events.Envelope {
	id := fixture.OrderID(n)
	placed := fixture.Placed(b, id, "tok_visa", benchfixture.Items()...)
	lines := []events.StockLine{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}
	return []events.Envelope{
		placed,
		fixture.Event(b, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: lines}),
		fixture.Event(b, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 14038}),
		fixture.Event(b, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 14038}),
		fixture.Event(b, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
	}
}

// benchKinesis is a Kinesis batch of two shipped orders' ten events (each record the whole
// EventBridge event, keyed by its order), and the handler, whose business metrics go nowhere.
// The check: every record was appended, none parked or failed.
func benchKinesis(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	var keys []string
	var data [][]byte
	for n := 1; n <= 2; n++ {
		for _, e := range benchLifecycle(b, n) {
			keys, data = append(keys, e.OrderID), append(data, fixture.EventBridge(b, e))
		}
	}
	m, err := metrics.New(io.Discard, metrics.Orderflow(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	s, d := &benchStore{}, &fixture.DLQ{}
	return benchfixture.KinesisEvent(b, keys, data...), boot.Handler(newHandler(s, d, m, benchfixture.Logger()).Handle),
		benchfixture.Handled("appended", 10, func() int { return s.appended }, d)
}

// A batch: per record, parse and validate the event, append it to the event store, emit its
// business metrics (OrdersPlaced; OrdersShipped with PlacedToTerminal).
func BenchmarkHandleProjector(b *testing.B) { benchfixture.Invoke(b, benchKinesis) }

func BenchmarkFloorProjector(b *testing.B) {
	benchfixture.Floor[lambdaevents.KinesisEvent, lambdaevents.KinesisEventResponse](b, benchKinesis)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchKinesis, build, Config{}) }
