package main

import (
	"encoding/json"
	"strings"
	"testing"
)

type aslState struct {
	Type     string
	Resource string
	Next     string
	End      bool
	Default  string
	Choices  []struct{ Next string }
	Catch    []struct {
		ErrorEquals []string
		Next        string
	}
	Retry []struct {
		ErrorEquals    []string
		JitterStrategy string
		BackoffRate    float64
		MaxAttempts    int
	}
	TimeoutSeconds int
}

func parseASL(t *testing.T) (start string, states map[string]aslState) {
	t.Helper()
	var def struct {
		StartAt string
		States  map[string]aslState
	}
	if err := json.Unmarshal([]byte(fulfilmentASL), &def); err != nil {
		t.Fatalf("order-fulfilment.asl.json: %v", err)
	}
	return def.StartAt, def.States
}

// The saga's safety properties: every task retries with backoff and jitter and catches everything,
// every transition lands on a state, every state is reachable, and every path ends.
func TestWorkflowDefinition(t *testing.T) {
	start, states := parseASL(t)
	edges := func(s aslState) []string {
		out := []string{}
		for _, n := range append([]string{s.Next, s.Default}, choiceNexts(s)...) {
			if n != "" {
				out = append(out, n)
			}
		}
		for _, c := range s.Catch {
			out = append(out, c.Next)
		}
		return out
	}
	for name, s := range states {
		for _, n := range edges(s) {
			if _, ok := states[n]; !ok {
				t.Errorf("%s → %q: no such state", name, n)
			}
		}
		if s.Type != "Task" {
			continue
		}
		if len(s.Catch) == 0 || s.Catch[len(s.Catch)-1].ErrorEquals[0] != "States.ALL" {
			t.Errorf("%s: a task without a final Catch of States.ALL can leave the order stuck", name)
		}
		if len(s.Retry) == 0 {
			t.Errorf("%s: task without Retry", name)
		}
		for _, r := range s.Retry {
			if r.JitterStrategy != "FULL" || r.BackoffRate < 2 || r.MaxAttempts < 3 {
				t.Errorf("%s: retry %v, want exponential backoff with full jitter and at least 3 attempts", name, r.ErrorEquals)
			}
		}
		if strings.HasSuffix(s.Resource, ".waitForTaskToken") && s.TimeoutSeconds == 0 {
			t.Errorf("%s: a callback task without TimeoutSeconds can wait a year", name)
		}
	}
	// Reachability from StartAt; terminal states are Succeed/Fail only.
	seen := map[string]bool{}
	var walk func(string)
	walk = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, m := range edges(states[n]) {
			walk(m)
		}
	}
	walk(start)
	for name, s := range states {
		if !seen[name] {
			t.Errorf("%s: unreachable", name)
		}
		if len(edges(s)) == 0 && s.Type != "Succeed" && s.Type != "Fail" {
			t.Errorf("%s: a dead end that is neither Succeed nor Fail", name)
		}
	}
}

// Every service integration the reference flow promises is in the definition.
func TestWorkflowIntegrations(t *testing.T) {
	_, states := parseASL(t)
	want := map[string]bool{
		"arn:aws:states:::lambda:invoke":                    false,
		"arn:aws:states:::sqs:sendMessage.waitForTaskToken": false,
		"arn:aws:states:::events:putEvents":                 false,
	}
	for _, s := range states {
		if _, ok := want[s.Resource]; ok {
			want[s.Resource] = true
		}
	}
	for r, ok := range want {
		if !ok {
			t.Errorf("no task uses %s", r)
		}
	}
}

func choiceNexts(s aslState) []string {
	out := make([]string, 0, len(s.Choices))
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	return out
}
