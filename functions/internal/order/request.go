// Package order is the order domain: the POST /orders request and its validation, pricing
// from the catalogue, the request's fingerprint for idempotency, and the order's current
// state as a fold over its events (event sourcing). It has no AWS imports.
package order

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
)

// Limits of a POST /orders request.
const (
	MaxBodyBytes       = 16 << 10 // larger bodies get 413
	MaxLines           = 10
	MaxQuantityPerLine = 10
)

// ErrTooLarge is returned by ParsePlaceOrder for a body over MaxBodyBytes (HTTP 413).
var ErrTooLarge = fmt.Errorf("request body larger than %d bytes", MaxBodyBytes)

// The same rules as the schemas' patterns (^[...]{1,128}$), so that a valid request always
// makes a valid event. The length is checked apart: a counted repetition compiles to 128
// copies of the class, which cost every cold start of order-api 1.5 ms (GODEBUG=inittrace=1).
var (
	customerIDPattern = regexp.MustCompile(`^[A-Za-z0-9._@+:-]+$`)
	tokenPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

const maxIDLength = 128 // customer ids and payment tokens

// ValidCustomerID reports whether id can name a customer in an event (a Cognito sub can).
func ValidCustomerID(id string) bool {
	return len(id) <= maxIDLength && customerIDPattern.MatchString(id)
}

// PlaceOrderRequest is the body of POST /orders. Clients never send prices, nor who they
// are: the customer is the signed-in user (the access token's sub), never a body field.
type PlaceOrderRequest struct {
	Items   []Line  `json:"items"`
	Payment Payment `json:"payment"`
}

// Line is one requested product.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Payment carries the payment provider's token (tok_visa approves, tok_declined declines).
type Payment struct {
	Token string `json:"token"`
}

// InputError is the caller's mistake (HTTP 400): Field names the offending field in the
// request's own terms ("items[1].quantity"), "" for the body as a whole.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Message }

// An error points at what the client sent without repeating it whole (a body may hold 16 KiB of
// it): a value is quoted up to quoteMax characters, a field's path kept up to fieldMax, and the
// message, whatever it quotes, up to messageMax.
const (
	quoteMax   = 64
	fieldMax   = 128
	messageMax = 512
)

func inputErr(field, format string, args ...any) *InputError {
	return &InputError{Field: cut(field, fieldMax), Message: cut(fmt.Sprintf(format, args...), messageMax)}
}

// Quote is s as a Go string literal for an error message, cut after quoteMax characters with
// an ellipsis after the quote.
func Quote(s string) string {
	if utf8.RuneCountInString(s) <= quoteMax {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:quoteMax])) + "…"
}

// cut is s, or its first n-1 characters and an ellipsis if it is longer than n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ParsePlaceOrder decodes and validates a POST /orders body strictly: UTF-8 without a byte
// order mark, one JSON object, no duplicate keys at any depth, no unknown fields, every field
// of the right JSON type. A body over MaxBodyBytes is ErrTooLarge; anything else wrong is an
// *InputError naming the field.
func ParsePlaceOrder(body []byte) (PlaceOrderRequest, error) {
	if len(body) > MaxBodyBytes {
		return PlaceOrderRequest{}, ErrTooLarge
	}
	if bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		return PlaceOrderRequest{}, inputErr("", "request body starts with a UTF-8 byte order mark (BOM): send the JSON without it")
	}
	if !utf8.Valid(body) {
		return PlaceOrderRequest{}, inputErr("", "request body is not valid UTF-8")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return PlaceOrderRequest{}, inputErr("", "request body is required")
	}
	top, err := object(body, "")
	if err != nil {
		return PlaceOrderRequest{}, err
	}
	if err := noDuplicateKeys(body); err != nil {
		return PlaceOrderRequest{}, err
	}
	var req PlaceOrderRequest
	if _, ok := top["customerId"]; ok {
		return PlaceOrderRequest{}, inputErr("customerId", "customerId is not accepted: the customer is the signed-in user (the access token's sub)")
	}
	if err := known(top, "", "items", "payment"); err != nil {
		return PlaceOrderRequest{}, err
	}
	if raw, ok := top["items"]; ok && kindOf(raw) != "null" {
		if kindOf(raw) != "an array" {
			return PlaceOrderRequest{}, inputErr("items", "items must be an array, got %s", kindOf(raw))
		}
		var lines []json.RawMessage
		if err := json.Unmarshal(raw, &lines); err != nil {
			return PlaceOrderRequest{}, inputErr("items", "items: %v", err)
		}
		req.Items = make([]Line, 0, len(lines))
		for i, l := range lines {
			field := "items[" + strconv.Itoa(i) + "]"
			obj, err := object(l, field)
			if err != nil {
				return PlaceOrderRequest{}, err
			}
			if err := known(obj, field, "sku", "quantity"); err != nil {
				return PlaceOrderRequest{}, err
			}
			var line Line
			if line.SKU, err = str(obj, field, "sku"); err != nil {
				return PlaceOrderRequest{}, err
			}
			if raw, ok := obj["quantity"]; !ok || kindOf(raw) == "null" {
				return PlaceOrderRequest{}, inputErr(field+".quantity", "%s.quantity is required", field)
			}
			if line.Quantity, err = integer(obj, field, "quantity"); err != nil {
				return PlaceOrderRequest{}, err
			}
			req.Items = append(req.Items, line)
		}
	}
	if raw, ok := top["payment"]; ok && kindOf(raw) != "null" {
		obj, err := object(raw, "payment")
		if err != nil {
			return PlaceOrderRequest{}, err
		}
		if err := known(obj, "payment", "token"); err != nil {
			return PlaceOrderRequest{}, err
		}
		if req.Payment.Token, err = str(obj, "payment", "token"); err != nil {
			return PlaceOrderRequest{}, err
		}
	}
	if err := req.Validate(); err != nil {
		return PlaceOrderRequest{}, err
	}
	return req, nil
}

