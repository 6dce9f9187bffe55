// Command order-api is the producer: the HTTP API that validates and prices orders of signed-in
// customers, claims each Idempotency-Key, hands the payment token to the payments service,
// publishes OrderPlaced to the bus, and answers GET /orders and GET /orders/{id} from the
// event store.
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
	EventBusName        string `env:"EVENT_BUS_NAME"`
	EventStoreTable     string `env:"EVENT_STORE_TABLE"`
	InventoryTable      string `env:"INVENTORY_TABLE"`
	IdempotencyTable    string `env:"IDEMPOTENCY_TABLE"`
	PaymentIntentsTable string `env:"PAYMENT_INTENTS_TABLE"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	db := dynamodb.NewFromConfig(awsCfg)
	return boot.Handler(newHandler(cfg.EventBusName, Ports{
		Bus:     bus.NewPublisher(eventbridge.NewFromConfig(awsCfg)),
		Events:  dynamo.NewEventStore(db, cfg.EventStoreTable),
		Stock:   dynamo.NewInventory(db, cfg.InventoryTable),
		Keys:    dynamo.NewIdempotencyKeys(db, cfg.IdempotencyTable),
		Intents: dynamo.NewPaymentIntents(db, cfg.PaymentIntentsTable),
	}, logger).Handle), nil
}
