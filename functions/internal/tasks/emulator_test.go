package tasks

// Against a real Step Functions API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see
// package dynamo). A token no execution waits on must read as ErrTaskClosed.

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

func TestEmulatorClosedTask(t *testing.T) {
	c := New(sfn.NewFromConfig(fixture.Emulator(t)))
	if err := c.Succeed(context.Background(), "no-such-token", `{}`); !errors.Is(err, ErrTaskClosed) {
		t.Errorf("Succeed: err = %v, want ErrTaskClosed", err)
	}
	if err := c.Fail(context.Background(), "no-such-token", "InvalidInputError", "x"); !errors.Is(err, ErrTaskClosed) {
		t.Errorf("Fail: err = %v, want ErrTaskClosed", err)
	}
	// AWS answers InvalidToken for a token it never issued; MiniStack 1.5.33 answers
	// TaskDoesNotExist for any token it does not hold (README, emulator gaps).
	if err := c.Live(context.Background(), "no-such-token"); !errors.Is(err, ErrTaskClosed) && !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Live: err = %v, want ErrTaskClosed or ErrInvalidToken", err)
	}
}
