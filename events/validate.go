package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/orderflow-dev/orderflow/schemas"
)

// compiled holds every schema, compiled once on first use; safe for concurrent use.
var compiled = sync.OnceValues(compileAll)

// compileAll compiles schemas/<Type>.v<N>.schema.json for every known type and version.
// Shared documents (envelope.schema.json) are added as resources, found by their $id.
func compileAll() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	ids := map[string]string{} // file stem -> $id
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	for _, name := range files {
		b, err := schemas.FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", name, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("parse schema %s: %w", name, err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("schema %s: no $id", name)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("add schema %s: %w", name, err)
		}
		ids[strings.TrimSuffix(name, ".schema.json")] = id
	}
	out := map[string]*jsonschema.Schema{}
	for t, info := range typeInfo {
		for v := 1; v <= info.latest; v++ {
			key := schemaKey(t, v)
			id, ok := ids[key]
			if !ok {
				return nil, fmt.Errorf("no schema %s.schema.json", key)
			}
			sch, err := c.Compile(id)
			if err != nil {
				return nil, fmt.Errorf("compile schema %s: %w", key, err)
			}
			out[key] = sch
		}
	}
	return out, nil
}

// validate checks an envelope document against the schema of its type and version and
// returns them. Bad input is a *ValidationError; a schema that does not compile is a plain
// error (a bug in this module, caught by the tests).
func validate(detail []byte) (Type, int, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
	if err != nil {
		return "", 0, invalid("", 0, "", "not JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return "", 0, invalid("", 0, "", "not a JSON object")
	}
	ts, ok := obj["type"].(string)
	if !ok {
		return "", 0, invalid("", 0, "/type", "missing or not a string")
	}
	t := Type(ts)
	if !t.Known() {
		return t, 0, invalid(t, 0, "/type", "unknown event type %q", ts)
	}
	num, ok := obj["version"].(json.Number)
	if !ok {
		return t, 0, invalid(t, 0, "/version", "missing or not a number")
	}
	v64, err := num.Int64()
	if err != nil || v64 < 1 || v64 > int64(LatestVersion(t)) {
		return t, 0, invalid(t, 0, "/version", "unknown version %s of %s (known: 1..%d)", num, t, LatestVersion(t))
	}
	version := int(v64)
	all, err := compiled()
	if err != nil {
		return t, version, fmt.Errorf("events schemas: %w", err)
	}
	sch := all[schemaKey(t, version)]
	if err := sch.Validate(doc); err != nil {
		var se *jsonschema.ValidationError
		if errors.As(err, &se) {
			return t, version, &ValidationError{Type: t, Version: version, Problems: problems(se)}
		}
		return t, version, fmt.Errorf("validate %s v%d: %w", t, version, err)
	}
	return t, version, nil
}

var printer = message.NewPrinter(language.English)

// problems flattens a jsonschema error tree into its leaves, sorted by path.
func problems(root *jsonschema.ValidationError) []Problem {
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := append([]string(nil), e.InstanceLocation...)
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			if len(k.Missing) == 1 {
				loc = append(loc, k.Missing[0])
			}
		case *kind.AdditionalProperties:
			if len(k.Properties) == 1 {
				loc = append(loc, k.Properties[0])
			}
		}
		out = append(out, Problem{Path: pointer(loc), Message: e.ErrorKind.LocalizedString(printer)})
	}
	walk(root)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func pointer(tokens []string) string {
	var b strings.Builder
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for _, t := range tokens {
		b.WriteString("/")
		b.WriteString(r.Replace(t))
	}
	return b.String()
}
