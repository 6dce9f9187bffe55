package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// Idempotency-Key rules (IETF "The Idempotency-Key HTTP Header Field" draft).
const (
	maxIdempotencyKey = 255              // characters
	keyLifetime       = 24 * time.Hour   // a key may be reused for another request after this
	leaseTime         = 30 * time.Second // longer than the function's timeout: a live request keeps its key
	// intentLifetime is how long a payment token is kept: as long as a payment message may
	// wait in its dead-letter queue (14 days) to be redriven.
	intentLifetime = 14 * 24 * time.Hour
)

// placed is the body of a 201 to POST /orders.
type placed struct {
	OrderID       string        `json:"orderId"`
	Status        order.Status  `json:"status"`
	CorrelationID string        `json:"correlationId"`
	TotalCents    int64         `json:"totalCents"`
	Currency      string        `json:"currency"`
	Items         []events.Item `json:"items"`
}

// attempt is what one POST /orders works on: the order id and payment intent it will use,
// and, under an Idempotency-Key, the lease that lets it.
type attempt struct {
	orderID, intentID string
	key, leaseID      string // "" without an Idempotency-Key
}

// POST /orders: validate, claim the Idempotency-Key (if any), hand the token to the payments
// service, publish OrderPlaced, answer 201 (and store the answer under the key).
func (h *Handler) place(ctx context.Context, logger *slog.Logger, req lambdaevents.APIGatewayV2HTTPRequest, customer string) lambdaevents.APIGatewayV2HTTPResponse {
	if resp, ok := jsonContent(req.Headers); !ok {
		return resp
	}
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
	key, hasKey, err := idempotencyKey(req.Headers)
	if err != nil {
		return reply(http.StatusBadRequest, errorBody{Error: err.Error(), Field: "Idempotency-Key"})
	}
	payload, err := order.Price(parsed, customer)
	if err != nil {
		return internalError(ctx, logger, fmt.Errorf("price a valid request: %w", err))
	}

	a := attempt{orderID: h.newID(), intentID: h.newIntentID()}
	if hasKey {
		var resp lambdaevents.APIGatewayV2HTTPResponse
		var done bool
		if a, resp, done = h.claim(ctx, logger, customer, key, order.Fingerprint(parsed)); done {
			return resp
		}
	}
	logger = logger.With("orderId", a.orderID)
	resp, err := h.submit(ctx, logger, payload, parsed.Payment.Token, a)
	if err != nil {
		if hasKey { // let a retry take over at once, with the same order id
			if rerr := h.Keys.Release(ctx, customer, key, a.leaseID, h.now()); rerr != nil {
				logger.WarnContext(ctx, "could not release the Idempotency-Key; a retry waits for its lease to run out", "error", rerr.Error())
			}
		}
		return internalError(ctx, logger, err)
	}
	if hasKey {
		if err := h.Keys.Complete(ctx, customer, key, a.leaseID, resp.Body); err != nil {
			// The order is placed (a retry that took the key over placed the same one): answer as placed.
			logger.WarnContext(ctx, "could not store the answer under the Idempotency-Key", "error", err.Error())
		}
	}
	return resp
}