// Validate checks the request against the business rules; the first problem is returned as
// an *InputError naming the field.
func (r PlaceOrderRequest) Validate() error {
	switch {
	case r.Items == nil:
		return inputErr("items", "items is required")
	case len(r.Items) == 0:
		return inputErr("items", "items must not be empty")
	case len(r.Items) > MaxLines:
		return inputErr("items", "at most %d lines per order, got %d", MaxLines, len(r.Items))
	}
	seen := map[string]int{}
	for i, l := range r.Items {
		field := "items[" + strconv.Itoa(i) + "]"
		switch {
		case l.SKU == "":
			return inputErr(field+".sku", "%s.sku is required", field)
		case l.Quantity < 1 || l.Quantity > MaxQuantityPerLine:
			return inputErr(field+".quantity", "%s.quantity must be between 1 and %d, got %d", field, MaxQuantityPerLine, l.Quantity)
		}
		if _, ok := catalogue.Lookup(l.SKU); !ok {
			return inputErr(field+".sku", "unknown SKU %s", Quote(l.SKU))
		}
		if j, dup := seen[l.SKU]; dup {
			return inputErr(field+".sku", "duplicate SKU %s (also items[%d]): put the quantity on one line", Quote(l.SKU), j)
		}
		seen[l.SKU] = i
	}
	switch {
	case r.Payment.Token == "":
		return inputErr("payment.token", "payment.token is required")
	case len(r.Payment.Token) > maxIDLength || !tokenPattern.MatchString(r.Payment.Token):
		return inputErr("payment.token", "payment.token must be 1-128 characters of A-Z a-z 0-9 _ -")
	}
	return nil
}

// Price prices a valid request of customerID from the catalogue: the OrderPlaced payload
// (the latest version), in the catalogue's currency, with product names. OrderID and
// PaymentIntentID are left empty: the caller assigns them.
func Price(req PlaceOrderRequest, customerID string) (events.OrderPlaced, error) {
	if err := req.Validate(); err != nil {
		return events.OrderPlaced{}, err
	}
	if !ValidCustomerID(customerID) {
		return events.OrderPlaced{}, fmt.Errorf("price: %q cannot name a customer", customerID)
	}
	p := events.OrderPlaced{
		CustomerID: customerID,
		Items:      make([]events.Item, 0, len(req.Items)),
		Currency:   catalogue.Currency,
	}
	for _, l := range req.Items {
		prod, _ := catalogue.Lookup(l.SKU) // Validate checked it exists
		p.Items = append(p.Items, events.Item{SKU: prod.SKU, Name: prod.Name, Quantity: l.Quantity, UnitPriceCents: prod.PriceCents})
	}
	p.TotalCents = events.LinesTotal(p.Items)
	return p, nil
}

// Fingerprint identifies what a request asks for, for idempotency (the IETF
// "Idempotency-Key HTTP header" draft): the SHA-256 of the parsed request re-encoded
// canonically, so that spacing and key order do not matter but every line, quantity and the
// payment do. Two requests under one Idempotency-Key with different fingerprints are a
// client error (422).
func Fingerprint(req PlaceOrderRequest) string {
	b, _ := json.Marshal(req) // plain strings and ints: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewID is a fresh random order id ("ORD-" + a UUID v4, 122 random bits): no one can compute
// another customer's order id.
func NewID() string {
	return "ORD-" + uuid.NewString()
}

// IsID reports whether s is an order id as NewID makes them and the event schemas accept
// (envelope.schema.json's orderId): "ORD-" and a UUID in its canonical lower-case form. The API,
// the trace, replay and inject all refuse anything else by it.
func IsID(s string) bool {
	u, ok := strings.CutPrefix(s, "ORD-")
	if !ok || len(u) != 36 {
		return false
	}
	for i := range len(u) {
		c := u[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// NewPaymentIntentID is a fresh random payment intent id ("pi_" + 128 random bits in hex).
func NewPaymentIntentID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "pi_" + hex.EncodeToString(b[:])
}
