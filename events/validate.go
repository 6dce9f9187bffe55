package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"
)

// checkHead reads what decides the schema: the document is an object whose type is a known
// type and whose version one of its versions, as events checked before jsonschema ran.
func checkHead(d *jsonDoc, root int32) (Type, int, error) {
	if d.nodes[root].kind != jsonObject {
		return "", 0, invalid("", 0, "", "not a JSON object")
	}
	tn := d.member(root, "type")
	if tn == 0 || d.nodes[tn].kind != jsonString {
		return "", 0, invalid("", 0, "/type", "missing or not a string")
	}
	t := knownType(d, tn)
	info, known := typeInfo[t]
	if !known {
		return t, 0, invalid(t, 0, "/type", "unknown event type %q", string(t))
	}
	vn := d.member(root, "version")
	if vn == 0 || d.nodes[vn].kind != jsonNumber {
		return t, 0, invalid(t, 0, "/version", "missing or not a number")
	}
	lit := d.text(vn)
	v64, err := strconv.ParseInt(string(lit), 10, 64) // json.Number.Int64
	if err != nil || v64 < 1 || v64 > int64(info.latest) {
		return t, 0, invalid(t, 0, "/version", "unknown version %s of %s (known: 1..%d)", lit, t, info.latest)
	}
	return t, int(v64), nil
}

var typeList = Types()

// knownType is the type string node n names, without allocating it when it is a known one.
func knownType(d *jsonDoc, n int32) Type {
	if d.nodes[n].flags&flagRaw == 0 {
		b := d.text(n)
		for _, t := range typeList {
			if string(b) == string(t) {
				return t
			}
		}
	}
	return Type(d.str(n))
}

// validateDoc checks the envelope at node root of a parsed document against the schema of
// its type and version and returns them. Bad input is a *ValidationError; a schema that does
// not compile is a plain error (a bug in this module, caught by the tests).
func validateDoc(d *jsonDoc, root int32) (Type, int, error) {
	t, version, err := checkHead(d, root)
	if err != nil {
		return t, version, err
	}
	all, err := compiled()
	if err != nil {
		return t, version, fmt.Errorf("events schemas: %w", err)
	}
	v := validator{doc: d}
	v.path = v.pathBuf[:0]
	v.validate(all[t][version], root)
	if len(v.problems) > 0 {
		sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Path < v.problems[j].Path })
		return t, version, &ValidationError{Type: t, Version: version, Problems: v.problems}
	}
	return t, version, nil
}

// jsonError words why src is not JSON as encoding/json does (the validator's reader agrees
// with it on what is JSON; the tests check it).
func jsonError(src []byte, fallback error) error {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil || err != io.EOF {
		return errors.New("invalid character after top-level value")
	}
	return fallback
}

// validator applies a schema to a parsed document and collects the problems.
type validator struct {
	doc      *jsonDoc
	path     []step // where the value being checked is
	pathBuf  [16]step
	problems []Problem
	buf      []byte // scratch for decoding strings
}

// step is one token of the current path: the key of an object member (its node) or an index.
type step struct {
	member int32
	index  int32 // -1 for a member
}

// validate applies s to node n, in the order jsonschema does: a failed type, const, enum or
// format is the only problem of s at n; then $ref and the keywords of n's kind.
func (v *validator) validate(s *schema, n int32) {
	d := v.doc
	nd := &d.nodes[n]
	if s.types != 0 && !v.hasType(s.types, n) {
		v.add("got %s, want %s", kindName(nd.kind), s.types)
		return
	}
	if s.constant != nil && !v.equals(n, s.constant) {
		v.add("value must be %s", s.constant.text)
		return
	}
	if s.enum != nil {
		ok := false
		if nd.kind == jsonString {
			var b []byte
			b, v.buf = d.strBytes(n, v.buf)
			for i := range s.enum {
				if string(b) == s.enum[i].str {
					ok = true
					break
				}
			}
		}
		if !ok {
			v.add("value must be %s", enumText(s.enum))
			return
		}
	}
	if s.dateTime && nd.kind == jsonString {
		var b []byte
		b, v.buf = d.strBytes(n, v.buf)
		if err := checkDateTime(string(b)); err != nil {
			v.add("%s is not valid date-time: %v", quote(string(b)), err)
			return
		}
	}
	if s.ref != nil {
		v.validate(s.ref, n)
	}
	switch nd.kind {
	case jsonObject:
		v.object(s, n)
	case jsonArray:
		v.array(s, n)
	case jsonString:
		v.string(s, n)
	case jsonNumber:
		v.number(s, n)
	}
}

func kindName(k jsonKind) string {
	switch k {
	case jsonNull:
		return "null"
	case jsonFalse, jsonTrue:
		return "boolean"
	case jsonNumber:
		return "number"
	case jsonString:
		return "string"
	case jsonArray:
		return "array"
	}
	return "object"
}

func (v *validator) hasType(t typeSet, n int32) bool {
	switch v.doc.nodes[n].kind {
	case jsonNull:
		return t&typeNull != 0
	case jsonFalse, jsonTrue:
		return t&typeBoolean != 0
	case jsonString:
		return t&typeString != 0
	case jsonArray:
		return t&typeArray != 0
	case jsonObject:
		return t&typeObject != 0
	}
	if t&typeNumber != 0 {
		return true
	}
	return t&typeInteger != 0 && v.isInt(n)
}

