package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Event sources (one per producer) and types, as the events package defines them.
var (
	orderSources = []string{"orderflow.orders", "orderflow.inventory", "orderflow.payments", "orderflow.shipping", "orderflow.fulfilment"}
	// customerFacing are the events a customer hears about.
	customerFacing = []string{"OrderPlaced", "OrderConfirmed", "PaymentRefunded", "OrderShipped", "OrderCancelled"}
)

// Bus is the router: a custom event bus and the rules that send each event where it is needed.
type Bus struct {
	Bus awsevents.EventBus
	// One DLQ per rule: a delivery that EventBridge gives up on lands in its rule's DLQ.
	WorkflowDLQ, StreamDLQ, NotifyDLQ awssqs.Queue
}

// BusTargets are the consumers the rules deliver to.
type BusTargets struct {
	Workflow awsstepfunctions.IStateMachine // OrderPlaced → the fulfilment saga
	Streamer awslambda.IFunction            // every order event → the Kinesis stream (see stream.go)
	Topic    awssns.ITopic                  // customer-facing events → notifications
}

// NewBus defines the orders bus. Rules are added by AddRules once their targets exist.
func NewBus(scope constructs.Construct) *Bus {
	s := constructs.NewConstruct(scope, jsii.String("Router"))
	return &Bus{
		Bus:         awsevents.NewEventBus(s, jsii.String("Orders"), &awsevents.EventBusProps{Description: jsii.String("orderflow: every order event")}),
		WorkflowDLQ: NewDeadLetterQueue(s, "WorkflowRuleDLQ"),
		StreamDLQ:   NewDeadLetterQueue(s, "StreamRuleDLQ"),
		NotifyDLQ:   NewDeadLetterQueue(s, "NotifyRuleDLQ"),
	}
}

// AddRules routes events: OrderPlaced starts the saga, every order event goes to the stream,
// customer-facing events go to the notifications topic. Every target retries for up to a day and
// then dead-letters.
func (b *Bus) AddRules(t BusTargets) {
	age, attempts := awscdk.Duration_Hours(jsii.Number(24)), jsii.Number(185) // EventBridge's maximum
	awsevents.NewRule(b.Bus, jsii.String("OrderPlacedToWorkflow"), &awsevents.RuleProps{
		EventBus:     b.Bus,
		Description:  jsii.String("OrderPlaced starts the order-fulfilment state machine"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings("orderflow.orders"), DetailType: jsii.Strings("OrderPlaced")},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(t.Workflow, &awseventstargets.SfnStateMachineProps{
			DeadLetterQueue: b.WorkflowDLQ, MaxEventAge: age, RetryAttempts: attempts,
		})},
	})
	awsevents.NewRule(b.Bus, jsii.String("OrderEventsToStream"), &awsevents.RuleProps{
		EventBus:     b.Bus,
		Description:  jsii.String("Every order event is appended to the order-events stream (partition key: orderId)"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(orderSources...)},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(t.Streamer, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: b.StreamDLQ, MaxEventAge: age, RetryAttempts: attempts,
		})},
	})
	awsevents.NewRule(b.Bus, jsii.String("CustomerFacingToNotifications"), &awsevents.RuleProps{
		EventBus:     b.Bus,
		Description:  jsii.String("Customer-facing order events fan out to the order-notifications topic"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(orderSources...), DetailType: jsii.Strings(customerFacing...)},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(t.Topic, &awseventstargets.SnsTopicProps{
			DeadLetterQueue: b.NotifyDLQ, MaxEventAge: age, RetryAttempts: attempts,
		})},
	})
}
