package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// benchBatch is the size of the payments queue's batches in the benchmark: its event source
// mapping's default.
const benchBatch = 10

// --- fakes that keep nothing: every op charges every order for the first time

// benchPayments claims every payment afresh and records every decision.
type benchPayments struct{}

func (benchPayments) Claim(_ context.Context, orderID, paymentID string, amountCents int64, _ time.Time) (store.Payment, error) {
	return store.Payment{OrderID: orderID, PaymentID: paymentID, Status: store.PaymentPending, AmountCents: amountCents, Attempts: 1}, nil
}

func (benchPayments) Record(_ context.Context, p store.Payment) (store.Payment, error) { return p, nil }

func (benchPayments) Void(context.Context, string, time.Time) (store.Payment, bool, error) {
	return store.Payment{}, false, nil
}

func (benchPayments) Refund(context.Context, string, time.Time) (store.Payment, bool, error) {
	return store.Payment{}, false, nil
}

func (benchPayments) LateChargeRefunded(context.Context, string, time.Time) (store.Payment, bool, error) {
	return store.Payment{}, false, nil
}

// benchIntents holds the intents order-api stored for the batch's orders (read only).
type benchIntents map[string]store.PaymentIntent

func (m benchIntents) Get(_ context.Context, intentID string) (store.PaymentIntent, error) {
	in, ok := m[intentID]
	if !ok {
		return store.PaymentIntent{}, store.ErrNotFound
	}
	return in, nil
}

// benchTasks counts the answers, so that the benchmark can tell the tasks succeeded (the
// handler runs a batch's messages concurrently).
type benchTasks struct{ succeeded, failed atomic.Int64 }

func (t *benchTasks) Live(context.Context, string) error { return nil }

func (t *benchTasks) Succeed(context.Context, string, string) error {
	t.succeeded.Add(1)
	return nil
}

func (t *benchTasks) Fail(context.Context, string, string, string) error {
	t.failed.Add(1)
	return nil
}

// benchCharges is an SQS batch of benchBatch RequestPayment messages (each a different order,
// its stock reserved) and the handler, whose intent store holds the orders' payment tokens.
// The check says every message was charged and its task answered with success.
func benchCharges(b testing.TB) (raw []byte, handler lambda.Handler, check func([]byte) error) {
	intents := benchIntents{}
	bodies := make([]string, 0, benchBatch)
	for n := 1; n <= benchBatch; n++ {
		placed := fixture.Placed(b, fixture.OrderID(n), "tok_visa", benchfixture.Items()...)
		p, err := events.DecodePayload[events.OrderPlaced](placed)
		if err != nil {
			b.Fatal(err)
		}
		intents[p.PaymentIntentID] = store.PaymentIntent{IntentID: p.PaymentIntentID, OrderID: p.OrderID, CustomerID: p.CustomerID,
			Token: "tok_visa", AmountCents: p.TotalCents, Currency: p.Currency, CreatedAt: placed.Time, ExpiresAt: placed.Time.Add(intentLifetime)}
		st, err := workflow.Start(placed)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Emit("orders", events.TypeInventoryReserved, events.InventoryReserved{OrderID: p.OrderID, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}}, fixture.Now); err != nil {
			b.Fatal(err)
		}
		st.Outcome = workflow.OutcomeReserved
		st.Published = &workflow.PublishResult{}
		bodies = append(bodies, string(benchfixture.JSON(b, taskMessage{Action: workflow.ActionCharge, TaskToken: benchfixture.TaskToken(n), Event: fixture.JSON(b, placed), State: st})))
	}
	raw = benchfixture.SQSEvent(b, "arn:aws:sqs:us-east-1:000000000000:payments", bodies...)
	tasks := &benchTasks{}
	h := newHandler("orders", ports{payments: benchPayments{}, intents: intents, provider: provider.Sandbox{}, tasks: tasks, seals: newFakeSeals(), dlq: &fixture.DLQ{}, source: &fixture.Source{}},
		3, benchfixture.Logger())
	return raw, boot.Handler(h.Handle), benchfixture.NoFailures(func() error {
		if tasks.succeeded.Load() != benchBatch || tasks.failed.Load() != 0 {
			return fmt.Errorf("%d tasks succeeded, %d failed, want %d and 0", tasks.succeeded.Load(), tasks.failed.Load(), benchBatch)
		}
		return nil
	})
}

// intentLifetime is how long order-api keeps an intent (its own constant is order-api's).
const intentLifetime = 14 * 24 * time.Hour

// A batch of charges: per message, decode the task, check its state, claim the payment, read
// the intent, charge, record, emit PaymentApproved and OrderConfirmed, answer the task.
func BenchmarkHandlePayment(b *testing.B) { benchfixture.Invoke(b, benchCharges) }

func BenchmarkFloorPayment(b *testing.B) {
	benchfixture.Floor[lambdaevents.SQSEvent, lambdaevents.SQSEventResponse](b, benchCharges)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) {
	benchfixture.Check(t, benchCharges, build, Config{MaxReceiveCount: "5"})
}
