package boot

import (
	"context"
	"errors"
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
	payloads := []string{`{"name":"Ada","count":2}`, `{"name":"Ada","count":-1}`, `{}`, `null`, `{"count":"two"}`, `{not json`, ``}
	for _, tc := range []struct {
		name      string
		ours, own lambda.Handler
	}{
		{"Handler", Handler(greet), lambda.NewHandler(greet)},
		{"Sink", Sink(sink), lambda.NewHandler(sink)},
	} {
		for _, p := range payloads {
			got, gotErr := tc.ours.Invoke(context.Background(), []byte(p))
			want, wantErr := tc.own.Invoke(context.Background(), []byte(p))
			if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("%s(%s) = %q, %v; aws-lambda-go's %q, %v", tc.name, p, got, gotErr, want, wantErr)
				continue
			}
			if wantErr != nil && (errors.As(wantErr, new(*testFailure)) != errors.As(gotErr, new(*testFailure))) {
				t.Errorf("%s(%s) failed with %T, aws-lambda-go's with %T", tc.name, p, gotErr, wantErr)
			}
		}
	}
	if len(sunk) != 6 { // the three valid payloads with a count >= 0 ({} and null included), once by each handler
		t.Errorf("sink saw %d events, want 6: %+v", len(sunk), sunk)
	}
}
