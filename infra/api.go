package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
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

// APIProps are what order-api reads and writes, and who may call it.
type APIProps struct {
	Bus                         awsevents.IEventBus
	EventStore, Inventory       awsdynamodb.ITable
	Idempotency, PaymentIntents awsdynamodb.ITable
	Customers                   awscognito.IUserPool
	CustomersClient             awscognito.IUserPoolClient
	// PlaceOrder is POST /orders' throttle (ParsePlaceOrderRate; zero: 50/s, burst 100).
	PlaceOrder RouteThrottle
}

// NewAPI defines the HTTP API on the $default stage with access logs and throttling, and the
// order-api function behind it. Every route needs a customer's Cognito token (the JWT authorizer
// is the API's default) except GET /products, the public catalogue; the $default route takes
// what no other route matches.
func NewAPI(scope constructs.Construct, d FunctionDefaults, p APIProps) *API {
	s := constructs.NewConstruct(scope, jsii.String("Api"))
	fn := NewGoFunction(s, "OrderApi", d, GoFunctionProps{
		Name:        "order-api", // no reserved concurrency: the route throttles are its bound (infra/concurrency.go)
		Description: "HTTP API: validates and prices orders of signed-in customers, publishes OrderPlaced, reads orders from the event store",
		Environment: map[string]*string{
			"EVENT_BUS_NAME":        p.Bus.EventBusName(),
			"EVENT_STORE_TABLE":     p.EventStore.TableName(),
			"INVENTORY_TABLE":       p.Inventory.TableName(),
			"IDEMPOTENCY_TABLE":     p.Idempotency.TableName(),
			"PAYMENT_INTENTS_TABLE": p.PaymentIntents.TableName(),
		},
	})
	p.Bus.GrantPutEventsTo(fn, nil)
	grantOn(fn, p.EventStore, []string{customerOrdersIndex}, "dynamodb:Query") // an order's events; a customer's orders
	p.Inventory.Grant(fn, jsii.String("dynamodb:BatchGetItem"))                // stock for GET /products
	// Conditional writes only: claim a key, take over a dead request's lease, store the answer.
	p.Idempotency.Grant(fn, jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"), jsii.String("dynamodb:GetItem"))
	// Put once, the retry of a request decided by the put's condition: the function that faces the
	// internet writes payment tokens and never reads one (dynamo.PaymentIntents.Put).
	p.PaymentIntents.Grant(fn, jsii.String("dynamodb:PutItem"))
	suppressFunctionRoleFindings(fn)

	customers := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Customers"), p.Customers, &awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
		AuthorizerName:  jsii.String("customers"),
		UserPoolClients: &[]awscognito.IUserPoolClient{p.CustomersClient},
		IdentitySource:  jsii.Strings("$request.header.Authorization"),
	})
	api := awsapigatewayv2.NewHttpApi(s, jsii.String("Http"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("orderflow order API"),
		CreateDefaultStage: jsii.Bool(false),
		DefaultAuthorizer:  customers, // secure by default: a route must opt out
	})
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("OrderApi"), fn, nil)
	var placeOrder awsapigatewayv2.HttpRoute // the route the stage's RouteSettings name
	for _, r := range []struct {
		method awsapigatewayv2.HttpMethod
		path   string
		public bool
	}{
		{awsapigatewayv2.HttpMethod_GET, "/products", true},
		{awsapigatewayv2.HttpMethod_POST, "/orders", false},
		{awsapigatewayv2.HttpMethod_GET, "/orders", false},
		{awsapigatewayv2.HttpMethod_GET, "/orders/{orderId}", false},
	} {
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path: jsii.String(r.path), Methods: &[]awsapigatewayv2.HttpMethod{r.method}, Integration: integration,
		}
		if r.public {
			opts.Authorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
		}
		for _, route := range *api.AddRoutes(opts) {
			if r.method == awsapigatewayv2.HttpMethod_POST && r.path == "/orders" {
				placeOrder = route
			}
			if r.public {
				cdknag.NagSuppressions_AddResourceSuppressions(route, &[]*cdknag.NagPackSuppression{{
					Id:     jsii.String("AwsSolutions-APIG4"),
					Reason: jsii.String("GET /products is the public catalogue of a shop: anyone may browse it. Every other route needs a customer's token."),
				}}, jsii.Bool(true))
			}
		}
	}
	// The catch-all: a method or path no route above has reaches order-api, which answers 405 with
	// Allow on one of the API's resources and 404 elsewhere, in the API's own error shape (API
	// Gateway's would be {"message":"Not Found"} for both). It keeps the authorizer: an anonymous
	// request for a path that is not there costs no invocation, and gets API Gateway's 401.
	awsapigatewayv2.NewHttpRoute(s, jsii.String("DefaultRoute"), &awsapigatewayv2.HttpRouteProps{
		HttpApi: api, RouteKey: awsapigatewayv2.HttpRouteKey_DEFAULT(), Integration: integration, Authorizer: customers,
	})
	accessLogs := awslogs.NewLogGroup(s, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
		LogGroupName:  vendedLogGroupName(s, "apigateway", "access"),
		Retention:     awslogs.RetentionDays_TWO_WEEKS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := awsapigatewayv2.NewHttpStage(s, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:           api,
		StageName:         jsii.String("$default"),
		AutoDeploy:        jsii.Bool(true),
		AccessLogSettings: &accessLogSettings{group: accessLogs},
		Throttle:          &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(100), BurstLimit: jsii.Number(200)},
	})
	// POST /orders has its own, lower throttle: every order starts a saga, a GET costs one read.
	throttle := p.PlaceOrder
	if throttle == (RouteThrottle{}) {
		throttle = RouteThrottle{Rate: placeOrderRate, Burst: placeOrderBurst}
	}
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetRouteSettings(map[string]any{
		"POST /orders": map[string]any{"ThrottlingRateLimit": throttle.Rate, "ThrottlingBurstLimit": throttle.Burst},
	})
	// API Gateway refuses a stage whose RouteSettings name a route not there yet ("Unable to find
	// Route by key POST /orders"), and nothing else orders the two in the template: on a first
	// deploy CloudFormation would create the stage before the route, which waits for the function.
	stage.Node().AddDependency(placeOrder)
	return &API{HTTP: api, Function: fn}
}

