package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// shipmentStore keeps one shipment per order (dynamo.Shipments). Record fails with
// store.ErrConflict on an order its compensation sealed against shipping (the state machine's
// SealShipment writes the seal).
type shipmentStore interface {
	Record(ctx context.Context, sh store.Shipment) (store.Shipment, error)
}

// paymentReader reads an order's payment from the payments ledger (dynamo.Payments).
type paymentReader interface {
	Get(ctx context.Context, orderID string) (store.Payment, error)
}

// carrier ships every order in this demo.
const carrier = "ACME Parcel"

// ShipmentRefusedError means the carrier will not take the order (an item is dangerous goods).
// Retrying cannot change that: the function fails with errorType "ShipmentRefusedError",
// which no Retry of the state machine matches, and its Catch compensates (seal, refund, release
// the stock, cancel).
type ShipmentRefusedError struct{ Err error }

func (e *ShipmentRefusedError) Error() string { return e.Err.Error() }
func (e *ShipmentRefusedError) Unwrap() error { return e.Err }

// shipmentIDNamespace makes shipment ids deterministic per order. Never change it: ids are stored.
var shipmentIDNamespace = uuid.MustParse("9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69")

// Request is the task's input: the workflow document plus the action ("ship").
type Request struct {
	Action string `json:"action"`
	workflow.Doc
}

// Handler is the shipping task of the order-fulfilment state machine (direct Lambda invoke).
type Handler struct {
	busName   string
	shipments shipmentStore
	payments  paymentReader
	logger    *slog.Logger
	now       func() time.Time
}

func newHandler(busName string, shipments shipmentStore, payments paymentReader, logger *slog.Logger) *Handler {
	return &Handler{busName: busName, shipments: shipments, payments: payments, logger: logger, now: time.Now}
}

// Handle ships a confirmed order once and emits OrderShipped: for ShipOrder, and for ShipBooked
// (a compensation found the shipment booked before its seal: the order ships instead). Errors are
// a *ShipmentRefusedError or a *workflow.InvalidInputError (not retried) or a
// *workflow.TransientError (retried).
func (h *Handler) Handle(ctx context.Context, req Request) (workflow.Doc, error) {
	st, err := h.ship(ctx, req)
	var refused *ShipmentRefusedError
	if errors.As(err, &refused) {
		h.logger.WarnContext(ctx, "shipment refused", "orderId", req.State.Order.OrderID, "correlationId", req.State.CorrelationID, "error", err.Error())
		return workflow.Doc{}, refused // unwrapped: the errorType is the type's name
	}
	if errors.Is(err, store.ErrConflict) {
		// Expected after a compensation gave up on this task (a retry, or a Lambda that outlived
		// its execution): the order was sealed, its refund is the saga's. A warning, then, though
		// the task still fails (not retried) and counts in the function's Errors alarm, whose
		// runbook names this message.
		h.logger.WarnContext(ctx, "not shipped: the order was sealed by its compensation", "orderId", req.State.Order.OrderID,
			"correlationId", req.State.CorrelationID, "error", err.Error())
		return workflow.Doc{}, workflow.LambdaError(err)
	}
	if err != nil {
		err = workflow.LambdaError(err)
		h.logger.ErrorContext(ctx, "task failed", append(req.LogIDs(), "action", req.Action, "errorType", fmt.Sprintf("%T", err), "error", err.Error())...)
		return workflow.Doc{}, err
	}
	h.logger.InfoContext(ctx, "order shipped", "orderId", st.Order.OrderID, "correlationId", st.CorrelationID,
		"shipmentId", st.ShipmentID, "sequence", st.Sequence, "entries", len(st.Entries))
	return workflow.Doc{Event: req.Event, State: st}, nil
}

// ship books the carrier for the order, once, and emits OrderShipped. Events of the state that
// no Publish state has sent (ShipBooked runs after a Catch) stay ahead of it. An order its
// compensation sealed first (this call came late: a retry, or a Lambda that outlived its
// execution) is not shipped.
func (h *Handler) ship(ctx context.Context, req Request) (*workflow.State, error) {
	if req.Action != workflow.ActionShip {
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("unknown action %q (want ship)", req.Action)}
	}
	st := req.State
	if st == nil {
		return nil, &workflow.InvalidInputError{Err: errors.New("ship: no state")}
	}
	if st.Outcome != workflow.OutcomeApproved {
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("ship: order %s is %q, want %q", st.Order.OrderID, st.Outcome, workflow.OutcomeApproved)}
	}
	orderID := st.Order.OrderID
	if err := acceptable(st.Order); err != nil {
		return nil, err
	}
	// The state says approved; the ledger must too. The saga ships only after the payment service
	// recorded the charge, so an order whose ledger says otherwise was not sent by a saga (an
	// invoke with a state of someone's making, or a refund that came first): it does not ship.
	p, err := h.payments.Get(ctx, orderID)
	if err != nil {
		return nil, err // transient: retried
	}
	if p.Status != store.PaymentApproved {
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("ship: order %s's payment is %q in the ledger, not %s: no saga ships it", orderID, p.Status, store.PaymentApproved)}
	}
	sh, err := h.shipments.Record(ctx, store.Shipment{OrderID: orderID, ShipmentID: ShipmentID(orderID), Carrier: carrier, CreatedAt: h.now()})
	if errors.Is(err, store.ErrConflict) {
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("ship: %w (its compensation refunds it)", err)}
	}
	if err != nil {
		return nil, err
	}
	st.KeepUnpublished()
	st.Outcome, st.ShipmentID = workflow.OutcomeShipped, sh.ShipmentID
	if err := st.Emit(h.busName, events.TypeOrderShipped, events.OrderShipped{OrderID: orderID, ShipmentID: sh.ShipmentID, Carrier: sh.Carrier}, h.now()); err != nil {
		return nil, err
	}
	return st, nil
}

// acceptable checks the order against the carrier's rules: no dangerous goods.
func acceptable(o events.OrderPlaced) error {
	for _, it := range o.Items {
		if p, ok := catalogue.Lookup(it.SKU); ok && p.DangerousGoods {
			return &ShipmentRefusedError{Err: fmt.Errorf("ship %s: %s does not carry %s (%s): dangerous goods", o.OrderID, carrier, it.SKU, p.Name)}
		}
	}
	return nil
}

// ShipmentID is the order's shipment id: a UUID v5 of the order id.
func ShipmentID(orderID string) string {
	return uuid.NewSHA1(shipmentIDNamespace, []byte(orderID)).String()
}
