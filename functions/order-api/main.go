// Command order-api is the producer: the HTTP API that validates and prices orders, publishes
// OrderPlaced to the bus, and answers GET /orders/{id} from the event store.
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
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/orderflow-dev/orderflow/functions/internal/bus"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	EventBusName    string `env:"EVENT_BUS_NAME"`
	EventStoreTable string `env:"EVENT_STORE_TABLE"`
	InventoryTable  string `env:"INVENTORY_TABLE"`
}

// The adapters fit the handler's ports.
var (
	_ publisher   = (*bus.Publisher)(nil)
	_ eventLoader = (*dynamo.EventStore)(nil)
	_ stockReader = (*dynamo.Inventory)(nil)
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
	db := dynamodb.NewFromConfig(awsCfg)
	return newHandler(cfg.EventBusName,
		bus.NewPublisher(eventbridge.NewFromConfig(awsCfg)),
		dynamo.NewEventStore(db, cfg.EventStoreTable),
		dynamo.NewInventory(db, cfg.InventoryTable),
		logger), nil
}
