package main

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	Shipments           awsdynamodb.ITable // SealShipment: a compensation closes an approved order to shipping
	Timeouts            Timeouts           // zero: the definition's own (300 s per callback, 1,800 s in all)
}

// Timeouts shorten the saga's timeouts for a test deploy (context values callbackTimeout and
// executionTimeout, in seconds), so that a test can watch a timeout end an order without
// waiting five minutes. Zero keeps the definition's value.
type Timeouts struct {
	Callback  int // TimeoutSeconds of each callback task (RequestPayment, RefundPayment)
	Execution int // the execution's TimeoutSeconds
}

// ParseTimeouts reads the context values callbackTimeout and executionTimeout (seconds; unset
// or empty: the definition's).
func ParseTimeouts(callback, execution any) (Timeouts, error) {
	var t Timeouts
	for _, v := range []struct {
		name  string
		value any
		into  *int
	}{{"callbackTimeout", callback, &t.Callback}, {"executionTimeout", execution, &t.Execution}} {
		s := strings.TrimSpace(fmt.Sprint(v.value))
		if v.value == nil || s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 31_536_000 {
			return Timeouts{}, fmt.Errorf("context %s=%s: want a whole number of seconds from 1 to 31536000 (a year)", v.name, s)
		}
		*v.into = n
	}
	if t.Callback > 0 && t.Execution > 0 && t.Callback >= t.Execution {
		return Timeouts{}, fmt.Errorf("context callbackTimeout=%d must be less than executionTimeout=%d", t.Callback, t.Execution)
	}
	return t, nil
}

// withTimeouts is the definition with t applied: the execution's TimeoutSeconds and that of
// every callback task (.waitForTaskToken). Unchanged (the file as written) when t is zero.
func withTimeouts(asl string, t Timeouts) (string, error) {
	if t == (Timeouts{}) {
		return asl, nil
	}
	var def map[string]any
	dec := json.NewDecoder(strings.NewReader(asl))
	dec.UseNumber()
	if err := dec.Decode(&def); err != nil {
		return "", fmt.Errorf("order-fulfilment.asl.json: %w", err)
	}
	if t.Execution > 0 {
		def["TimeoutSeconds"] = t.Execution
	}
	callbacks := 0
	states, _ := def["States"].(map[string]any)
	for _, v := range states {
		s, _ := v.(map[string]any)
		if r, _ := s["Resource"].(string); strings.HasSuffix(r, ".waitForTaskToken") && t.Callback > 0 {
			s["TimeoutSeconds"] = t.Callback
			callbacks++
		}
	}
	if t.Callback > 0 && callbacks == 0 {
		return "", errors.New("order-fulfilment.asl.json: no callback task to apply callbackTimeout to")
	}
	b, err := json.MarshalIndent(def, "", "  ")
	return string(b), err
}

// NewWorkflow defines order-fulfilment, a Standard state machine (exactly-once state transitions,
// up to a year of runtime, full execution history), with logs of every state and X-Ray tracing.
// Its timeout (30 minutes) is the definition's own TimeoutSeconds: a definition given as a
// string ignores the construct's Timeout.
func NewWorkflow(scope constructs.Construct, p WorkflowProps) awsstepfunctions.StateMachine {
	definition, err := withTimeouts(fulfilmentASL, p.Timeouts)
	if err != nil {
		panic(err) // ParseTimeouts checked the values: only a broken definition file gets here
	}
	s := constructs.NewConstruct(scope, jsii.String("Fulfilment"))
	logs := awslogs.NewLogGroup(s, jsii.String("Logs"), &awslogs.LogGroupProps{
		LogGroupName:  vendedLogGroupName(s, "states", "order-fulfilment"),
		Retention:     awslogs.RetentionDays_TWO_WEEKS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	sm := awsstepfunctions.NewStateMachine(s, jsii.String("OrderFulfilment"), &awsstepfunctions.StateMachineProps{
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromString(jsii.String(definition)),
		DefinitionSubstitutions: &map[string]*string{
			"InventoryFunctionArn": p.Inventory.FunctionArn(),
			"ShippingFunctionArn":  p.Shipping.FunctionArn(),
			"PaymentsQueueUrl":     p.Payments.QueueUrl(),
			"SagasTable":           p.Sagas.TableName(),
			"ShipmentsTable":       p.Shipments.TableName(),
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
	p.Payments.Grant(sm, jsii.String("sqs:SendMessage")) // not GrantSendMessages: the task needs no GetQueueUrl/Attributes
	p.Bus.GrantPutEventsTo(sm, nil)
	p.Sagas.Grant(sm, jsii.String("dynamodb:PutItem"))     // ClaimSaga: a conditional put
	p.Shipments.Grant(sm, jsii.String("dynamodb:PutItem")) // SealShipment: a conditional put

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
