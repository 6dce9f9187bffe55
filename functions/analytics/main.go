// Command analytics keeps sales totals from the order-events stream, counting each event once
// (a replay from the start of the stream counts nothing twice).
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
	AnalyticsTable string `env:"ANALYTICS_TABLE"`
	DLQURL         string `env:"DLQ_URL"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	return boot.Handler(newHandler(dynamo.NewAnalytics(dynamodb.NewFromConfig(awsCfg), cfg.AnalyticsTable), deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), logger).Handle), nil
}
