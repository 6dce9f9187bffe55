// Command notifier is a pub/sub subscriber: it tells customers about their orders, once per
// event and channel, from the SQS queues subscribed to the order-notifications topic.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	NotificationsTable string `env:"NOTIFICATIONS_TABLE"`
	QueueChannels      string `env:"QUEUE_CHANNELS"`    // "<queueArn>=email,<queueArn>=sms"
	DLQURLs            string `env:"DLQ_URLS"`          // "<queueArn>=<dlqUrl>,..."
	MaxReceiveCount    string `env:"MAX_RECEIVE_COUNT"` // the queues' redrive maxReceiveCount (record.LastReceive)
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	channels, err := envconfig.Pairs(cfg.QueueChannels)
	if err != nil {
		return nil, fmt.Errorf("QUEUE_CHANNELS: %w", err)
	}
	dlqURLs, err := envconfig.Pairs(cfg.DLQURLs)
	if err != nil {
		return nil, fmt.Errorf("DLQ_URLS: %w", err)
	}
	maxReceives, err := envconfig.PositiveInt(cfg.MaxReceiveCount)
	if err != nil {
		return nil, fmt.Errorf("MAX_RECEIVE_COUNT: %w", err)
	}
	sqsClient := sqs.NewFromConfig(awsCfg)
	dlqs := map[string]parker{}
	for _, queue := range envconfig.Keys(channels) {
		url, ok := dlqURLs[queue]
		if !ok {
			return nil, fmt.Errorf("DLQ_URLS has no dead-letter queue for %s", queue)
		}
		dlqs[queue] = deadletter.New(sqsClient, url)
	}
	m, err := metrics.New(os.Stdout, metrics.Orderflow(), time.Now) // RecordsFailed, RecordsParked
	if err != nil {
		return nil, err
	}
	h := newHandler(channels, dlqs, deadletter.NewSources(sqsClient), dynamo.NewNotifications(dynamodb.NewFromConfig(awsCfg), cfg.NotificationsTable), maxReceives, logger)
	h.queue = h.queue.Reporting(metrics.ConsumerOutcomes(m, "notifier", logger))
	return boot.Handler(h.Handle), nil
}
