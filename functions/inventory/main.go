// Command inventory is the stock task of the order-fulfilment state machine: it reserves an
// order's stock, or releases it after a declined payment or a failure (compensation).
package main

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	InventoryTable string `env:"INVENTORY_TABLE"`
	EventBusName   string `env:"EVENT_BUS_NAME"` // named in the entries the state machine publishes
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	return boot.Handler(newHandler(cfg.EventBusName, dynamo.NewInventory(dynamodb.NewFromConfig(awsCfg), cfg.InventoryTable), logger).Handle), nil
}
