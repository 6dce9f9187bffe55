package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// API is the producer's front door: an HTTP API whose routes invoke order-api.
type API struct {
	HTTP     awsapigatewayv2.HttpApi
	Function awslambda.Function
}

// APIProps are what order-api reads and writes.
type APIProps struct {
	Bus                   awsevents.IEventBus
	EventStore, Inventory awsdynamodb.ITable
}

// NewAPI defines the HTTP API (GET /products, POST /orders, GET /orders/{orderId}) on the $default
// stage with access logs and throttling, and the order-api function behind it.
func NewAPI(scope constructs.Construct, d FunctionDefaults, p APIProps) *API {
	s := constructs.NewConstruct(scope, jsii.String("Api"))
	fn := NewGoFunction(s, "OrderApi", d, GoFunctionProps{
		Name:        "order-api",
		Description: "HTTP API: validates and prices orders, publishes OrderPlaced, reads orders from the event store",
		Environment: map[string]*string{
			"EVENT_BUS_NAME":    p.Bus.EventBusName(),
			"EVENT_STORE_TABLE": p.EventStore.TableName(),
			"INVENTORY_TABLE":   p.Inventory.TableName(),
		},
	})
	p.Bus.GrantPutEventsTo(fn, nil)
	p.EventStore.Grant(fn, jsii.String("dynamodb:Query"))
	p.Inventory.Grant(fn, jsii.String("dynamodb:BatchGetItem")) // stock for GET /products
	suppressFunctionRoleFindings(fn)

	api := awsapigatewayv2.NewHttpApi(s, jsii.String("Http"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("orderflow order API"),
		CreateDefaultStage: jsii.Bool(false),
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("OrderApi"), fn, nil)
	for _, r := range []struct {
		method awsapigatewayv2.HttpMethod
		path   string
	}{
		{awsapigatewayv2.HttpMethod_GET, "/products"},
		{awsapigatewayv2.HttpMethod_POST, "/orders"},
		{awsapigatewayv2.HttpMethod_GET, "/orders/{orderId}"},
	} {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(r.path), Methods: &[]awsapigatewayv2.HttpMethod{r.method}, Integration: integration,
		})
	}
	accessLogs := awslogs.NewLogGroup(s, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_TWO_WEEKS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	awsapigatewayv2.NewHttpStage(s, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:           api,
		StageName:         jsii.String("$default"),
		AutoDeploy:        jsii.Bool(true),
		AccessLogSettings: &accessLogSettings{group: accessLogs},
		Throttle:          &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(100), BurstLimit: jsii.Number(200)},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(api, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-APIG4"),
		Reason: jsii.String("A public storefront API for a reference app: anyone may browse and order. Add a JWT authorizer (awsapigatewayv2authorizers) before taking real orders."),
	}}, jsii.Bool(true))
	return &API{HTTP: api, Function: fn}
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings: one JSON line per request.
type accessLogSettings struct{ group awslogs.ILogGroup }

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return awsapigatewayv2.NewLogGroupLogDestination(a.group)
}

func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	return awsapigateway.AccessLogFormat_Custom(jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey","status":"$context.status","latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}`))
}
