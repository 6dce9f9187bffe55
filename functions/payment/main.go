// Command payment is the payment service: it consumes the payments queue (point-to-point),
// charges each order once through the payment provider, refunds it in compensation, and
// answers the workflow's waiting task.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/internal/boot"
	"github.com/orderflow-dev/orderflow/functions/internal/deadletter"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/envconfig"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/provider"
	"github.com/orderflow-dev/orderflow/functions/internal/tasks"
)

// Config is the function's environment, set by the CDK app.
type Config struct {
	PaymentsTable       string `env:"PAYMENTS_TABLE"`
	PaymentIntentsTable string `env:"PAYMENT_INTENTS_TABLE"` // read only: the tokens order-api stored
	ShipmentsTable      string `env:"SHIPMENTS_TABLE"`       // seals only: an approved charge is given back once the order cannot ship
	EventBusName        string `env:"EVENT_BUS_NAME"`        // named in the entries the state machine publishes
	DLQURL              string `env:"DLQ_URL"`
	// The payments queue's redrive maxReceiveCount: a message still failing on the receive before
	// it is parked with its reason, one received that many times is parked unhandled (its last
	// attempt never answered).
	MaxReceiveCount string `env:"MAX_RECEIVE_COUNT"`
}

func main() { boot.Main(build) }

// build wires the adapters to the handler, once per cold start.
func build(cfg Config, awsCfg aws.Config, logger *slog.Logger) (any, error) {
	maxReceives, err := envconfig.PositiveInt(cfg.MaxReceiveCount)
	if err != nil {
		return nil, fmt.Errorf("MAX_RECEIVE_COUNT: %w", err)
	}
	m, err := metrics.New(os.Stdout, metrics.Orderflow(), time.Now) // RecordsFailed, RecordsParked
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	sqsClient := sqs.NewFromConfig(awsCfg)
	h := newHandler(cfg.EventBusName, ports{
		payments: dynamo.NewPayments(db, cfg.PaymentsTable),
		intents:  dynamo.NewPaymentIntents(db, cfg.PaymentIntentsTable),
		provider: provider.Sandbox{},
		tasks:    tasks.New(sfn.NewFromConfig(awsCfg)),
		seals:    dynamo.NewShipments(db, cfg.ShipmentsTable),
		dlq:      deadletter.New(sqsClient, cfg.DLQURL),
		source:   deadletter.NewSources(sqsClient),
	}, maxReceives, logger)
	h.queue = h.queue.Reporting(metrics.ConsumerOutcomes(m, "payment", logger))
	return boot.Handler(h.Handle), nil
}
