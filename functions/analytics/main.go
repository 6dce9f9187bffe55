// Command analytics keeps sales totals from the order-events stream, counting each event once
// (a replay from the start of the stream counts nothing twice).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	AnalyticsTable string `env:"ANALYTICS_TABLE"`
	DLQURL         string `env:"DLQ_URL"`
}

var (
	_ totals = (*dynamo.Analytics)(nil)
	_ parker = (*deadletter.Queue)(nil)
)

func main() {
	logger := lambdacontext.NewLogger()
	slog.SetDefault(logger)
	h, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup(ctx context.Context, logger *slog.Logger) (*Handler, error) {
	var cfg Config
	if err := envconfig.Load(os.LookupEnv, &cfg); err != nil {
		return nil, err
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return newHandler(dynamo.NewAnalytics(dynamodb.NewFromConfig(awsCfg), cfg.AnalyticsTable), deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), logger), nil
}
