// Command payment is the payment service: it consumes the payments queue (point-to-point),
// decides each order's payment once, and answers the workflow's waiting task.
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
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	PaymentsTable string `env:"PAYMENTS_TABLE"`
	EventBusName  string `env:"EVENT_BUS_NAME"` // named in the entries the state machine publishes
	DLQURL        string `env:"DLQ_URL"`
	// The payments queue's redrive maxReceiveCount: a message still failing on that receive is parked with its reason.
	MaxReceiveCount string `env:"MAX_RECEIVE_COUNT"`
}

// The adapters fit the handler's ports.
var (
	_ paymentStore = (*dynamo.Payments)(nil)
	_ callback     = (*tasks.Callback)(nil)
	_ parker       = (*deadletter.Queue)(nil)
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
	maxReceives, err := envconfig.PositiveInt(cfg.MaxReceiveCount)
	if err != nil {
		return nil, fmt.Errorf("MAX_RECEIVE_COUNT: %w", err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return newHandler(cfg.EventBusName,
		dynamo.NewPayments(dynamodb.NewFromConfig(awsCfg), cfg.PaymentsTable),
		tasks.New(sfn.NewFromConfig(awsCfg)),
		deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL),
		maxReceives, logger), nil
}
