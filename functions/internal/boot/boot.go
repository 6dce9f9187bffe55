// Package boot starts every function the same way: a JSON logger that carries the request id
// (lambdacontext.NewLogger), the function's Config read from the environment, the AWS SDK
// configured once at cold start from the variables Lambda sets (FromEnv; it honours
// AWS_ENDPOINT_URL), and the handler handed to the Lambda runtime. A start-up error is logged
// and ends the process with exit code 1; nothing here runs inside an invocation.
//
// Faults (package faults) are wired here too, so every function has them: when the function's
// environment sets ORDERFLOW_FAULTS, the AWS config gets the crash-after-write middleware and
// the handler the invocation faults; when it does not, both are handed on untouched.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
	"github.com/orderflow-dev/orderflow/functions/internal/faults"
)

// Build makes a function's handler (a func aws-lambda-go accepts) from its Config, the AWS
// config and the logger.
type Build[C any] func(cfg C, awsCfg aws.Config, logger *slog.Logger) (handler any, err error)

// Main builds the handler and starts the runtime with it.
func Main[C any](build Build[C]) {
	logger := lambdacontext.NewLogger()
	slog.SetDefault(logger)
	handler, err := Setup(context.Background(), os.LookupEnv, FromEnv(os.LookupEnv), logger, build)
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(handler)
}

// LoadAWS loads the SDK's configuration (FromEnv in Main).
type LoadAWS func(ctx context.Context) (aws.Config, error)

// Setup reads C and the faults (ORDERFLOW_FAULTS, usually unset) from the environment through
// lookup, loads the AWS config and builds the handler: with the faults armed around it and in
// the AWS config, if any are.
func Setup[C any](ctx context.Context, lookup func(string) (string, bool), loadAWS LoadAWS, logger *slog.Logger, build Build[C]) (any, error) {
	var cfg C
	if err := envconfig.Load(lookup, &cfg); err != nil {
		return nil, err
	}
	injector, err := faults.FromEnv(lookup, logger) // nil when unset: Instrument and Wrap change nothing
	if err != nil {
		return nil, err
	}
	awsCfg, err := loadAWS(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	handler, err := build(cfg, injector.Instrument(awsCfg), logger)
	if err != nil {
		return nil, err
	}
	return injector.Wrap(handler), nil
}
