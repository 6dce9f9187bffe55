// Package metrics writes CloudWatch metrics as structured log lines in the CloudWatch Embedded
// Metric Format (EMF): no CloudWatch API call, no extra permission, nothing on the request path
// but a write to stdout. In Lambda every line a function writes to stdout becomes a CloudWatch
// Logs event; a line that is one JSON object is kept as it is under the JSON log format (Lambda
// does not encode JSON twice), and CloudWatch Logs extracts the metrics from every event that
// follows the specification:
//
//	{"_aws":{"Timestamp":1772366400000,"CloudWatchMetrics":[{"Namespace":"Orderflow",
//	  "Dimensions":[[],["Reason"]],"Metrics":[{"Name":"OrdersCancelled","Unit":"Count"}]}]},
//	 "Reason":"out-of-stock","OrdersCancelled":1}
//
// (one line in reality). The "_aws" member holds the metadata: the metrics' timestamp in
// milliseconds since the epoch and the metric directives (namespace, dimension sets, metric
// names and units); the dimension values and the metric values are top-level members named by
// the directives.
//
// What can be emitted is fixed up front by a Catalog: the namespace, every metric with its unit
// and its dimension sets, and every dimension with the only values it may take. New checks the
// catalog against the specification's limits once, at cold start; Emit then accepts only the
// catalog's names, a dimension value from its list, and numbers. Nothing else reaches the line,
// so an order id, a customer id or payment data cannot become a metric or a dimension (each
// distinct dimension value would also be a new, billed, custom metric).
//
// A metric exists in CloudWatch once per dimension set it is emitted with (and per combination
// of values): a metric declared with the sets [] and ["Reason"] is one total and one series per
// reason, from the same record. A query over every dimension combination of such a metric
// (Metrics Insights FROM "Orderflow" rather than FROM SCHEMA("Orderflow", Reason)) counts it twice.
//
// Under the JSON log format Lambda reads a JSON line without a "level" member as INFO: if the
// function's application log level is set above INFO, Lambda drops the metric lines too.
package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// Value is one metric of a record: a name from the catalog and one number, or up to
// MaxValuesPerMetric numbers (several observations of the same metric).
type Value struct {
	Name   string
	Values []float64
}

// Of is the metric name with values.
func Of(name string, values ...float64) Value {
	return Value{Name: name, Values: values}
}

// Millis is d in (fractional) milliseconds, the value of a Milliseconds metric.
func Millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// Emitter writes EMF records, one line each, to a writer. It is safe for concurrent use: each
// record is a single Write.
type Emitter struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time
	ns      string
	metrics map[string]Metric
	dims    map[string][]string
}

// New returns an Emitter of the catalog's metrics that writes to w (os.Stdout in a function)
// and stamps each record with now(). An invalid catalog is an error wrapping ErrInvalid.
func New(w io.Writer, c Catalog, now func() time.Time) (*Emitter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if w == nil || now == nil {
		return nil, errors.New("metrics: New needs a writer and a clock")
	}
	e := &Emitter{w: w, now: now, ns: c.Namespace, metrics: map[string]Metric{}, dims: map[string][]string{}}
	for _, m := range c.Metrics {
		m.Dimensions = m.sets()
		e.metrics[m.Name] = m
	}
	for _, d := range c.Dimensions {
		e.dims[d.Name] = slices.Clone(d.Values)
	}
	return e, nil
}

// Emit writes one record: values, published with the dimension sets the catalog declares for
// each, and dims, the value of every dimension those sets name (nil when they name none).
// Metrics with the same dimension sets share a metric directive. A record that breaks the
// catalog or the specification (a dimension missing, or given that no metric uses) is not
// written and is an error wrapping ErrInvalid; a failed write is returned as it is.
func (e *Emitter) Emit(dims map[string]string, values ...Value) error {
	line, err := e.encode(dims, values)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(line); err != nil {
		return fmt.Errorf("metrics: write: %w", err)
	}
	return nil
}

type metricDefinition struct {
	Name              string `json:"Name"`
	Unit              Unit   `json:"Unit"`
	StorageResolution int    `json:"StorageResolution,omitempty"`
}

