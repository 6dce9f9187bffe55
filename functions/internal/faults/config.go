package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
)

// Variable is the one environment variable that arms faults in a function. Unset or blank: no
// fault, nothing wrapped.
const Variable = "ORDERFLOW_FAULTS"

// Kinds of fault: each is also the configuration's key for it and the "kind" of its log line.
const (
	KindAddDelay        = "invocationAddDelay" // FIS aws:lambda:invocation-add-delay
	KindError           = "invocationError"    // FIS aws:lambda:invocation-error
	KindTimeout         = "invocationTimeout"  // FIS reaches it with a delay past the function's timeout
	KindCrashAfterWrite = "crashAfterWrite"    // no FIS action: the process exits after a write
)

// MaxStartupDelayMilliseconds is FIS's upper bound for startupDelayMilliseconds (15 minutes,
// Lambda's longest timeout).
const MaxStartupDelayMilliseconds = 900_000

// Config is the parsed value of ORDERFLOW_FAULTS: a JSON object with any of the four faults and
// an optional seed. The invocation faults carry the parameters of AWS FIS's Lambda actions,
// under the same names:
//
//	{"invocationAddDelay": {"invocationPercentage": 50, "startupDelayMilliseconds": 800},
//	 "invocationError":    {"invocationPercentage": 20, "preventExecution": true},
//	 "invocationTimeout":  {"invocationPercentage": 5},
//	 "crashAfterWrite":    {"callPercentage": 10, "operations": ["DynamoDB.PutItem"]},
//	 "seed": 42}
//
// Every parameter is required except operations (default: every write in WriteOperations) and
// seed (default: a random seed from crypto/rand). A percentage is a number above 0 and at most
// 100 (fractions allowed); crashAfterWrite's applies to each successful write call, the others'
// to each invocation.
type Config struct {
	InvocationAddDelay *AddDelay        `json:"invocationAddDelay,omitempty"`
	InvocationError    *InvocationError `json:"invocationError,omitempty"`
	InvocationTimeout  *Timeout         `json:"invocationTimeout,omitempty"`
	CrashAfterWrite    *CrashAfterWrite `json:"crashAfterWrite,omitempty"`
	// Seed makes the sequence of draws repeatable (tests, a replayed experiment).
	Seed *uint64 `json:"seed,omitempty"`
}

// AddDelay sleeps before the handler (aws:lambda:invocation-add-delay).
type AddDelay struct {
	InvocationPercentage     float64 `json:"invocationPercentage"`
	StartupDelayMilliseconds int     `json:"startupDelayMilliseconds"` // 1 to 900,000
}

// InvocationError fails the invocation (aws:lambda:invocation-error): without running the
// handler (PreventExecution), or after it ran, discarding its response.
type InvocationError struct {
	InvocationPercentage float64 `json:"invocationPercentage"`
	PreventExecution     bool    `json:"preventExecution"`
}

// Timeout blocks the invocation until its deadline, so that Lambda times it out.
type Timeout struct {
	InvocationPercentage float64 `json:"invocationPercentage"`
}

// CrashAfterWrite ends the process right after a successful write call (WriteOperations, or
// the Operations listed), before the SDK hands the result back to the code that made it.
type CrashAfterWrite struct {
	CallPercentage float64  `json:"callPercentage"`
	Operations     []string `json:"operations,omitempty"` // "Service.Operation", each in WriteOperations
}

// LogValue shows the armed faults as nested attributes, in JSON and text logs alike.
func (c Config) LogValue() slog.Value {
	var attrs []slog.Attr
	if d := c.InvocationAddDelay; d != nil {
		attrs = append(attrs, slog.Group(KindAddDelay, "invocationPercentage", d.InvocationPercentage, "startupDelayMilliseconds", d.StartupDelayMilliseconds))
	}
	if e := c.InvocationError; e != nil {
		attrs = append(attrs, slog.Group(KindError, "invocationPercentage", e.InvocationPercentage, "preventExecution", e.PreventExecution))
	}
	if t := c.InvocationTimeout; t != nil {
		attrs = append(attrs, slog.Group(KindTimeout, "invocationPercentage", t.InvocationPercentage))
	}
	if w := c.CrashAfterWrite; w != nil {
		ops := w.Operations
		if len(ops) == 0 {
			ops = WriteOperations()
		}
		attrs = append(attrs, slog.Group(KindCrashAfterWrite, "callPercentage", w.CallPercentage, "operations", ops))
	}
	if c.Seed != nil {
		attrs = append(attrs, slog.Uint64("seed", *c.Seed))
	}
	return slog.GroupValue(attrs...)
}

