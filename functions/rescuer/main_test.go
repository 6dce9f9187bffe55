package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
)

// TestBuild wires the function as a cold start does, from the environment the CDK app sets.
func TestBuild(t *testing.T) {
	loadAWS := func(context.Context) (aws.Config, error) {
		return aws.Config{Region: "us-east-1"}, nil
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := map[string]string{"STATE_MACHINE_ARN": stateMachineARN}
	h, err := boot.Setup(context.Background(), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, loadAWS, logger, build)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.(lambda.Handler); !ok {
		t.Errorf("handler is a %T", h)
	}
	_, err = boot.Setup(context.Background(), func(string) (string, bool) { return "", false }, loadAWS, logger, build)
	if err == nil || !strings.Contains(err.Error(), "STATE_MACHINE_ARN") {
		t.Errorf("without STATE_MACHINE_ARN: %v", err)
	}
}