type metricDirective struct {
	Namespace  string             `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64             `json:"Timestamp"`
	CloudWatchMetrics []metricDirective `json:"CloudWatchMetrics"`
}

// encode builds the line: "_aws" first (one directive per distinct list of dimension sets, in
// the order of the metrics), then the dimensions in key order, then the metrics in the order
// given, then a newline. Its bytes depend only on its input and the clock.
func (e *Emitter) encode(dims map[string]string, values []Value) ([]byte, error) {
	if len(values) == 0 || len(values) > MaxMetricsPerRecord {
		return nil, invalid("a record holds 1 to %d metrics, not %d", MaxMetricsPerRecord, len(values))
	}
	var directives []metricDirective
	var groups []string           // directives[i]'s dimension sets, as a key
	needed := map[string]string{} // dimension -> a metric that needs it
	for i, v := range values {
		m, ok := e.metrics[v.Name]
		switch {
		case !ok:
			return nil, invalid("metric %q is not in the %s catalog", v.Name, e.ns)
		case slices.ContainsFunc(values[:i], func(o Value) bool { return o.Name == v.Name }):
			return nil, invalid("metric %q appears twice in one record: give it several values instead", v.Name)
		case len(v.Values) == 0 || len(v.Values) > MaxValuesPerMetric:
			return nil, invalid("metric %q: 1 to %d values, not %d", v.Name, MaxValuesPerMetric, len(v.Values))
		}
		for _, x := range v.Values {
			if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > maxMagnitude {
				return nil, invalid("metric %q: value %v is not a finite number within ±2^360", v.Name, x)
			}
		}
		def := metricDefinition{Name: m.Name, Unit: m.Unit}
		if m.HighResolution {
			def.StorageResolution = 1
		}
		key := fmt.Sprintf("%q", m.Dimensions)
		g := slices.Index(groups, key)
		if g < 0 {
			g = len(directives)
			groups = append(groups, key)
			directives = append(directives, metricDirective{Namespace: e.ns, Dimensions: m.Dimensions})
		}
		directives[g].Metrics = append(directives[g].Metrics, def)
		for _, set := range m.Dimensions {
			for _, k := range set {
				if _, ok := needed[k]; !ok {
					needed[k] = m.Name
				}
			}
		}
	}
	keys := make([]string, 0, len(dims))
	for k, v := range dims {
		allowed, ok := e.dims[k]
		switch {
		case !ok:
			return nil, invalid("dimension %q is not in the %s catalog", k, e.ns)
		case needed[k] == "":
			return nil, invalid("dimension %q: no metric of the record has it", k)
		case !slices.Contains(allowed, v):
			return nil, invalid("dimension %s: value %q is not one of %q", k, v, allowed)
		}
		keys = append(keys, k)
	}
	for k, name := range needed {
		if _, ok := dims[k]; !ok {
			return nil, invalid("metric %q: dimension %q has no value", name, k)
		}
	}
	sort.Strings(keys)
	var b bytes.Buffer
	meta, err := json.Marshal(metadata{Timestamp: e.now().UnixMilli(), CloudWatchMetrics: directives})
	if err != nil {
		return nil, fmt.Errorf("metrics: encode: %w", err)
	}
	b.WriteString(`{"_aws":`)
	b.Write(meta)
	for _, k := range keys {
		if err := member(&b, k, dims[k]); err != nil {
			return nil, err
		}
	}
	for _, v := range values {
		var value any = v.Values
		if len(v.Values) == 1 {
			value = v.Values[0]
		}
		if err := member(&b, v.Name, value); err != nil {
			return nil, err
		}
	}
	b.WriteString("}\n")
	if b.Len() > MaxLineBytes {
		return nil, invalid("the record is %d bytes, over the %d of a log event", b.Len(), MaxLineBytes)
	}
	return b.Bytes(), nil
}

// member appends ,"name":value.
func member(b *bytes.Buffer, name string, value any) error {
	k, err := json.Marshal(name)
	if err != nil {
		return fmt.Errorf("metrics: encode %q: %w", name, err)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("metrics: encode %q: %w", name, err)
	}
	b.WriteByte(',')
	b.Write(k)
	b.WriteByte(':')
	b.Write(v)
	return nil
}
