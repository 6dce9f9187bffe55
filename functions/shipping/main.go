// Command shipping is the shipping task of the order-fulfilment state machine: it ships a
// confirmed order once and emits OrderShipped.
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
	ShipmentsTable string `env:"SHIPMENTS_TABLE"`
	PaymentsTable  string `env:"PAYMENTS_TABLE"` // read only: an order ships only if its charge is recorded
	EventBusName   string `env:"EVENT_BUS_NAME"` // named in the entries the state machine publishes
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	db := dynamodb.NewFromConfig(awsCfg)
	return boot.Handler(newHandler(cfg.EventBusName, dynamo.NewShipments(db, cfg.ShipmentsTable), dynamo.NewPayments(db, cfg.PaymentsTable), logger).Handle), nil
}
