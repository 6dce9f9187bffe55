// Command projector appends every event of the order-events stream to the event store
// (event sourcing), idempotently and in sequence, and emits the business metrics of each event
// it appends for the first time.
package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	EventStoreTable string `env:"EVENT_STORE_TABLE"`
	DLQURL          string `env:"DLQ_URL"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start. The business metrics are EMF
// lines on stdout, which Lambda ships to CloudWatch Logs, where they become metrics.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	m, err := metrics.New(os.Stdout, metrics.Orderflow(), time.Now)
	if err != nil {
		return nil, err
	}
	es := dynamo.NewEventStore(dynamodb.NewFromConfig(awsCfg), cfg.EventStoreTable)
	h := newHandler(es, deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), m, logger)
	h.EventStream = h.EventStream.Reporting(metrics.ConsumerOutcomes(m, "projector", logger))
	return boot.Handler(h.Handle), nil
}
