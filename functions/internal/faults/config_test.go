package faults

import (
	"reflect"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Config
	}{
		{"all four and a seed", `{
			"invocationError": {"invocationPercentage": 20, "preventExecution": false},
			"invocationAddDelay": {"invocationPercentage": 50, "startupDelayMilliseconds": 800},
			"invocationTimeout": {"invocationPercentage": 5},
			"crashAfterWrite": {"callPercentage": 10},
			"seed": 42}`,
			Config{
				InvocationError:    &InvocationError{InvocationPercentage: 20},
				InvocationAddDelay: &AddDelay{InvocationPercentage: 50, StartupDelayMilliseconds: 800},
				InvocationTimeout:  &Timeout{InvocationPercentage: 5},
				CrashAfterWrite:    &CrashAfterWrite{CallPercentage: 10},
				Seed:               ptr[uint64](42),
			}},
		{"one fault, edges of the ranges", ` {"invocationAddDelay":{"invocationPercentage":100,"startupDelayMilliseconds":900000}} `,
			Config{InvocationAddDelay: &AddDelay{InvocationPercentage: 100, StartupDelayMilliseconds: 900000}}},
		{"fractional percentage, exponent milliseconds", `{"invocationAddDelay":{"invocationPercentage":0.5,"startupDelayMilliseconds":1e3}}`,
			Config{InvocationAddDelay: &AddDelay{InvocationPercentage: 0.5, StartupDelayMilliseconds: 1000}}},
		{"error before the handler", `{"invocationError":{"invocationPercentage":1,"preventExecution":true}}`,
			Config{InvocationError: &InvocationError{InvocationPercentage: 1, PreventExecution: true}}},
		{"crash after chosen writes", `{"crashAfterWrite":{"callPercentage":100,"operations":["DynamoDB.TransactWriteItems","SFN.SendTaskSuccess"]}}`,
			Config{CrashAfterWrite: &CrashAfterWrite{CallPercentage: 100, Operations: []string{"DynamoDB.TransactWriteItems", "SFN.SendTaskSuccess"}}}},
		{"largest seed", `{"invocationTimeout":{"invocationPercentage":5},"seed":18446744073709551615}`,
			Config{InvocationTimeout: &Timeout{InvocationPercentage: 5}, Seed: ptr[uint64](1<<64 - 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // every part must appear in the error
	}{
		{"not JSON", `invocationError=20`, []string{"want a JSON object"}},
		{"an array", `[{"invocationTimeout":{"invocationPercentage":5}}]`, []string{"want a JSON object"}},
		{"two objects", `{"invocationTimeout":{"invocationPercentage":5}} {}`, []string{"one JSON object"}},
		{"truncated", `{"invocationTimeout":{"invocationPercentage":5}`, []string{"the input ends inside it"}},
		{"nothing armed", `{}`, []string{"no fault configured"}},
		{"a seed alone", `{"seed":1}`, []string{"no fault configured"}},
		{"unknown fault", `{"invocationCrash":{"invocationPercentage":5}}`, []string{"invocationCrash: unknown key", "invocationAddDelay"}},
		{"unknown parameter", `{"invocationError":{"percentage":20,"preventExecution":true}}`,
			[]string{"invocationError.percentage: unknown key", "invocationError.invocationPercentage: required"}},
		{"the issue's short names", `{"addDelay":{"percentage":50,"milliseconds":800}}`, []string{"addDelay: unknown key"}},
		{"duplicate fault", `{"invocationTimeout":{"invocationPercentage":5},"invocationTimeout":{"invocationPercentage":50}}`,
			[]string{"invocationTimeout: key given twice"}},
		{"duplicate parameter", `{"invocationTimeout":{"invocationPercentage":5,"invocationPercentage":50}}`,
			[]string{"invocationTimeout.invocationPercentage: key given twice"}},
		{"null fault", `{"invocationTimeout":null}`, []string{"invocationTimeout: null"}},
		{"null parameter", `{"invocationError":{"invocationPercentage":null,"preventExecution":true}}`, []string{"invocationError.invocationPercentage: null"}},
		{"fault not an object", `{"invocationTimeout":5}`, []string{"invocationTimeout: want an object"}},
		{"percentage 0", `{"invocationTimeout":{"invocationPercentage":0}}`, []string{"invocationTimeout.invocationPercentage 0: want a percentage above 0"}},
		{"percentage negative", `{"invocationTimeout":{"invocationPercentage":-5}}`, []string{"invocationPercentage -5"}},
		{"percentage over 100", `{"crashAfterWrite":{"callPercentage":100.5}}`, []string{"crashAfterWrite.callPercentage 100.5"}},
		{"percentage as a string", `{"invocationTimeout":{"invocationPercentage":"5"}}`, []string{`invocationPercentage "5"`}},
		{"missing percentage", `{"invocationTimeout":{}}`, []string{"invocationTimeout.invocationPercentage: required"}},
		{"negative delay", `{"invocationAddDelay":{"invocationPercentage":5,"startupDelayMilliseconds":-1}}`,
			[]string{"invocationAddDelay.startupDelayMilliseconds -1: want whole milliseconds from 1 to 900000"}},
		{"zero delay", `{"invocationAddDelay":{"invocationPercentage":5,"startupDelayMilliseconds":0}}`, []string{"startupDelayMilliseconds 0"}},
		{"delay past FIS's bound", `{"invocationAddDelay":{"invocationPercentage":5,"startupDelayMilliseconds":900001}}`, []string{"startupDelayMilliseconds 900001"}},
		{"fractional delay", `{"invocationAddDelay":{"invocationPercentage":5,"startupDelayMilliseconds":1.5}}`, []string{"startupDelayMilliseconds 1.5"}},
		{"missing delay", `{"invocationAddDelay":{"invocationPercentage":5}}`, []string{"invocationAddDelay.startupDelayMilliseconds: required"}},
		{"missing preventExecution", `{"invocationError":{"invocationPercentage":5}}`, []string{"invocationError.preventExecution: required"}},
		{"preventExecution a string", `{"invocationError":{"invocationPercentage":5,"preventExecution":"true"}}`, []string{`preventExecution "true": want true or false`}},
		{"a read as a write", `{"crashAfterWrite":{"callPercentage":5,"operations":["DynamoDB.GetItem"]}}`,
			[]string{`crashAfterWrite.operations[0] "DynamoDB.GetItem": not a write`}},
		{"an operation without its service", `{"crashAfterWrite":{"callPercentage":5,"operations":["PutItem"]}}`, []string{`"PutItem": not a write`}},
		{"an operation twice", `{"crashAfterWrite":{"callPercentage":5,"operations":["SQS.SendMessage","SQS.SendMessage"]}}`,
			[]string{`operations[1] "SQS.SendMessage": listed twice`}},
		{"no operations", `{"crashAfterWrite":{"callPercentage":5,"operations":[]}}`, []string{"crashAfterWrite.operations []: want a non-empty list"}},
		{"negative seed", `{"invocationTimeout":{"invocationPercentage":5},"seed":-1}`, []string{"seed -1: want a whole number"}},
		{"every problem at once", `{"invocationTimeout":{"invocationPercentage":500},"invocationError":{"invocationPercentage":5}}`,
			[]string{"invocationTimeout.invocationPercentage 500", "invocationError.preventExecution: required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
