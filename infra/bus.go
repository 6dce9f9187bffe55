package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow-dev/orderflow/events"
)

// Event sources (one per producer) and the types a customer hears about: the event registry's.
var (
	orderSources   = events.Sources()
	customerFacing = typeNames(events.CustomerFacing())
)

// typeNames are the types' names: their EventBridge detail-types.
func typeNames(ts []events.Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

// Bus is the router: a custom event bus and the rules that send each event where it is needed.
type Bus struct {
	Bus  awsevents.EventBus
	name *string // the bus's name, computed without referring to the bus (its own policy names it)
	// One DLQ per rule: a delivery that EventBridge gives up on lands in its rule's DLQ.
	WorkflowDLQ, StreamDLQ, NotifyDLQ awssqs.Queue
}

// BusTargets are the consumers the rules deliver to.
type BusTargets struct {
	Workflow awsstepfunctions.IStateMachine // OrderPlaced → the fulfilment saga
	Streamer awslambda.IFunction            // every order event → the Kinesis stream (see stream.go)
	Topic    awssns.ITopic                  // customer-facing events → notifications
}

// NewBus defines the orders bus, named after the stack ("<stack>-orders") so that its resource
// policy can name it without naming itself. Rules are added by AddRules once their targets
// exist, and the policy by OnlyProducers once the producers exist.
func NewBus(scope constructs.Construct) *Bus {
	s := constructs.NewConstruct(scope, jsii.String("Router"))
	name := awscdk.Fn_Join(jsii.String("-"), &[]*string{awscdk.Aws_STACK_NAME(), jsii.String("orders")})
	return &Bus{
		name: name,
		Bus: awsevents.NewEventBus(s, jsii.String("Orders"), &awsevents.EventBusProps{
			Description:  jsii.String("orderflow: every order event"),
			EventBusName: name,
		}),
		WorkflowDLQ: NewDeadLetterQueue(s, "WorkflowRuleDLQ"),
		StreamDLQ:   NewDeadLetterQueue(s, "StreamRuleDLQ"),
		NotifyDLQ:   NewDeadLetterQueue(s, "NotifyRuleDLQ"),
	}
}

// AddRules routes events: OrderPlaced starts the saga, every order event goes to the stream,
// customer-facing events go to the notifications topic. Every target retries for up to a day and
// then dead-letters. Each grant to EventBridge (the role it assumes to start the saga, the
// topic's policy, each DLQ's policy, the streamer's permission) holds for this account's rules
// on this bus only, against a confused deputy: each names its rule (or the bus's rules) in
// aws:SourceArn, a full ARN, account included; the role's trust policy and the notify rule's
// topic and DLQ policies also check aws:SourceAccount (the DLQ policies CDK's targets write,
// and the streamer's permission, carry aws:SourceArn alone).
func (b *Bus) AddRules(t BusTargets) {
	age, attempts := awscdk.Duration_Hours(jsii.Number(24)), jsii.Number(185) // EventBridge's maximum
	starter := awsiam.NewRole(b.Bus, jsii.String("StartsTheSaga"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge assumes it to start order-fulfilment, for the orders bus's rules only"),
		AssumedBy:   b.eventBridge(),
	})
	awsevents.NewRule(b.Bus, jsii.String("OrderPlacedToWorkflow"), &awsevents.RuleProps{
		EventBus:     b.Bus,
		Description:  jsii.String("OrderPlaced starts the order-fulfilment state machine"),
		EventPattern: &awsevents.EventPattern{Source: jsii.Strings(events.SourceOf(events.TypeOrderPlaced)), DetailType: jsii.Strings(string(events.TypeOrderPlaced))},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSfnStateMachine(t.Workflow, &awseventstargets.SfnStateMachineProps{
			DeadLetterQueue: b.WorkflowDLQ, MaxEventAge: age, RetryAttempts: attempts, Role: starter,
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
		Targets:      &[]awsevents.IRuleTarget{&topicTarget{topic: t.Topic, dlq: b.NotifyDLQ, maxAge: age, attempts: attempts}},
	})
}

// eventBridge is the EventBridge service principal, for this account's rules on this bus only.
func (b *Bus) eventBridge() awsiam.IPrincipal {
	return awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), &awsiam.ServicePrincipalOpts{
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
			"ArnLike":      map[string]any{"aws:SourceArn": b.RuleArns()},
		},
	})
}

