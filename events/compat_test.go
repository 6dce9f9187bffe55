package events_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/schemas"
)

// Schema evolution rule: version N of a type must accept what consumers of version N-1 rely
// on. Comparing each payload schema with its predecessor, a new version may add optional
// properties and widen enums and bounds, but never remove a property, change a type, newly
// require a property, narrow an enum or a bound (minimum, maximum, lengths, item counts), change
// a pattern or a const, or close additionalProperties. (The envelope and its $defs are shared,
// so only the payload is versioned: a change to them changes every version at once, and is not
// compared here.)
//
// One exception, made on purpose and in the open: a property may be removed when the new
// version's object schema names it under "x-removedProperties" with the reason (OrderPlaced v3
// drops paymentToken: payment data must not travel in events). Consumers never read the old
// shape of a new event, because they read every version through Envelope.Upcast, which
// TestRemovedPropertiesAreUpcastAway checks drops the property.

func loadSchema(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := schemas.FS.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObject(t, file, b)
}

// decodeObject decodes the JSON object b keeping each number's digits (json.Number); what
// names it in a failure.
func decodeObject(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return doc
}

// schemaSet resolves $refs: "#/..." inside the current document, "urn:...#/..." across documents.
type schemaSet map[string]map[string]any // $id -> document

func loadSchemaSet(t *testing.T) schemaSet {
	t.Helper()
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	set := schemaSet{}
	for _, f := range files {
		doc := loadSchema(t, f)
		set[doc["$id"].(string)] = doc
	}
	return set
}

// resolve follows node's $ref (if any) and returns the target with node's other keywords
// laid over it, and the document the result lives in.
func (s schemaSet) resolve(node map[string]any, doc map[string]any) (map[string]any, map[string]any, error) {
	for range 16 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node, doc, nil
		}
		base, frag, _ := strings.Cut(ref, "#")
		target := doc
		if base != "" {
			if target, ok = s[base]; !ok {
				return nil, nil, fmt.Errorf("unresolved $ref %q", ref)
			}
		}
		var cur any = target
		for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			if tok == "" {
				continue
			}
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("bad $ref %q", ref)
			}
			cur = m[tok]
		}
		resolved, ok := cur.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("$ref %q is not a schema object", ref)
		}
		merged := map[string]any{}
		for k, v := range resolved {
			merged[k] = v
		}
		for k, v := range node {
			if k != "$ref" {
				merged[k] = v
			}
		}
		node, doc = merged, target
	}
	return nil, nil, fmt.Errorf("$ref chain too long")
}