// armed reports whether c arms any fault.
func (c Config) armed() bool {
	return c.InvocationAddDelay != nil || c.InvocationError != nil || c.InvocationTimeout != nil || c.CrashAfterWrite != nil
}

// Parse reads ORDERFLOW_FAULTS strictly: one JSON object, no duplicate key at any depth, no
// unknown key, no null, every required parameter present and in range, at least one fault.
// The error names the offending key.
func Parse(s string) (Config, error) {
	data := []byte(strings.TrimSpace(s))
	if err := OneObjectWithoutDuplicateKeys(data); err != nil {
		return Config{}, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Config{}, err
	}
	if err := knownKeys(top, "", []string{KindAddDelay, KindError, KindTimeout, KindCrashAfterWrite, "seed"}, nil); err != nil {
		return Config{}, err
	}
	var c Config
	err := joinErrors(
		fault(top, KindAddDelay, []string{"invocationPercentage", "startupDelayMilliseconds"}, nil, &c.InvocationAddDelay, func(f fields, d *AddDelay) error {
			return joinErrors(f.percentage("invocationPercentage", &d.InvocationPercentage), f.milliseconds("startupDelayMilliseconds", &d.StartupDelayMilliseconds))
		}),
		fault(top, KindError, []string{"invocationPercentage", "preventExecution"}, nil, &c.InvocationError, func(f fields, e *InvocationError) error {
			return joinErrors(f.percentage("invocationPercentage", &e.InvocationPercentage), f.boolean("preventExecution", &e.PreventExecution))
		}),
		fault(top, KindTimeout, []string{"invocationPercentage"}, nil, &c.InvocationTimeout, func(f fields, t *Timeout) error {
			return f.percentage("invocationPercentage", &t.InvocationPercentage)
		}),
		fault(top, KindCrashAfterWrite, []string{"callPercentage"}, []string{"operations"}, &c.CrashAfterWrite, func(f fields, w *CrashAfterWrite) error {
			return joinErrors(f.percentage("callPercentage", &w.CallPercentage), f.operations("operations", &w.Operations))
		}),
	)
	if raw, ok := top["seed"]; ok {
		var seed uint64
		if json.Unmarshal(raw, &seed) != nil {
			err = joinErrors(err, fmt.Errorf("seed %s: want a whole number from 0 to %d", raw, uint64(math.MaxUint64)))
		}
		c.Seed = &seed
	}
	if err != nil {
		return Config{}, err
	}
	if !c.armed() {
		return Config{}, fmt.Errorf("no fault configured (want one or more of %s, %s, %s, %s); unset the variable to run without faults",
			KindAddDelay, KindError, KindTimeout, KindCrashAfterWrite)
	}
	return c, nil
}

// fault reads the fault kind, when top configures it, into a new *dst: an object with the
// required keys and no others than optional, whose members read takes. Nothing is set when
// top leaves kind out: the fault is not armed.
func fault[T any](top map[string]json.RawMessage, kind string, required, optional []string, dst **T, read func(fields, *T) error) error {
	raw, ok := top[kind]
	if !ok {
		return nil
	}
	*dst = new(T)
	return object(raw, kind, required, optional, func(f fields) error { return read(f, *dst) })
}

// fields are one JSON object's members, with the path that names them in errors.
type fields struct {
	path string
	m    map[string]json.RawMessage
}

// object checks that raw is an object with the required keys and no others than optional,
// then reads its members with read.
func object(raw json.RawMessage, path string, required, optional []string, read func(fields) error) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return fmt.Errorf("%s: want an object, got %s", path, raw)
	}
	if err := knownKeys(m, path, required, optional); err != nil {
		return err
	}
	return read(fields{path: path, m: m})
}

