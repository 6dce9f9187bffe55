package journey

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// HistoryEvent is the part of a Step Functions history event the trace reads.
type HistoryEvent struct {
	Type       string // e.g. "TaskStateEntered", "TaskScheduled", "ExecutionSucceeded"
	Time       time.Time
	State      string // StateEntered: the state's name
	Input      string // StateEntered: the state's input
	Resource   string // TaskScheduled/Succeeded/Failed: e.g. "arn:aws:states:::lambda:invoke" or "invoke"
	ResType    string // TaskScheduled: e.g. "lambda", "sqs", "events", or "states" on some emulators
	Parameters string // TaskScheduled: the resolved parameters (AWS gives them; not every emulator does)
	Output     string // TaskSucceeded
	Error      string // TaskFailed, TaskTimedOut, Execution*: error and cause
}

func historyEvent(e sfntypes.HistoryEvent) HistoryEvent {
	h := HistoryEvent{Type: string(e.Type), Time: aws.ToTime(e.Timestamp)}
	if d := e.StateEnteredEventDetails; d != nil {
		h.State, h.Input = aws.ToString(d.Name), aws.ToString(d.Input)
	}
	if d := e.TaskScheduledEventDetails; d != nil {
		h.Resource, h.ResType, h.Parameters = aws.ToString(d.Resource), aws.ToString(d.ResourceType), aws.ToString(d.Parameters)
	}
	if d := e.TaskSucceededEventDetails; d != nil {
		h.Resource, h.ResType, h.Output = aws.ToString(d.Resource), aws.ToString(d.ResourceType), aws.ToString(d.Output)
	}
	if d := e.TaskFailedEventDetails; d != nil {
		h.Error = joinErr(aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if d := e.TaskTimedOutEventDetails; d != nil {
		h.Error = joinErr(aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if d := e.ExecutionFailedEventDetails; d != nil {
		h.Error = joinErr(aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	return h
}

func joinErr(e, cause string) string {
	var lambdaErr struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &lambdaErr) == nil && lambdaErr.ErrorMessage != "" {
		cause = lambdaErr.ErrorMessage // a Lambda function's error: its message says it all
	}
	if len(cause) > 160 {
		cause = cause[:160] + "…"
	}
	if cause == "" {
		return e
	}
	return e + ": " + cause
}

// definition is what the trace needs from the state machine's definition: per Task state, the
// function, queue or table it calls (friendly name) and the JSONPath its putEvents entries come from.
type definition struct {
	target  map[string]string
	entries map[string]string
	res     map[string]string // friendly name → physical name, for a target named only in the history
}

func parseDefinition(def string, res map[string]string) (*definition, error) {
	var d struct {
		States map[string]struct {
			Parameters map[string]any
		}
	}
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("state machine definition: %w", err)
	}
	out := &definition{target: map[string]string{}, entries: map[string]string{}, res: res}
	for name, s := range d.States {
		if t := target(s.Parameters, res); t != "" {
			out.target[name] = t
		}
		if v, ok := s.Parameters["Entries.$"].(string); ok {
			out.entries[name] = v
		}
	}
	return out, nil
}

// target is the friendly name of the function, queue or table a task's parameters name ("" if
// none), from the definition or from the history's resolved parameters.
func target(params map[string]any, res map[string]string) string {
	for _, k := range []string{"FunctionName", "QueueUrl", "TableName"} {
		if v, ok := params[k].(string); ok {
			return friendly(v, res)
		}
	}
	return ""
}

// friendly returns the friendly name of the resource whose physical name the value contains
// (a function ARN holds the function's name), or the value's last segment.
func friendly(v string, res map[string]string) string {
	best, bestLen := "", 0
	for name, phys := range res {
		if phys != "" && strings.Contains(v, phys) && len(phys) > bestLen {
			best, bestLen = name, len(phys)
		}
	}
	if best != "" {
		return best
	}
	return v[strings.LastIndexAny(v, ":/")+1:]
}

// normalResource gives a task's resource as "service:action", whatever form the endpoint used:
// AWS says type "lambda" + resource "invoke", some emulators the whole integration ARN.
func normalResource(resType, resource string) string {
	if i := strings.Index(resource, ":::"); i >= 0 {
		return resource[i+3:]
	}
	if resType != "" && !strings.Contains(resource, ":") {
		return resType + ":" + resource
	}
	return resource
}

// ParseHistory turns an execution's history into its states and their tasks' attempts. def may
// be nil (then targets and published entries come from the task parameters alone).
func ParseHistory(hist []HistoryEvent, def *definition) Execution {
	x := Execution{Status: "RUNNING"}
	var cur *State
	var curInput string
	attempt := func() *Attempt {
		if cur == nil || len(cur.Attempts) == 0 {
			return nil
		}
		return &cur.Attempts[len(cur.Attempts)-1]
	}
	for _, h := range hist {
		switch {
		case h.Type == "ExecutionStarted":
			x.Started = h.Time
		case strings.HasSuffix(h.Type, "StateEntered"):
			x.States = append(x.States, State{Name: h.State, Type: strings.TrimSuffix(h.Type, "StateEntered"), Entered: h.Time})
			cur, curInput = &x.States[len(x.States)-1], h.Input
		case h.Type == "TaskScheduled" && cur != nil:
			a := Attempt{Resource: normalResource(h.ResType, h.Resource), Scheduled: h.Time}
			params := map[string]any{}
			_ = json.Unmarshal([]byte(h.Parameters), &params) // absent on some endpoints
			if def != nil {
				a.Target = def.target[cur.Name]
			}
			if a.Target == "" {
				var res map[string]string
				if def != nil {
					res = def.res
				}
				a.Target = target(params, res)
			}
			if strings.Contains(a.Resource, "putEvents") {
				entries, ok := params["Entries"]
				if !ok && def != nil {
					entries = jsonPath(curInput, def.entries[cur.Name])
				}
				a.Published = published(entries)
			}
			cur.Attempts = append(cur.Attempts, a)
		case h.Type == "TaskSucceeded":
			if a := attempt(); a != nil {
				a.Ended, a.Outcome = h.Time, "Succeeded"
				if strings.Contains(a.Resource, "putEvents") {
					var out struct{ Entries []struct{ EventId string } }
					_ = json.Unmarshal([]byte(h.Output), &out) // ids are a bonus: without them duplicates are told by arrival
					for i := range a.Published {
						if i < len(out.Entries) {
							a.Published[i].BusID = out.Entries[i].EventId
						}
					}
				}
			}
		case h.Type == "TaskFailed" || h.Type == "TaskTimedOut" || h.Type == "TaskSubmitFailed" || h.Type == "TaskStartFailed":
			if a := attempt(); a != nil {
				a.Ended, a.Outcome, a.Error = h.Time, strings.TrimPrefix(h.Type, "Task"), h.Error
			}
		case h.Type == "ExecutionSucceeded", h.Type == "ExecutionFailed", h.Type == "ExecutionTimedOut", h.Type == "ExecutionAborted":
			x.Stopped = h.Time
			x.Status = map[string]string{"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED",
				"ExecutionTimedOut": "TIMED_OUT", "ExecutionAborted": "ABORTED"}[h.Type]
		}
	}
	return x
}

// published reads putEvents entries ([{"Source","DetailType","Detail":"<json>"}]) into events.
func published(entries any) []Published {
	list, _ := entries.([]any)
	var out []Published
	for _, e := range list {
		m, _ := e.(map[string]any)
		p := Published{}
		p.Type, _ = m["DetailType"].(string)
		var detail struct {
			ID string `json:"id"`
		}
		switch d := m["Detail"].(type) {
		case string:
			_ = json.Unmarshal([]byte(d), &detail)
		case map[string]any:
			b, _ := json.Marshal(d)
			_ = json.Unmarshal(b, &detail)
		}
		p.EventID = detail.ID
		if p.EventID != "" {
			out = append(out, p)
		}
	}
	return out
}

// jsonPath evaluates a plain "$.a.b" path (the only form the definition uses for entries).
func jsonPath(doc, path string) any {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil || !strings.HasPrefix(path, "$") {
		return nil
	}
	for _, k := range strings.Split(strings.TrimPrefix(strings.TrimPrefix(path, "$"), "."), ".") {
		if k == "" {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
