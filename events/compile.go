package events

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/orderflow-dev/orderflow/schemas"
)

// Compiling the JSON Schemas of package schemas into the validator's schema values, once;
// schema.go says what those values hold.

// compiled holds the schema of every type and version (schemas[t][version]), compiled once on
// first use; safe for concurrent use.
var compiled = sync.OnceValues(func() (map[Type][]*schema, error) { return compileSchemas(schemas.FS) })

// compileSchemas compiles <Type>.v<N>.schema.json for every known type and version in fsys;
// documents reference each other by $id.
func compileSchemas(fsys fs.FS) (map[Type][]*schema, error) {
	c := &compiler{docs: map[string]any{}, done: map[string]*schema{}}
	ids := map[string]string{} // file stem -> $id
	files, err := fs.Glob(fsys, "*.schema.json")
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	for _, name := range files {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", name, err)
		}
		d, err := parseJSON(b)
		if err != nil {
			return nil, fmt.Errorf("parse schema %s: %w", name, jsonError(b, err))
		}
		doc := d.value(0)
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" || strings.Contains(id, "#") {
			return nil, fmt.Errorf("schema %s: no $id, or one with a fragment", name)
		}
		if _, dup := c.docs[id]; dup {
			return nil, fmt.Errorf("schema %s: $id %s is taken", name, id)
		}
		if s, _ := obj["$schema"].(string); s != "https://json-schema.org/draft/2020-12/schema" {
			return nil, fmt.Errorf("schema %s: $schema %q is not draft 2020-12", name, obj["$schema"])
		}
		c.docs[id] = doc
		ids[strings.TrimSuffix(name, ".schema.json")] = id
	}
	// Every document compiles, referenced or not, so that none holds an unknown keyword.
	for _, id := range sortedKeys(c.docs) {
		if _, err := c.compile(id, ""); err != nil {
			return nil, err
		}
	}
	out := map[Type][]*schema{}
	for t, info := range typeInfo {
		out[t] = make([]*schema, info.latest+1)
		for v := 1; v <= info.latest; v++ {
			key := schemaKey(t, v)
			id, ok := ids[key]
			if !ok {
				return nil, fmt.Errorf("no schema %s.schema.json", key)
			}
			out[t][v] = c.done[id+"#"]
		}
	}
	return out, nil
}

type compiler struct {
	docs map[string]any     // $id -> decoded document
	done map[string]*schema // "<$id>#<pointer>" -> schema (also while being compiled: $refs may cycle)
}

