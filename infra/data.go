package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Tables are the DynamoDB tables; each service owns its own and no other service writes to it.
type Tables struct {
	EventStore     awsdynamodb.Table // every event of every order: pk orderId, sk sequence (event sourcing)
	Inventory      awsdynamodb.Table // stock per SKU and one reservation per order
	Payments       awsdynamodb.Table // one charge decision per order
	PaymentIntents awsdynamodb.Table // the payment token of each order, handed over by order-api (payments service)
	Idempotency    awsdynamodb.Table // the Idempotency-Keys of POST /orders, per customer (order-api)
	Sagas          awsdynamodb.Table // which execution runs each order's saga (the state machine)
	Shipments      awsdynamodb.Table // one shipment per order, or its seal (SealShipment)
	Notifications  awsdynamodb.Table // one notification per event per channel
	Analytics      awsdynamodb.Table // sales totals and the events already counted
}

// customerOrdersIndex lists a customer's orders: the event store's OrderPlaced items carry
// customerId and placedAt (dynamo.CustomerOrdersIndex names it for the functions).
const customerOrdersIndex = "byCustomer"

// NewTables defines the tables: on-demand, encrypted with the AWS managed key, point-in-time recovery on.
func NewTables(scope constructs.Construct) Tables {
	s := constructs.NewConstruct(scope, jsii.String("Tables"))
	eventStore := newTable(s, "EventStore", "orderId", "sequence", awsdynamodb.AttributeType_NUMBER, "")
	eventStore.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:        jsii.String(customerOrdersIndex),
		PartitionKey:     &awsdynamodb.Attribute{Name: jsii.String("customerId"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:          &awsdynamodb.Attribute{Name: jsii.String("placedAt"), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType:   awsdynamodb.ProjectionType_INCLUDE,
		NonKeyAttributes: jsii.Strings("envelope"),
	})
	return Tables{
		EventStore:     eventStore,
		Inventory:      newTable(s, "Inventory", "pk", "", "", ""),
		Payments:       newTable(s, "Payments", "orderId", "", "", ""),
		PaymentIntents: newTable(s, "PaymentIntents", "intentId", "", "", "expiresAt"),
		Idempotency:    newTable(s, "Idempotency", "customerId", "key", awsdynamodb.AttributeType_STRING, "expiresAt"),
		Sagas:          newTable(s, "Sagas", "orderId", "", "", ""),
		Shipments:      newTable(s, "Shipments", "orderId", "", "", ""),
		Notifications:  newTable(s, "Notifications", "eventId", "channel", awsdynamodb.AttributeType_STRING, "expiresAt"),
		Analytics:      newTable(s, "Analytics", "pk", "", "", "expiresAt"),
	}
}

func newTable(scope constructs.Construct, id, pk, sk string, skType awsdynamodb.AttributeType, ttl string) awsdynamodb.Table {
	props := &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(pk), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:   awsdynamodb.TableEncryption_AWS_MANAGED,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		// A reference app is deployed to learn and torn down again; keep data with RETAIN in production.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	}
	if sk != "" {
		props.SortKey = &awsdynamodb.Attribute{Name: jsii.String(sk), Type: skType}
	}
	if ttl != "" {
		props.TimeToLiveAttribute = jsii.String(ttl)
	}
	return awsdynamodb.NewTable(scope, jsii.String(id), props)
}

// grantOn grants actions on exactly the given resources of a table: the table itself, plus
// any of its indexes named (CDK's Table.Grant adds "<table>/index/*" once the table has one).
func grantOn(grantee awsiam.IGrantable, table awsdynamodb.ITable, indexes []string, actions ...string) {
	arns := []*string{table.TableArn()}
	for _, ix := range indexes {
		arns = append(arns, awscdk.Fn_Join(jsii.String(""), &[]*string{table.TableArn(), jsii.String("/index/" + ix)}))
	}
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{Grantee: grantee, Actions: jsii.Strings(actions...), ResourceArns: &arns})
}
