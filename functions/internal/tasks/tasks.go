// Package tasks answers Step Functions tasks that wait for a callback
// (sqs:sendMessage.waitForTaskToken): SendTaskSuccess with the task's output, or
// SendTaskFailure with an error name the state machine's Retry and Catch match on; and checks,
// before a message is acted on, that its token is one Step Functions issued.
package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// ErrTaskClosed means the task can no longer be answered: it was already answered (a
// redelivered message), it timed out, or its token is not valid. Retrying cannot change that.
var ErrTaskClosed = errors.New("task closed")

// ErrInvalidToken means a token is no task token Step Functions issued (Live): the message
// carrying it did not come from the state machine.
var ErrInvalidToken = errors.New("not a task token Step Functions issued")

// SFN API limits on SendTaskFailure.
const (
	maxErrorLen = 256
	maxCauseLen = 32768
)

// API is the part of the Step Functions client the callback uses.
type API interface {
	SendTaskSuccess(ctx context.Context, in *sfn.SendTaskSuccessInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sfn.SendTaskFailureInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskFailureOutput, error)
	SendTaskHeartbeat(ctx context.Context, in *sfn.SendTaskHeartbeatInput, optFns ...func(*sfn.Options)) (*sfn.SendTaskHeartbeatOutput, error)
}

// Callback answers tasks.
type Callback struct {
	client API
}

// New returns a callback using client.
func New(client API) *Callback {
	return &Callback{client: client}
}

// Succeed completes the task with output (JSON).
func (c *Callback) Succeed(ctx context.Context, token, output string) error {
	_, err := c.client.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(output)})
	if err != nil {
		return fmt.Errorf("send task success: %w", translate(err))
	}
	return nil
}

// Fail fails the task with an error name and a cause.
func (c *Callback) Fail(ctx context.Context, token, errorName, cause string) error {
	_, err := c.client.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{
		TaskToken: aws.String(token), Error: aws.String(truncate(errorName, maxErrorLen)), Cause: aws.String(truncate(cause, maxCauseLen)),
	})
	if err != nil {
		return fmt.Errorf("send task failure: %w", translate(err))
	}
	return nil
}

// Live reports whether token's task still waits (nil), with a heartbeat, which changes nothing
// for a task without HeartbeatSeconds: ErrTaskClosed when it was answered or timed out (a
// redelivered or redriven message), ErrInvalidToken when Step Functions never issued it (a
// forged message); any other error is the API's, worth retrying.
func (c *Callback) Live(ctx context.Context, token string) error {
	_, err := c.client.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)})
	var invalid *types.InvalidToken
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid):
		return fmt.Errorf("send task heartbeat: %w: %w", ErrInvalidToken, err)
	default:
		return fmt.Errorf("send task heartbeat: %w", translate(err))
	}
}

func translate(err error) error {
	var (
		gone     *types.TaskDoesNotExist
		timedOut *types.TaskTimedOut
		invalid  *types.InvalidToken
	)
	if errors.As(err, &gone) || errors.As(err, &timedOut) || errors.As(err, &invalid) {
		return fmt.Errorf("%w: %w", ErrTaskClosed, err)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
