package main

import (
	_ "embed"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// fulfilmentASL is the state machine, written in Amazon States Language so that what a learner reads
// is exactly what runs. ${...} placeholders are filled by DefinitionSubstitutions.
//
//go:embed workflow/order-fulfilment.asl.json
var fulfilmentASL string

// WorkflowProps are the resources the saga's tasks call.
type WorkflowProps struct {
	Inventory, Shipping awslambda.IFunction
	Payments            awssqs.IQueue
	Bus                 awsevents.IEventBus
	Sagas               awsdynamodb.ITable // one claim per order: a duplicate OrderPlaced runs no second saga
}

// NewWorkflow defines order-fulfilment, a Standard state machine (exactly-once state transitions,
// up to a year of runtime, full execution history), with logs of every state and X-Ray tracing.
// Its timeout (30 minutes) is the definition's own TimeoutSeconds: a definition given as a
// string ignores the construct's Timeout.
func NewWorkflow(scope constructs.Construct, p WorkflowProps) awsstepfunctions.StateMachine {
	s := constructs.NewConstruct(scope, jsii.String("Fulfilment"))
	logs := awslogs.NewLogGroup(s, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_TWO_WEEKS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(s, jsii.String("OrderFulfilment"), &awsstepfunctions.StateMachineProps{
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(fulfilmentASL)),
		DefinitionSubstitutions: &map[string]*string{
			"InventoryFunctionArn": p.Inventory.FunctionArn(),
			"ShippingFunctionArn":  p.Shipping.FunctionArn(),
			"PaymentsQueueUrl":     p.Payments.QueueUrl(),
			"SagasTable":           p.Sagas.TableName(),
		},
		TracingEnabled: jsii.Bool(true),
		// Every state is logged, without its data: inputs and outputs hold customer data and task
		// tokens. The execution history (GetExecutionHistory, access-controlled) keeps them.
		Logs: &awsstepfunctions.LogOptions{
			Destination:          logs,
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	// cfn-lint W3005: CDK's StateMachine adds a DependsOn on its role, which RoleArn's GetAtt
	// already orders.
	ignoreCfnLint(sm, "W3005")
	// The definition is a string, so CDK cannot infer permissions: grant exactly what the tasks call.
	p.Inventory.GrantInvoke(sm)
	p.Shipping.GrantInvoke(sm)
	p.Payments.GrantSendMessages(sm)
	p.Bus.GrantPutEventsTo(sm, nil)
	p.Sagas.Grant(sm, jsii.String("dynamodb:PutItem")) // ClaimSaga: a conditional put

	cdknag.NagSuppressions_AddResourceSuppressions(sm.Role(), &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Resource '*' is required by X-Ray (PutTraceSegments) and by CloudWatch Logs vended delivery (logs:CreateLogDelivery and friends); lambda:InvokeFunction on '<arn>:*' covers the function's versions, which grantInvoke adds."),
		AppliesTo: &[]any{
			"Resource::*",
			"Resource::<" + logicalID(p.Inventory) + ".Arn>:*",
			"Resource::<" + logicalID(p.Shipping) + ".Arn>:*",
		},
	}}, jsii.Bool(true))
	return sm
}

// logicalID is the CloudFormation logical id of a function, as cdk-nag names it in appliesTo.
func logicalID(fn awslambda.IFunction) string {
	return *awscdk.Stack_Of(fn).GetLogicalId(fn.Node().DefaultChild().(awscdk.CfnElement))
}
