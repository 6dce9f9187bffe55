package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
)

// publisher puts events on the bus (bus.Publisher).
type publisher interface {
	Publish(ctx context.Context, entries ...events.Entry) error
}

// eventLoader reads an order's events from the event store (dynamo.EventStore).
type eventLoader interface {
	Load(ctx context.Context, orderID string) ([]events.Envelope, error)
}

// stockReader reads the units left per SKU; a SKU missing from the answer still has its
// initial stock (dynamo.Inventory).
type stockReader interface {
	Stock(ctx context.Context, skus []string) (map[string]int, error)
}

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 255

var orderIDPattern = regexp.MustCompile(`^ORD-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Handler is the order API, the producer of OrderPlaced: an HTTP API (payload 2.0) routed on
// method and path.
type Handler struct {
	busName string
	bus     publisher
	store   eventLoader
	stock   stockReader
	logger  *slog.Logger
	now     func() time.Time
	newID   func() string // an order id for a request without an Idempotency-Key
}

func newHandler(busName string, bus publisher, store eventLoader, stock stockReader, logger *slog.Logger) *Handler {
	return &Handler{busName: busName, bus: bus, store: store, stock: stock, logger: logger, now: time.Now, newID: order.NewID}
}

// errorBody is the body of every 4xx and 5xx answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"` // the request field at fault, for a 400
}

// product is one line of GET /products.
type product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Currency   string `json:"currency"`
	Stock      int    `json:"stock"`
}

// placed is the body of a 201 to POST /orders.
type placed struct {
	OrderID       string        `json:"orderId"`
	Status        order.Status  `json:"status"`
	CorrelationID string        `json:"correlationId"`
	TotalCents    int64         `json:"totalCents"`
	Currency      string        `json:"currency"`
	Items         []events.Item `json:"items"`
}

// Handle answers one HTTP request. It never returns an error: failures are 5xx answers with
// a generic body, and the detail goes to the log.
func (h *Handler) Handle(ctx context.Context, req lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	path := routePath(req)
	logger := h.logger.With("method", method, "path", path, "apiRequestId", req.RequestContext.RequestID)

	var resp lambdaevents.APIGatewayV2HTTPResponse
	switch {
	case path == "/products":
		resp = only(method, http.MethodGet, func() lambdaevents.APIGatewayV2HTTPResponse { return h.products(ctx, logger) })
	case path == "/orders":
		resp = only(method, http.MethodPost, func() lambdaevents.APIGatewayV2HTTPResponse { return h.place(ctx, logger, req) })
	case strings.HasPrefix(path, "/orders/") && !strings.Contains(path[len("/orders/"):], "/"):
		resp = only(method, http.MethodGet, func() lambdaevents.APIGatewayV2HTTPResponse {
			return h.get(ctx, logger, path[len("/orders/"):])
		})
	default:
		resp = reply(http.StatusNotFound, errorBody{Error: fmt.Sprintf("no route for %s %s", method, path)})
	}
	logger.InfoContext(ctx, "request answered", "status", resp.StatusCode)
	return resp, nil
}

// routePath is the request path without the stage (present unless the stage is $default)
// and without a trailing slash.
func routePath(req lambdaevents.APIGatewayV2HTTPRequest) string {
	path := req.RawPath
	if stage := req.RequestContext.Stage; stage != "" && stage != "$default" {
		path = strings.TrimPrefix(path, "/"+stage)
	}
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	if path == "" {
		path = "/"
	}
	return path
}

func only(method, allowed string, serve func() lambdaevents.APIGatewayV2HTTPResponse) lambdaevents.APIGatewayV2HTTPResponse {
	if method != allowed {
		resp := reply(http.StatusMethodNotAllowed, errorBody{Error: fmt.Sprintf("method %s not allowed, use %s", method, allowed)})
		resp.Headers["Allow"] = allowed
		return resp
	}
	return serve()
}

// GET /products: the catalogue with the stock left.
func (h *Handler) products(ctx context.Context, logger *slog.Logger) lambdaevents.APIGatewayV2HTTPResponse {
	all := catalogue.All()
	skus := make([]string, 0, len(all))
	for _, p := range all {
		skus = append(skus, p.SKU)
	}
	stock, err := h.stock.Stock(ctx, skus)
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("read stock: %w", err))
	}
	out := make([]product, 0, len(all))
	for _, p := range all {
		left, ok := stock[p.SKU]
		if !ok {
			left = p.InitialStock
		}
		out = append(out, product{SKU: p.SKU, Name: p.Name, PriceCents: p.PriceCents, Currency: catalogue.Currency, Stock: max(left, 0)})
	}
	return reply(http.StatusOK, out)
}

