package events

import "encoding/json"

// A JSONValue is one value of a document read by ReadJSON: the validator's one-pass reader, for
// code that needs a few members of a large document and parts of it as they are, without decoding
// it twice (json.Unmarshal checks a document in one pass and decodes it in another, and a
// json.RawMessage member is scanned once more to find its end). The zero JSONValue is absent.
type JSONValue struct {
	d *jsonDoc
	n int32
}

// ReadJSON reads src, which must be one JSON value (whitespace around it allowed), accepting
// exactly what encoding/json accepts; its error is json.Unmarshal's. The values it returns point into src: src must not change
// while they are used.
func ReadJSON(src []byte) (JSONValue, error) {
	d, err := parseJSON(src)
	if err != nil {
		var raw json.RawMessage // json.Unmarshal's words for what is wrong (the parser only knows where)
		if uerr := json.Unmarshal(src, &raw); uerr != nil {
			err = uerr
		}
		return JSONValue{}, err
	}
	return JSONValue{d: d}, nil
}

// Exists reports whether v is present (a null is present).
func (v JSONValue) Exists() bool { return v.d != nil }

// IsObject reports whether v is a JSON object.
func (v JSONValue) IsObject() bool { return v.d != nil && v.d.nodes[v.n].kind == jsonObject }

// Member is the member of object v with key k (the last one, which json.Unmarshal keeps), or
// absent: v is absent or no object, or has no such member. Unlike json.Unmarshal into a
// struct, the key must match exactly (no case folding).
func (v JSONValue) Member(k string) JSONValue {
	if !v.IsObject() {
		return JSONValue{}
	}
	if m := v.d.member(v.n, k); m != 0 {
		return JSONValue{d: v.d, n: m}
	}
	return JSONValue{}
}

// Raw is v as the document writes it (a string with its quotes), or nil if v is absent. It shares
// src's bytes (do not write into it); appending to it copies.
func (v JSONValue) Raw() json.RawMessage {
	if v.d == nil {
		return nil
	}
	nd := &v.d.nodes[v.n]
	start, end := nd.start, nd.end
	if nd.kind == jsonString {
		start, end = start-1, end+1
	}
	return v.d.src[start:end:end] // no spare capacity: an append copies rather than writes into src
}

// Str is v's value if v is a string (decoded as json.Unmarshal decodes it), "" otherwise.
func (v JSONValue) Str() string {
	if v.d == nil || v.d.nodes[v.n].kind != jsonString {
		return ""
	}
	return v.d.str(v.n)
}