// claim takes the Idempotency-Key for this request, or answers in its place: the stored
// answer of a completed request with the same fingerprint (no second order), 422 for a
// different request under the same key, 409 while the first request is still in flight. A
// request whose lease ran out (it failed, or its function died) is taken over with the same
// order id, so that the order is placed once whatever happened to the first attempt.
func (h *Handler) claim(ctx context.Context, logger *slog.Logger, customer, key, fingerprint string) (attempt, lambdaevents.APIGatewayV2HTTPResponse, bool) {
	now := h.now()
	rec := store.IdempotencyRecord{
		CustomerID: customer, Key: key, Fingerprint: fingerprint, Status: store.KeyInProgress,
		OrderID: h.newID(), IntentID: h.newIntentID(), LeaseID: h.newLeaseID(), LeaseUntil: now.Add(leaseTime),
		CreatedAt: now, ExpiresAt: now.Add(keyLifetime),
	}
	// A claim or take-over that failed may still have been written (an answer lost after the
	// write): the key is released as after any 5xx, so that the client's retry is not a 409
	// until the lease runs out. Release is conditional on this request's lease: nothing else is freed.
	failed := func(err error) (attempt, lambdaevents.APIGatewayV2HTTPResponse, bool) {
		if rerr := h.Keys.Release(ctx, customer, key, rec.LeaseID, h.now()); rerr != nil {
			logger.WarnContext(ctx, "could not release the Idempotency-Key; a retry waits for its lease to run out", "error", rerr.Error())
		}
		return attempt{}, internalError(ctx, logger, err), true
	}
	held, claimed, err := h.Keys.Claim(ctx, rec, now)
	if err != nil {
		return failed(err)
	}
	if !claimed {
		if held.Fingerprint != "" && held.Fingerprint != fingerprint {
			return attempt{}, reply(http.StatusUnprocessableEntity, errorBody{
				Error: "this Idempotency-Key was already used for a different request: use a new key for a new order", Field: "Idempotency-Key",
			}), true
		}
		switch {
		case held.Status == store.KeyCompleted:
			return attempt{}, replayed(held), true
		case held.Status == store.KeyInProgress && held.LeaseRunOut(now):
			held, claimed, err = h.Keys.TakeOver(ctx, customer, key, fingerprint, rec.LeaseID, now.Add(leaseTime), now)
			if err != nil {
				return failed(err)
			}
			if held.Status == store.KeyCompleted {
				return attempt{}, replayed(held), true
			}
			if claimed {
				logger.InfoContext(ctx, "Idempotency-Key taken over from a request that did not finish", "orderId", held.OrderID)
				rec = held
			}
		}
	}
	if !claimed {
		left := int(held.LeaseLeft(now) / time.Second)
		resp := reply(http.StatusConflict, errorBody{
			Error: fmt.Sprintf("a request with this Idempotency-Key is still being processed: retry in a moment (a request that stopped frees its key within %d s)", left),
			Field: "Idempotency-Key",
		})
		// A request in flight is normally answered within a second, and a retry then gets its answer:
		// a client that waited out the lease (up to 30 s) would wait for nothing. One that died is
		// taken over by the first retry after its lease, which the message tells.
		resp.Headers["Retry-After"] = "1"
		return attempt{}, resp, true
	}
	return attempt{orderID: rec.OrderID, intentID: rec.IntentID, key: key, leaseID: rec.LeaseID}, lambdaevents.APIGatewayV2HTTPResponse{}, false
}

// replayed is the stored answer of a completed request.
func replayed(held store.IdempotencyRecord) lambdaevents.APIGatewayV2HTTPResponse {
	resp := rawReply(http.StatusCreated, held.Response)
	resp.Headers["Location"] = "/orders/" + held.OrderID
	resp.Headers["Idempotent-Replayed"] = "true"
	return private(resp)
}

// submit stores the payment intent (the token goes to the payments service, never on the
// bus) and publishes OrderPlaced. Both are safe to repeat with the same attempt: the intent
// is put once, and a second OrderPlaced has the same id, which every consumer drops.
func (h *Handler) submit(ctx context.Context, logger *slog.Logger, payload events.OrderPlaced, token string, a attempt) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	payload.OrderID, payload.PaymentIntentID = a.orderID, a.intentID
	now := h.now()
	intent := store.PaymentIntent{
		IntentID: a.intentID, OrderID: a.orderID, CustomerID: payload.CustomerID, Token: token,
		AmountCents: payload.TotalCents, Currency: payload.Currency, CreatedAt: now, ExpiresAt: now.Add(intentLifetime),
	}
	if err := h.Intents.Put(ctx, intent); err != nil {
		return lambdaevents.APIGatewayV2HTTPResponse{}, fmt.Errorf("store the payment intent: %w", err)
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, OrderID: payload.OrderID, Sequence: 1, Payload: payload, Time: now})
	if err != nil {
		return lambdaevents.APIGatewayV2HTTPResponse{}, fmt.Errorf("build OrderPlaced: %w", err)
	}
	entry, err := e.Entry(h.busName)
	if err != nil {
		return lambdaevents.APIGatewayV2HTTPResponse{}, err
	}
	if err := h.Bus.Publish(ctx, entry); err != nil {
		return lambdaevents.APIGatewayV2HTTPResponse{}, fmt.Errorf("publish OrderPlaced: %w", err)
	}
	logger.InfoContext(ctx, "order placed", "correlationId", e.CorrelationID, "eventId", e.ID, "totalCents", payload.TotalCents, "idempotencyKey", a.key != "")
	resp := reply(http.StatusCreated, placed{
		OrderID: payload.OrderID, Status: order.StatusPlaced, CorrelationID: e.CorrelationID,
		TotalCents: payload.TotalCents, Currency: payload.Currency, Items: payload.Items,
	})
	resp.Headers["Location"] = "/orders/" + payload.OrderID
	return private(resp), nil
}

