package events

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The validator applies the JSON Schemas of package schemas with exactly the subset of draft
// 2020-12 they use; a keyword outside it fails compilation (TestSchemaKeywordsAreKnown), so a
// schema change cannot be silently ignored. Its verdicts and problem paths are those of
// github.com/santhosh-tekuri/jsonschema/v6, which gated events before it (the equivalence test
// runs both on every sample and thousands of mutations of them).
//
// Supported: type (one name or a list), const (a string or a number), enum (strings), format
// "date-time" (asserted), $ref ("#/..." in the same document, "<$id>" and "<$id>#/..." across
// documents, applied beside its sibling keywords), properties, required,
// additionalProperties: false, items (one schema), minItems, maxItems, minLength, maxLength,
// pattern, minimum, maximum. Ignored annotations: $schema (must be draft 2020-12), $id (at a
// document's root), $defs (compiled, to check them too), title, description, $comment,
// examples, default, deprecated, readOnly, writeOnly and x-*.

// schema is one compiled schema object.
type schema struct {
	loc      string // where it is defined: "<$id>#<JSON pointer>"
	types    typeSet
	constant *literal
	enum     []literal
	dateTime bool
	ref      *schema

	// object: names lists properties' names and then required names that are not properties;
	// props[i] is the schema of names[i] (nil past the properties).
	names    []string
	props    []*schema
	required []int // indexes into names
	closed   bool  // additionalProperties: false

	items              *schema
	minItems, maxItems int // -1: absent
	minLen, maxLen     int // -1: absent
	pattern            *pattern
	minimum, maximum   *literal
}

// literal is a const, enum or bound value.
type literal struct {
	kind  jsonKind // jsonString or jsonNumber
	str   string
	num   decimal
	i64   int64  // num, when small is true
	small bool   // num is an integer of at most 18 digits
	text  string // as messages show it
}

type typeSet uint8

const (
	typeNull typeSet = 1 << iota
	typeBoolean
	typeObject
	typeArray
	typeNumber
	typeString
	typeInteger
)

var typeNames = []struct {
	t    typeSet
	name string
}{
	{typeNull, "null"}, {typeBoolean, "boolean"}, {typeObject, "object"}, {typeArray, "array"},
	{typeNumber, "number"}, {typeString, "string"}, {typeInteger, "integer"},
}

func (t typeSet) String() string {
	var names []string
	for _, tn := range typeNames {
		if t&tn.t != 0 {
			names = append(names, tn.name)
		}
	}
	return strings.Join(names, " or ")
}

func typeByName(name string) (typeSet, bool) {
	for _, tn := range typeNames {
		if tn.name == name {
			return tn.t, true
		}
	}
	return 0, false
}

// literalOf reads a const or bound: a string or a number.
func literalOf(v any) (literal, error) {
	switch x := v.(type) {
	case string:
		return literal{kind: jsonString, str: x, text: quote(x)}, nil
	case json.Number:
		d := parseDecimal([]byte(x))
		if !d.ok {
			return literal{}, fmt.Errorf("number %s out of range", x)
		}
		l := literal{kind: jsonNumber, num: d, text: x.String()}
		l.i64, l.small = d.smallInt()
		return l, nil
	}
	return literal{}, fmt.Errorf("only strings and numbers are supported, not %v", v)
}
