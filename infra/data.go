package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Tables are the DynamoDB tables; each service owns its own and no other service writes to it.
type Tables struct {
	EventStore    awsdynamodb.Table // every event of every order: pk orderId, sk sequence (event sourcing)
	Inventory     awsdynamodb.Table // stock per SKU and one reservation per order
	Payments      awsdynamodb.Table // one charge decision per order
	Shipments     awsdynamodb.Table // one shipment per order
	Notifications awsdynamodb.Table // one notification per event per channel
	Analytics     awsdynamodb.Table // sales totals and the events already counted
}

// NewTables defines the tables: on-demand, encrypted with the AWS managed key, point-in-time recovery on.
func NewTables(scope constructs.Construct) Tables {
	s := constructs.NewConstruct(scope, jsii.String("Tables"))
	return Tables{
		EventStore:    newTable(s, "EventStore", "orderId", "sequence", awsdynamodb.AttributeType_NUMBER, ""),
		Inventory:     newTable(s, "Inventory", "pk", "", "", ""),
		Payments:      newTable(s, "Payments", "orderId", "", "", ""),
		Shipments:     newTable(s, "Shipments", "orderId", "", "", ""),
		Notifications: newTable(s, "Notifications", "eventId", "channel", awsdynamodb.AttributeType_STRING, "expiresAt"),
		Analytics:     newTable(s, "Analytics", "pk", "", "", "expiresAt"),
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
