// Command streamer copies every order event from the bus onto the Kinesis stream
// (partition key = order id), parking events that break their schema.
package main

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/stream"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	StreamName string `env:"STREAM_NAME"`
	DLQURL     string `env:"DLQ_URL"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	return boot.Sink(newHandler(stream.NewWriter(kinesis.NewFromConfig(awsCfg), cfg.StreamName), deadletter.New(sqs.NewFromConfig(awsCfg), cfg.DLQURL), logger).Handle), nil
}
