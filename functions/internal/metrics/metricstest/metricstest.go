// Package metricstest reads back the lines package metrics writes, for tests: Parse checks a
// line against the Embedded Metric Format specification (emf.schema.json for the shapes, code
// for the references from the directives to the root members) and decodes it into a Record
// that a test can ask for names, units, dimensions and values.
package metricstest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed emf.schema.json
var schemaJSON []byte

var schema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("urn:orderflow:test:emf", doc); err != nil {
		return nil, err
	}
	return c.Compile("urn:orderflow:test:emf")
})

// Record is one EMF line, decoded.
type Record struct {
	Timestamp  time.Time
	Directives []Directive
	Members    map[string]any // the root members but "_aws": strings, float64s, []float64s, or any JSON value
}

// Directive is a MetricDirective.
type Directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []Definition `json:"Metrics"`
}

// Definition is a MetricDefinition.
type Definition struct {
	Name              string `json:"Name"`
	Unit              string `json:"Unit"`
	StorageResolution int    `json:"StorageResolution"`
}

// Metric is a metric of the record, as CloudWatch extracts it.
type Metric struct {
	Namespace  string
	Name       string
	Unit       string
	Dimensions [][]string // the directive's dimension sets
	Values     []float64
}

// Metrics lists the record's metrics, directive by directive.
func (r Record) Metrics() []Metric {
	var out []Metric
	for _, d := range r.Directives {
		for _, m := range d.Metrics {
			out = append(out, Metric{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Dimensions: d.Dimensions, Values: numbers(r.Members[m.Name])})
		}
	}
	return out
}

// Dimension is the value of the dimension name ("" when the record has none).
func (r Record) Dimension(name string) string {
	s, _ := r.Members[name].(string)
	return s
}

func numbers(v any) []float64 {
	switch x := v.(type) {
	case float64:
		return []float64{x}
	case []float64:
		return x
	}
	return nil
}

// Parse checks that line is one EMF document (with or without its final newline) and decodes it.
func Parse(line []byte) (Record, error) {
	body := bytes.TrimSuffix(line, []byte("\n"))
	if bytes.ContainsAny(body, "\r\n") {
		return Record{}, errors.New("not one line")
	}
	if err := oneObject(body); err != nil {
		return Record{}, err
	}
	sch, err := schema()
	if err != nil {
		return Record{}, fmt.Errorf("compile emf.schema.json: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return Record{}, fmt.Errorf("not JSON: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return Record{}, fmt.Errorf("breaks the EMF schema: %w", err)
	}
	var raw struct {
		AWS struct {
			Timestamp         int64       `json:"Timestamp"`
			CloudWatchMetrics []Directive `json:"CloudWatchMetrics"`
		} `json:"_aws"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Record{}, err
	}
	r := Record{Timestamp: time.UnixMilli(raw.AWS.Timestamp).UTC(), Directives: raw.AWS.CloudWatchMetrics, Members: map[string]any{}}
	for k, v := range doc.(map[string]any) {
		if k == "_aws" {
			continue
		}
		r.Members[k] = decodeMember(v)
	}
	for _, d := range r.Directives {
		for _, set := range d.Dimensions {
			for _, k := range set {
				s, ok := r.Members[k].(string)
				if !ok {
					return Record{}, fmt.Errorf("dimension %q: the root member is %T, want a string", k, r.Members[k])
				}
				if strings.TrimSpace(s) == "" || len(s) > 1024 {
					return Record{}, fmt.Errorf("dimension %q: value %q: want 1 to 1024 characters, not all spaces", k, s)
				}
			}
		}
		seen := map[string]bool{}
		for _, m := range d.Metrics {
			if seen[m.Name] {
				return Record{}, fmt.Errorf("metric %q defined twice in one directive", m.Name)
			}
			seen[m.Name] = true
			switch v := r.Members[m.Name].(type) {
			case float64:
			case []float64:
				if len(v) == 0 || len(v) > 100 {
					return Record{}, fmt.Errorf("metric %q: %d values, want 1 to 100", m.Name, len(v))
				}
			default:
				return Record{}, fmt.Errorf("metric %q: the root member is %T, want a number or an array of numbers", m.Name, v)
			}
		}
	}
	return r, nil
}

// decodeMember turns a jsonschema-decoded value into a string, a float64 or a []float64 when
// it is one; anything else stays as decoded.
func decodeMember(v any) any {
	switch x := v.(type) {
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
	case []any:
		out := make([]float64, 0, len(x))
		for _, e := range x {
			n, ok := e.(json.Number)
			if !ok {
				return v
			}
			f, err := n.Float64()
			if err != nil {
				return v
			}
			out = append(out, f)
		}
		return out
	}
	return v
}

// oneObject checks that body is exactly one JSON object, with no data before or after it and
// no member name twice at the top level (a consumer would read only one of them).
func oneObject(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return fmt.Errorf("not a JSON object: %q", body)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		if seen[name] {
			return fmt.Errorf("member %q twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// Lines parses every line of out (what an Emitter wrote) and fails the test on any that is not
// an EMF document.
func Lines(tb testing.TB, out []byte) []Record {
	tb.Helper()
	var recs []Record
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !bytes.HasSuffix(line, []byte("\n")) {
			tb.Fatalf("line without its newline: %s", line)
		}
		r, err := Parse(line)
		if err != nil {
			tb.Fatalf("not an EMF line: %v\n%s", err, line)
		}
		recs = append(recs, r)
	}
	return recs
}
