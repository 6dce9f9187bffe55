package main

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Payments is point-to-point messaging: the workflow puts one payment command on the queue (charge,
// or refund in compensation), one consumer takes it, acts once, and answers the workflow with the
// task token.
type Payments struct {
	QueueWithDLQ
	Function awslambda.Function
}

// Payment function timeout and payments queue visibility. AWS asks for a visibility of at least
// 6x the function timeout (a message must not reappear while a batch is still being processed
// or retried); the visibility is also how long a transient failure waits for its retry, so it
// is kept short: a provider's processing error is retried 30 s later.
const (
	paymentTimeoutSeconds    = 5
	paymentVisibilitySeconds = 30
)

// NewPayments defines the payments queue (DLQ after maxReceiveCount receives) and the payment
// function that consumes it in batches, reporting failed messages one by one and parking a
// message itself, with its reason, when it gives up on it (record.LastReceive).
func NewPayments(scope constructs.Construct, d FunctionDefaults, table, intents, shipments awsdynamodb.ITable, busName *string) *Payments {
	s := constructs.NewConstruct(scope, jsii.String("Payments"))
	timeout := awscdk.Duration_Seconds(jsii.Number(paymentTimeoutSeconds))
	q := NewQueueWithDLQ(s, "Queue", awscdk.Duration_Seconds(jsii.Number(paymentVisibilitySeconds)))
	fn := NewGoFunction(s, "Function", d, GoFunctionProps{
		Name:        "payment",
		Description: "Charges each order once and answers the fulfilment workflow (SendTaskSuccess/Failure)",
		Timeout:     timeout,
		Environment: map[string]*string{
			"PAYMENTS_TABLE":        table.TableName(),
			"PAYMENT_INTENTS_TABLE": intents.TableName(),
			"SHIPMENTS_TABLE":       shipments.TableName(),
			"EVENT_BUS_NAME":        busName,
			"DLQ_URL":               q.DLQ.QueueUrl(),
			"MAX_RECEIVE_COUNT":     jsii.String(strconv.Itoa(maxReceiveCount)),
		},
	})
	fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q.Queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(10),
		MaxConcurrency:          jsii.Number(paymentsConcurrency),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	// Conditional updates only: claim, record the decision, void or refund it.
	table.Grant(fn, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:UpdateItem"))
	intents.Grant(fn, jsii.String("dynamodb:GetItem")) // the token of the order it charges
	// The seal before an approved charge is given back: a conditional put, and the read of what
	// holds the order's place when the endpoint does not return it (dynamo.Shipments.Seal).
	shipments.Grant(fn, jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:GetItem"))
	q.DLQ.Grant(fn, jsii.String("sqs:SendMessage")) // park: not GrantSendMessages, which adds GetQueueUrl/Attributes it never calls
	suppressFunctionRoleFindings(fn)
	return &Payments{QueueWithDLQ: q, Function: fn}
}

// OperatorTag is the principal tag (value "true") that lets a person or role put a message on the
// payments queue besides the state machine: an operator running `make redrive` on the payments DLQ.
const OperatorTag = "orderflow-operator"

// OnlyTheSagaSends sets the payments queue's resource policy: nobody but the state machine (its
// role), an operator (a principal tagged OperatorTag=true) or the account's root user (who could
// rewrite the policy anyway) may put a payment command on it, whatever their identity policies
// allow. A payment command moves money: payment checks that its task token is one Step Functions
// issued, but a real token of a closed task (the execution history holds them, and the DLQ) in a
// forged message passes that check, and a forged refund would refund a shipped order. The policy
// only denies: the state machine's role still needs its own sqs:SendMessage grant.
func (p *Payments) OnlyTheSagaSends(saga awsiam.IRole) {
	root := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":iam::"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":root"),
	})
	p.Queue.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyTheSagaAndOperatorsSendPaymentCommands"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{p.Queue.QueueArn()},
		Conditions: &map[string]any{
			"ArnNotEquals":    map[string]any{"aws:PrincipalArn": []any{saga.RoleArn(), root}},
			"StringNotEquals": map[string]any{"aws:PrincipalTag/" + OperatorTag: "true"},
		},
	}))
}