// topicTarget sends a rule's events to an SNS topic as awseventstargets.SnsTopic does, except
// that the topic's policy lets EventBridge publish for this rule and account only (the L2
// target grants the service principal without conditions).
type topicTarget struct {
	topic    awssns.ITopic
	dlq      awssqs.IQueue
	maxAge   awscdk.Duration
	attempts *float64
}

// Bind implements awsevents.IRuleTarget.
func (t *topicTarget) Bind(rule interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	fromThisRule := func(action string, resource *string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
			Actions:    jsii.Strings(action),
			Resources:  &[]*string{resource},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
				"ArnEquals":    map[string]any{"aws:SourceArn": rule.RuleRef().RuleArn},
			},
		})
	}
	t.topic.AddToResourcePolicy(fromThisRule("sns:Publish", t.topic.TopicArn()))
	t.dlq.AddToResourcePolicy(fromThisRule("sqs:SendMessage", t.dlq.QueueArn()))
	return &awsevents.RuleTargetConfig{
		Arn:              t.topic.TopicArn(),
		DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: t.dlq.QueueArn()},
		RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
			MaximumEventAgeInSeconds: t.maxAge.ToSeconds(nil), MaximumRetryAttempts: t.attempts,
		},
		TargetResource: t.topic,
	}
}

// Producers are the only principals allowed to put order events on the bus.
type Producers struct {
	Orders     awsiam.IRole // order-api: OrderPlaced (source orderflow.orders)
	Fulfilment awsiam.IRole // the state machine: every other event, whatever its source
}

// OnlyProducers sets the bus's resource policy: nobody but the stack's own producers may put
// events with an orderflow.* source on it, whatever their identity policies allow, so that no
// one else (another function of the account, a developer's credentials) can forge an order
// event that the saga, the stream and the notifications would trust. The policy only denies:
// each producer's role still needs its own events:PutEvents grant.
func (b *Bus) OnlyProducers(p Producers) {
	busArn := b.arn(jsii.String("event-bus/"), b.name)
	deny := func(sid string, condition map[string]any) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("events:PutEvents"),
			Resources:  &[]*string{busArn},
			Conditions: &condition,
		})
	}
	fulfilmentSources := []string{}
	for _, src := range orderSources {
		if src != events.SourceOrders {
			fulfilmentSources = append(fulfilmentSources, src)
		}
	}
	doc := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		deny("OnlyOrderApiPutsOrderPlaced", map[string]any{
			"StringEquals": map[string]any{"events:source": events.SourceOrders},
			"ArnNotEquals": map[string]any{"aws:PrincipalArn": p.Orders.RoleArn()},
		}),
		deny("OnlyTheSagaPutsFulfilmentEvents", map[string]any{
			"StringEquals": map[string]any{"events:source": fulfilmentSources},
			"ArnNotEquals": map[string]any{"aws:PrincipalArn": p.Fulfilment.RoleArn()},
		}),
		deny("NoOtherOrderflowSources", map[string]any{
			"StringLike":      map[string]any{"events:source": "orderflow.*"},
			"StringNotEquals": map[string]any{"events:source": orderSources},
		}),
	}})
	b.Bus.Node().DefaultChild().(awsevents.CfnEventBus).SetPolicy(doc)
}

// arn is an EventBridge ARN of this account and region: arn:<partition>:events:<region>:<account>:<parts...>.
func (b *Bus) arn(parts ...*string) *string {
	all := []*string{
		jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":events:"), awscdk.Aws_REGION(), jsii.String(":"), awscdk.Aws_ACCOUNT_ID(), jsii.String(":"),
	}
	all = append(all, parts...)
	return awscdk.Fn_Join(jsii.String(""), &all)
}

// RuleArns is the ARN pattern of every rule on the bus: what EventBridge names as
// aws:SourceArn when a rule's target publishes.
func (b *Bus) RuleArns() *string { return b.arn(jsii.String("rule/"), b.name, jsii.String("/*")) }