// POST /orders: validate, price, publish OrderPlaced, answer 201.
func (h *Handler) place(ctx context.Context, logger *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest) lambdaevents.APIGatewayV2HTTPResponse {
	// A base64 body is 4/3 of the bytes it carries: reject what cannot fit before decoding it.
	if len(req.Body) > (order.MaxBodyBytes/3+1)*4 {
		return tooLarge()
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return reply(http.StatusBadRequest, errorBody{Error: "request body is not valid base64"})
		}
	}
	parsed, err := order.ParsePlaceOrder(body)
	var inputErr *order.InputError
	switch {
	case errors.Is(err, order.ErrTooLarge):
		return tooLarge()
	case errors.As(err, &inputErr):
		return reply(http.StatusBadRequest, errorBody{Error: inputErr.Message, Field: inputErr.Field})
	case err != nil:
		return reply(http.StatusBadRequest, errorBody{Error: err.Error()})
	}
	key := header(req.Headers, "Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		return reply(http.StatusBadRequest, errorBody{Error: fmt.Sprintf("Idempotency-Key must be at most %d characters", maxIdempotencyKey), Field: "Idempotency-Key"})
	}
	payload, err := order.Price(parsed)
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("price a valid request: %w", err))
	}
	if key == "" {
		payload.OrderID = h.newID()
	} else {
		payload.OrderID = order.IDFor(parsed.CustomerID, key)
		// A retried POST names the same order. If its OrderPlaced is already in the event
		// store, answer as the first time (no second event) — or refuse a different order
		// under the same key. If it is not there yet, publishing again is safe: the event id
		// is the same, and every consumer deduplicates.
		if resp, done := h.replay(ctx, logger, payload); done {
			return resp
		}
	}
	e, err := events.New(events.TypeOrderPlaced, events.LatestVersion(events.TypeOrderPlaced), events.SourceOf(events.TypeOrderPlaced),
		payload.OrderID, 1, "", "", payload, h.now())
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("build OrderPlaced: %w", err))
	}
	logger = logger.With("orderId", e.OrderID, "correlationId", e.CorrelationID, "eventType", string(e.Type), "eventId", e.ID)
	entry, err := e.Entry(h.busName)
	if err != nil {
		return internalError(ctx, logger, err)
	}
	if err := h.bus.Publish(ctx, entry); err != nil {
		return internalError(ctx, logger, fmt.Errorf("publish OrderPlaced: %w", err))
	}
	logger.InfoContext(ctx, "order placed", "totalCents", payload.TotalCents)
	return created(payload, e.CorrelationID)
}

// replay answers a POST whose Idempotency-Key names an order already in the event store.
func (h *Handler) replay(ctx context.Context, logger *slog.Logger, payload events.OrderPlacedV2) (lambdaevents.APIGatewayV2HTTPResponse, bool) {
	evs, err := h.store.Load(ctx, payload.OrderID)
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("look up %s: %w", payload.OrderID, err)), true
	}
	for _, e := range evs {
		if e.Sequence != 1 {
			continue
		}
		up, err := e.Upcast()
		if err != nil {
			return internalError(ctx, logger, fmt.Errorf("stored OrderPlaced of %s: %w", payload.OrderID, err)), true
		}
		first, err := events.DecodePayload[events.OrderPlacedV2](up)
		if err != nil {
			return internalError(ctx, logger, fmt.Errorf("stored OrderPlaced of %s: %w", payload.OrderID, err)), true
		}
		if !reflect.DeepEqual(first, payload) {
			return reply(http.StatusUnprocessableEntity, errorBody{
				Error: "Idempotency-Key already used for a different order", Field: "Idempotency-Key",
			}), true
		}
		logger.InfoContext(ctx, "order replayed", "orderId", e.OrderID, "correlationId", e.CorrelationID)
		resp := created(first, e.CorrelationID)
		resp.Headers["Idempotent-Replayed"] = "true"
		return resp, true
	}
	return lambdaevents.APIGatewayV2HTTPResponse{}, false
}

func created(p events.OrderPlacedV2, correlationID string) lambdaevents.APIGatewayV2HTTPResponse {
	resp := reply(http.StatusCreated, placed{
		OrderID: p.OrderID, Status: order.StatusPlaced, CorrelationID: correlationID,
		TotalCents: p.TotalCents, Currency: p.Currency, Items: p.Items,
	})
	resp.Headers["Location"] = "/orders/" + p.OrderID
	return resp
}

// GET /orders/{orderId}: the order as a fold over its events.
func (h *Handler) get(ctx context.Context, logger *slog.Logger, orderID string) lambdaevents.APIGatewayV2HTTPResponse {
	if !orderIDPattern.MatchString(orderID) {
		return reply(http.StatusBadRequest, errorBody{Error: fmt.Sprintf("%q is not an order id (ORD-<uuid>)", orderID), Field: "orderId"})
	}
	evs, err := h.store.Load(ctx, orderID)
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("load %s: %w", orderID, err))
	}
	o, err := order.Fold(evs)
	switch {
	case errors.Is(err, order.ErrNotFound):
		// Also while the projector has not yet stored OrderPlaced: the read side is eventually consistent.
		return reply(http.StatusNotFound, errorBody{Error: fmt.Sprintf("order %s not found", orderID)})
	case err != nil:
		return internalError(ctx, logger, err)
	}
	resp := reply(http.StatusOK, o)
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

func tooLarge() lambdaevents.APIGatewayV2HTTPResponse {
	return reply(http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body larger than %d bytes", order.MaxBodyBytes)})
}

func internalError(ctx context.Context, logger *slog.Logger, err error) lambdaevents.APIGatewayV2HTTPResponse {
	logger.ErrorContext(ctx, "request failed", "error", err.Error())
	return reply(http.StatusInternalServerError, errorBody{Error: "internal error, please retry later"})
}

func reply(status int, body any) lambdaevents.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil { // every body here is a plain struct: cannot happen
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error, please retry later"}`)
	}
	return lambdaevents.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

// header reads a header case-insensitively (HTTP APIs lower-case them; tests may not).
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
