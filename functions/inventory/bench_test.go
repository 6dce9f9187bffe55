package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/functions/internal/benchfixture"
	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// benchLedger has stock for every order: Reserve always reserves. It keeps nothing.
type benchLedger struct{}

func (benchLedger) Reserve(context.Context, string, []store.Line) (store.ReservationStatus, error) {
	return store.Reserved, nil
}

func (benchLedger) Release(context.Context, string) (store.ReservationStatus, []store.Line, error) {
	return store.NoReservation, nil, nil
}

// benchReserve is the ReserveInventory task's input as the state machine sends it: the
// workflow document of a three-line order, no state yet.
func benchReserve(b testing.TB) ([]byte, lambda.Handler, func([]byte) error) {
	id := fixture.OrderID(1)
	placed := fixture.Placed(b, id, "tok_visa", benchfixture.Items()...)
	raw := benchfixture.JSON(b, map[string]any{"action": workflow.ActionReserve, "event": json.RawMessage(fixture.JSON(b, placed)), "state": nil})
	return raw, boot.Handler(newHandler("orders", benchLedger{}, benchfixture.Logger()).Handle), benchfixture.Outcome(workflow.OutcomeReserved)
}

// reserve: validate OrderPlaced, upcast it, reserve, emit InventoryReserved.
func BenchmarkHandleInventory(b *testing.B) { benchfixture.Invoke(b, benchReserve) }

func BenchmarkFloorInventory(b *testing.B) {
	benchfixture.Floor[Request, workflow.Doc](b, benchReserve)
}

// The benchmark's input takes the path it is meant to measure, through the handler build makes.
func TestBenchmarkInputs(t *testing.T) { benchfixture.Check(t, benchReserve, build, Config{}) }