// knownKeys refuses a key not in required or optional, a null, and a missing required key.
func knownKeys(m map[string]json.RawMessage, path string, required, optional []string) error {
	known := append(slices.Clone(required), optional...)
	var errs []error
	for _, k := range sortedKeys(m) {
		switch {
		case !slices.Contains(known, k):
			errs = append(errs, fmt.Errorf("%s: unknown key (known: %s)", join(path, k), strings.Join(known, ", ")))
		case string(m[k]) == "null":
			errs = append(errs, fmt.Errorf("%s: null (leave the key out instead)", join(path, k)))
		}
	}
	if path != "" { // the top level has no required key
		for _, k := range required {
			if _, ok := m[k]; !ok {
				errs = append(errs, fmt.Errorf("%s: required", join(path, k)))
			}
		}
	}
	return joinErrors(errs...)
}

func (f fields) percentage(key string, dst *float64) error {
	raw, ok := f.m[key]
	if !ok {
		return nil // reported by knownKeys
	}
	if json.Unmarshal(raw, dst) != nil || *dst <= 0 || *dst > 100 {
		return fmt.Errorf("%s %s: want a percentage above 0 and at most 100", join(f.path, key), raw)
	}
	return nil
}

func (f fields) milliseconds(key string, dst *int) error {
	raw, ok := f.m[key]
	if !ok {
		return nil
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil || n != math.Trunc(n) || n < 1 || n > MaxStartupDelayMilliseconds {
		return fmt.Errorf("%s %s: want whole milliseconds from 1 to %d", join(f.path, key), raw, MaxStartupDelayMilliseconds)
	}
	*dst = int(n)
	return nil
}

func (f fields) boolean(key string, dst *bool) error {
	raw, ok := f.m[key]
	if !ok {
		return nil
	}
	if json.Unmarshal(raw, dst) != nil {
		return fmt.Errorf("%s %s: want true or false", join(f.path, key), raw)
	}
	return nil
}

func (f fields) operations(key string, dst *[]string) error {
	raw, ok := f.m[key]
	if !ok {
		return nil
	}
	if json.Unmarshal(raw, dst) != nil || len(*dst) == 0 {
		return fmt.Errorf("%s %s: want a non-empty list of operations such as \"DynamoDB.PutItem\"", join(f.path, key), raw)
	}
	var errs []error
	for i, op := range *dst {
		switch {
		case !slices.Contains(WriteOperations(), op):
			errs = append(errs, fmt.Errorf("%s[%d] %q: not a write this fault follows (known: %s)", join(f.path, key), i, op, strings.Join(WriteOperations(), ", ")))
		case slices.Index(*dst, op) < i:
			errs = append(errs, fmt.Errorf("%s[%d] %q: listed twice", join(f.path, key), i, op))
		}
	}
	return joinErrors(errs...)
}

// OneObjectWithoutDuplicateKeys accepts exactly one JSON object, and refuses a key given twice
// in any object (encoding/json would keep the last silently). The CDK app checks the faults
// context value, which names functions, with it (toolkit.CheckFaultsByFunction).
func OneObjectWithoutDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	first, err := dec.Token()
	if err != nil {
		return fmt.Errorf("want a JSON object: %w", err)
	}
	if first != json.Delim('{') {
		return fmt.Errorf("want a JSON object, got %v", first)
	}
	var walk func(path string, open json.Delim) error
	walk = func(path string, open json.Delim) error {
		seen := map[string]bool{}
		for dec.More() {
			elem := path + "[]"
			if open == '{' {
				tok, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := tok.(string)
				elem = join(path, key)
				if seen[key] {
					return fmt.Errorf("%s: key given twice", elem)
				}
				seen[key] = true
			}
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if d, ok := tok.(json.Delim); ok {
				if err := walk(elem, d); err != nil {
					return err
				}
			}
		}
		_, err := dec.Token() // the closing delimiter
		return err
	}
	if err := walk("", '{'); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("want a JSON object: the input ends inside it")
		}
		return fmt.Errorf("want a JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("want one JSON object, found more after it")
	}
	return nil
}

// joinErrors reports every problem at once, on one line (a log line's "error").
func joinErrors(errs ...error) error {
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