// compile compiles the schema at JSON pointer ptr of document id.
func (c *compiler) compile(id, ptr string) (*schema, error) {
	loc := id + "#" + ptr
	if s, ok := c.done[loc]; ok {
		return s, nil
	}
	doc, ok := c.docs[id]
	if !ok {
		return nil, fmt.Errorf("schema %s: no document %s", loc, id)
	}
	node, err := resolvePointer(doc, ptr)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", loc, err)
	}
	obj, ok := node.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema %s: not a schema object (boolean schemas are not supported)", loc)
	}
	s := &schema{loc: loc, minItems: -1, maxItems: -1, minLen: -1, maxLen: -1}
	c.done[loc] = s
	var required []string
	for _, kw := range sortedKeys(obj) {
		v := obj[kw]
		at := loc + "/" + escapeToken(kw)
		bad := func(format string, args ...any) error {
			return fmt.Errorf("schema %s: %s", at, fmt.Sprintf(format, args...))
		}
		switch kw {
		case "$schema", "$id":
			if ptr != "" {
				return nil, bad("only a document's root may have it")
			}
		case "title", "description", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly":
			// annotations
		case "$defs":
			defs, ok := v.(map[string]any)
			if !ok {
				return nil, bad("not an object")
			}
			for _, name := range sortedKeys(defs) {
				if _, err := c.compile(id, ptr+"/$defs/"+escapeToken(name)); err != nil {
					return nil, err
				}
			}
		case "type":
			switch t := v.(type) {
			case string:
				if s.types, ok = typeByName(t); !ok {
					return nil, bad("unknown type %q", t)
				}
			case []any:
				for _, x := range t {
					name, _ := x.(string)
					ts, ok := typeByName(name)
					if !ok || s.types&ts != 0 {
						return nil, bad("unknown or repeated type %v", x)
					}
					s.types |= ts
				}
				if s.types == 0 {
					return nil, bad("no type")
				}
			default:
				return nil, bad("not a string or an array")
			}
		case "const":
			l, err := literalOf(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			s.constant = &l
		case "enum":
			list, ok := v.([]any)
			if !ok || len(list) == 0 {
				return nil, bad("not a non-empty array")
			}
			for _, x := range list {
				if _, ok := x.(string); !ok {
					return nil, bad("only strings are supported in an enum, not %v", x)
				}
				l, _ := literalOf(x)
				s.enum = append(s.enum, l)
			}
		case "format":
			if v != "date-time" {
				return nil, bad("format %v is not supported (only date-time)", v)
			}
			s.dateTime = true
		case "$ref":
			ref, _ := v.(string)
			base, frag, _ := strings.Cut(ref, "#")
			if ref == "" || (frag != "" && !strings.HasPrefix(frag, "/")) {
				return nil, bad("only $refs to a document's $id and JSON pointers are supported, not %q", ref)
			}
			target := id
			if base != "" {
				target = base
			}
			if s.ref, err = c.compile(target, frag); err != nil {
				return nil, err
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return nil, bad("not an object")
			}
			for _, name := range sortedKeys(props) {
				p, err := c.compile(id, ptr+"/properties/"+escapeToken(name))
				if err != nil {
					return nil, err
				}
				s.names = append(s.names, name)
				s.props = append(s.props, p)
			}
		case "required":
			list, ok := v.([]any)
			if !ok {
				return nil, bad("not an array")
			}
			for _, x := range list {
				name, ok := x.(string)
				if !ok || containsString(required, name) {
					return nil, bad("not a list of distinct names")
				}
				required = append(required, name)
			}
		case "additionalProperties":
			if v != false {
				return nil, bad("only additionalProperties: false is supported")
			}
			s.closed = true
		case "items":
			if _, ok := v.(map[string]any); !ok {
				return nil, bad("only a schema object is supported")
			}
			if s.items, err = c.compile(id, ptr+"/items"); err != nil {
				return nil, err
			}
		case "minItems", "maxItems", "minLength", "maxLength":
			n, err := count(v)
			if err != nil {
				return nil, bad("%v", err)
			}
			switch kw {
			case "minItems":
				s.minItems = n
			case "maxItems":
				s.maxItems = n
			case "minLength":
				s.minLen = n
			default:
				s.maxLen = n
			}
		case "pattern":
			p, _ := v.(string)
			if s.pattern, err = compilePattern(p); err != nil {
				return nil, bad("%v", err)
			}
		case "minimum", "maximum":
			l, err := literalOf(v)
			if err != nil || l.kind != jsonNumber {
				return nil, bad("not a number")
			}
			if kw == "minimum" {
				s.minimum = &l
			} else {
				s.maximum = &l
			}
		default:
			if !strings.HasPrefix(kw, "x-") {
				return nil, bad("unsupported keyword %q: teach events/compile.go and validate.go its meaning (and the equivalence test its mutations)", kw)
			}
		}
	}
	for _, name := range required {
		i := indexOf(s.names, name)
		if i < 0 {
			s.names = append(s.names, name)
			i = len(s.names) - 1
		}
		s.required = append(s.required, i)
	}
	if len(s.names) > 64 {
		return nil, fmt.Errorf("schema %s: more than 64 property names", loc)
	}
	return s, nil
}

// count reads a non-negative integer keyword.
func count(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%s is not a non-negative integer", n)
	}
	return i, nil
}

// resolvePointer follows a JSON pointer ("" or "/a/b") into a decoded document.
func resolvePointer(doc any, ptr string) (any, error) {
	if ptr == "" {
		return doc, nil
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		if strings.Contains(tok, "~") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		}
		switch x := cur.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return nil, fmt.Errorf("no %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("no item %q", tok)
			}
			cur = x[i]
		default:
			return nil, fmt.Errorf("no %q in a scalar", tok)
		}
	}
	return cur, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func containsString(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
