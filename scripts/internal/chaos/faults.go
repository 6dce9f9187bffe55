// Package chaos runs `make load` with faults armed in every function and holds the flow to the
// same reconciliation, plus what faults put at stake: every refund done once, every dead letter
// explained by its reason and redriven (the dead-letter queues end empty), and faults actually
// injected (a run where none fired proves nothing).
//
// The faults are those of functions/internal/faults, armed per function by the CDK app's
// `faults` context value (make chaos deploys with it) or, in the end-to-end test, by changing
// each function's ORDERFLOW_FAULTS at run time (Arm).
package chaos

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// The default experiment: what the issue asks of `make chaos`.
const (
	ErrorPercentage = 20  // invocationError, preventExecution false: effects land, the answer is lost
	CrashPercentage = 10  // crashAfterWrite, per successful write call
	DelayPercentage = 50  // invocationAddDelay, on the payments path
	DelayMillis     = 200 // well inside the payment function's timeout: latency, not a timeout
)

// DelayedFunctions are on the payments path: the latency fault goes there.
var DelayedFunctions = []string{"payment"}

// Functions lists the function folders under root/functions (each with a main.go), as the CDK
// app's `faults` context value names them.
func Functions(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		out = append(out, filepath.Base(filepath.Dir(m)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no functions under %s", filepath.Join(root, "functions"))
	}
	sort.Strings(out)
	return out, nil
}

// DefaultFaults is the default experiment for the functions named: every one fails 20 % of its
// invocations after its handler ran (a lost answer: the retry must be idempotent) and crashes
// after 10 % of its writes (the crash between two steps); the payment function also answers
// 200 ms late half the time. Each value is checked as the function checks it at cold start.
func DefaultFaults(functions []string) (map[string]string, error) {
	out := map[string]string{}
	for _, fn := range functions {
		cfg := map[string]any{
			"invocationError": map[string]any{"invocationPercentage": ErrorPercentage, "preventExecution": false},
			"crashAfterWrite": map[string]any{"callPercentage": CrashPercentage},
		}
		if slices.Contains(DelayedFunctions, fn) {
			cfg["invocationAddDelay"] = map[string]any{"invocationPercentage": DelayPercentage, "startupDelayMilliseconds": DelayMillis}
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		if err := toolkit.CheckFaults(string(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
		out[fn] = string(b)
	}
	return out, nil
}

// Encode writes faults as the `faults` context value, keys sorted.
func Encode(faults map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range slices.Sorted(maps.Keys(faults)) {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(faults[name])
	}
	b.WriteByte('}')
	return b.String()
}

// OutputOf is the stack output naming a function folder's function: order-api →
// OrderApiFunctionName.
func OutputOf(function string) string {
	var b strings.Builder
	for _, part := range strings.Split(function, "-") {
		if part == "" {
			continue
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String() + "FunctionName"
}
