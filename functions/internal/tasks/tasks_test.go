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

// Each Step Functions error as the calls report it. Succeed and Fail: a task that can no longer
// be answered is closed (ErrTaskClosed), a bad token included. Live tells a waiting task from a
// closed one and from a token Step Functions never issued (ErrInvalidToken). Anything else is
// the API's, worth retrying.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		wantClosed  bool // Succeed and Fail
		liveClosed  bool
		liveInvalid bool
	}{
		{name: "ok"},
		{name: "already answered", err: wrap(&types.TaskDoesNotExist{}), wantClosed: true, liveClosed: true},
		{name: "timed out", err: wrap(&types.TaskTimedOut{}), wantClosed: true, liveClosed: true},
		{name: "bad token", err: wrap(&types.InvalidToken{}), wantClosed: true, liveInvalid: true},
		{name: "throttled", err: wrap(errors.New("ThrottlingException"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordingSFN{err: tc.err}
			c := New(r)
			for _, err := range []error{
				c.Succeed(context.Background(), "tk", `{}`),
				c.Fail(context.Background(), "tk", "InvalidInputError", "why"),
			} {
				if (err != nil) != (tc.err != nil) || errors.Is(err, ErrTaskClosed) != tc.wantClosed {
					t.Errorf("err = %v, closed want %v", err, tc.wantClosed)
				}
			}
			err := c.Live(context.Background(), "tk")
			if (err != nil) != (tc.err != nil) || errors.Is(err, ErrTaskClosed) != tc.liveClosed || errors.Is(err, ErrInvalidToken) != tc.liveInvalid {
				t.Errorf("Live: err = %v, want closed %v, invalid %v", err, tc.liveClosed, tc.liveInvalid)
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
