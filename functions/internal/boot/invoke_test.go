package boot

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
)

type testEvent struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type testAnswer struct {
	Greeting string `json:"greeting"`
}

type testFailure struct{ msg string }

// unencodable is an answer json cannot encode.
type unencodable struct {
	F func() `json:"f"`
}

func (e *testFailure) Error() string { return e.msg }

// Handler and Sink answer every payload as aws-lambda-go's own handler (lambda.NewHandler) does
// for the same function: the same bytes, or an error of the same type and text.
func TestHandlerAnswersAsTheRuntimesOwn(t *testing.T) {
	greet := func(_ context.Context, ev testEvent) (testAnswer, error) {
		if ev.Count < 0 {
			return testAnswer{}, &testFailure{"negative count"}
		}
		return testAnswer{Greeting: "<b>" + ev.Name + "</b> & co"}, nil // no HTML escaping
	}
	var sunk []testEvent
	sink := func(_ context.Context, ev testEvent) error {
		if ev.Count < 0 {
			return &testFailure{"negative count"}
		}
		sunk = append(sunk, ev)
		return nil
	}
	raw := func(_ context.Context, ev json.RawMessage) (json.RawMessage, error) { return ev, nil }
	broken := func(_ context.Context, ev testEvent) (unencodable, error) { return unencodable{F: func() {}}, nil }
	payloads := []string{`{"name":"Ada","count":2}`, `{"name":"Ada","count":-1}`, `{}`, `null`, `{"count":"two"}`,
		`{not json`, ``, `  `, `{"name":"Ada"} trailing`, `{"name":"Ada"}{"name":"Bo"}`, `{"name":"Ada","count":"two"} {`, `[1,2]`}
	for _, tc := range []struct {
		name      string
		ours, own lambda.Handler
	}{
		{"Handler", Handler(greet), lambda.NewHandler(greet)},
		{"Sink", Sink(sink), lambda.NewHandler(sink)},
		{"Handler of raw JSON", Handler(raw), lambda.NewHandler(raw)},
		{"Handler whose answer does not encode", Handler(broken), lambda.NewHandler(broken)},
	} {
		for _, p := range payloads {
			got, gotErr := tc.ours.Invoke(context.Background(), []byte(p))
			want, wantErr := tc.own.Invoke(context.Background(), []byte(p))
			if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("%s(%q) = %q, %v; aws-lambda-go's %q, %v", tc.name, p, got, gotErr, want, wantErr)
				continue
			}
			if wantErr != nil && (fmt.Sprintf("%T", gotErr) != fmt.Sprintf("%T", wantErr) || gotErr.Error() != wantErr.Error()) {
				t.Errorf("%s(%q) failed with %T %q, aws-lambda-go's with %T %q", tc.name, p, gotErr, gotErr, wantErr, wantErr)
			}
		}
	}
	if len(sunk) != 10 { // the five payloads that decode with a count >= 0 ({}, null and the two with trailing data included), once by each handler
		t.Errorf("sink saw %d events, want 10: %+v", len(sunk), sunk)
	}
}
