package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// OrderflowStackProps configure the one stack. Nothing here is read from the environment.
type OrderflowStackProps struct {
	awscdk.StackProps
	Architecture Architecture // arm64 for AWS; the host's architecture for a local emulator
	SourceRoot   string       // the repository root, where functions/ lives
	AlarmEmail   string       // optional: the alarm topic e-mails it (context value alarmEmail)
	// Emulator: deployed to a local emulator (context value emulator=true, set by `make
	// deploy-local`). It adds only the allowances the emulator's IAM evaluator needs where it
	// evaluates differently from AWS; the AWS template never carries them (a template test).
	Emulator bool
	// NoReservedConcurrency: see FunctionDefaults.
	NoReservedConcurrency bool
	// Faults: see FunctionDefaults (context value faults; never set by `make deploy`).
	Faults map[string]string
	// Timeouts: see WorkflowProps (context values callbackTimeout, executionTimeout; set by
	// `make test-e2e` only).
	Timeouts Timeouts
	// PlaceOrder: POST /orders' route throttle (context placeOrderRate; zero: 50/s, burst 100).
	PlaceOrder RouteThrottle
}

// NewOrderflowStack wires the order flow:
//
//	HTTP API → order-api ─OrderPlaced→ EventBridge bus ─┬→ Step Functions saga → inventory, payments (SQS) , shipping
//	                                                    ├→ streamer → Kinesis → projector (event store), analytics
//	                                                    └→ SNS → SQS (email, sms) → notifier
func NewOrderflowStack(scope constructs.Construct, id string, props *OrderflowStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	d := FunctionDefaults{Architecture: props.Architecture, SourceRoot: props.SourceRoot, NoReservedConcurrency: props.NoReservedConcurrency, Faults: props.Faults}

	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("orderflow: encrypts the notifications and alarm topics"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	tables := NewTables(stack)
	bus := NewBus(stack)
	// EventBridge publishes to the encrypted notifications topic, so it must be able to use the
	// key: for that topic only (the encryption context SNS gives its key requests). Not with
	// aws:SourceAccount and aws:SourceArn, as the other grants to EventBridge are: the SNS
	// developer guide says a key policy does not support them for EventBridge publishing to an
	// encrypted topic, and with them every publish is refused (the rule's events all end in its
	// DLQ). The topic's own policy carries them (bus.go).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"), // in a key policy, "*" means this key
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"kms:EncryptionContext:aws:sns:topicArn": notificationsTopicArn()},
		},
	}), nil)
	identity := NewIdentity(stack)
	api := NewAPI(stack, d, APIProps{
		Bus: bus.Bus, EventStore: tables.EventStore, Inventory: tables.Inventory,
		Idempotency: tables.Idempotency, PaymentIntents: tables.PaymentIntents,
		Customers: identity.Pool, CustomersClient: identity.Client,
		PlaceOrder: props.PlaceOrder,
	})

	inventory := NewGoFunction(stack, "Inventory", d, GoFunctionProps{
		Name:        "inventory",
		Reserved:    taskConcurrency,
		Description: "Reserves and releases stock for an order (Step Functions task)",
		Environment: map[string]*string{"INVENTORY_TABLE": tables.Inventory.TableName(), "EVENT_BUS_NAME": bus.Bus.EventBusName()},
	})
	// Reservations are TransactWriteItems of Put + Update; GetItem reads a reservation back.
	tables.Inventory.Grant(inventory, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"))
	suppressFunctionRoleFindings(inventory)

	shipping := NewGoFunction(stack, "Shipping", d, GoFunctionProps{
		Name:        "shipping",
		Reserved:    taskConcurrency,
		Description: "Creates one shipment per order (Step Functions task)",
		Environment: map[string]*string{"SHIPMENTS_TABLE": tables.Shipments.TableName(), "PAYMENTS_TABLE": tables.Payments.TableName(), "EVENT_BUS_NAME": bus.Bus.EventBusName()},
	})
	tables.Shipments.Grant(shipping, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"))
	tables.Payments.Grant(shipping, jsii.String("dynamodb:GetItem")) // an order ships only if its charge is recorded
	suppressFunctionRoleFindings(shipping)

	payments := NewPayments(stack, d, tables.Payments, tables.PaymentIntents, tables.Shipments, bus.Bus.EventBusName())
	workflow := NewWorkflow(stack, WorkflowProps{Inventory: inventory, Shipping: shipping, Payments: payments.Queue, Bus: bus.Bus, Sagas: tables.Sagas, Shipments: tables.Shipments, Timeouts: props.Timeouts})
	workflow.GrantTaskResponse(payments.Function)
	if props.Emulator {
		// MiniStack 1.5.33 authorizes states:SendTaskSuccess/Failure/Heartbeat against Resource
		// "*": the request names only the task token, which it does not map to its state machine.
		// The grant above is scoped to the state machine, as AWS evaluates it.
		payments.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("EmulatorTaskTokenCallbacks"),
			Actions:   jsii.Strings("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"),
			Resources: jsii.Strings("*"),
		}))
		cdknag.NagSuppressions_AddResourceSuppressions(payments.Function.Role(), &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Emulator deploys only (context emulator=true): MiniStack checks task-token callbacks against Resource '*'. The AWS template scopes them to the state machine."),
			AppliesTo: &[]any{"Resource::*"},
		}}, jsii.Bool(true))
	}
	bus.OnlyProducers(Producers{Orders: api.Function.Role(), Fulfilment: workflow.Role()})
	if !props.Emulator {
		// MiniStack 1.5.33's Step Functions sends to SQS as whoever started the execution (through
		// the bus: order-api's role), not as the state machine's role, and under AUTH=true it
		// evaluates the queue's policy: the saga's own commands would be refused. Emulator deploys
		// leave the policy out (README, emulator gaps); a template test holds the AWS one.
		payments.OnlyTheSagaSends(workflow.Role())
	}

	notifications := NewNotifications(stack, d, key, tables.Notifications)
	stream := NewStream(stack, d, StreamTables{EventStore: tables.EventStore, Analytics: tables.Analytics})
	bus.AddRules(BusTargets{Workflow: workflow, Streamer: stream.Streamer, Topic: notifications.Topic})
	rescue := NewRescue(stack, d, workflow)
	ops := NewOperations(stack, OperationsProps{Key: key, AlarmEmail: props.AlarmEmail, Workflow: workflow, Stream: stream.Stream,
		Consumers: []awslambda.IFunction{stream.Projector, stream.Analytics}, API: api.HTTP})

	// Outputs: the API for people, the rest for the tests and scripts/ (trace, redrive, demo).
	for name, value := range map[string]*string{
		"ApiUrl":                  api.HTTP.ApiEndpoint(),
		"AlarmTopicArn":           ops.Topic.TopicArn(),
		"UserPoolId":              identity.Pool.UserPoolId(),
		"UserPoolClientId":        identity.Client.UserPoolClientId(),
		"EventBusName":            bus.Bus.EventBusName(),
		"StateMachineArn":         workflow.StateMachineArn(),
		"StreamName":              stream.Stream.StreamName(),
		"PaymentsQueueUrl":        payments.Queue.QueueUrl(),
		"PaymentsDlqUrl":          payments.DLQ.QueueUrl(),
		"EmailQueueUrl":           notifications.Email.Queue.QueueUrl(),
		"SmsQueueUrl":             notifications.SMS.Queue.QueueUrl(),
		"NotificationsTopicArn":   notifications.Topic.TopicArn(),
		"EventStoreTable":         tables.EventStore.TableName(),
		"InventoryTable":          tables.Inventory.TableName(),
		"PaymentsTable":           tables.Payments.TableName(),
		"PaymentIntentsTable":     tables.PaymentIntents.TableName(),
		"IdempotencyTable":        tables.Idempotency.TableName(),
		"SagasTable":              tables.Sagas.TableName(),
		"ShipmentsTable":          tables.Shipments.TableName(),
		"NotificationsTable":      tables.Notifications.TableName(),
		"AnalyticsTable":          tables.Analytics.TableName(),
		"ProjectorDlqUrl":         stream.ProjectorDLQ.QueueUrl(),
		"AnalyticsDlqUrl":         stream.AnalyticsDLQ.QueueUrl(),
		"StreamerDlqUrl":          stream.StreamerDLQ.QueueUrl(),
		"EmailDlqUrl":             notifications.Email.DLQ.QueueUrl(),
		"SmsDlqUrl":               notifications.SMS.DLQ.QueueUrl(),
		"EmailSubscriptionDlqUrl": notifications.EmailSubscriptionDLQ.QueueUrl(),
		"SmsSubscriptionDlqUrl":   notifications.SMSSubscriptionDLQ.QueueUrl(),
		"WorkflowRuleDlqUrl":      bus.WorkflowDLQ.QueueUrl(),
		"StreamRuleDlqUrl":        bus.StreamDLQ.QueueUrl(),
		"NotifyRuleDlqUrl":        bus.NotifyDLQ.QueueUrl(),
		"OrderApiFunctionName":    api.Function.FunctionName(),
		"InventoryFunctionName":   inventory.FunctionName(),
		"PaymentFunctionName":     payments.Function.FunctionName(),
		"ShippingFunctionName":    shipping.FunctionName(),
		"NotifierFunctionName":    notifications.Function.FunctionName(),
		"StreamerFunctionName":    stream.Streamer.FunctionName(),
		"RescuerFunctionName":     rescue.Function.FunctionName(),
		"RescuerDlqUrl":           rescue.DLQ.QueueUrl(),
		"RescueRuleDlqUrl":        rescue.RuleDLQ.QueueUrl(),
		"ProjectorFunctionName":   stream.Projector.FunctionName(),
		"AnalyticsFunctionName":   stream.Analytics.FunctionName(),
	} {
		awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{Value: value})
	}
	ops.Watch(stack) // last: it alarms on every function and dead-letter queue defined above
	awscdk.NewCfnOutput(stack, jsii.String("DashboardName"), &awscdk.CfnOutputProps{Value: ops.Dashboard.DashboardName()})
	return stack
}
