package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Strict JSON helpers for ParsePlaceOrder: each names the field it rejects.

func kindOf(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// object decodes raw as exactly one JSON object.
func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	name := field
	if name == "" {
		name = "request body"
	}
	if k := kindOf(raw); k != "an object" {
		// kindOf reads only the first byte: "hello" or a form body would be "a number".
		if err := json.Unmarshal(raw, new(any)); err != nil {
			return nil, inputErr(field, "%s is not valid JSON: %v", name, err)
		}
		return nil, inputErr(field, "%s must be a JSON object, got %s", name, k)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, inputErr(field, "%s is not valid JSON: %v", name, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, inputErr(field, "%s must be a single JSON object", name)
	}
	return obj, nil
}

// known rejects fields other than allowed.
func known(obj map[string]json.RawMessage, prefix string, allowed ...string) error {
	var unknown []string
	for k := range obj {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	field := join(prefix, unknown[0])
	return inputErr(field, "unknown field %s (allowed: %s)", Quote(field), strings.Join(allowed, ", "))
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// str reads an optional string field ("" if absent or null).
func str(obj map[string]json.RawMessage, prefix, name string) (string, error) {
	raw, ok := obj[name]
	if !ok || kindOf(raw) == "null" {
		return "", nil
	}
	field := join(prefix, name)
	if k := kindOf(raw); k != "a string" {
		return "", inputErr(field, "%s must be a string, got %s", field, k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", inputErr(field, "%s: %v", field, err)
	}
	return s, nil
}

// integer reads an optional integer field (0 if absent or null).
func integer(obj map[string]json.RawMessage, prefix, name string) (int, error) {
	raw, ok := obj[name]
	if !ok || kindOf(raw) == "null" {
		return 0, nil
	}
	field := join(prefix, name)
	if k := kindOf(raw); k != "a number" {
		return 0, inputErr(field, "%s must be an integer, got %s", field, k)
	}
	text := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(text, 10, 32)
	if errors.Is(err, strconv.ErrRange) { // an integer, but beyond any bound a caller checks
		return 0, inputErr(field, "%s is out of range, got %s", field, cut(text, quoteMax))
	}
	if err != nil {
		return 0, inputErr(field, "%s must be an integer, got %s", field, cut(text, quoteMax))
	}
	return int(n), nil
}

// noDuplicateKeys rejects a JSON document in which an object names a key twice, at any depth
// (encoding/json would silently keep the last one, so two readers of the same body could
// disagree). The error names the key as the request's field path, e.g. items[0].sku.
func noDuplicateKeys(doc []byte) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return inputErr(path, "%s is not valid JSON: %v", orBody(path), err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return inputErr(path, "%s is not valid JSON: %v", orBody(path), err)
				}
				k, _ := kt.(string)
				field := join(path, k)
				if seen[k] {
					return inputErr(field, "duplicate key %s in %s", Quote(k), orBody(path))
				}
				seen[k] = true
				if err := walk(field); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(path + "[" + strconv.Itoa(i) + "]"); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
		}
		if err != nil {
			return inputErr(path, "%s is not valid JSON: %v", orBody(path), err)
		}
		return nil
	}
	return walk("")
}

func orBody(path string) string {
	if path == "" {
		return "request body"
	}
	return path
}
