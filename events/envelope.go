package events

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
// (uuid.NewSHA1(idNamespace, name).String(), written out so that it allocates only the result:
// every Parse checks an id.)
func ID(orderID string, sequence int) string {
	var buf [128]byte
	data := strconv.AppendInt(append(append(append(buf[:0], idNamespace[:]...), orderID...), '/'), int64(sequence), 10)
	sum := sha1.Sum(data)
	sum[6] = sum[6]&0x0f | 0x50 // version 5
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], sum[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], sum[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], sum[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], sum[8:10])
	out[23] = '-'
	hex.Encode(out[24:], sum[10:16])
	return string(out[:])
}

// Spec is an event for New to build: what happened (Type, Payload), to which order (OrderID,
// Sequence), why (CorrelationID, CausationID) and when (Time). Version and Source come from the
// registry of types unless given: LatestVersion(Type), SourceOf(Type). Only a test, or `make
// inject -v1`, names another.
type Spec struct {
	Type          Type
	Version       int    // 0: LatestVersion(Type)
	Source        string // "": SourceOf(Type)
	OrderID       string
	Sequence      int
	CorrelationID string // "" for sequence 1 (the OrderPlaced event): the event's own id
	CausationID   string
	Payload       any // a payload struct, or json.RawMessage
	Time          time.Time
}

// New builds the event s describes, marshals its payload and validates the result against the
// schema of its type and version. The time is stored in UTC, truncated to the millisecond. An
// invalid event is a *ValidationError.
func New(s Spec) (Envelope, error) {
	e, err := s.envelope()
	if err != nil {
		return Envelope{}, err
	}
	if err := e.check(); err != nil {
		var me *marshalError
		if errors.As(err, &me) {
			return Envelope{}, fmt.Errorf("new %s v%d: marshal envelope: %w", e.Type, e.Version, me.err)
		}
		return Envelope{}, err
	}
	return e, nil
}

// envelope is the event s describes, its payload marshalled, not yet validated.
func (s Spec) envelope() (Envelope, error) {
	t, version, source, orderID, seq, payload := s.Type, s.Version, s.Source, s.OrderID, s.Sequence, s.Payload
	if version == 0 {
		version = LatestVersion(t)
	}
	if source == "" {
		source = SourceOf(t)
	}
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
		Time:          s.Time.UTC().Truncate(time.Millisecond),
		OrderID:       orderID,
		Sequence:      seq,
		CorrelationID: s.CorrelationID,
		CausationID:   s.CausationID,
		Payload:       raw,
	}
	if e.CorrelationID == "" && seq == 1 {
		e.CorrelationID = e.ID
	}
	return e, nil
}

// Parse decodes an envelope (an EventBridge detail) and validates it against the schema
// of its type and version, then checks what a schema cannot say: the payload's orderId is
// the envelope's, the id is ID(orderId, sequence), and an OrderPlaced event is its own
// correlation. Bad input is a *ValidationError (permanent).
func Parse(detail []byte) (Envelope, error) {
	d, err := parseJSON(detail)
	if err != nil {
		return Envelope{}, invalid("", 0, "", "not JSON: %v", jsonError(detail, err))
	}
	return parseDoc(d, 0)
}

