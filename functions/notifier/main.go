// Command notifier is a pub/sub subscriber: it tells customers about their orders, once per
// event and channel, from the SQS queues subscribed to the order-notifications topic.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	NotificationsTable string `env:"NOTIFICATIONS_TABLE"`
	QueueChannels      string `env:"QUEUE_CHANNELS"`    // "<queueArn>=email,<queueArn>=sms"
	DLQURLs            string `env:"DLQ_URLS"`          // "<queueArn>=<dlqUrl>,..."
	MaxReceiveCount    string `env:"MAX_RECEIVE_COUNT"` // the queues' redrive maxReceiveCount: the last receive parks
}

var (
	_ notificationStore = (*dynamo.Notifications)(nil)
	_ parker            = (*deadletter.Queue)(nil)
)

func main() {
	logger := lambdacontext.NewLogger()
	slog.SetDefault(logger)
	h, err := setup(context.Background(), logger)
	if err != nil {
		logger.Error("start-up failed", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup(ctx context.Context, logger *slog.Logger) (*Handler, error) {
	var cfg Config
	if err := envconfig.Load(os.LookupEnv, &cfg); err != nil {
		return nil, err
	}
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
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
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
	return newHandler(channels, dlqs, dynamo.NewNotifications(dynamodb.NewFromConfig(awsCfg), cfg.NotificationsTable), maxReceives, logger), nil
}
