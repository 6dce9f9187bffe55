// Package provider is the payment provider the payment function charges and refunds
// through: the vocabulary of its port (ChargeRequest, Result, Token, ErrProcessing) and the
// sandbox the deployed function uses. The port itself is declared where it is used
// (functions/payment).
//
// The contract is a Stripe-like provider's, which the payments ledger's protocol relies on:
//
//   - a charge names an idempotency key (the payment id): every charge request with the same
//     key is the same charge, taken at most once, and a retry gets the first decision back
//     (approved or declined). A processing error (ErrProcessing) is no decision: the provider
//     charged nothing and remembers nothing, and a retry with the key may succeed. A provider
//     that stores errors under the key as well (Stripe does, for a request it started to
//     execute) answers such a retry with the same error, and the payment is parked after its
//     last receive: with such a provider, treat a stored error as a decline, or retry under a
//     new key only once the provider says nothing was charged;
//   - a refund names the same key and gives that charge back in full, at most once; a refund
//     of a key under which nothing was charged is a no-op. It does not cancel the key: a charge
//     that arrives after it is still taken. That is why the ledger voids a payment before
//     refunding it, and why a charge that finds the payment voided refunds itself.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// ErrProcessing is a provider's processing error: transient, worth another attempt.
var ErrProcessing = errors.New("payment provider: processing error, try again")

// Token is a payment token: payment data that goes to the provider and nowhere else.
// Printed, logged or encoded it reads "[redacted]"; Reveal is for the provider's client.
type Token string

const redacted = "[redacted]"

// Reveal returns the token itself, for the request to the provider.
func (t Token) Reveal() string { return string(t) }

func (Token) String() string               { return redacted }
func (Token) Format(f fmt.State, _ rune)   { _, _ = io.WriteString(f, redacted) } // every verb, %#v included
func (Token) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// ChargeRequest asks the provider to take a payment.
type ChargeRequest struct {
	IdempotencyKey string // the payment id: a retried charge names the same charge
	Token          Token
	AmountCents    int64
	Currency       string // ISO 4217
	// Attempt is the ledger's count of charge attempts for this payment (1-based). A real
	// provider ignores it; the sandbox's tok_processing_error reads it.
	Attempt int
}

// Result is the provider's answer to a charge: approved, or declined with a reason.
type Result struct {
	Approved bool
	Reason   string // why it was declined: a kebab-case code such as "card-declined"
}

// Sandbox test tokens decide the outcome, as payment providers' sandboxes do.
const (
	TokenApprove         = "tok_visa"
	TokenDecline         = "tok_declined"
	TokenProcessingError = "tok_processing_error" // a processing error on the first attempt, approved on the next
	// TokenSlow: processing errors on the first two attempts, approved on the third. Each retry
	// waits for the payments queue's visibility timeout, so the answer comes after about a
	// minute: later than the saga's callback timeout in a test deploy (make test-e2e).
	TokenSlow = "tok_provider_slow"
)

// Sandbox is the provider the deployed payment function uses: tok_visa approves,
// tok_declined declines ("card-declined"), tok_processing_error fails with ErrProcessing on
// the first attempt and approves on the next (the attempt is the ledger's count, so it
// survives redeliveries to other instances), tok_provider_slow likewise on the first two, and
// any other token is declined
// ("unknown-token").
//
// It is stateless and moves no money: the same request always gets the same answer, so
// charging a key again is trivially the same charge, and Refund has nothing to give back.
// It stands for a real provider that dedupes charges and refunds by idempotency key (see
// the package comment); the payment function's tests run the ledger's protocol against a
// fake that keeps that provider's books.
type Sandbox struct{}

// Charge answers req by its token.
func (Sandbox) Charge(_ context.Context, req ChargeRequest) (Result, error) {
	if req.IdempotencyKey == "" {
		return Result{}, errors.New("payment provider: a charge needs an idempotency key")
	}
	switch req.Token.Reveal() {
	case TokenApprove:
		return Result{Approved: true}, nil
	case TokenDecline:
		return Result{Reason: "card-declined"}, nil
	case TokenProcessingError, TokenSlow:
		if failures := map[string]int{TokenProcessingError: 1, TokenSlow: 2}[req.Token.Reveal()]; req.Attempt <= failures {
			return Result{}, ErrProcessing
		}
		return Result{Approved: true}, nil
	default:
		return Result{Reason: "unknown-token"}, nil
	}
}

// Refund gives back what was charged under idempotencyKey: in the sandbox, nothing.
func (Sandbox) Refund(_ context.Context, idempotencyKey string) error {
	if idempotencyKey == "" {
		return errors.New("payment provider: a refund needs an idempotency key")
	}
	return nil
}
