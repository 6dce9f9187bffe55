package load

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/fnlogs"
)

// reportLine begins the line Lambda ends every invocation with, in the text form MiniStack writes
// ("REPORT RequestId: … Duration: …"). (Under Lambda's JSON log format AWS writes a
// platform.report record instead; only a local run, whose CPU is measured, counts them.)
const reportLine = "REPORT RequestId"

// Invocations counts each function's invocations from from to to: the REPORT lines its log group
// received over the window, one an invocation, whichever process ran it. (MiniStack's AWS/Lambda
// Invocations metric counts only the Invoke API's calls, none an event source or a workflow makes.)
func Invocations(ctx context.Context, logs fnlogs.LogsAPI, fns fnlogs.FunctionConfigAPI, functions []string, from, to time.Time) (map[string]int, error) {
	out := map[string]int{}
	for _, fn := range functions {
		group, err := fnlogs.Group(ctx, fns, fn)
		if err != nil {
			return nil, fmt.Errorf("invocations of %s: %w", fn, err)
		}
		n := 0
		err = fnlogs.Each(ctx, logs, group, `"`+reportLine+`"`, from, to, func(line string) {
			if strings.HasPrefix(line, reportLine) { // the pattern matches the phrase anywhere in a line
				n++
			}
		})
		if err != nil {
			return nil, fmt.Errorf("invocations of %s: %w", fn, err)
		}
		out[fn] = n
	}
	return out, nil
}

// FunctionNames are the deployed names of the stack's functions: the values of its
// …FunctionName outputs, sorted.
func FunctionNames(outputs map[string]string) []string {
	return slices.Sorted(maps.Keys(functionStems(outputs)))
}

// functionStems maps each function's deployed name to the stem of the stack output that holds
// it ("StreamerFunctionName" names Streamer).
func functionStems(outputs map[string]string) map[string]string {
	stems := map[string]string{}
	for k, v := range outputs {
		if stem, ok := strings.CutSuffix(k, "FunctionName"); ok && stem != "" && v != "" {
			stems[v] = stem
		}
	}
	return stems
}

// Invoked sets each function's invocations over the run (by deployed name, before Named), adding
// a row for a function invoked whose processes have all ended.
func (c *CPU) Invoked(counts map[string]int) {
	for i, f := range c.ByFunction {
		if n, ok := counts[f.Function]; ok {
			c.ByFunction[i].Invocations = n
		}
	}
	for _, name := range slices.Sorted(maps.Keys(counts)) {
		if counts[name] > 0 && !slices.ContainsFunc(c.ByFunction, func(f FunctionCPU) bool { return f.Function == name }) {
			c.ByFunction = append(c.ByFunction, FunctionCPU{Function: name, Invocations: counts[name]})
		}
	}
	c.Counted = true
}
