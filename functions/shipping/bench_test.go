package main

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// benchShipments stores every shipment as new. It keeps nothing.
type benchShipments struct{}

func (benchShipments) Record(_ context.Context, sh store.Shipment) (store.Shipment, error) {
	return sh, nil
}

// benchShip is the Ship task's input as the state machine sends it: the workflow document of
// a three-line order whose payment was approved and whose events were published.
func benchShip(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	id := fixture.OrderID(1)
	placed := fixture.Placed(b, id, "tok_visa", benchfixture.Items()...)
	st, err := workflow.Start(placed)
	if err != nil {
		b.Fatal(err)
	}
	lines := []events.StockLine{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 3}, {SKU: "SKU-042", Quantity: 1}}
	for _, e := range []struct {
		typ events.Type
		p   any
	}{
		{events.TypeInventoryReserved, events.InventoryReserved{OrderID: id, Items: lines}},
		{events.TypePaymentApproved, events.PaymentApproved{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: st.Order.TotalCents}},
		{events.TypeOrderConfirmed, events.OrderConfirmed{OrderID: id, TotalCents: st.Order.TotalCents}},
	} {
		if err := st.Emit("orders", e.typ, e.p, fixture.Now); err != nil {
			b.Fatal(err)
		}
	}
	st.Outcome, st.PaymentID, st.Published = workflow.OutcomeApproved, "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", &workflow.PublishResult{}
	raw := benchfixture.JSON(b, Request{Action: "ship", Doc: workflow.Doc{Event: fixture.JSON(b, placed), State: st}})
	return raw, boot.Handler(newHandler("orders", benchShipments{}, benchPaid{}, benchfixture.Logger()).Handle), benchfixture.Outcome(workflow.OutcomeShipped)
}

// ship: check the carrier's rules, record the shipment, emit OrderShipped.
func BenchmarkHandleShipping(b *testing.B) { benchfixture.Invoke(b, benchShip) }

func BenchmarkFloorShipping(b *testing.B) { benchfixture.Floor[Request, workflow.Doc](b, benchShip) }

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchShip, build, Config{}) }

// benchPaid answers every order's payment APPROVED, as the ledger does when the saga ships.
type benchPaid struct{}

func (benchPaid) Get(_ context.Context, orderID string) (store.Payment, error) {
	return store.Payment{OrderID: orderID, Status: store.PaymentApproved}, nil
}
