package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Payments is point-to-point messaging: the workflow puts one payment request on the queue, one
// consumer takes it, charges once, and answers the workflow with the task token.
type Payments struct {
	QueueWithDLQ
	Function awslambda.Function
}

// NewPayments defines the payments queue (DLQ after 3 receives) and the payment function that
// consumes it in batches, reporting failed messages one by one.
func NewPayments(scope constructs.Construct, d FunctionDefaults, table awsdynamodb.ITable, busName *string) *Payments {
	s := constructs.NewConstruct(scope, jsii.String("Payments"))
	timeout := awscdk.Duration_Seconds(jsii.Number(15))
	// Visibility must exceed the function timeout, or a message reappears while it is processed.
	q := NewQueueWithDLQ(s, "Queue", awscdk.Duration_Seconds(jsii.Number(90)))
	fn := NewGoFunction(s, "Function", d, GoFunctionProps{
		Name:        "payment",
		Description: "Charges each order once and answers the fulfilment workflow (SendTaskSuccess/Failure)",
		Timeout:     timeout,
		Environment: map[string]*string{
			"PAYMENTS_TABLE": table.TableName(),
			"EVENT_BUS_NAME": busName,
			"DLQ_URL":        q.DLQ.QueueUrl(),
		},
	})
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	table.Grant(fn, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"))
	q.DLQ.GrantSendMessages(fn)
	suppressFunctionRoleFindings(fn)
	return &Payments{QueueWithDLQ: q, Function: fn}
}
