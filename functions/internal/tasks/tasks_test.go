package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
)

type recordingSFN struct {
	successes  []*sfn.SendTaskSuccessInput
	failures   []*sfn.SendTaskFailureInput
	heartbeats []*sfn.SendTaskHeartbeatInput
	err        error
}

func (r *recordingSFN) SendTaskHeartbeat(_ context.Context, in *sfn.SendTaskHeartbeatInput, _ ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error) {
	r.heartbeats = append(r.heartbeats, in)
	return &sfn.SendTaskHeartbeatOutput{}, r.err
}

func (r *recordingSFN) SendTaskSuccess(_ context.Context, in *sfn.SendTaskSuccessInput, _ ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error) {
	r.successes = append(r.successes, in)
	return &sfn.SendTaskSuccessOutput{}, r.err
}

func (r *recordingSFN) SendTaskFailure(_ context.Context, in *sfn.SendTaskFailureInput, _ ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error) {
	r.failures = append(r.failures, in)
	return &sfn.SendTaskFailureOutput{}, r.err
}

func wrap(err error) error {
	return &smithy.OperationError{ServiceID: "SFN", OperationName: "SendTaskSuccess", Err: err}
}

func TestErrorTranslation(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantClosed bool
	}{
		{name: "ok"},
		{name: "already answered", err: wrap(&types.TaskDoesNotExist{}), wantClosed: true},
		{name: "timed out", err: wrap(&types.TaskTimedOut{}), wantClosed: true},
		{name: "bad token", err: wrap(&types.InvalidToken{}), wantClosed: true},
		{name: "throttled", err: wrap(errors.New("ThrottlingException"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(&recordingSFN{err: tc.err})
			for _, err := range []error{
				c.Succeed(context.Background(), "tk", `{}`),
				c.Fail(context.Background(), "tk", "InvalidInputError", "why"),
			} {
				if (err != nil) != (tc.err != nil) || errors.Is(err, ErrTaskClosed) != tc.wantClosed {
					t.Errorf("err = %v, closed want %v", err, tc.wantClosed)
				}
			}
		})
	}
}

// Live tells a waiting task from a closed one and from a token Step Functions never issued.
func TestLive(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		wantClosed  bool
		wantInvalid bool
	}{
		{name: "waiting"},
		{name: "answered", err: wrap(&types.TaskDoesNotExist{}), wantClosed: true},
		{name: "timed out", err: wrap(&types.TaskTimedOut{}), wantClosed: true},
		{name: "forged", err: wrap(&types.InvalidToken{}), wantInvalid: true},
		{name: "throttled", err: wrap(errors.New("ThrottlingException"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordingSFN{err: tc.err}
			err := New(r).Live(context.Background(), "tk")
			if (err != nil) != (tc.err != nil) || errors.Is(err, ErrTaskClosed) != tc.wantClosed || errors.Is(err, ErrInvalidToken) != tc.wantInvalid {
				t.Errorf("err = %v, want closed %v, invalid %v", err, tc.wantClosed, tc.wantInvalid)
			}
			if len(r.heartbeats) != 1 || aws.ToString(r.heartbeats[0].TaskToken) != "tk" {
				t.Errorf("heartbeats %+v, want one for tk", r.heartbeats)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	r := &recordingSFN{}
	c := New(r)
	if err := c.Succeed(context.Background(), "tk", `{"state":{}}`); err != nil {
		t.Fatal(err)
	}
	if err := c.Fail(context.Background(), "tk", strings.Repeat("E", 300), "cause"); err != nil {
		t.Fatal(err)
	}
	if aws.ToString(r.successes[0].TaskToken) != "tk" || aws.ToString(r.successes[0].Output) != `{"state":{}}` {
		t.Errorf("success = %+v", r.successes[0])
	}
	if got := aws.ToString(r.failures[0].Error); len(got) != maxErrorLen || aws.ToString(r.failures[0].Cause) != "cause" {
		t.Errorf("failure error %d chars, cause %q", len(got), aws.ToString(r.failures[0].Cause))
	}
}
