package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// ledger reserves and releases stock, once per order (dynamo.Inventory). Release gives back
// what the order's reservation holds, and returns those lines.
type ledger interface {
	Reserve(ctx context.Context, orderID string, lines []store.Line) (store.ReservationStatus, error)
	Release(ctx context.Context, orderID string) (store.ReservationStatus, []store.Line, error)
}

// Request is the task's input: the workflow document plus the action.
type Request struct {
	Action string `json:"action"`
	workflow.Doc
}

// Handler is the inventory task of the order-fulfilment state machine (direct Lambda invoke).
type Handler struct {
	busName string
	ledger  ledger
	logger  *slog.Logger
	now     func() time.Time
}

func newHandler(busName string, l ledger, logger *slog.Logger) *Handler {
	return &Handler{busName: busName, ledger: l, logger: logger, now: time.Now}
}

// Handle runs one action and returns the document with the new state, whose Entries the next
// Publish state puts on the bus. Errors are a *workflow.InvalidInputError (not retried:
// caught, compensated) or a *workflow.TransientError (retried with backoff).
func (h *Handler) Handle(ctx context.Context, req Request) (workflow.Doc, error) {
	st, err := h.handle(ctx, req)
	if err != nil {
		err = workflow.LambdaError(err)
		h.logger.ErrorContext(ctx, "task failed", append(req.LogIDs(), "action", req.Action, "errorType", fmt.Sprintf("%T", err), "error", err.Error())...)
		return workflow.Doc{}, err
	}
	h.logger.InfoContext(ctx, "task done", "action", req.Action, "orderId", st.Order.OrderID, "correlationId", st.CorrelationID,
		"outcome", st.Outcome, "sequence", st.Sequence, "entries", len(st.Entries))
	return workflow.Doc{Event: req.Event, State: st}, nil
}

func (h *Handler) handle(ctx context.Context, req Request) (*workflow.State, error) {
	switch req.Action {
	case workflow.ActionReserve:
		return h.reserve(ctx, req.Doc)
	case workflow.ActionRelease:
		if req.State == nil {
			return nil, invalid("release: no state")
		}
		return h.cancel(ctx, req.State, events.ReasonPaymentDeclined)
	case workflow.ActionCompensate:
		st := req.State
		if st == nil { // the first task failed: start over from the event
			var err error
			if st, err = start(req.Event); err != nil {
				return nil, err
			}
		}
		reason := req.Error.CompensationReason()
		if st.Outcome == workflow.OutcomeDeclined {
			reason = events.ReasonPaymentDeclined // ReleaseInventory failed: the cancellation it was making
		}
		return h.cancel(ctx, st, reason)
	default:
		return nil, invalid("unknown action %q (want %s, %s or %s)", req.Action, workflow.ActionReserve, workflow.ActionRelease, workflow.ActionCompensate)
	}
}

