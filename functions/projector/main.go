// Command projector appends every event of the order-events stream to the event store
// (event sourcing), idempotently and in sequence.
package main

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	EventStoreTable string `env:"EVENT_STORE_TABLE"`
	DLQURL          string `env:"DLQ_URL"`
}

var (
	_ eventAppender = (*dynamo.EventStore)(nil)
	_ parker        = (*deadletter.Queue)(nil)
)

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	return newHandler(dynamo.NewEventStore(dynamodb.NewFromConfig(awsCfg), cfg.EventStoreTable), deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), logger).Handle, nil
}
