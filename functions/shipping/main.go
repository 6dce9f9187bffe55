// Command shipping is the shipping task of the order-fulfilment state machine: it ships a
// confirmed order once and emits OrderShipped.
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

	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	ShipmentsTable string `env:"SHIPMENTS_TABLE"`
	EventBusName   string `env:"EVENT_BUS_NAME"` // named in the entries the state machine publishes
}

var _ shipmentStore = (*dynamo.Shipments)(nil)

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
	return newHandler(cfg.EventBusName, dynamo.NewShipments(dynamodb.NewFromConfig(awsCfg), cfg.ShipmentsTable), logger), nil
}