// number reads a schema keyword's number (json.Number, as decodeObject keeps it).
func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func strs(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, x := range a {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

// breakingChanges lists every way newNode breaks consumers of oldNode, at JSON pointer path.
func (s schemaSet) breakingChanges(path string, oldNode, oldDoc, newNode, newDoc map[string]any) []string {
	oldN, oldDoc, err := s.resolve(oldNode, oldDoc)
	if err != nil {
		return []string{path + ": old: " + err.Error()}
	}
	newN, newDoc, err := s.resolve(newNode, newDoc)
	if err != nil {
		return []string{path + ": new: " + err.Error()}
	}
	var out []string
	if ot, ok := oldN["type"]; ok {
		if nt, ok := newN["type"]; ok && fmt.Sprint(ot) != fmt.Sprint(nt) {
			out = append(out, fmt.Sprintf("%s: type changed from %v to %v", path, ot, nt))
		}
	} else if nt, ok := newN["type"]; ok {
		out = append(out, fmt.Sprintf("%s: type narrowed to %v", path, nt))
	}
	if oc, ok := oldN["const"]; ok && fmt.Sprint(oc) != fmt.Sprint(newN["const"]) {
		out = append(out, fmt.Sprintf("%s: const changed from %v to %v", path, oc, newN["const"]))
	}
	if ne, ok := newN["enum"]; ok {
		oldEnum, hadEnum := oldN["enum"]
		if !hadEnum {
			out = append(out, fmt.Sprintf("%s: enum %v added", path, ne))
		}
		for _, v := range strs(oldEnum) {
			if !slices.Contains(strs(ne), v) {
				out = append(out, fmt.Sprintf("%s: enum value %q removed", path, v))
			}
		}
	}
	for _, r := range strs(newN["required"]) {
		if !slices.Contains(strs(oldN["required"]), r) {
			out = append(out, fmt.Sprintf("%s: property %q newly required", path, r))
		}
	}
	if newN["additionalProperties"] == false && oldN["additionalProperties"] != false {
		out = append(out, fmt.Sprintf("%s: additionalProperties closed", path))
	}
	// Bounds may widen, never narrow: an old event at the old bound must still validate.
	for _, k := range []string{"maximum", "exclusiveMaximum", "maxLength", "maxItems"} {
		if nb, ok := number(newN[k]); ok {
			if ob, had := number(oldN[k]); !had || nb < ob {
				out = append(out, fmt.Sprintf("%s: %s narrowed from %v to %v", path, k, oldN[k], newN[k]))
			}
		}
	}
	for _, k := range []string{"minimum", "exclusiveMinimum", "minLength", "minItems"} {
		if nb, ok := number(newN[k]); ok {
			if ob, had := number(oldN[k]); !had || nb > ob {
				out = append(out, fmt.Sprintf("%s: %s narrowed from %v to %v", path, k, oldN[k], newN[k]))
			}
		}
	}
	// A changed pattern cannot be shown to accept every string the old one did: any change breaks.
	if np, ok := newN["pattern"]; ok && fmt.Sprint(np) != fmt.Sprint(oldN["pattern"]) {
		out = append(out, fmt.Sprintf("%s: pattern changed from %v to %v", path, oldN["pattern"], np))
	}
	oldProps, _ := oldN["properties"].(map[string]any)
	newProps, _ := newN["properties"].(map[string]any)
	names := make([]string, 0, len(oldProps))
	for name := range oldProps {
		names = append(names, name)
	}
	sort.Strings(names)
	removed, _ := newN["x-removedProperties"].(map[string]any)
	for _, name := range names {
		np, ok := newProps[name].(map[string]any)
		if !ok {
			if reason, _ := removed[name].(string); strings.TrimSpace(reason) == "" {
				out = append(out, fmt.Sprintf("%s: property %q removed (a deliberate removal names it in x-removedProperties with its reason)", path, name))
			}
			continue
		}
		out = append(out, s.breakingChanges(path+"/"+name, oldProps[name].(map[string]any), oldDoc, np, newDoc)...)
	}
	if oi, ok := oldN["items"].(map[string]any); ok {
		if ni, ok := newN["items"].(map[string]any); ok {
			out = append(out, s.breakingChanges(path+"/items", oi, oldDoc, ni, newDoc)...)
		} else {
			out = append(out, fmt.Sprintf("%s: items schema removed", path))
		}
	}
	return out
}

// payloadChanges compares the payload schemas of two type-schema documents.
func (s schemaSet) payloadChanges(oldDoc, newDoc map[string]any) []string {
	oldP := oldDoc["properties"].(map[string]any)["payload"].(map[string]any)
	newP := newDoc["properties"].(map[string]any)["payload"].(map[string]any)
	return s.breakingChanges("/payload", oldP, oldDoc, newP, newDoc)
}

func TestSchemaCompatibility(t *testing.T) {
	set := loadSchemaSet(t)
	compared := 0
	for _, typ := range events.Types() {
		for v := 2; v <= events.LatestVersion(typ); v++ {
			t.Run(fmt.Sprintf("%s.v%d-vs-v%d", typ, v, v-1), func(t *testing.T) {
				oldDoc := set[fmt.Sprintf("urn:orderflow:schema:%s:v%d", typ, v-1)]
				newDoc := set[fmt.Sprintf("urn:orderflow:schema:%s:v%d", typ, v)]
				if oldDoc == nil || newDoc == nil {
					t.Fatalf("missing schema for %s v%d or v%d", typ, v-1, v)
				}
				for _, c := range set.payloadChanges(oldDoc, newDoc) {
					t.Errorf("breaking change: %s", c)
				}
				compared++
			})
		}
	}
	if compared == 0 {
		t.Fatal("no version pairs compared")
	}
}

// deepCopy copies a decoded JSON document.
func deepCopy(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return decodeObject(t, "copy", b)
}

// The checker catches each kind of breaking change in an in-memory successor of OrderPlaced
// v2 and OrderCancelled v1, and lets compatible changes through.
func TestSchemaCompatibilityCatchesBreakingChanges(t *testing.T) {
	set := loadSchemaSet(t)
	placed := set["urn:orderflow:schema:OrderPlaced:v2"]
	cancelled := set["urn:orderflow:schema:OrderCancelled:v1"]
	refunded := set["urn:orderflow:schema:PaymentRefunded:v1"]
	payloadOf := func(doc map[string]any) map[string]any {
		return doc["$defs"].(map[string]any)["payload"].(map[string]any)
	}
	propsOf := func(doc map[string]any) map[string]any { return payloadOf(doc)["properties"].(map[string]any) }
	itemPropsOf := func(doc map[string]any) map[string]any {
		return propsOf(doc)["items"].(map[string]any)["items"].(map[string]any)["properties"].(map[string]any)
	}
	cases := []struct {
		name   string
		base   map[string]any
		change func(doc map[string]any)
		want   string // "" = compatible
	}{
		{"unchanged", placed, func(map[string]any) {}, ""},
		{"optional property added", placed, func(d map[string]any) { propsOf(d)["giftWrap"] = map[string]any{"type": "boolean"} }, ""},
		{"enum widened", cancelled, func(d map[string]any) {
			r := propsOf(d)["reason"].(map[string]any)
			r["enum"] = append(r["enum"].([]any), "customer-request")
		}, ""},
		{"property removed", placed, func(d map[string]any) { delete(propsOf(d), "paymentToken") }, `property "paymentToken" removed`},
		{"property removed with its reason", placed, func(d map[string]any) {
			delete(propsOf(d), "paymentToken")
			payloadOf(d)["x-removedProperties"] = map[string]any{"paymentToken": "payment data stays with the payments service"}
		}, ""},
		{"property removed without a reason", placed, func(d map[string]any) {
			delete(propsOf(d), "totalCents")
			payloadOf(d)["x-removedProperties"] = map[string]any{"totalCents": " "}
		}, `property "totalCents" removed`},
		{"another property's removal declared", placed, func(d map[string]any) {
			delete(propsOf(d), "customerId")
			payloadOf(d)["x-removedProperties"] = map[string]any{"paymentToken": "payment data"}
		}, `property "customerId" removed`},
		{"nested property removed", placed, func(d map[string]any) { delete(itemPropsOf(d), "unitPriceCents") }, `/payload/items/items: property "unitPriceCents" removed`},
		{"type changed behind a $ref", placed, func(d map[string]any) { propsOf(d)["totalCents"] = map[string]any{"type": "string"} }, "/payload/totalCents: type changed from integer to string"},
		{"nested type changed", placed, func(d map[string]any) { itemPropsOf(d)["name"] = map[string]any{"type": "object"} }, "/payload/items/items/name: type changed from string to object"},
		{"optional property now required", placed, func(d map[string]any) {
			p := payloadOf(d)
			p["required"] = append(p["required"].([]any), "currency")
		}, `property "currency" newly required`},
		{"enum narrowed", cancelled, func(d map[string]any) {
			propsOf(d)["reason"].(map[string]any)["enum"] = []any{"out-of-stock", "payment-declined"}
		}, `enum value "fulfilment-failed" removed`},
		{"refund: optional refund id added", refunded, func(d map[string]any) { propsOf(d)["refundId"] = map[string]any{"type": "string"} }, ""},
		{"refund: amount removed", refunded, func(d map[string]any) { delete(propsOf(d), "amountCents") }, `property "amountCents" removed`},
		{"refund: amount as a decimal string", refunded, func(d map[string]any) { propsOf(d)["amountCents"] = map[string]any{"type": "string"} }, "/payload/amountCents: type changed from integer to string"},
		{"enum added to a free string", placed, func(d map[string]any) {
			propsOf(d)["customerId"] = map[string]any{"type": "string", "enum": []any{"cust-1"}}
		}, "/payload/customerId: enum"},
		{"fewer lines allowed", placed, func(d map[string]any) { propsOf(d)["items"].(map[string]any)["maxItems"] = json.Number("5") }, "/payload/items: maxItems narrowed"},
		{"more lines allowed", placed, func(d map[string]any) { propsOf(d)["items"].(map[string]any)["maxItems"] = json.Number("500") }, ""},
		{"a shorter name", placed, func(d map[string]any) { itemPropsOf(d)["name"].(map[string]any)["maxLength"] = json.Number("10") }, "/payload/items/items/name: maxLength narrowed"},
		{"a total with a maximum", placed, func(d map[string]any) {
			propsOf(d)["totalCents"] = map[string]any{"$ref": "urn:orderflow:schema:envelope#/$defs/cents", "maximum": json.Number("100")}
		}, "/payload/totalCents: maximum narrowed"},
		{"a minimum raised", placed, func(d map[string]any) {
			propsOf(d)["totalCents"] = map[string]any{"$ref": "urn:orderflow:schema:envelope#/$defs/cents", "minimum": json.Number("1")}
		}, "/payload/totalCents: minimum narrowed"},
		{"a pattern changed", placed, func(d map[string]any) {
			propsOf(d)["currency"] = map[string]any{"type": "string", "pattern": "^EUR$"}
		}, "/payload/currency: pattern changed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := deepCopy(t, tc.base)
			tc.change(next)
			got := set.payloadChanges(tc.base, next)
			if tc.want == "" {
				if len(got) > 0 {
					t.Errorf("compatible change reported as breaking: %v", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("breaking changes %v; want one containing %q", got, tc.want)
			}
		})
	}
}

// The Go payload structs and the payload schemas name the same properties, and every
// property the schema requires is one the struct always writes (no omitempty).
func TestGoTypesMatchSchemas(t *testing.T) {
	set := loadSchemaSet(t)
	for _, g := range goldenEvents() {
		key := fmt.Sprintf("%s.v%d", g.t, g.version)
		t.Run(key, func(t *testing.T) {
			doc := set["urn:orderflow:schema:"+string(g.t)+fmt.Sprintf(":v%d", g.version)]
			node := doc["properties"].(map[string]any)["payload"].(map[string]any)
			compareStruct(t, set, "/payload", reflect.TypeOf(g.payload), node, doc)
		})
	}
}

func compareStruct(t *testing.T, set schemaSet, path string, typ reflect.Type, node, doc map[string]any) {
	t.Helper()
	node, doc, err := set.resolve(node, doc)
	if err != nil {
		t.Fatal(err)
	}
	props, _ := node["properties"].(map[string]any)
	fields := map[string]reflect.StructField{}
	omit := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields[name] = f
		omit[name] = strings.Contains(opts, "omitempty")
	}
	for name := range props {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s: schema property %q has no field in %s", path, name, typ)
		}
	}
	for name, f := range fields {
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("%s: field %s.%s (%q) is not in the schema", path, typ, f.Name, name)
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			p, pdoc, err := set.resolve(p, doc)
			if err != nil {
				t.Fatal(err)
			}
			compareStruct(t, set, path+"/"+name+"/items", f.Type.Elem(), p["items"].(map[string]any), pdoc)
		}
	}
	for _, r := range strs(node["required"]) {
		if omit[r] {
			t.Errorf("%s: required property %q is omitempty in %s", path, r, typ)
		}
	}
}

