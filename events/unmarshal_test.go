package events

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// taskDoc has the shapes a workflow task's message has (payment's: the task token, the event it
// passes on as it came, the saga's state, the error being compensated): every kind of field the
// fast path reads, nested.
type taskDoc struct {
	Action    string          `json:"action,omitempty"`
	TaskToken string          `json:"taskToken"`
	Event     json.RawMessage `json:"event"`
	State     *taskState      `json:"state"`
	Error     *taskError      `json:"error,omitempty"`
}

type taskState struct {
	Order         OrderPlacedV3 `json:"order"`
	CorrelationID string        `json:"correlationId"`
	Sequence      int           `json:"sequence"`
	Entries       []Entry       `json:"entries"`
	Published     *struct {
		FailedEntryCount int `json:"failedEntryCount"`
	} `json:"published,omitempty"`
}

type taskError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// taskSample is a taskDoc around the OrderPlaced v3 sample, its entries an event's JSON in a string.
func taskSample(t testing.TB) []byte {
	t.Helper()
	ev := Samples()["OrderPlaced.v3"]
	e, err := Parse(ev)
	if err != nil {
		t.Fatal(err)
	}
	var order OrderPlacedV3
	if err := json.Unmarshal(e.Payload, &order); err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"action": "charge", "taskToken": strings.Repeat("AQB4AAAAKgAAAAMAAAAA", 8),
		"event": json.RawMessage(ev),
		"state": map[string]any{
			"order": order, "correlationId": e.CorrelationID, "sequence": 2,
			"entries":   []Entry{{Source: "orderflow.inventory", DetailType: "InventoryReserved", Detail: string(ev), EventBusName: "orders"}},
			"published": map[string]any{"failedEntryCount": 0},
		},
		"error": map[string]any{"Error": "States.Timeout", "Cause": "é \u2028 \"quoted\""},
	}
	return mustMarshal(t, doc)
}

// Unmarshal decodes what json.Unmarshal decodes, and errs as it does: the task sample and every
// mutation of its values and of its text.
func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	sample := taskSample(t)
	docs := []mutation{{"sample", sample}, {"null", []byte(`null`)}, {"array", []byte(`[]`)}, {"empty", nil}, {"spaced", []byte(" " + string(sample) + "\n")}}
	docs = append(docs, thin(valueMutations(t, schemaVocabulary(t), sample))...)
	docs = append(docs, thin(byteMutations(sample))...)
	var fast int
	for _, m := range docs {
		if unmarshalMatches(t, m.name, m.doc) {
			fast++
		}
	}
	if fast == 0 {
		t.Error("no document took the fast path")
	}
	t.Logf("Unmarshal: %d documents, %d on the fast path", len(docs), fast)
}

// unmarshalMatches compares Unmarshal with json.Unmarshal on doc, and reports whether the fast
// path decoded it.
func unmarshalMatches(t *testing.T, name string, doc []byte) bool {
	t.Helper()
	var got, want taskDoc
	gotErr, wantErr := Unmarshal(doc, &got), json.Unmarshal(doc, &want)
	if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("%s: Unmarshal of %q:\ngot  %+v, %v\nwant %+v, %v", name, doc, got, gotErr, want, wantErr)
	}
	var v taskDoc
	return fastDecode(doc, &v)
}

// Unmarshal into what is no struct is json.Unmarshal's.
func TestUnmarshalLeavesOtherTargetsToEncodingJSON(t *testing.T) {
	var m map[string]any
	if err := Unmarshal([]byte(`{"a":1}`), &m); err != nil || m["a"] != 1.0 {
		t.Errorf("Unmarshal into a map: %v, %v", m, err)
	}
	var raw json.RawMessage
	if err := Unmarshal([]byte(` {"a": 1} `), &raw); err != nil || string(raw) != `{"a": 1}` {
		t.Errorf("Unmarshal into a RawMessage: %q, %v", raw, err)
	}
	var doc *taskDoc
	if err, want := Unmarshal([]byte(`{}`), doc), json.Unmarshal([]byte(`{}`), doc); err == nil || fmt.Sprint(err) != fmt.Sprint(want) {
		t.Errorf("Unmarshal into a nil pointer: %v, want %v", err, want)
	}
}

// FuzzUnmarshal: go test ./events -run '^$' -fuzz FuzzUnmarshal
func FuzzUnmarshal(f *testing.F) {
	f.Add(taskSample(f))
	f.Add([]byte(`{"state":{"published":null,"order":{"items":[{}]}},"event":"x"}`))
	f.Fuzz(func(t *testing.T, doc []byte) { unmarshalMatches(t, "fuzzed", doc) })
}
