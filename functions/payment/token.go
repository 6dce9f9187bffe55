package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// token finds the order's payment token: in its payment intent, or, for an order placed as
// OrderPlaced v1 or v2 (no intent id), in that event, which the message carries. A missing
// intent, one of another order or amount, or a legacy event without a token is an
// *InvalidInputError: the task fails and the workflow compensates. The token itself is never
// part of an error.
func (h *Handler) token(ctx context.Context, msg taskMessage) (provider.Token, error) {
	order := msg.State.Order
	if order.PaymentIntentID == "" {
		return legacyToken(order.OrderID, msg.Event)
	}
	in, err := h.intents.Get(ctx, order.PaymentIntentID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s: %w", order.OrderID, err)}
	case err != nil:
		return "", err // transient
	case in.OrderID != order.OrderID:
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s is order %s's, not %s's", in.IntentID, in.OrderID, order.OrderID)}
	case in.AmountCents != order.TotalCents || (in.Currency != "" && order.Currency != "" && in.Currency != order.Currency):
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s is for %d %s, order %s totals %d %s",
			in.IntentID, in.AmountCents, in.Currency, order.OrderID, order.TotalCents, order.Currency)}
	case in.Token == "":
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("payment intent %s holds no payment token", in.IntentID)}
	}
	return provider.Token(in.Token), nil
}

// legacyToken reads the token an OrderPlaced v1 or v2 event carried. Its validation errors
// are summed up by path only: their messages may quote the token.
func legacyToken(orderID string, event json.RawMessage) (provider.Token, error) {
	e, err := events.Parse(event)
	if err != nil {
		var ve *events.ValidationError
		paths := []string{}
		if errors.As(err, &ve) {
			for _, pr := range ve.Problems {
				paths = append(paths, pr.Path)
			}
		}
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s has no payment intent and its OrderPlaced event is not valid (at %v)", orderID, paths)}
	}
	tok, ok := events.LegacyPaymentToken(e)
	if !ok || e.OrderID != orderID {
		return "", &workflow.InvalidInputError{Err: fmt.Errorf("order %s has no payment intent, and its event (%s v%d of %s) carries no payment token", orderID, e.Type, e.Version, e.OrderID)}
	}
	return provider.Token(tok), nil
}