// Every property a newer version declares removed is gone from what Upcast makes of each older
// sample: a consumer reading through Upcast can never see it, nor rely on it.
func TestRemovedPropertiesAreUpcastAway(t *testing.T) {
	set := loadSchemaSet(t)
	checked := 0
	for _, typ := range events.Types() {
		for v := 2; v <= events.LatestVersion(typ); v++ {
			doc := set[fmt.Sprintf("urn:orderflow:schema:%s:v%d", typ, v)]
			payload, _, err := set.resolve(doc["properties"].(map[string]any)["payload"].(map[string]any), doc)
			if err != nil {
				t.Fatal(err)
			}
			removed, _ := payload["x-removedProperties"].(map[string]any)
			for name := range removed {
				for old := 1; old < v; old++ {
					e, err := events.Parse(events.Sample(typ, old))
					if err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(string(e.Payload), `"`+name+`"`) {
						t.Fatalf("sample %s v%d has no %q to remove: the check would prove nothing", typ, old, name)
					}
					up, err := e.Upcast()
					if err != nil {
						t.Fatal(err)
					}
					var fields map[string]json.RawMessage
					if err := json.Unmarshal(up.Payload, &fields); err != nil {
						t.Fatal(err)
					}
					if _, ok := fields[name]; ok {
						t.Errorf("%s v%d upcast to v%d still carries %q, which v%d removed", typ, old, up.Version, name, v)
					}
					checked++
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no declared removal checked")
	}
}
