// Command order-api is the producer: the HTTP API that validates and prices orders, publishes
// OrderPlaced to the bus, and answers GET /orders/{id} from the event store.
package main

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/bus"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
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

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	db := dynamodb.NewFromConfig(awsCfg)
	return newHandler(cfg.EventBusName,
		bus.NewPublisher(eventbridge.NewFromConfig(awsCfg)),
		dynamo.NewEventStore(db, cfg.EventStoreTable),
		dynamo.NewInventory(db, cfg.InventoryTable),
		logger).Handle, nil
}
