package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow-dev/orderflow/events"
)

// Notifications is publish/subscribe: the topic gives every subscriber its own copy. Here two
// channels subscribe through queues: email hears every customer-facing event, sms only shipments
// (a filter policy on the message body).
type Notifications struct {
	Topic      awssns.Topic
	Email, SMS QueueWithDLQ
	// What SNS cannot deliver to each queue (each subscription's redrive policy).
	EmailSubscriptionDLQ, SMSSubscriptionDLQ awssqs.Queue
	Function                                 awslambda.Function
}

// notificationsTopicName is the topic's name, "<stack>-order-notifications": named, so that the
// key that encrypts it can name it in its policy without naming itself (the topic refers to the key).
func notificationsTopicName() *string {
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{awscdk.Aws_STACK_NAME(), jsii.String("order-notifications")})
}

// notificationsTopicArn is the topic's ARN, built from its name.
func notificationsTopicArn() *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":sns:"), awscdk.Aws_REGION(),
		jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":"), notificationsTopicName()})
}

// NewNotifications defines the order-notifications topic, its two queue subscriptions and the
// notifier function that consumes both.
func NewNotifications(scope constructs.Construct, d FunctionDefaults, key awskms.IKey, table awsdynamodb.ITable) *Notifications {
	s := constructs.NewConstruct(scope, jsii.String("Notifications"))
	topic := awssns.NewTopic(s, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   notificationsTopicName(),
		DisplayName: jsii.String("orderflow order notifications"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	visibility := awscdk.Duration_Seconds(jsii.Number(60))
	email := NewQueueWithDLQ(s, "Email", visibility)
	sms := NewQueueWithDLQ(s, "Sms", visibility)
	emailDLQ, smsDLQ := NewDeadLetterQueue(s, "EmailSubscriptionDLQ"), NewDeadLetterQueue(s, "SmsSubscriptionDLQ")
	// Each subscription has its own DLQ (its redrive policy): a copy SNS cannot deliver to the
	// queue (the queue gone, its key refused) is kept there instead of being dropped.
	topic.AddSubscription(awssnssubscriptions.NewSqsSubscription(email.Queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    emailDLQ,
	}))
	topic.AddSubscription(awssnssubscriptions.NewSqsSubscription(sms.Queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    smsDLQ,
		FilterPolicyWithMessageBody: &map[string]awssns.FilterOrPolicy{
			"detail-type": awssns.FilterOrPolicy_Filter(awssns.SubscriptionFilter_StringFilter(&awssns.StringConditions{
				Allowlist: jsii.Strings(typeNames(events.SMSTypes())...), // the registry's SMS types
			})),
		},
	}))

	fn := NewGoFunction(s, "Function", d, GoFunctionProps{
		Name:        "notifier",
		Description: "Sends one notification per event per channel",
		Environment: map[string]*string{
			"NOTIFICATIONS_TABLE": table.TableName(),
			"QUEUE_CHANNELS":      joinPairs(email.Queue.QueueArn(), jsii.String("email"), sms.Queue.QueueArn(), jsii.String("sms")),
			"DLQ_URLS":            joinPairs(email.Queue.QueueArn(), email.DLQ.QueueUrl(), sms.Queue.QueueArn(), sms.DLQ.QueueUrl()),
			"MAX_RECEIVE_COUNT":   jsii.String(strconv.Itoa(maxReceiveCount)), // a message given up on is parked with the reason
		},
	})
	for _, q := range []QueueWithDLQ{email, sms} {
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q.Queue, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(10),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)), // fuller batches: a notification may wait a second
			MaxConcurrency:          jsii.Number(notifierConcurrency),
			ReportBatchItemFailures: jsii.Bool(true),
		}))
		q.DLQ.Grant(fn, jsii.String("sqs:SendMessage")) // park: not GrantSendMessages, which adds GetQueueUrl/Attributes it never calls
	}
	table.Grant(fn, jsii.String("dynamodb:PutItem")) // conditional: one notification per event per channel
	suppressFunctionRoleFindings(fn)
	return &Notifications{Topic: topic, Email: email, SMS: sms, EmailSubscriptionDLQ: emailDLQ, SMSSubscriptionDLQ: smsDLQ, Function: fn}
}

// joinPairs renders "k1=v1,k2=v2" from tokens, for an environment variable.
func joinPairs(kv ...*string) *string {
	parts := make([]*string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, awscdk.Fn_Join(jsii.String("="), &[]*string{kv[i], kv[i+1]}))
	}
	return awscdk.Fn_Join(jsii.String(","), &parts)
}