// vendedLogGroupName names a log group an AWS service delivers logs to (API Gateway's access
// logs, Step Functions' execution logs): /aws/vendedlogs/<service>/<stack>-<what>. Such a service
// adds the group to the account's one CloudWatch Logs resource policy (5,120 characters) unless
// its name starts with /aws/vendedlogs/, which the policy covers with one entry once near its
// size; a group of CloudFormation's random naming adds an entry with every deploy of a new stack
// and is never taken out, until a deploy fails ("Cannot enable logging. Policy document length
// breaking Cloudwatch Logs Constraints" for the API's stage; Step Functions guide, "Avoiding
// CloudWatch Logs resource policy size restrictions").
func vendedLogGroupName(scope constructs.Construct, service, what string) *string {
	return jsii.String("/aws/vendedlogs/" + service + "/" + *awscdk.Stack_Of(scope).StackName() + "-" + what)
}

// accessLogSettings implements awsapigatewayv2.IAccessLogSettings: one JSON line per request:
// who (the address, the token's sub), what, the answer, and why API Gateway refused one (its
// error message: a throttle, a missing route; the JWT authorizer's).
type accessLogSettings struct{ group awslogs.ILogGroup }

func (a *accessLogSettings) Destination() awsapigatewayv2.IAccessLogDestination {
	return awsapigatewayv2.NewLogGroupLogDestination(a.group)
}

func (a *accessLogSettings) Format() awsapigateway.AccessLogFormat {
	return awsapigateway.AccessLogFormat_Custom(jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey","status":"$context.status","latency":"$context.responseLatency","integrationError":"$context.integrationErrorMessage","error":"$context.error.message","authorizerError":"$context.authorizer.error","customer":"$context.authorizer.claims.sub"}`))
}
