package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// publisher puts events on the bus (bus.Publisher).
type publisher interface {
	Publish(ctx context.Context, entries ...events.Entry) error
}

// eventStore reads orders from the event store (dynamo.EventStore): one order's events, and a
// customer's orders through the store's index. An event that no longer reads is
// store.ErrUnreadable: Load returns the others with it, CustomerOrders lists the order with it.
type eventStore interface {
	Load(ctx context.Context, orderID string) ([]events.Envelope, error)
	CustomerOrders(ctx context.Context, customerID string, limit int, after *store.OrderCursor) ([]store.ListedOrder, *store.OrderCursor, error)
}

// stockReader reads the units left per SKU; a SKU missing from the answer still has its
// initial stock (dynamo.Inventory).
type stockReader interface {
	Stock(ctx context.Context, skus []string) (map[string]int, error)
}

// idempotencyKeys claims and completes Idempotency-Keys with conditional writes
// (dynamo.IdempotencyKeys).
type idempotencyKeys interface {
	Claim(ctx context.Context, rec store.IdempotencyRecord, now time.Time) (store.IdempotencyRecord, bool, error)
	TakeOver(ctx context.Context, customerID, key, fingerprint, leaseID string, until, now time.Time) (store.IdempotencyRecord, bool, error)
	Complete(ctx context.Context, customerID, key, leaseID, response string) error
	Release(ctx context.Context, customerID, key, leaseID string, now time.Time) error
}

// intentStore hands the payment token to the payments service (dynamo.PaymentIntents).
type intentStore interface {
	Put(ctx context.Context, in store.PaymentIntent) error
}

// Ports are the adapters the handler uses.
type Ports struct {
	Bus     publisher
	Events  eventStore
	Stock   stockReader
	Keys    idempotencyKeys
	Intents intentStore
}

// Handler is the order API, the producer of OrderPlaced: an HTTP API (payload 2.0) routed on
// the route key. Every route but GET /products needs a signed-in customer: the HTTP API's JWT
// authorizer checks the Cognito access token, and the customer is its sub.
type Handler struct {
	busName string
	Ports
	logger *slog.Logger
	now    func() time.Time
	// Random ids, replaceable in tests.
	newID, newIntentID, newLeaseID func() string
}

func newHandler(busName string, p Ports, logger *slog.Logger) *Handler {
	return &Handler{
		busName: busName, Ports: p, logger: logger, now: time.Now,
		newID: order.NewID, newIntentID: order.NewPaymentIntentID, newLeaseID: uuid.NewString,
	}
}

// Routes, as the HTTP API names them (its route keys).
const (
	routeProducts = "GET /products"
	routePlace    = "POST /orders"
	routeList     = "GET /orders"
	routeGet      = "GET /orders/{orderId}"
	// routeDefault is the API's catch-all: a method and path no route above matches.
	routeDefault = "$default"
)

// errorBody is the body of every 4xx and 5xx answer.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"` // the request field (or header) at fault
}

// product is one line of GET /products.
type product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Currency   string `json:"currency"`
	Stock      int    `json:"stock"`
}

// Handle answers one HTTP request. It never returns an error: failures are 5xx answers with
// a generic body, and the detail goes to the log.
func (h *Handler) Handle(ctx context.Context, req lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	route := routeKey(req)
	logger := h.logger.With("route", route, "apiRequestId", req.RequestContext.RequestID)

	var resp lambdaevents.APIGatewayV2HTTPResponse
	if route == routeProducts {
		resp = h.products(ctx, logger)
	} else if customer, ok := signedIn(req); !ok {
		resp = unauthorized()
	} else {
		logger = logger.With("customerId", customer)
		switch route {
		case routePlace:
			resp = h.place(ctx, logger, req, customer)
		case routeList:
			resp = h.list(ctx, logger, req, customer)
		case routeGet:
			resp = h.get(ctx, logger, req.PathParameters["orderId"], customer)
		case routeDefault:
			resp = unmatched(req)
		default:
			resp = reply(http.StatusNotFound, errorBody{Error: fmt.Sprintf("no route %q", route)})
		}
	}
	logger.InfoContext(ctx, "request answered", "status", resp.StatusCode)
	return resp, nil
}

// unmatched answers a request no route matched: 405, with the methods it has in Allow, for one of
// the API's resources (RFC 9110 15.5.6); 404 for any other path.
func unmatched(req lambdaevents.APIGatewayV2HTTPRequest) lambdaevents.APIGatewayV2HTTPResponse {
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	var allow string
	switch id, isOrder := strings.CutPrefix(path, "/orders/"); {
	case path == "/products":
		allow = "GET"
	case path == "/orders":
		allow = "GET, POST"
	case isOrder && id != "" && !strings.Contains(id, "/"):
		allow = "GET"
	default:
		return reply(http.StatusNotFound, errorBody{Error: "no such resource: the API has /products, /orders and /orders/{orderId}"})
	}
	resp := reply(http.StatusMethodNotAllowed, errorBody{Error: fmt.Sprintf("method %q is not allowed here: use %s", req.RequestContext.HTTP.Method, allow)})
	resp.Headers["Allow"] = allow
	return resp
}

// routeKey is the route the HTTP API matched ("POST /orders"), read from the event.
func routeKey(req lambdaevents.APIGatewayV2HTTPRequest) string {
	if req.RouteKey != "" {
		return req.RouteKey
	}
	return req.RequestContext.RouteKey
}

// signedIn returns the customer the request's JWT authorizer vouched for: the token's sub.
// The authorizer has already checked the token (signature, issuer, audience, expiry); this
// refuses a request it did not see (a route deployed without it) rather than trust anything
// else.
func signedIn(req lambdaevents.APIGatewayV2HTTPRequest) (string, bool) {
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil {
		return "", false
	}
	sub := a.JWT.Claims["sub"]
	return sub, order.ValidCustomerID(sub)
}

func unauthorized() lambdaevents.APIGatewayV2HTTPResponse {
	resp := reply(http.StatusUnauthorized, errorBody{Error: "sign in first: send a Cognito access token as Authorization: Bearer <token>"})
	resp.Headers["WWW-Authenticate"] = "Bearer"
	return resp
}

// GET /products: the catalogue with the stock left.
func (h *Handler) products(ctx context.Context, logger *slog.Logger) lambdaevents.APIGatewayV2HTTPResponse {
	all := catalogue.All()
	skus := make([]string, 0, len(all))
	for _, p := range all {
		skus = append(skus, p.SKU)
	}
	stock, err := h.Stock.Stock(ctx, skus)
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

func internalError(ctx context.Context, logger *slog.Logger, err error) lambdaevents.APIGatewayV2HTTPResponse {
	logger.ErrorContext(ctx, "request failed", "error", err.Error())
	return reply(http.StatusInternalServerError, errorBody{Error: "internal error, please retry later"})
}

func reply(status int, body any) lambdaevents.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(body)
	if err != nil { // every body here is a plain struct: cannot happen
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error, please retry later"}`)
	}
	return rawReply(status, string(b))
}

func rawReply(status int, body string) lambdaevents.APIGatewayV2HTTPResponse {
	return lambdaevents.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       body,
	}
}

// private marks an answer that holds one customer's data: no cache may keep it.
func private(resp lambdaevents.APIGatewayV2HTTPResponse) lambdaevents.APIGatewayV2HTTPResponse {
	resp.Headers["Cache-Control"] = "no-store"
	return resp
}

// header reads a header case-insensitively (HTTP APIs lower-case them; tests may not).
func header(headers map[string]string, name string) (string, bool) {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
