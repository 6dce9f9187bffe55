package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Envelope is an event as it travels: the EventBridge detail, the Kinesis record's detail,
// the event-store item.
type Envelope struct {
	ID            string          `json:"id"`                    // deterministic: ID(OrderID, Sequence)
	Type          Type            `json:"type"`                  // also the EventBridge detail-type
	Version       int             `json:"version"`               // schema version of this type
	Source        string          `json:"source"`                // SourceOf(Type)
	Time          time.Time       `json:"time"`                  // when it happened (UTC, millisecond precision)
	OrderID       string          `json:"orderId"`               // also the Kinesis partition key
	Sequence      int             `json:"sequence"`              // 1-based, per order, contiguous; event-store sort key
	CorrelationID string          `json:"correlationId"`         // same for the whole order (= OrderPlaced's id)
	CausationID   string          `json:"causationId,omitempty"` // id of the event that caused this one
	Payload       json.RawMessage `json:"payload"`
}

// idNamespace is the fixed UUID namespace of event ids. Never change it: ids are stored.
var idNamespace = uuid.MustParse("6f1c5a0e-3b7d-4f2a-9c1e-8d4b2a7e5f10")

// ID is the deterministic id of the sequence-th event of an order: a UUID v5 (SHA-1) of
// orderID+"/"+sequence in a fixed namespace. A retried producer re-emits the same id.
func ID(orderID string, sequence int) string {
	return uuid.NewSHA1(idNamespace, []byte(orderID+"/"+strconv.Itoa(sequence))).String()
}

// New builds the sequence-th event of an order, marshals payload (a payload struct, or
// json.RawMessage) and validates the result against the schema of t and version.
// correlationID may be "" for sequence 1 (the OrderPlaced event): it is then the event's own
// id. now is stored in UTC, truncated to the millisecond. An invalid event is a *ValidationError.
func New(t Type, version int, source string, orderID string, seq int, correlationID, causationID string, payload any, now time.Time) (Envelope, error) {
	var raw json.RawMessage
	switch p := payload.(type) {
	case json.RawMessage:
		raw = p
	default:
		b, err := json.Marshal(payload)
		if err != nil {
			return Envelope{}, fmt.Errorf("new %s v%d: marshal payload: %w", t, version, err)
		}
		raw = b
	}
	e := Envelope{
		ID:            ID(orderID, seq),
		Type:          t,
		Version:       version,
		Source:        source,
		Time:          now.UTC().Truncate(time.Millisecond),
		OrderID:       orderID,
		Sequence:      seq,
		CorrelationID: correlationID,
		CausationID:   causationID,
		Payload:       raw,
	}
	if e.CorrelationID == "" && seq == 1 {
		e.CorrelationID = e.ID
	}
	b, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("new %s v%d: marshal envelope: %w", t, version, err)
	}
	if _, err := Parse(b); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// Parse decodes an envelope (an EventBridge detail) and validates it against the schema
// of its type and version, then checks what a schema cannot say: the payload's orderId is
// the envelope's, the id is ID(orderId, sequence), and an OrderPlaced event is its own
// correlation. Bad input is a *ValidationError (permanent).
func Parse(detail []byte) (Envelope, error) {
	t, version, err := validate(detail)
	if err != nil {
		return Envelope{}, err
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(detail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, invalid(t, version, "", "decode envelope: %v", err)
	}
	var p struct {
		OrderID string `json:"orderId"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return Envelope{}, invalid(t, version, "/payload", "decode: %v", err)
	}
	if p.OrderID != e.OrderID {
		return Envelope{}, invalid(t, version, "/payload/orderId", "%q differs from the envelope's orderId %q", p.OrderID, e.OrderID)
	}
	if want := ID(e.OrderID, e.Sequence); e.ID != want {
		return Envelope{}, invalid(t, version, "/id", "%q is not the deterministic id of %s/%d (want %q)", e.ID, e.OrderID, e.Sequence, want)
	}
	if e.Type == TypeOrderPlaced && e.CorrelationID != e.ID {
		return Envelope{}, invalid(t, version, "/correlationId", "an OrderPlaced event is its own correlation: want %q", e.ID)
	}
	return e, nil
}

// FromEventBridge parses a whole EventBridge event ({"id","detail-type","source","time",
// "detail":{...}}), as a rule target, SNS (raw delivery), SQS or Kinesis receives it. The
// detail must be a valid envelope whose type is the detail-type and whose source is the source.
func FromEventBridge(raw []byte) (Envelope, error) {
	var ev struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Envelope{}, invalid("", 0, "", "not an EventBridge event: %v", err)
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		return Envelope{}, invalid("", 0, "/detail", "missing")
	}
	e, err := Parse(ev.Detail)
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for i := range ve.Problems {
				ve.Problems[i].Path = "/detail" + ve.Problems[i].Path
			}
		}
		return Envelope{}, err
	}
	if ev.DetailType != string(e.Type) {
		return Envelope{}, invalid(e.Type, e.Version, "/detail-type", "%q does not match the detail's type %q", ev.DetailType, e.Type)
	}
	if ev.Source != e.Source {
		return Envelope{}, invalid(e.Type, e.Version, "/source", "%q does not match the detail's source %q", ev.Source, e.Source)
	}
	return e, nil
}

// Upcast returns e in the latest version of its type. It is the one place upcasting lives,
// one step per version (upcasters): OrderPlaced v1 -> v2 sets currency "USD" (item names stay
// absent); v2 -> v3 drops the payment token (see LegacyPaymentToken). Events already in their
// latest version are returned unchanged. The id, sequence and times are kept: it is the same fact.
func (e Envelope) Upcast() (Envelope, error) {
	latest := LatestVersion(e.Type)
	if e.Version == latest {
		return e, nil
	}
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
	out, err := json.Marshal(up)
	if err != nil {
		return Envelope{}, fmt.Errorf("upcast %s: %w", e.ID, err)
	}
	if _, err := Parse(out); err != nil {
		return Envelope{}, fmt.Errorf("upcast %s: %w", e.ID, err)
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

// DecodePayload decodes e's payload into T (one of the payload structs), rejecting
// unknown fields. A mismatch is a *ValidationError.
func DecodePayload[T any](e Envelope) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(e.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, invalid(e.Type, e.Version, "/payload", "decode into %T: %v", v, err)
	}
	return v, nil
}

// Entry is a ready-to-publish EventBridge entry in the exact shape Step Functions'
// events:putEvents integration and eventbridge.PutEvents take (the API's field names).
type Entry struct {
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
	EventBusName string `json:"EventBusName"`
}

// Entry is e as an entry for the bus busName: detail-type = Type, detail = the envelope JSON.
func (e Envelope) Entry(busName string) (Entry, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return Entry{}, fmt.Errorf("entry for %s %s: %w", e.Type, e.ID, err)
	}
	return Entry{Source: e.Source, DetailType: string(e.Type), Detail: string(b), EventBusName: busName}, nil
}