// reserve takes the order's stock: InventoryReserved, or OrderCancelled(out-of-stock).
func (h *Handler) reserve(ctx context.Context, doc workflow.Doc) (*workflow.State, error) {
	st, err := start(doc.Event)
	if err != nil {
		return nil, err
	}
	if err := priced(st.Order); err != nil {
		return nil, &workflow.InvalidInputError{Err: err}
	}
	orderID := st.Order.OrderID
	status, err := h.ledger.Reserve(ctx, orderID, lines(st.Order))
	if errors.Is(err, store.ErrConflict) {
		return nil, &workflow.InvalidInputError{Err: err}
	}
	if err != nil {
		return nil, err
	}
	st.ClearEntries()
	switch status {
	case store.Reserved:
		st.Outcome = workflow.OutcomeReserved
		err = h.emit(st, events.TypeInventoryReserved, events.InventoryReserved{OrderID: orderID, Items: stockLines(st.Order)})
	case store.OutOfStock:
		st.Outcome, st.Reason = workflow.OutcomeOutOfStock, events.ReasonOutOfStock
		err = h.emit(st, events.TypeOrderCancelled, events.OrderCancelled{OrderID: orderID, Reason: events.ReasonOutOfStock})
	default:
		err = fmt.Errorf("reserve %s: unexpected status %q", orderID, status)
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// cancel releases what was reserved (InventoryReleased with the lines the reservation held,
// if anything was: not the order's lines, which the reservation may not match) and cancels the
// order (OrderCancelled with reason). Entries no Publish state has sent yet stay in front of the
// new ones (State.KeepUnpublished): after a Catch, or a Publish that recorded failed entries.
func (h *Handler) cancel(ctx context.Context, st *workflow.State, reason string) (*workflow.State, error) {
	switch st.Outcome {
	case workflow.OutcomeCancelled, workflow.OutcomeOutOfStock, workflow.OutcomeShipped:
		// The order's last events are already decided (they sit in Entries, maybe unpublished
		// if their Publish state failed): return them as they are, so the next Publish sends
		// the very same events instead of appending a contradiction after a final event.
		return st, nil
	}
	orderID := st.Order.OrderID
	status, released, err := h.ledger.Release(ctx, orderID)
	if err != nil {
		return nil, err
	}
	st.KeepUnpublished()
	if status == store.Released && len(released) > 0 {
		if err := h.emit(st, events.TypeInventoryReleased, events.InventoryReleased{OrderID: orderID, Items: releasedLines(released), Reason: reason}); err != nil {
			return nil, err
		}
	}
	st.Outcome, st.Reason = workflow.OutcomeCancelled, reason
	if err := h.emit(st, events.TypeOrderCancelled, events.OrderCancelled{OrderID: orderID, Reason: reason}); err != nil {
		return nil, err
	}
	return st, nil
}

func (h *Handler) emit(st *workflow.State, t events.Type, payload any) error {
	return st.Emit(h.busName, t, payload, h.now())
}

// start validates the OrderPlaced event and builds the state from it (upcast to v2).
func start(raw []byte) (*workflow.State, error) {
	if len(raw) == 0 {
		return nil, invalid("no event")
	}
	e, err := events.Parse(raw)
	if err != nil {
		return nil, &workflow.InvalidInputError{Err: fmt.Errorf("event: %w", err)}
	}
	return workflow.Start(e)
}

// priced checks an order's prices against the catalogue's, as order-api set them: in the
// catalogue's currency, each line of a SKU on sale at its price, the total their sum. order-api prices every order it places; an
// OrderPlaced priced otherwise did not come from it (a legacy or forged event, one moved back
// from a dead-letter queue), and the saga takes no stock and no money for it. (A price changed
// by a deploy refuses the orders priced before it that are still being reserved: seconds' worth.)
func priced(o events.OrderPlaced) error {
	if o.Currency != catalogue.Currency { // the catalogue's prices are in one currency: charged in another, they are other prices
		return fmt.Errorf("currency %q, the catalogue's is %s: not priced by order-api", o.Currency, catalogue.Currency)
	}
	for i, it := range o.Items {
		if p, onSale := catalogue.Lookup(it.SKU); onSale && it.UnitPriceCents != p.PriceCents {
			return fmt.Errorf("items[%d]: %s at %d cents, the catalogue's price is %d: not priced by order-api", i, it.SKU, it.UnitPriceCents, p.PriceCents)
		}
	}
	if total := events.LinesTotal(o.Items); o.TotalCents != total {
		return fmt.Errorf("totalCents %d, the lines add up to %d: not priced by order-api", o.TotalCents, total)
	}
	return nil
}

// lines are the order's lines with the catalogue's initial stock (0 for a SKU no longer sold).
func lines(o events.OrderPlaced) []store.Line {
	out := make([]store.Line, 0, len(o.Items))
	for _, it := range o.Items {
		p, _ := catalogue.Lookup(it.SKU)
		out = append(out, store.Line{SKU: it.SKU, Quantity: it.Quantity, InitialStock: p.InitialStock})
	}
	return out
}

// releasedLines are the lines a Release gave back, as InventoryReleased carries them. The
// ledger keeps one line per SKU: for an order that lists a SKU on several lines, that line may
// hold more than an event's line may carry, so it goes out in lines of at most
// events.MaxLineQuantity (no more lines than the order had).
func releasedLines(lines []store.Line) []events.StockLine {
	out := make([]events.StockLine, 0, len(lines))
	for _, l := range lines {
		for left := l.Quantity; left > 0; left -= events.MaxLineQuantity {
			out = append(out, events.StockLine{SKU: l.SKU, Quantity: min(left, events.MaxLineQuantity)})
		}
	}
	return out
}

func stockLines(o events.OrderPlaced) []events.StockLine {
	out := make([]events.StockLine, 0, len(o.Items))
	for _, it := range o.Items {
		out = append(out, events.StockLine{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

func invalid(format string, args ...any) error {
	return &workflow.InvalidInputError{Err: fmt.Errorf(format, args...)}
}
