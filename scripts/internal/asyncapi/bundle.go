package asyncapi

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/schemas"
)

// bundler turns the event schemas (draft 2020-12, split across files that $ref each other by
// urn) into AsyncAPI components/schemas: each schema file and each of its $defs becomes one
// component ("envelope", "envelope.orderId", "OrderConfirmed.v1", "OrderConfirmed.v1.payload"),
// and every $ref points at its component. A $ref with sibling keywords becomes allOf (which is
// what 2020-12 means by it). $schema, $id and $defs go; nothing else changes.
type bundler struct {
	components map[string]any
}

const schemaPrefix = "urn:orderflow:schema:"

func newBundler() (*bundler, error) {
	b := &bundler{components: map[string]any{}}
	names, err := fs.Glob(schemas.FS, "*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		raw, err := fs.ReadFile(schemas.FS, name)
		if err != nil {
			return nil, err
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("asyncapi: schema %s: %w", name, err)
		}
		id, _ := doc["$id"].(string)
		key, ok := strings.CutPrefix(id, schemaPrefix)
		if !ok {
			return nil, fmt.Errorf("asyncapi: schema %s: $id %q is not %s...", name, id, schemaPrefix)
		}
		key = strings.ReplaceAll(key, ":", ".")
		if err := b.add(key, doc, key); err != nil {
			return nil, fmt.Errorf("asyncapi: schema %s: %w", name, err)
		}
	}
	for key, c := range b.components {
		if missing := b.dangling(c); missing != "" {
			return nil, fmt.Errorf("asyncapi: schema component %s refers to %s, which no schema defines", key, missing)
		}
	}
	return b, nil
}

// dangling is the first reference in v to a component that does not exist ("" if none).
func (b *bundler) dangling(v any) string {
	switch n := v.(type) {
	case map[string]any:
		if r, ok := n["$ref"].(string); ok {
			if _, exists := b.components[strings.TrimPrefix(r, "#/components/schemas/")]; !exists {
				return r
			}
		}
		for _, c := range n {
			if m := b.dangling(c); m != "" {
				return m
			}
		}
	case []any:
		for _, c := range n {
			if m := b.dangling(c); m != "" {
				return m
			}
		}
	}
	return ""
}

// add makes node the component key, and each of its $defs the component key.<name>; doc is the
// key of the file node belongs to (where "#/$defs/..." points).
func (b *bundler) add(key string, node map[string]any, doc string) error {
	defs, _ := node["$defs"].(map[string]any)
	for name, def := range defs {
		m, ok := def.(map[string]any)
		if !ok {
			return fmt.Errorf("$defs/%s is not a schema", name)
		}
		if err := b.add(key+"."+name, m, doc); err != nil {
			return err
		}
	}
	converted, err := convert(node, doc)
	if err != nil {
		return err
	}
	b.components[key] = converted
	return nil
}

// schema is a reference to the component of version v of t: an envelope of that type.
func (b *bundler) schema(t events.Type, v int) (map[string]any, error) {
	key := fmt.Sprintf("%s.v%d", t, v)
	if _, ok := b.components[key]; !ok {
		return nil, fmt.Errorf("asyncapi: no schema %s%s:v%d", schemaPrefix, t, v)
	}
	return ref("#/components/schemas/" + key), nil
}

// description is the description of the component a reference from schema points at.
func (b *bundler) description(r map[string]any) string {
	key := strings.TrimPrefix(r["$ref"].(string), "#/components/schemas/")
	d, _ := b.components[key].(map[string]any)["description"].(string)
	return d
}

// convert returns node with every $ref pointing at its component; doc is the key of the file it
// belongs to.
func convert(node any, doc string) (any, error) {
	switch n := node.(type) {
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			c, err := convert(v, doc)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		rest, annotations := map[string]any{}, map[string]any{}
		for k, v := range n {
			switch k {
			case "$schema", "$id", "$defs", "$ref":
				continue
			case "title", "description":
				annotations[k] = v
				continue
			}
			c, err := convert(v, doc)
			if err != nil {
				return nil, err
			}
			rest[k] = c
		}
		r, isRef := n["$ref"].(string)
		if !isRef {
			for k, v := range annotations {
				rest[k] = v
			}
			return rest, nil
		}
		target, err := component(r, doc)
		if err != nil {
			return nil, err
		}
		if len(rest) == 0 && len(annotations) == 0 {
			return target, nil
		}
		all := []any{target}
		if len(rest) > 0 {
			all = append(all, rest)
		}
		out := map[string]any{"allOf": all}
		for k, v := range annotations {
			out[k] = v
		}
		return out, nil
	default:
		return node, nil
	}
}

// component is the reference to what r names: "urn:...", "urn:...#/$defs/x" or "#/$defs/x" (in doc).
func component(r, doc string) (map[string]any, error) {
	id, pointer, _ := strings.Cut(r, "#")
	key := doc
	if id != "" {
		k, ok := strings.CutPrefix(id, schemaPrefix)
		if !ok {
			return nil, fmt.Errorf("$ref %s: not a %s... schema", r, schemaPrefix)
		}
		key = strings.ReplaceAll(k, ":", ".")
	}
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		switch {
		case tok == "":
		case tok == "$defs":
		default:
			key += "." + tok
		}
	}
	return ref("#/components/schemas/" + key), nil
}
