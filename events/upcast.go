package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Upcast returns e in the latest version of its type. It is the one place upcasting lives,
// one step per version (upcasters): OrderPlaced v1 -> v2 sets currency "USD" (item names stay
// absent); v2 -> v3 drops the payment token (see LegacyPaymentToken). Events already in their
// latest version are returned unchanged. The id, sequence and times are kept: it is the same fact.
func (e Envelope) Upcast() (Envelope, error) {
	up, err := e.upcastPayload()
	if err != nil || up.Version == e.Version {
		return up, err
	}
	if err := up.check(); err != nil {
		var me *marshalError
		if errors.As(err, &me) {
			err = me.err
		}
		return Envelope{}, fmt.Errorf("upcast %s: %w", e.ID, err)
	}
	return up, nil
}

// upcastPayload steps e's payload up to the latest version of its type; the result is not
// validated again (Upcast does that).
func (e Envelope) upcastPayload() (Envelope, error) {
	latest := LatestVersion(e.Type)
	up := e
	for up.Version < latest {
		step, ok := upcasters[schemaKey(up.Type, up.Version)]
		if !ok {
			break
		}
		payload, err := step(up)
		if err != nil {
			return Envelope{}, err
		}
		up.Payload, up.Version = payload, up.Version+1
	}
	if up.Version != latest {
		return Envelope{}, invalid(e.Type, e.Version, "/version", "no upcaster from version %d to %d", e.Version, latest)
	}
	return up, nil
}

// upcasters turn the payload of "<Type>.v<N>" into the payload of version N+1.
var upcasters = map[string]func(Envelope) (json.RawMessage, error){
	schemaKey(TypeOrderPlaced, 1): func(e Envelope) (json.RawMessage, error) {
		v1, err := DecodePayload[OrderPlacedV1](e)
		if err != nil {
			return nil, err
		}
		v2 := OrderPlacedV2{
			OrderID:      v1.OrderID,
			CustomerID:   v1.CustomerID,
			Items:        make([]Item, 0, len(v1.Items)),
			TotalCents:   v1.TotalCents,
			Currency:     "USD",
			PaymentToken: v1.PaymentToken,
		}
		for _, it := range v1.Items {
			v2.Items = append(v2.Items, Item{SKU: it.SKU, Quantity: it.Quantity, UnitPriceCents: it.UnitPriceCents})
		}
		return marshalPayload(e, v2)
	},
	schemaKey(TypeOrderPlaced, 2): func(e Envelope) (json.RawMessage, error) {
		v2, err := DecodePayload[OrderPlacedV2](e)
		if err != nil {
			return nil, err
		}
		currency := v2.Currency
		if currency == "" {
			currency = "USD" // v1's only currency; v2 made it explicit but optional
		}
		return marshalPayload(e, OrderPlacedV3{
			OrderID: v2.OrderID, CustomerID: v2.CustomerID, Items: v2.Items, TotalCents: v2.TotalCents, Currency: currency,
		})
	},
}

func marshalPayload(e Envelope, payload any) (json.RawMessage, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("upcast %s: %w", e.ID, err)
	}
	return b, nil
}

// LegacyPaymentToken is the payment token an OrderPlaced v1 or v2 carried in the event itself
// (v3 names a payment intent instead); ok is false for any other event. Only the payments
// service may read it, to charge an order placed by a producer that still emits v1 or v2.
func LegacyPaymentToken(e Envelope) (token string, ok bool) {
	if e.Type != TypeOrderPlaced {
		return "", false
	}
	var p struct {
		PaymentToken string `json:"paymentToken"`
	}
	switch e.Version {
	case 1, 2:
		if json.Unmarshal(e.Payload, &p) != nil || p.PaymentToken == "" {
			return "", false
		}
		return p.PaymentToken, true
	}
	return "", false
}
