package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Stream is event streaming: an ordered, durable log of every order event (partition key orderId,
// so one order's events land on one shard, in the order they arrive: the streamer is invoked once
// an event, so two events published together may arrive either way round, and readers order them
// by sequence) that two consumers read at their own pace and can re-read from the start.
type Stream struct {
	Stream awskinesis.Stream
	// Streamer appends bus events to the stream. It stands where an EventBridge → Kinesis rule
	// target would: the local emulator accepts that target but does not deliver to it (README).
	Streamer                                awslambda.Function
	Projector, Analytics                    awslambda.Function
	StreamerDLQ, ProjectorDLQ, AnalyticsDLQ awssqs.Queue
}

// StreamTables are the tables the stream's consumers write.
type StreamTables struct {
	EventStore, Analytics awsdynamodb.ITable
}

// NewStream defines the order-events stream, the function that feeds it from the bus and the two
// consumers: projector (the event store) and analytics (sales totals).
func NewStream(scope constructs.Construct, d FunctionDefaults, t StreamTables) *Stream {
	s := constructs.NewConstruct(scope, jsii.String("Streaming"))
	stream := awskinesis.NewStream(s, jsii.String("OrderEvents"), &awskinesis.StreamProps{
		ShardCount:      jsii.Number(1),
		StreamMode:      awskinesis.StreamMode_PROVISIONED,
		Encryption:      awskinesis.StreamEncryption_MANAGED,
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(7)), // replay window
		RemovalPolicy:   awscdk.RemovalPolicy_DESTROY,
	})

	streamerDLQ := NewDeadLetterQueue(s, "StreamerDLQ")
	streamer := NewGoFunction(s, "Streamer", d, GoFunctionProps{
		Name:        "streamer",
		Reserved:    streamerConcurrency,
		Description: "Validates each order event and appends it to the order-events stream, keyed by orderId",
		Environment: map[string]*string{"STREAM_NAME": stream.StreamName(), "DLQ_URL": streamerDLQ.QueueUrl()},
	})
	// EventBridge invokes asynchronously: after Lambda's own retries the event goes to the DLQ.
	streamer.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(streamerDLQ),
	})
	stream.Grant(streamer, jsii.String("kinesis:PutRecord")) // one record an invoke (stream.Writer.Put)
	streamerDLQ.GrantSendMessages(streamer)
	suppressFunctionRoleFindings(streamer)

	consumer := func(id, name, description string, env map[string]*string) (awslambda.Function, awssqs.Queue) {
		dlq := NewDeadLetterQueue(s, id+"DLQ")
		env["DLQ_URL"] = dlq.QueueUrl()
		fn := NewGoFunction(s, id, d, GoFunctionProps{Name: name, Description: description, Environment: env})
		fn.AddEventSource(awslambdaeventsources.NewKinesisEventSource(stream, &awslambdaeventsources.KinesisEventSourceProps{
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(100),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
			ReportBatchItemFailures: jsii.Bool(true),
			BisectBatchOnError:      jsii.Bool(true),
			RetryAttempts:           jsii.Number(5),
			MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(24)),
			OnFailure:               awslambdaeventsources.NewSqsDlq(dlq),
		}))
		dlq.GrantSendMessages(fn) // also for records the handler parks itself, with a reason
		suppressFunctionRoleFindings(fn)
		return fn, dlq
	}
	projector, projectorDLQ := consumer("Projector", "projector", "Appends every order event to the event store (event sourcing)",
		map[string]*string{"EVENT_STORE_TABLE": t.EventStore.TableName()})
	grantOn(projector, t.EventStore, nil, "dynamodb:GetItem", "dynamodb:PutItem")
	analytics, analyticsDLQ := consumer("Analytics", "analytics", "Keeps sales totals from the order events",
		map[string]*string{"ANALYTICS_TABLE": t.Analytics.TableName()})
	t.Analytics.Grant(analytics, jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem")) // one transaction per counted event

	return &Stream{
		Stream: stream, Streamer: streamer, Projector: projector, Analytics: analytics,
		StreamerDLQ: streamerDLQ, ProjectorDLQ: projectorDLQ, AnalyticsDLQ: analyticsDLQ,
	}
}
