// Package shop is a small client of the orderflow HTTP API, shared by the demo, the trace and the
// end-to-end tests.
package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Client calls one deployed API, as one signed-in customer (or anonymously, without a Token:
// then only GET /products answers).
type Client struct {
	BaseURL string // e.g. http://abcd1234.execute-api.localhost:4566
	HTTP    *http.Client
	Token   string // the customer's Cognito access token, sent as "Authorization: Bearer <token>"
}

// As is a copy of c that calls as the customer token names.
func (c *Client) As(token string) *Client {
	cp := *c
	cp.Token = token
	return &cp
}

// Line is one line of an order.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// OrderRequest is the body of POST /orders. The customer is whoever the access token names.
type OrderRequest struct {
	Items   []Line `json:"items"`
	Payment struct {
		Token string `json:"token"`
	} `json:"payment"`
}

// The payment provider's test tokens (see README, "The API").
const (
	TokenApprove         = "tok_visa"             // approved
	TokenDecline         = "tok_declined"         // declined: the order is cancelled (payment-declined)
	TokenProcessingError = "tok_processing_error" // a transient processing error on the first attempt, approved on the retry
	TokenSlow            = "tok_provider_slow"    // processing errors on the first two attempts: the answer comes after about a minute
)

// Demo catalogue items with a story.
const (
	SKUSoldOut        = "SKU-404" // never in stock: the order is cancelled (out-of-stock)
	SKUDangerousGoods = "SKU-451" // the carrier refuses it: charged, then refunded and cancelled (fulfilment-failed)
)

// NewOrder builds a request; token tok_visa approves, tok_declined declines (see the Token constants).
func NewOrder(token string, lines ...Line) OrderRequest {
	r := OrderRequest{Items: lines}
	r.Payment.Token = token
	return r
}

// Placed is the 201 answer to POST /orders.
type Placed struct {
	OrderID       string `json:"orderId"`
	Status        string `json:"status"`
	CorrelationID string `json:"correlationId"`
	TotalCents    int64  `json:"totalCents"`
}

// EventRef is one event of an order as GET /orders/{id} lists it.
type EventRef struct {
	Sequence int       `json:"sequence"`
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
}

// Order is the answer to GET /orders/{id}: the fold of the order's events.
type Order struct {
	OrderID    string     `json:"orderId"`
	CustomerID string     `json:"customerId"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	TotalCents int64      `json:"totalCents"`
	Events     []EventRef `json:"events"`
}

// Product is one entry of GET /products.
type Product struct {
	SKU        string `json:"sku"`
	Name       string `json:"name"`
	PriceCents int64  `json:"priceCents"`
	Stock      int    `json:"stock"`
}

// OrderSummary is one order in GET /orders.
type OrderSummary struct {
	OrderID    string    `json:"orderId"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason"`
	PlacedAt   time.Time `json:"placedAt"`
	TotalCents int64     `json:"totalCents"`
	Items      []Line    `json:"items"`
}

// OrderPage is the answer to GET /orders.
type OrderPage struct {
	Orders     []OrderSummary `json:"orders"`
	NextCursor string         `json:"nextCursor"`
	// Unavailable are the orders of the page whose history does not fold: named, not listed.
	Unavailable []Unavailable `json:"unavailable"`
}

// Unavailable is an order GET /orders names without listing it, and why.
type Unavailable struct {
	OrderID  string    `json:"orderId"`
	PlacedAt time.Time `json:"placedAt"`
	Error    string    `json:"error"`
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Code, e.Body) }

// ErrNotFound is a 404.
var ErrNotFound = errors.New("not found")

// Do sends one request with the client's token (if any) and the given headers (name, value
// pairs), and returns the status code and body, whatever the status.
func (c *Client) Do(ctx context.Context, method, path, contentType string, body []byte, headers ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *Client) json(ctx context.Context, method, path string, in any, want int, out any, headers ...string) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	code, b, err := c.Do(ctx, method, path, "application/json", body, headers...)
	if err != nil {
		return err
	}
	if code == http.StatusNotFound {
		return fmt.Errorf("%s %s: %w: %s", method, path, ErrNotFound, b)
	}
	if code != want {
		return fmt.Errorf("%s %s: %w", method, path, &StatusError{Code: code, Body: string(b)})
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode %s: %w", method, path, b, err)
	}
	return nil
}

// Products lists the catalogue with current stock.
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var ps []Product
	return ps, c.json(ctx, http.MethodGet, "/products", nil, http.StatusOK, &ps)
}

// PlaceOrder posts an order. With an idempotencyKey, a retry of the same request names the
// same order (the IETF Idempotency-Key header; it is sent as a quoted string).
func (c *Client) PlaceOrder(ctx context.Context, r OrderRequest, idempotencyKey ...string) (Placed, error) {
	var p Placed
	var headers []string
	if len(idempotencyKey) > 0 {
		headers = []string{"Idempotency-Key", strconv.Quote(idempotencyKey[0])}
	}
	return p, c.json(ctx, http.MethodPost, "/orders", r, http.StatusCreated, &p, headers...)
}

// ListOrders reads one page of the customer's orders, newest first ("" cursor: the first page).
func (c *Client) ListOrders(ctx context.Context, limit int, cursor string) (OrderPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	path := "/orders"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var page OrderPage
	return page, c.json(ctx, http.MethodGet, path, nil, http.StatusOK, &page)
}

// GetOrder reads an order; ErrNotFound until its first event reaches the event store.
func (c *Client) GetOrder(ctx context.Context, id string) (Order, error) {
	var o Order
	return o, c.json(ctx, http.MethodGet, "/orders/"+id, nil, http.StatusOK, &o)
}

// Terminal reports whether an order status is final: an event that ends an order sets it (the
// event registry's SHIPPED, CANCELLED).
func Terminal(status string) bool { return events.FinalStatus(status) }

// WaitUntil polls GET /orders/{id} every interval until done(order) holds or ctx ends. A 404 is
// expected at first: the order becomes readable once the projector has stored its first event.
func (c *Client) WaitUntil(ctx context.Context, id string, interval time.Duration, done func(Order) bool) (Order, error) {
	var last Order
	var lastErr error
	for {
		o, err := c.GetOrder(ctx, id)
		switch {
		case err == nil:
			last, lastErr = o, nil
			if done(o) {
				return o, nil
			}
		case errors.Is(err, ErrNotFound):
			lastErr = err
		default:
			return last, err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return last, fmt.Errorf("order %s: %w (last answer: %v)", id, ctx.Err(), lastErr)
			}
			return last, fmt.Errorf("order %s: %w (last status %s after %d events)", id, ctx.Err(), last.Status, len(last.Events))
		case <-time.After(interval):
		}
	}
}
