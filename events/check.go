package events

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// marshalError is json.Marshal's error for an envelope it cannot write (a payload that is
// not JSON, a time outside years 0..9999).
type marshalError struct{ err error }

func (e *marshalError) Error() string { return e.err.Error() }
func (e *marshalError) Unwrap() error { return e.err }

// check validates e as Parse(json.Marshal(e)) would, without writing or reading the envelope:
// it builds the tree the reader would make of json.Marshal(e) from e's fields and reads only
// the payload. The tree is the same because json.Marshal writes the fields in their order
// (causationId only when set), strings with each invalid UTF-8 byte as U+FFFD (read back as
// U+FFFD), the ints as integers, the time as Time.MarshalJSON does, and the payload compacted
// (the same values). Parse's decoding step cannot fail on what json.Marshal wrote, so what is
// left is the schema and checkFacts, here run on the values Parse would have decoded.
// A *marshalError is what json.Marshal(e) would have returned.
func (e *Envelope) check() error {
	payload := []byte(e.Payload)
	if e.Payload == nil {
		payload = []byte("null") // json.RawMessage(nil) marshals as null
	}
	tm, terr := e.Time.MarshalJSON()
	d := &jsonDoc{
		src:   append(make([]byte, 0, len(payload)+len(tm)+256), payload...),
		nodes: make([]jsonNode, 1, 12+len(payload)/24),
	}
	d.nodes[0].kind = jsonObject
	decoded := Envelope{
		ID:            validUTF8(e.ID),
		Type:          Type(validUTF8(string(e.Type))),
		Version:       e.Version,
		Source:        validUTF8(e.Source),
		OrderID:       validUTF8(e.OrderID),
		Sequence:      e.Sequence,
		CorrelationID: validUTF8(e.CorrelationID),
		CausationID:   validUTF8(e.CausationID),
		Payload:       payload,
	}
	var prev int32
	link := func(c int32, key string) {
		start := len(d.src)
		d.src = append(d.src, key...)
		d.nodes[c].keyStart, d.nodes[c].keyEnd = int32(start), int32(len(d.src))
		if prev == 0 {
			d.nodes[0].first = c
		} else {
			d.nodes[prev].next = c
		}
		prev = c
		d.nodes[0].n++
	}
	str := func(key string, value []byte) {
		start := len(d.src)
		d.src = append(d.src, value...)
		d.nodes = append(d.nodes, jsonNode{kind: jsonString, start: int32(start), end: int32(len(d.src))})
		link(int32(len(d.nodes)-1), key)
	}
	integer := func(key string, n int) {
		start := len(d.src)
		d.src = strconv.AppendInt(d.src, int64(n), 10)
		d.nodes = append(d.nodes, jsonNode{kind: jsonNumber, flags: flagPlain, start: int32(start), end: int32(len(d.src))})
		link(int32(len(d.nodes)-1), key)
	}
	str("id", []byte(decoded.ID))
	str("type", []byte(decoded.Type))
	integer("version", e.Version)
	str("source", []byte(decoded.Source))
	if terr == nil {
		str("time", tm[1:len(tm)-1])
	}
	str("orderId", []byte(decoded.OrderID))
	integer("sequence", e.Sequence)
	str("correlationId", []byte(decoded.CorrelationID))
	if e.CausationID != "" {
		str("causationId", []byte(decoded.CausationID))
	}
	p, perr := d.parseValue(len(payload))
	if terr != nil || perr != nil {
		if _, err := json.Marshal(e); err != nil {
			return &marshalError{err}
		}
		return e.roundTrip() // not reached: the reader and encoding/json agree on what is JSON
	}
	link(p, "payload")
	if _, _, err := validateDoc(d, 0); err != nil {
		return err
	}
	return checkFacts(&decoded, d, p)
}

// roundTrip is what check stands for.
func (e *Envelope) roundTrip() error {
	b, err := json.Marshal(e)
	if err != nil {
		return &marshalError{err}
	}
	_, err = Parse(b)
	return err
}

// validUTF8 is s as json.Marshal writes it and the reader reads it back: each byte of
// invalid UTF-8 becomes U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s { // a byte of invalid UTF-8 comes as RuneError, one byte at a time
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
