package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// Rescue leaves no order behind: an execution of the saga that fails where no Catch applies,
// times out or is aborted would leave its order PLACED. Step Functions reports each on the
// default bus ("Step Functions Execution Status Change"); a rule hands those to the rescuer,
// which starts a rescue execution that claims the order from the stalled one and compensates.
type Rescue struct {
	Function awslambda.Function
	// RuleDLQ keeps what EventBridge could not deliver to the rescuer; DLQ what the rescuer
	// still failed on after Lambda's retries of an asynchronous invocation.
	RuleDLQ, DLQ awssqs.Queue
}

// NewRescue defines the rescuer function and the rule on the default bus that invokes it for
// the state machine's stalled executions.
func NewRescue(scope constructs.Construct, d FunctionDefaults, sm awsstepfunctions.StateMachine) *Rescue {
	s := constructs.NewConstruct(scope, jsii.String("Rescue"))
	fn := NewGoFunction(s, "Rescuer", d, GoFunctionProps{
		Name:        "rescuer",
		Reserved:    rescuerConcurrency,
		Description: "Starts a rescue execution (compensation) for an order-fulfilment execution that failed without compensating, timed out or was aborted",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(30)), // a long history is read page by page
		Environment: map[string]*string{"STATE_MACHINE_ARN": sm.StateMachineArn()},
	})
	sm.GrantStartExecution(fn)
	sm.GrantExecution(fn, jsii.String("states:DescribeExecution"), jsii.String("states:GetExecutionHistory"))
	suppressFunctionRoleFindings(fn)
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("The rescuer reads the history of any execution of order-fulfilment (states:DescribeExecution, GetExecutionHistory): execution ARNs are the state machine's name and a per-execution suffix, so the grant is '<state machine>:*' and no wider."),
		AppliesTo: &[]any{map[string]*string{"regex": jsii.String("/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\\*$/g")}},
	}}, jsii.Bool(true))

	dlq := NewDeadLetterQueue(s, "RescuerDLQ")
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(2),
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(6)),
		OnFailure:     awslambdadestinations.NewSqsDestination(dlq),
	})
	ruleDLQ := NewDeadLetterQueue(s, "RuleDLQ")
	awsevents.NewRule(s, jsii.String("StalledExecutions"), &awsevents.RuleProps{
		Description: jsii.String("order-fulfilment executions that failed, timed out or were aborted go to the rescuer"),
		// No EventBus: Step Functions reports status changes on the account's default bus.
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.states"),
			DetailType: jsii.Strings("Step Functions Execution Status Change"),
			Detail: &map[string]any{
				"status":          toolkit.Stalled(),
				"stateMachineArn": []*string{sm.StateMachineArn()},
			},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: ruleDLQ, MaxEventAge: awscdk.Duration_Hours(jsii.Number(24)), RetryAttempts: jsii.Number(185),
		})},
	})
	return &Rescue{Function: fn, RuleDLQ: ruleDLQ, DLQ: dlq}
}
