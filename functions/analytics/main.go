// Command analytics keeps sales totals from the order-events stream, counting each event once
// (a replay from the start of the stream counts nothing twice).
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
	AnalyticsTable string `env:"ANALYTICS_TABLE"`
	DLQURL         string `env:"DLQ_URL"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	m, err := metrics.New(os.Stdout, metrics.Orderflow(), time.Now) // RecordsFailed, RecordsParked
	if err != nil {
		return nil, err
	}
	h := newHandler(dynamo.NewAnalytics(dynamodb.NewFromConfig(awsCfg), cfg.AnalyticsTable), deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), logger)
	h.EventStream = h.EventStream.Reporting(metrics.ConsumerOutcomes(m, "analytics", logger))
	return boot.Handler(h.Handle), nil
}
