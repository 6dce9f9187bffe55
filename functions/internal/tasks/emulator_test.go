package tasks

// Against a real Step Functions API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see
// package dynamo). A token no execution waits on must read as ErrTaskClosed.

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

func TestEmulatorClosedTask(t *testing.T) {
	endpoint := os.Getenv("ORDERFLOW_TEST_ENDPOINT")
	if endpoint == "" {
		t.Skip("ORDERFLOW_TEST_ENDPOINT not set")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	c := New(sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(endpoint) }))
	if err := c.Succeed(context.Background(), "no-such-token", `{}`); !errors.Is(err, ErrTaskClosed) {
		t.Errorf("Succeed: err = %v, want ErrTaskClosed", err)
	}
	if err := c.Fail(context.Background(), "no-such-token", "InvalidInputError", "x"); !errors.Is(err, ErrTaskClosed) {
		t.Errorf("Fail: err = %v, want ErrTaskClosed", err)
	}
}
