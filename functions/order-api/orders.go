package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// Pages of GET /orders.
const (
	defaultPageSize = 20
	maxPageSize     = 50
	foldsAtOnce     = 8 // event-store reads in flight for one page
)

// orderPage is the body of GET /orders.
type orderPage struct {
	Orders     []orderSummary `json:"orders"`
	NextCursor string         `json:"nextCursor,omitempty"` // pass as ?cursor= for the next page; absent on the last
	// Unavailable are the caller's orders on this page whose history does not fold, or holds an
	// event that no longer reads (GET /orders/{orderId} answers 500 for them, 404 if even their
	// OrderPlaced does not read): named, so that one broken order does not take the caller's
	// whole list down with it, nor vanish from it.
	Unavailable []unavailableOrder `json:"unavailable,omitempty"`
}

// unavailableOrder is an order of the caller that cannot be shown now.
type unavailableOrder struct {
	OrderID  string    `json:"orderId"`
	PlacedAt time.Time `json:"placedAt"`
	Error    string    `json:"error"`
}

// orderSummary is one order in GET /orders.
type orderSummary struct {
	OrderID    string        `json:"orderId"`
	Status     order.Status  `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	PlacedAt   time.Time     `json:"placedAt"`
	TotalCents int64         `json:"totalCents"`
	Currency   string        `json:"currency"`
	Items      []events.Item `json:"items"`
}

// GET /orders/{orderId}: the order as a fold over its events, if it is the caller's. Another
// customer's order is 404 as an unknown one is: its existence is not disclosed.
func (h *Handler) get(ctx context.Context, logger *slog.Logger, orderID, customer string) lambdaevents.APIGatewayV2HTTPResponse {
	if !order.IsID(orderID) {
		return reply(http.StatusBadRequest, errorBody{Error: fmt.Sprintf("%s is not an order id (ORD-<uuid>)", order.Quote(orderID)), Field: "orderId"})
	}
	evs, o, err, loadErr := h.foldHistory(ctx, orderID)
	if loadErr != nil {
		return internalError(ctx, logger, loadErr)
	}
	switch {
	case errors.Is(err, order.ErrNotFound) || (err == nil && o.CustomerID != customer) || (err != nil && !isOwner(evs, customer)):
		// Also while the projector has not yet stored OrderPlaced (the read side is eventually
		// consistent), and for another customer's order whose history does not fold.
		// no-store: a 404 is cacheable by default (RFC 9111 4.2.2), and this one may turn into a 200
		// in a moment (eventual consistency).
		return private(reply(http.StatusNotFound, errorBody{Error: fmt.Sprintf("order %s not found", orderID)}))
	case err != nil:
		return internalError(ctx, logger, err)
	}
	return private(reply(http.StatusOK, o))
}

// foldHistory loads an order's events and folds them. loadErr is the store's (transient: a 500,
// and the client retries); err is why the history does not fold, or an event of it that no longer
// reads (store.ErrUnreadable: evs then holds the events that do), which the caller tells as
// either the owner's 500 or anyone else's 404.
func (h *Handler) foldHistory(ctx context.Context, orderID string) (evs []events.Envelope, o order.Order, err, loadErr error) {
	evs, err = h.Events.Load(ctx, orderID)
	switch {
	case errors.Is(err, store.ErrUnreadable):
		return evs, o, err, nil
	case err != nil:
		return nil, o, nil, fmt.Errorf("load %s: %w", orderID, err)
	}
	o, err = order.Fold(evs)
	return evs, o, err, nil
}

// isOwner reports whether customer placed the order whose events are evs, read from its
// OrderPlaced events (sequence 1) alone, in whatever version each was written: at least one, and
// every one that decodes, names customer.
// It decides who may learn that a history which does not fold is broken (a 500) rather than not
// there (a 404).
func isOwner(evs []events.Envelope, customer string) bool {
	named := false
	for _, e := range evs {
		if e.Sequence != 1 || e.Type != events.TypeOrderPlaced {
			continue
		}
		up, err := e.Upcast() // an order placed in an older version is its customer's as much
		if err != nil {
			continue
		}
		p, err := events.DecodePayload[events.OrderPlaced](up)
		if err != nil {
			continue
		}
		if p.CustomerID != customer {
			return false
		}
		named = true
	}
	return named
}

// GET /orders[?limit=N][&cursor=C]: the caller's orders, newest first, a page at a time.
func (h *Handler) list(ctx context.Context, logger *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest, customer string) lambdaevents.APIGatewayV2HTTPResponse {
	limit := defaultPageSize
	if v, ok := req.QueryStringParameters["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize || strings.Trim(v, "0123456789") != "" || v[0] == '0' { // digits only: not "+5", "05"
			return reply(http.StatusBadRequest, errorBody{Error: fmt.Sprintf("limit must be an integer from 1 to %d", maxPageSize), Field: "limit"})
		}
		limit = n
	}
	var after *store.OrderCursor
	if v, ok := req.QueryStringParameters["cursor"]; ok {
		c, err := decodeCursor(v)
		if err != nil {
			return reply(http.StatusBadRequest, errorBody{Error: "cursor is not one this API gave out: pass nextCursor from the previous page as it is", Field: "cursor"})
		}
		after = &c
	}
	listed, next, err := h.Events.CustomerOrders(ctx, customer, limit, after)
	if err != nil {
		return internalError(ctx, logger, err)
	}
	// Each order's slot: its summary, unavailable (its history does not fold or read), or neither
	// (its events name another customer than the index does: not the caller's to see).
	type slot struct {
		summary     *orderSummary
		unavailable bool
	}
	slots := make([]slot, len(listed))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(foldsAtOnce)
	for i, l := range listed {
		if l.Err != nil { // its OrderPlaced does not read: the index, keyed on the caller, lists it
			logger.ErrorContext(ctx, "a listed order's OrderPlaced does not read: listed as unavailable", "orderId", l.OrderID, "error", l.Err.Error())
			slots[i].unavailable = true
			continue
		}
		e := l.Placed
		g.Go(func() error {
			evs, o, err, loadErr := h.foldHistory(gctx, e.OrderID)
			if loadErr != nil {
				return loadErr // transient: the page fails, the client retries
			}
			switch {
			case err != nil && isOwner(evs, customer):
				logger.ErrorContext(ctx, "a listed order's history does not fold or read: listed as unavailable", "orderId", e.OrderID, "error", err.Error())
				slots[i].unavailable = true
				return nil
			case err != nil || o.CustomerID != customer: // the index is keyed on the customer: a stored event says otherwise
				logger.ErrorContext(ctx, "a listed order's events name another customer: left out", "orderId", e.OrderID, "foldError", fmt.Sprint(err))
				return nil
			}
			slots[i].summary = &orderSummary{
				OrderID: o.OrderID, Status: o.Status, Reason: o.Reason, PlacedAt: e.Time,
				TotalCents: o.TotalCents, Currency: o.Currency, Items: o.Items,
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return internalError(ctx, logger, err)
	}
	page := orderPage{Orders: make([]orderSummary, 0, len(listed))}
	for i, sl := range slots {
		switch {
		case sl.summary != nil:
			page.Orders = append(page.Orders, *sl.summary)
		case sl.unavailable:
			page.Unavailable = append(page.Unavailable, unavailableOrder{OrderID: listed[i].OrderID, PlacedAt: listed[i].PlacedAt,
				Error: "this order cannot be shown now: its history does not read as one order (it is kept, and order-api logs why)"})
		}
	}
	if next != nil {
		page.NextCursor = encodeCursor(*next)
	}
	return private(reply(http.StatusOK, page))
}

// A cursor is opaque to clients: base64url of {"t": placedAt, "o": orderId}. It cannot reach
// another customer's orders: the query is always keyed on the caller.
type cursorJSON struct {
	PlacedAt time.Time `json:"t"`
	OrderID  string    `json:"o"`
}

func encodeCursor(c store.OrderCursor) string {
	b, _ := json.Marshal(cursorJSON{PlacedAt: c.PlacedAt.UTC(), OrderID: c.OrderID}) // a time and a string: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (store.OrderCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.OrderCursor{}, err
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return store.OrderCursor{}, err
	}
	if !order.IsID(c.OrderID) || c.PlacedAt.IsZero() {
		return store.OrderCursor{}, errors.New("incomplete cursor")
	}
	return store.OrderCursor{PlacedAt: c.PlacedAt, OrderID: c.OrderID}, nil
}
