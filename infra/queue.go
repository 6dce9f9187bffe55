package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// deliveryAttempts is how many times a queue's consumer handles a message before it gives up on
// it and dead-letters it with the last error as the reason. Counted by SQS's receive count, which
// also counts a receive the function never saw: Lambda's poller took the batch and the invoke was
// throttled (the account's concurrency spent). Four, so that maxReceiveCount is the five AWS
// advises for a Lambda event source for that reason: a throttle or two costs a message a retry,
// not its place in the queue.
const deliveryAttempts = 4

// maxReceiveCount is the queues' redrive setting: how many times a message is received before
// SQS moves it to the DLQ, which it does without a reason. One more than deliveryAttempts: the
// consumer keeps that receive to dead-letter, itself and with a reason, a message whose last
// attempt never answered (the function crashed or timed out: record.LastReceive). Consumers are
// given it as MAX_RECEIVE_COUNT.
const maxReceiveCount = deliveryAttempts + 1

// QueueWithDLQ is a work queue and the dead-letter queue that catches what cannot be processed.
type QueueWithDLQ struct {
	Queue awssqs.Queue
	DLQ   awssqs.Queue
}

// NewQueueWithDLQ defines an encrypted, TLS-only queue whose messages move to an encrypted,
// TLS-only DLQ after maxReceiveCount receives (on that last receive its consumer parks them itself).
func NewQueueWithDLQ(scope constructs.Construct, id string, visibility awscdk.Duration) QueueWithDLQ {
	dlq := NewDeadLetterQueue(scope, id+"DLQ")
	q := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:        awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		VisibilityTimeout: visibility,
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(maxReceiveCount)},
	})
	return QueueWithDLQ{Queue: q, DLQ: dlq}
}

// NewDeadLetterQueue defines an encrypted, TLS-only queue that keeps what failed for 14 days, the
// longest SQS allows, so there is time to inspect and redrive it.
func NewDeadLetterQueue(scope constructs.Construct, id string) awssqs.Queue {
	dlq := awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself a dead-letter queue; a DLQ of a DLQ would only move the problem."),
	}}, jsii.Bool(false))
	return dlq
}