// parseDoc is Parse of the value at node root of d, read once: the validator and the decoding
// of the envelope walk the same tree.
func parseDoc(d *jsonDoc, root int32) (Envelope, error) {
	t, version, err := validateDoc(d, root)
	if err != nil {
		return Envelope{}, err
	}
	e, ok := decodeEnvelope(d, root, t, version)
	if !ok {
		// What the tree does not decode simply (a repeated key, a sequence that is not a
		// small plain integer, a time Go does not read) encoding/json decodes, or words why not.
		e = Envelope{}
		nd := &d.nodes[root]
		dec := json.NewDecoder(bytes.NewReader(d.src[nd.start:nd.end]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return Envelope{}, invalid(t, version, "", "decode envelope: %v", err)
		}
	}
	if err := checkFacts(&e, d, d.member(root, "payload")); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// decodeEnvelope fills an Envelope from a validated envelope object; ok is false when it
// cannot do it as encoding/json would (then the caller asks encoding/json, with a zero
// Envelope). The string fields share one allocation.
func decodeEnvelope(d *jsonDoc, root int32, t Type, version int) (e Envelope, ok bool) {
	var (
		seen    uint16
		strs    [5]int32 // id, source, orderId, correlationId, causationId
		targets = [5]*string{&e.ID, &e.Source, &e.OrderID, &e.CorrelationID, &e.CausationID}
	)
	for c := d.nodes[root].first; c != 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.flags&flagKeyRaw != 0 {
			return e, false
		}
		var bit uint16
		ok := nd.kind == jsonString
		switch string(d.src[nd.keyStart:nd.keyEnd]) {
		case "id":
			bit, strs[0] = 1<<0, c
		case "type":
			bit, e.Type = 1<<1, t
		case "version":
			bit, e.Version, ok = 1<<2, version, nd.flags&flagPlain != 0
		case "source":
			bit, strs[1] = 1<<3, c
		case "time":
			bit = 1 << 4
			if !ok || e.Time.UnmarshalJSON(d.src[nd.start-1:nd.end+1]) != nil {
				return e, false
			}
		case "orderId":
			bit, strs[2] = 1<<5, c
		case "sequence":
			bit = 1 << 6
			n, plain := int64(0), false
			if nd.kind == jsonNumber && nd.flags&flagPlain != 0 {
				n, plain = plainInt(d.text(c))
			}
			if !plain || int64(int(n)) != n {
				return e, false
			}
			e.Sequence, ok = int(n), true
		case "correlationId":
			bit, strs[3] = 1<<7, c
		case "causationId":
			bit, strs[4] = 1<<8, c
		case "payload":
			bit, ok = 1<<9, true
			e.Payload = append(json.RawMessage(nil), d.src[nd.start:nd.end]...)
		default:
			return e, false
		}
		if !ok || seen&bit != 0 {
			return e, false
		}
		seen |= bit
	}
	var stack [256]byte
	buf := stack[:0]
	var ends [5]int
	for i, n := range strs {
		if n != 0 {
			nd := &d.nodes[n]
			if nd.flags&flagRaw != 0 {
				buf = appendUnquoted(buf, d.src[nd.start:nd.end])
			} else {
				buf = append(buf, d.src[nd.start:nd.end]...)
			}
		}
		ends[i] = len(buf)
	}
	all, start := string(buf), 0
	for i, end := range ends {
		*targets[i] = all[start:end]
		start = end
	}
	return e, true
}

// checkFacts checks what a schema cannot say about a valid envelope e whose payload is node
// payload of d.
func checkFacts(e *Envelope, d *jsonDoc, payload int32) error {
	t, version := e.Type, e.Version
	orderID, ok := payloadOrderID(d, payload)
	if !ok {
		var p struct {
			OrderID string `json:"orderId"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			return invalid(t, version, "/payload", "decode: %v", err)
		}
		orderID = p.OrderID
	}
	if orderID != e.OrderID {
		return invalid(t, version, "/payload/orderId", "%q differs from the envelope's orderId %q", orderID, e.OrderID)
	}
	if want := ID(e.OrderID, e.Sequence); e.ID != want {
		return invalid(t, version, "/id", "%q is not the deterministic id of %s/%d (want %q)", e.ID, e.OrderID, e.Sequence, want)
	}
	if e.Type == TypeOrderPlaced && e.CorrelationID != e.ID {
		return invalid(t, version, "/correlationId", "an OrderPlaced event is its own correlation: want %q", e.ID)
	}
	// The workflow correlates every event of an order by its OrderPlaced and causes each by the
	// one before it: an event that says otherwise would be told under another order or step.
	if e.Sequence > 1 {
		if want := ID(e.OrderID, 1); e.CorrelationID != want {
			return invalid(t, version, "/correlationId", "%q is not the id of %s's OrderPlaced (want %q)", e.CorrelationID, e.OrderID, want)
		}
		if want := ID(e.OrderID, e.Sequence-1); e.CausationID != want {
			return invalid(t, version, "/causationId", "%q is not the id of %s/%d, the event before it (want %q)", e.CausationID, e.OrderID, e.Sequence-1, want)
		}
	}
	return nil
}

// payloadOrderID is the payload's orderId as json.Unmarshal into struct{ OrderID string }
// reads it; ok is false when that is not simple to say (a key that differs from "orderId"
// only in case, a repeated one, a value that is no string) and encoding/json must.
func payloadOrderID(d *jsonDoc, payload int32) (string, bool) {
	if payload == 0 || d.nodes[payload].kind != jsonObject {
		return "", false
	}
	var found int32
	for c := d.nodes[payload].first; c != 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		key := d.src[nd.keyStart:nd.keyEnd]
		if nd.flags&flagKeyRaw != 0 {
			return "", false
		}
		if len(key) != len("orderId") || !asciiEqualFold(key, "orderId") {
			continue
		}
		if string(key) != "orderId" || found != 0 {
			return "", false
		}
		found = c
	}
	switch {
	case found == 0:
		return "", true
	case d.nodes[found].kind == jsonString:
		return d.str(found), true
	case d.nodes[found].kind == jsonNull:
		return "", true
	}
	return "", false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// DecodePayload decodes e's payload into T (one of the payload structs), rejecting
// unknown fields. A mismatch is a *ValidationError.
func DecodePayload[T any](e Envelope) (T, error) {
	var v T
	if fastDecode(e.Payload, &v) {
		return v, nil
	}
	v = *new(T)
	dec := json.NewDecoder(bytes.NewReader(e.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, invalid(e.Type, e.Version, "/payload", "decode into %T: %v", v, err)
	}
	return v, nil
}

// SameFact reports whether a and b, which claim the same order and sequence, are the same
// event: the same id, type, version and payload. Ids are deterministic (order and sequence), so
// the id alone cannot tell a redelivery from a different fact claiming the same place; the
// payload can. Payloads are compared as JSON values, not bytes: the same event may come back
// encoded another way (Go escapes '&' as \u0026, Python's json.dumps writes 'é' as \u00e9)
// and keeps each number's digits (two amounts past 2^53 that differ are different). The time
// may differ: a retried producer re-emits the same fact later.
func SameFact(a, b Envelope) bool {
	if a.ID != b.ID || a.Type != b.Type || a.Version != b.Version || a.OrderID != b.OrderID {
		return false
	}
	if bytes.Equal(a.Payload, b.Payload) {
		return true
	}
	pa, errA := decodeExact(a.Payload)
	pb, errB := decodeExact(b.Payload)
	return errA == nil && errB == nil && reflect.DeepEqual(pa, pb)
}

// decodeExact decodes a JSON value keeping each number's digits (json.Number).
func decodeExact(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}
