package events

// The reference: how events validated before its own validator, with
// github.com/santhosh-tekuri/jsonschema/v6 (a full draft 2020-12 implementation). The validation
// is the package's as it was, renamed; what is not validation (building an envelope from a Spec,
// stepping a payload up, reading an EventBridge event's detail) it shares with the package.
// equivalence_test.go holds the new code to it.

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

var refCompiled = sync.OnceValues(refCompileAll)

func refCompileAll() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	ids := map[string]string{}
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := schemas.FS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			return nil, err
		}
		ids[strings.TrimSuffix(name, ".schema.json")] = id
	}
	out := map[string]*jsonschema.Schema{}
	for t, info := range typeInfo {
		for v := 1; v <= info.latest; v++ {
			key := schemaKey(t, v)
			sch, err := c.Compile(ids[key])
			if err != nil {
				return nil, fmt.Errorf("compile schema %s: %w", key, err)
			}
			out[key] = sch
		}
	}
	return out, nil
}

func refValidate(detail []byte) (Type, int, error) {
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
	all, err := refCompiled()
	if err != nil {
		return t, version, fmt.Errorf("events schemas: %w", err)
	}
	sch := all[schemaKey(t, version)]
	if err := sch.Validate(doc); err != nil {
		var se *jsonschema.ValidationError
		if errors.As(err, &se) {
			return t, version, &ValidationError{Type: t, Version: version, Problems: refProblems(se)}
		}
		return t, version, fmt.Errorf("validate %s v%d: %w", t, version, err)
	}
	return t, version, nil
}

var refPrinter = message.NewPrinter(language.English)

func refProblems(root *jsonschema.ValidationError) []Problem {
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
		out = append(out, Problem{Path: refPointer(loc), Message: e.ErrorKind.LocalizedString(refPrinter)})
	}
	walk(root)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func refPointer(tokens []string) string {
	var b strings.Builder
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for _, t := range tokens {
		b.WriteString("/")
		b.WriteString(r.Replace(t))
	}
	return b.String()
}

func refParse(detail []byte) (Envelope, error) {
	t, version, err := refValidate(detail)
	if err != nil {
		return Envelope{}, err
	}
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(detail))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Envelope{}, invalid(t, version, "", "decode envelope: %v", err)
	}
	var p struct {
		OrderID string `json:"orderId"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return Envelope{}, invalid(t, version, "/payload", "decode: %v", err)
	}
	if p.OrderID != e.OrderID {
		return Envelope{}, invalid(t, version, "/payload/orderId", "%q differs from the envelope's orderId %q", p.OrderID, e.OrderID)
	}
	if want := ID(e.OrderID, e.Sequence); e.ID != want {
		return Envelope{}, invalid(t, version, "/id", "%q is not the deterministic id of %s/%d (want %q)", e.ID, e.OrderID, e.Sequence, want)
	}
	if e.Type == TypeOrderPlaced && e.CorrelationID != e.ID {
		return Envelope{}, invalid(t, version, "/correlationId", "an OrderPlaced event is its own correlation: want %q", e.ID)
	}
	// The workflow correlates every event of an order by its OrderPlaced and causes each by the
	// one before it: an event that says otherwise would be told under another order or step.
	if e.Sequence > 1 {
		if want := ID(e.OrderID, 1); e.CorrelationID != want {
			return Envelope{}, invalid(t, version, "/correlationId", "%q is not the id of %s's OrderPlaced (want %q)", e.CorrelationID, e.OrderID, want)
		}
		if want := ID(e.OrderID, e.Sequence-1); e.CausationID != want {
			return Envelope{}, invalid(t, version, "/causationId", "%q is not the id of %s/%d, the event before it (want %q)", e.CausationID, e.OrderID, e.Sequence-1, want)
		}
	}
	return e, nil
}

// refNew is New with its old validation (marshal, then parse).
func refNew(spec Spec) (Envelope, error) {
	e, err := spec.envelope()
	if err != nil {
		return Envelope{}, err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return Envelope{}, fmt.Errorf("new %s v%d: marshal envelope: %w", e.Type, e.Version, err)
	}
	if _, err := refParse(b); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

func refFromEventBridge(raw []byte) (Envelope, error) { return decodeEventBridge(raw, refParse) }

// refUpcast is Upcast with its old re-validation (marshal, then parse).
func refUpcast(e Envelope) (Envelope, error) {
	up, err := e.upcastPayload()
	if err != nil || up.Version == e.Version {
		return up, err
	}
	out, err := json.Marshal(up)
	if err != nil {
		return Envelope{}, fmt.Errorf("upcast %s: %w", e.ID, err)
	}
	if _, err := refParse(out); err != nil {
		return Envelope{}, fmt.Errorf("upcast %s: %w", e.ID, err)
	}
	return up, nil
}

// refDecodePayload is DecodePayload as it was: encoding/json only.
func refDecodePayload[T any](e Envelope) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(e.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, invalid(e.Type, e.Version, "/payload", "decode into %T: %v", v, err)
	}
	return v, nil
}
