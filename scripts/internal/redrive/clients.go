// The services redrive talks to, each behind the narrow interface it uses, and the functions'
// code it delivers with.

package redrive

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// SQSAPI is the part of the SQS client redrive uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// StartExecutionAPI is the part of the Step Functions client redrive uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// InvokeAPI is the part of the Lambda client redrive uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// streamPutter puts a record on the stream (toolkit.StreamWriter).
type streamPutter interface {
	Put(ctx context.Context, partitionKey string, data []byte) (string, error)
}

// PublishAPI publishes to a topic (sns.Client).
type PublishAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// EventStore is the event store as redrive uses it: the projector's append (a failed batch,
// re-read), and whether a parked event still conflicts with what it holds (dynamo.EventStore).
type EventStore interface {
	toolkit.EventAppender
	Contradiction(ctx context.Context, e events.Envelope) (string, error)
}

// Clients are the services redrive talks to, and the functions' code it delivers with.
type Clients struct {
	SQS        SQSAPI
	SFN        StartExecutionAPI
	Lambda     InvokeAPI
	Stream     *streamlog.Reader // re-reads failed Kinesis batches
	Streamer   streamPutter      // the stream path
	SNS        PublishAPI
	EventStore EventStore
	Analytics  toolkit.TotalsAdder
	Now        func() time.Time
}

// NewClients returns clients of the deployed stack's services.
func NewClients(s *deployed.Stack) Clients {
	db := dynamodb.NewFromConfig(s.AWS)
	k := kinesis.NewFromConfig(s.AWS)
	return Clients{
		SQS: sqs.NewFromConfig(s.AWS), SFN: sfn.NewFromConfig(s.AWS), Lambda: lambda.NewFromConfig(s.AWS),
		Stream:     &streamlog.Reader{Client: k, Stream: s.Output("StreamName")},
		Streamer:   toolkit.NewStreamWriter(k, s.Output("StreamName")),
		SNS:        sns.NewFromConfig(s.AWS),
		EventStore: toolkit.NewEventStore(db, s.Output("EventStoreTable")),
		Analytics:  toolkit.NewAnalytics(db, s.Output("AnalyticsTable")),
		Now:        time.Now,
	}
}