// idempotencyKey reads the Idempotency-Key header: a Structured Field string per the draft
// ("\"8e03978e-...\""), or, leniently, the bare value many clients send (no spaces or commas).
// 1 to 255 printable ASCII characters.
func idempotencyKey(headers map[string]string) (key string, present bool, err error) {
	v, ok := header(headers, "Idempotency-Key")
	if !ok {
		return "", false, nil
	}
	if strings.HasPrefix(v, `"`) {
		if v, err = sfString(v); err != nil {
			return "", true, err
		}
	} else if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' || r == ',' }) {
		// A comma is where API Gateway joins a header sent twice: two keys, not one.
		return "", true, errOneKey
	}
	switch {
	case v == "":
		return "", true, errors.New("Idempotency-Key must not be empty")
	case len(v) > maxIdempotencyKey:
		return "", true, fmt.Errorf("Idempotency-Key must be at most %d characters", maxIdempotencyKey)
	}
	return v, true, nil
}

// errOneKey answers an Idempotency-Key that is not one key: a bare value with a space or comma,
// or the header sent twice (API Gateway joins the two with a comma).
var errOneKey = errors.New(`Idempotency-Key must be one key, sent once: a quoted string ("...") or printable ASCII without spaces or commas`)

// sfString parses a Structured Field string (RFC 9651 §4.2.5): DQUOTE, printable ASCII with
// \" and \\ escaped, DQUOTE, nothing after.
func sfString(v string) (string, error) {
	bad := errors.New(`Idempotency-Key is not a valid quoted string: printable ASCII between double quotes, with \" and \\ escaped`)
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\':
			if i+1 >= len(v) || (v[i+1] != '"' && v[i+1] != '\\') {
				return "", bad
			}
			b.WriteByte(v[i+1])
			i++
		case c == '"':
			if rest := strings.TrimLeft(v[i+1:], " "); strings.HasPrefix(rest, ",") {
				return "", errOneKey // "a", "b": the header twice
			} else if rest != "" {
				return "", bad
			}
			return b.String(), nil
		case c < ' ' || c > '~':
			return "", bad
		default:
			b.WriteByte(c)
		}
	}
	return "", bad // no closing quote
}

// jsonContent accepts a body sent as JSON: Content-Type application/json or a +json type (any
// parameters), or none at all (a client that sends JSON without saying so). Any other type is
// refused with 415 and the type to use, in the body and in Accept-Post: a form or a text a
// client meant as something else is not read as an order.
func jsonContent(headers map[string]string) (lambdaevents.APIGatewayV2HTTPResponse, bool) {
	v, ok := header(headers, "Content-Type")
	if !ok || v == "" {
		return lambdaevents.APIGatewayV2HTTPResponse{}, true
	}
	t, _, err := mime.ParseMediaType(v)
	if err != nil { // a parameter it cannot read: the type is what comes before the parameters
		t, _, _ = strings.Cut(v, ";")
		t = strings.ToLower(strings.TrimSpace(t))
	}
	if t == "application/json" || strings.HasPrefix(t, "application/") && strings.HasSuffix(t, "+json") {
		return lambdaevents.APIGatewayV2HTTPResponse{}, true
	}
	resp := reply(http.StatusUnsupportedMediaType, errorBody{
		Error: fmt.Sprintf("Content-Type %s is not supported: send the order as JSON, Content-Type: application/json", order.Quote(v)), Field: "Content-Type",
	})
	resp.Headers["Accept-Post"] = "application/json"
	return resp, false
}

func tooLarge() lambdaevents.APIGatewayV2HTTPResponse {
	return reply(http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("request body larger than %d bytes", order.MaxBodyBytes)})
}