func (v *validator) isInt(n int32) bool {
	if v.doc.nodes[n].flags&flagPlain != 0 {
		return true
	}
	return parseDecimal(v.doc.text(n)).isInt()
}

// equals compares node n with a const as jsonschema does (numbers by value).
func (v *validator) equals(n int32, l *literal) bool {
	d := v.doc
	switch d.nodes[n].kind {
	case jsonString:
		if l.kind != jsonString {
			return false
		}
		var b []byte
		b, v.buf = d.strBytes(n, v.buf)
		return string(b) == l.str
	case jsonNumber:
		if l.kind != jsonNumber {
			return false
		}
		if d.nodes[n].flags&flagPlain != 0 && l.small {
			if x, ok := plainInt(d.text(n)); ok {
				return x == l.i64
			}
		}
		x := parseDecimal(d.text(n))
		return x.ok && x.cmp(l.num) == 0
	}
	return false
}

// object applies s's object keywords to object node n. Where a key repeats, its last member
// counts, as in the map jsonschema validated.
func (v *validator) object(s *schema, n int32) {
	if len(s.names) == 0 && !s.closed {
		return
	}
	d := v.doc
	var last [64]int32 // last member of each of s.names
	var seen uint64
	var extra []string
	for c := d.nodes[n].first; c != 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		key := d.src[nd.keyStart:nd.keyEnd]
		if nd.flags&flagKeyRaw != 0 {
			key = appendUnquoted(v.buf[:0], key)
			v.buf = key
		}
		i := -1
		for j, name := range s.names {
			if string(key) == name {
				i = j
				break
			}
		}
		switch {
		case i >= 0:
			last[i] = c
			seen |= 1 << i
		case s.closed && !containsString(extra, string(key)):
			extra = append(extra, string(key))
		}
	}
	var missing []string
	for _, i := range s.required {
		if seen&(1<<i) == 0 {
			missing = append(missing, s.names[i])
		}
	}
	v.addProperties(missing, "missing property %s", "missing properties %s")
	for i, p := range s.props {
		if seen&(1<<i) != 0 {
			v.path = append(v.path, step{member: last[i], index: -1})
			v.validate(p, last[i])
			v.path = v.path[:len(v.path)-1]
		}
	}
	v.addProperties(extra, "additional properties %s not allowed", "additional properties %s not allowed")
}

func (v *validator) array(s *schema, n int32) {
	nd := &v.doc.nodes[n]
	if s.minItems >= 0 && int(nd.n) < s.minItems {
		v.add("minItems: got %d, want %d", nd.n, s.minItems)
	}
	if s.maxItems >= 0 && int(nd.n) > s.maxItems {
		v.add("maxItems: got %d, want %d", nd.n, s.maxItems)
	}
	if s.items == nil {
		return
	}
	i := int32(0)
	for c := nd.first; c != 0; c = v.doc.nodes[c].next {
		v.path = append(v.path, step{member: c, index: i})
		v.validate(s.items, c)
		v.path = v.path[:len(v.path)-1]
		i++
	}
}

func (v *validator) string(s *schema, n int32) {
	if s.minLen < 0 && s.maxLen < 0 && s.pattern == nil {
		return
	}
	var b []byte
	b, v.buf = v.doc.strBytes(n, v.buf)
	if s.minLen >= 0 || s.maxLen >= 0 {
		l := utf8.RuneCount(b)
		if s.minLen >= 0 && l < s.minLen {
			v.add("minLength: got %d, want %d", l, s.minLen)
		}
		if s.maxLen >= 0 && l > s.maxLen {
			v.add("maxLength: got %d, want %d", l, s.maxLen)
		}
	}
	if s.pattern != nil && !s.pattern.match(b) {
		// The value is not quoted: a string that fails its pattern may be a secret (a legacy
		// OrderPlaced's payment token) or customer data, and this text reaches logs, DLQ
		// reasons and the workflow's history. The path says which field.
		v.add("the value does not match pattern %s", quote(s.pattern.src))
	}
}

func (v *validator) number(s *schema, n int32) {
	if s.minimum == nil && s.maximum == nil {
		return
	}
	lit := v.doc.text(n)
	if v.doc.nodes[n].flags&flagPlain != 0 {
		// the common case: a plain integer, compared as an int64
		if x, ok := plainInt(lit); ok && (s.minimum == nil || s.minimum.small) && (s.maximum == nil || s.maximum.small) {
			if s.minimum != nil && x < s.minimum.i64 {
				v.add("minimum: got %s, want %s", lit, s.minimum.text)
			}
			if s.maximum != nil && x > s.maximum.i64 {
				v.add("maximum: got %s, want %s", lit, s.maximum.text)
			}
			return
		}
	}
	x := parseDecimal(lit)
	if s.minimum != nil && (!x.ok || x.cmp(s.minimum.num) < 0) {
		v.add("minimum: got %s, want %s", numText(lit, x), s.minimum.text)
	}
	if s.maximum != nil && (!x.ok || x.cmp(s.maximum.num) > 0) {
		v.add("maximum: got %s, want %s", numText(lit, x), s.maximum.text)
	}
}
