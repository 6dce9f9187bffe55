package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orderflow-dev/orderflow/events"
)

// One synthesized stack (arm64, cdk-nag applied) shared by every test: synthesis costs seconds.
var (
	stack    awscdk.Stack
	template assertions.Template
	tpl      map[string]any // template.ToJSON(), for stack-wide checks in plain Go
)

func TestMain(m *testing.M) {
	code := func() int {
		defer jsii.Close()
		root, err := filepath.Abs("..")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// make test-unit names the folder, to lint the AWS template (Test.template.json) after the tests.
		out := os.Getenv("ORDERFLOW_INFRA_TEST_OUT")
		if out == "" {
			out = filepath.Join(os.TempDir(), "orderflow-infra-test.out")
		}
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out)})
		stack = NewOrderflowStack(app, "Test", &OrderflowStackProps{Architecture: ARM64, SourceRoot: root})
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
		template = assertions.Template_FromStack(stack, nil)
		tpl = *template.ToJSON()
		return m.Run()
	}()
	os.Exit(code)
}

// resources returns the template's resources of one type, by logical id.
func resources(t *testing.T, typ string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			props, _ := res["Properties"].(map[string]any)
			out[id] = props
		}
	}
	return out
}

// get walks a path of keys through nested maps.
func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// hasProps asserts that some resource of typ matches props (assertions panics on a mismatch).
func hasProps(t *testing.T, typ string, props any) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", typ, r)
		}
	}()
	template.HasResourceProperties(jsii.String(typ), props)
}

func TestResourceCounts(t *testing.T) {
	for typ, want := range map[string]int{
		"AWS::Lambda::Function":            9,
		"AWS::Events::EventBus":            1,
		"AWS::Events::Rule":                4,
		"AWS::StepFunctions::StateMachine": 1,
		"AWS::SNS::Topic":                  2, // notifications, alarms
		"AWS::CloudWatch::Dashboard":       1,
		"AWS::SNS::Subscription":           2,
		"AWS::Kinesis::Stream":             1,
		"AWS::DynamoDB::Table":             9,
		"AWS::ApiGatewayV2::Api":           1,
		"AWS::ApiGatewayV2::Route":         5, // four, and $default
		"AWS::ApiGatewayV2::Authorizer":    1,
		"AWS::Cognito::UserPool":           1,
		"AWS::Cognito::UserPoolClient":     1,
		"AWS::ApiGatewayV2::Stage":         1,
		"AWS::Lambda::EventSourceMapping":  5, // payments, email, sms (SQS); projector, analytics (Kinesis)
	} {
		if got := len(resources(t, typ)); got != want {
			t.Errorf("%s: %d resources, want %d", typ, got, want)
		}
	}
}

func TestEveryFunctionSharesTheDefaults(t *testing.T) {
	for id, p := range resources(t, "AWS::Lambda::Function") {
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
			t.Errorf("%s: runtime %v handler %v, want provided.al2023 / bootstrap", id, p["Runtime"], p["Handler"])
		}
		if archs, _ := p["Architectures"].([]any); len(archs) != 1 || archs[0] != "arm64" {
			t.Errorf("%s: architectures %v, want [arm64]", id, p["Architectures"])
		}
		if get(p, "TracingConfig", "Mode") != "Active" {
			t.Errorf("%s: X-Ray tracing not active", id)
		}
		if get(p, "LoggingConfig", "LogFormat") != "JSON" || get(p, "LoggingConfig", "LogGroup") == nil {
			t.Errorf("%s: logging %v, want JSON to its own log group", id, p["LoggingConfig"])
		}
		// Less than one vCPU of CPU time (a whole one at 1,769 MB): one P.
		if mem, _ := p["MemorySize"].(float64); mem <= 0 || mem >= 1769 {
			t.Errorf("%s: memory %v MB, want under 1,769 (GOMAXPROCS=1 assumes less than a vCPU)", id, p["MemorySize"])
		}
		if got := get(p, "Environment", "Variables", "GOMAXPROCS"); got != "1" {
			t.Errorf("%s: GOMAXPROCS %v, want 1", id, got)
		}
	}
}

func TestEveryQueueIsEncryptedAndWorkQueuesHaveADLQ(t *testing.T) {
	queues := resources(t, "AWS::SQS::Queue")
	dlqs := 0
	for id, p := range queues {
		if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
			t.Errorf("%s: not encrypted at rest", id)
		}
		if p["RedrivePolicy"] == nil {
			dlqs++ // a DLQ has none; every DLQ is checked to be some queue's or target's DLQ below
			continue
		}
		if got := get(p, "RedrivePolicy", "maxReceiveCount"); got != float64(maxReceiveCount) {
			t.Errorf("%s: maxReceiveCount %v, want %d", id, got, maxReceiveCount)
		}
	}
	// 3 work queues (payments, email, sms), each with a DLQ; 3 rule DLQs, 3 stream DLQs, 2 subscription
	// DLQs, the rescuer's and its rule's.
	if len(queues) != 3*2+3+3+2+2 || dlqs != 3+3+3+2+2 {
		t.Errorf("%d queues of which %d without redrive, want 16 and 13", len(queues), dlqs)
	}
	policies := resources(t, "AWS::SQS::QueuePolicy")
	enforced := map[string]bool{}
	for _, p := range policies {
		for _, s := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(s, "Effect") == "Deny" && get(s, "Condition", "Bool", "aws:SecureTransport") == "false" {
				for _, q := range p["Queues"].([]any) {
					enforced[fmt.Sprint(get(q, "Ref"))] = true
				}
			}
		}
	}
	for id := range queues {
		if !enforced[id] {
			t.Errorf("%s: TLS not enforced by its queue policy", id)
		}
	}
}

func TestEverySQSSourceReportsBatchItemFailures(t *testing.T) {
	kinesis := 0
	for id, p := range resources(t, "AWS::Lambda::EventSourceMapping") {
		types, _ := p["FunctionResponseTypes"].([]any)
		if len(types) != 1 || types[0] != "ReportBatchItemFailures" {
			t.Errorf("%s: FunctionResponseTypes %v, want [ReportBatchItemFailures]", id, p["FunctionResponseTypes"])
		}
		if p["StartingPosition"] != nil { // a Kinesis source
			kinesis++
			if p["StartingPosition"] != "TRIM_HORIZON" || p["BisectBatchOnFunctionError"] != true ||
				get(p, "DestinationConfig", "OnFailure", "Destination") == nil || p["MaximumRetryAttempts"] == nil {
				t.Errorf("%s: Kinesis source without TRIM_HORIZON, bisect, bounded retries and an on-failure DLQ: %v", id, p)
			}
		}
	}
	if kinesis != 2 {
		t.Errorf("%d Kinesis sources, want 2 (projector, analytics)", kinesis)
	}
}

func TestEveryRuleTargetHasADLQ(t *testing.T) {
	for id, p := range resources(t, "AWS::Events::Rule") {
		if p["EventBusName"] == nil && fmt.Sprint(get(p, "EventPattern", "source")) != "[aws.states]" {
			t.Errorf("%s: rule on the default bus, want the orders bus (only AWS's own events, which arrive there, may be routed from it)", id)
		}
		for _, target := range p["Targets"].([]any) {
			if get(target, "DeadLetterConfig", "Arn") == nil || get(target, "RetryPolicy") == nil {
				t.Errorf("%s: target %v has no DLQ or retry policy", id, get(target, "Id"))
			}
		}
	}
}

func TestRules(t *testing.T) {
	hasProps(t, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": []any{"orderflow.orders"}, "detail-type": []any{"OrderPlaced"}},
		"Targets":      assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{"Arn": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("OrderFulfilment"))}})}),
	})
	hasProps(t, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": orderSourcesAny()},
	})
	hasProps(t, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": orderSourcesAny(), "detail-type": anys(customerFacing)}, // the registry's customer-facing types
	})
}

func orderSourcesAny() []any { return anys(orderSources) }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestEncryptionAtRest(t *testing.T) {
	for id, p := range resources(t, "AWS::DynamoDB::Table") {
		if get(p, "SSESpecification", "SSEEnabled") != true {
			t.Errorf("%s: table not encrypted with KMS", id)
		}
		if get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
			t.Errorf("%s: point-in-time recovery off", id)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("%s: billing %v", id, p["BillingMode"])
		}
	}
	hasProps(t, "AWS::Kinesis::Stream", map[string]any{"StreamEncryption": map[string]any{"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}})
	hasProps(t, "AWS::SNS::Topic", map[string]any{"KmsMasterKeyId": assertions.Match_AnyValue()})
	hasProps(t, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true})
}

func TestEventStoreKeys(t *testing.T) {
	hasProps(t, "AWS::DynamoDB::Table", map[string]any{
		"KeySchema": []any{
			map[string]any{"AttributeName": "orderId", "KeyType": "HASH"},
			map[string]any{"AttributeName": "sequence", "KeyType": "RANGE"},
		},
		"AttributeDefinitions": assertions.Match_ArrayWith(&[]any{map[string]any{"AttributeName": "sequence", "AttributeType": "N"}}),
	})
	hasProps(t, "AWS::DynamoDB::Table", map[string]any{
		"KeySchema":               []any{map[string]any{"AttributeName": "eventId", "KeyType": "HASH"}, map[string]any{"AttributeName": "channel", "KeyType": "RANGE"}},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expiresAt", "Enabled": true},
	})
}

func TestNotificationsFanOut(t *testing.T) {
	subs := resources(t, "AWS::SNS::Subscription")
	filtered := 0
	for id, p := range subs {
		if p["Protocol"] != "sqs" || p["RawMessageDelivery"] != true {
			t.Errorf("%s: protocol %v raw %v, want sqs with raw delivery", id, p["Protocol"], p["RawMessageDelivery"])
		}
		if p["FilterPolicy"] != nil {
			filtered++
			if p["FilterPolicyScope"] != "MessageBody" || fmt.Sprint(get(p, "FilterPolicy", "detail-type")) != fmt.Sprint(events.SMSTypes()) {
				t.Errorf("%s: filter %v scope %v, want detail-type %v (the registry's SMS types) on the body", id, p["FilterPolicy"], p["FilterPolicyScope"], events.SMSTypes())
			}
		}
	}
	if filtered != 1 {
		t.Errorf("%d filtered subscriptions, want 1", filtered)
	}
}

func TestWorkflow(t *testing.T) {
	hasProps(t, "AWS::StepFunctions::StateMachine", map[string]any{
		"StateMachineType":     "STANDARD",
		"TracingConfiguration": map[string]any{"Enabled": true},
		// Logs of every state, without execution data: inputs and outputs hold customer data and task tokens.
		"LoggingConfiguration": assertions.Match_ObjectLike(&map[string]any{"Level": "ALL", "IncludeExecutionData": false}),
		"DefinitionSubstitutions": assertions.Match_ObjectLike(&map[string]any{
			"InventoryFunctionArn": assertions.Match_AnyValue(),
			"ShippingFunctionArn":  assertions.Match_AnyValue(),
			"PaymentsQueueUrl":     assertions.Match_AnyValue(),
			"SagasTable":           map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("Sagas"))},
		}),
	})
}

// TestServiceLogsAreVended: a log group a service delivers to (the state machine's execution
// logs, the API's access logs) is named under /aws/vendedlogs/<service>/<stack>-, or each new
// stack adds an entry to the account's size-capped CloudWatch Logs resource policy, until a
// deploy fails.
func TestServiceLogsAreVended(t *testing.T) {
	groups := map[string]string{} // resource id → the log group it delivers to
	for id, p := range resources(t, "AWS::StepFunctions::StateMachine") {
		for _, d := range list(get(p, "LoggingConfiguration", "Destinations")) {
			groups[id] = logicalIDIn(get(d, "CloudWatchLogsLogGroup", "LogGroupArn"))
		}
	}
	for id, p := range resources(t, "AWS::ApiGatewayV2::Stage") {
		groups[id] = logicalIDIn(get(p, "AccessLogSettings", "DestinationArn"))
	}
	if len(groups) != 2 {
		t.Errorf("%d resources deliver logs (%v), want the state machine and the API's stage", len(groups), groups)
	}
	for id, group := range groups {
		name, _ := get(tpl, "Resources", group, "Properties", "LogGroupName").(string)
		if !regexp.MustCompile(`^/aws/vendedlogs/[a-z]+/Test-[a-z-]+$`).MatchString(name) {
			t.Errorf("%s logs to %s named %q, want /aws/vendedlogs/<service>/<stack>-…", id, group, name)
		}
	}
}

func TestAPI(t *testing.T) {
	routes := []string{}
	for id, p := range resources(t, "AWS::ApiGatewayV2::Route") {
		key := p["RouteKey"].(string)
		routes = append(routes, key)
		// Only the catalogue is public; every other route needs the customers' JWT authorizer.
		wantAuth := "JWT"
		if key == "GET /products" {
			wantAuth = "NONE"
		}
		if got := p["AuthorizationType"]; got != wantAuth {
			t.Errorf("%s (%s): authorization %v, want %s", id, key, got, wantAuth)
		}
		if wantAuth == "JWT" && get(p, "AuthorizerId", "Ref") == nil {
			t.Errorf("%s (%s): no authorizer", id, key)
		}
	}
	sort.Strings(routes)
	if got := strings.Join(routes, ", "); got != "$default, GET /orders, GET /orders/{orderId}, GET /products, POST /orders" {
		t.Errorf("routes: %s", got)
	}
	hasProps(t, "AWS::ApiGatewayV2::Stage", map[string]any{
		"StageName":            "$default",
		"AutoDeploy":           true,
		"AccessLogSettings":    assertions.Match_ObjectLike(&map[string]any{"DestinationArn": assertions.Match_AnyValue()}),
		"DefaultRouteSettings": assertions.Match_ObjectLike(&map[string]any{"ThrottlingRateLimit": 100}),
	})
	hasProps(t, "AWS::ApiGatewayV2::Integration", map[string]any{"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"})
	// Each access-log line is JSON, and says who asked and why a refused request was refused.
	for id, p := range resources(t, "AWS::ApiGatewayV2::Stage") {
		var line map[string]string
		if err := json.Unmarshal([]byte(fmt.Sprint(get(p, "AccessLogSettings", "Format"))), &line); err != nil {
			t.Errorf("%s: access-log format is not a JSON object: %v", id, err)
		}
		for field, variable := range map[string]string{"status": "$context.status", "error": "$context.error.message",
			"authorizerError": "$context.authorizer.error", "customer": "$context.authorizer.claims.sub", "ip": "$context.identity.sourceIp"} {
			if line[field] != variable {
				t.Errorf("%s: access-log field %s = %q, want %s", id, field, line[field], variable)
			}
		}
	}
	for _, out := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId"} {
		if _, ok := get(tpl, "Outputs", out).(map[string]any); !ok {
			t.Errorf("no %s output", out)
		}
	}
}

// Customers sign in with Cognito: the JWT authorizer trusts the pool's issuer for the app
// client only, and the client lets any client get a token with USER_PASSWORD_AUTH.
func TestIdentity(t *testing.T) {
	hasProps(t, "AWS::ApiGatewayV2::Authorizer", map[string]any{
		"AuthorizerType": "JWT",
		"IdentitySource": []any{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{
			"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("Customers.*Api"))}},
			"Issuer": map[string]any{"Fn::Join": []any{"", []any{
				"https://cognito-idp.", map[string]any{"Ref": "AWS::Region"}, ".amazonaws.com/",
				map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("Customers"))},
			}}},
		},
	})
	hasProps(t, "AWS::Cognito::UserPoolClient", map[string]any{
		"ExplicitAuthFlows": assertions.Match_ArrayWith(&[]any{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}),
		"GenerateSecret":    false,
		// No unknown user is told apart from a wrong password.
		"PreventUserExistenceErrors": "ENABLED",
	})
	hasProps(t, "AWS::Cognito::UserPool", map[string]any{
		"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
			"MinimumLength": 12, "RequireLowercase": true, "RequireUppercase": true, "RequireNumbers": true, "RequireSymbols": true,
		})},
		// An unconfirmed new e-mail address does not take over account recovery.
		"UserAttributeUpdateSettings": map[string]any{"AttributesRequireVerificationBeforeUpdate": []any{"email"}},
	})
}

// Who may put an order event on the bus is decided by the bus, not by every identity policy
// of the account: orderflow.orders only by order-api's role, the other orderflow.* sources only
// by the state machine's role, and no other orderflow.* source at all.
func TestBusAcceptsOrderEventsOnlyFromTheirProducers(t *testing.T) {
	buses := resources(t, "AWS::Events::EventBus")
	if len(buses) != 1 {
		t.Fatalf("%d buses", len(buses))
	}
	var policy map[string]any
	for _, p := range buses {
		policy, _ = p["Policy"].(map[string]any)
	}
	statements, _ := get(policy, "Statement").([]any)
	if len(statements) != 3 {
		t.Fatalf("bus policy = %v, want 3 statements", policy)
	}
	roleOf := func(logicalPrefix string) func(any) bool {
		return func(v any) bool {
			ref, _ := get(v, "Fn::GetAtt").([]any)
			return len(ref) == 2 && strings.HasPrefix(fmt.Sprint(ref[0]), logicalPrefix) && ref[1] == "Arn"
		}
	}
	want := map[string]struct {
		sources   string
		principal func(any) bool
	}{
		"OnlyOrderApiPutsOrderPlaced":     {"orderflow.orders", roleOf("ApiOrderApiServiceRole")},
		"OnlyTheSagaPutsFulfilmentEvents": {"[orderflow.inventory orderflow.payments orderflow.fulfilment orderflow.shipping]", roleOf("FulfilmentOrderFulfilmentRole")},
	}
	for _, st := range statements {
		sid := fmt.Sprint(get(st, "Sid"))
		if get(st, "Effect") != "Deny" || get(st, "Action") != "events:PutEvents" || fmt.Sprint(get(st, "Principal", "AWS")) != "*" {
			t.Errorf("%s: %v, want a Deny of events:PutEvents to everyone but...", sid, st)
		}
		if sid == "NoOtherOrderflowSources" {
			if get(st, "Condition", "StringLike", "events:source") != "orderflow.*" || len(get(st, "Condition", "StringNotEquals", "events:source").([]any)) != len(orderSources) {
				t.Errorf("%s: condition %v", sid, get(st, "Condition"))
			}
			continue
		}
		w, ok := want[sid]
		if !ok {
			t.Errorf("unexpected statement %s", sid)
			continue
		}
		if got := fmt.Sprint(get(st, "Condition", "StringEquals", "events:source")); got != w.sources {
			t.Errorf("%s: sources %s, want %s", sid, got, w.sources)
		}
		if !w.principal(get(st, "Condition", "ArnNotEquals", "aws:PrincipalArn")) {
			t.Errorf("%s: exempts %v", sid, get(st, "Condition", "ArnNotEquals"))
		}
		delete(want, sid)
	}
	if len(want) > 0 {
		t.Errorf("missing statements: %v", want)
	}
}

// Only the state machine (and an operator, by principal tag, or the account's root user) may put
// a payment command on the payments queue: its policy denies sqs:SendMessage to everyone else.
func TestPaymentsQueueAcceptsCommandsOnlyFromTheSaga(t *testing.T) {
	var found []any
	for _, p := range resources(t, "AWS::SQS::QueuePolicy") {
		for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(st, "Sid") != "OnlyTheSagaAndOperatorsSendPaymentCommands" {
				continue
			}
			found = append(found, st)
			if queues := fmt.Sprint(p["Queues"]); !strings.Contains(queues, "PaymentsQueue") || strings.Contains(queues, "DLQ") {
				t.Errorf("on queues %s, want the payments queue alone", queues)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d such statements, want 1", len(found))
	}
	st := found[0]
	if get(st, "Effect") != "Deny" || get(st, "Action") != "sqs:SendMessage" || fmt.Sprint(get(st, "Principal", "AWS")) != "*" {
		t.Errorf("%v, want a Deny of sqs:SendMessage to everyone but...", st)
	}
	exempt, _ := get(st, "Condition", "ArnNotEquals", "aws:PrincipalArn").([]any)
	if len(exempt) != 2 || !strings.HasPrefix(fmt.Sprint(get(exempt[0], "Fn::GetAtt")), "[FulfilmentOrderFulfilmentRole") || !strings.Contains(fmt.Sprint(exempt[1]), ":root") {
		t.Errorf("exempts %v, want the state machine's role and the account's root user", exempt)
	}
	if get(st, "Condition", "StringNotEquals", "aws:PrincipalTag/"+OperatorTag) != "true" {
		t.Errorf("condition %v, want operators (tagged %s=true) exempt", get(st, "Condition"), OperatorTag)
	}
	// Left out of emulator deploys: MiniStack's Step Functions does not send as the saga's role.
	for id, p := range localResources(t, "AWS::SQS::QueuePolicy") {
		for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(st, "Sid") == "OnlyTheSagaAndOperatorsSendPaymentCommands" {
				t.Errorf("the emulator template carries it in %s", id)
			}
		}
	}
}

// Every resource policy that lets a service principal in names the account and the resource
// acting (aws:SourceAccount / aws:SourceArn): no other account's rule or topic can use it
// (confused deputy). The same for roles EventBridge assumes. The one exception, EventBridge's use
// of the topics' key, is limited to the notifications topic instead.
func TestServicePrincipalsAreConditioned(t *testing.T) {
	docs := map[string]any{}
	for id, p := range resources(t, "AWS::KMS::Key") {
		docs[id] = p["KeyPolicy"]
	}
	for _, typ := range []string{"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
		for id, p := range resources(t, typ) {
			docs[id] = p["PolicyDocument"]
		}
	}
	for id, p := range resources(t, "AWS::IAM::Role") {
		if strings.Contains(fmt.Sprint(p["AssumeRolePolicyDocument"]), "events.amazonaws.com") {
			docs[id] = p["AssumeRolePolicyDocument"]
		}
	}
	checked := 0
	for id, doc := range docs {
		for _, st := range get(doc, "Statement").([]any) {
			if get(st, "Principal", "Service") == nil || get(st, "Effect") != "Allow" {
				continue
			}
			checked++
			cond := fmt.Sprint(get(st, "Condition"))
			// EventBridge's use of the key that encrypts the notifications topic: a key policy does
			// not support aws:SourceArn for it (stack.go); the topic ARN of the encryption context
			// limits it to that topic instead.
			if strings.HasPrefix(id, "Key") && get(st, "Principal", "Service") == "events.amazonaws.com" {
				if !strings.Contains(cond, "kms:EncryptionContext:aws:sns:topicArn") {
					t.Errorf("%s: %v lets EventBridge use the key for any topic", id, get(st, "Action"))
				}
				continue
			}
			if !strings.Contains(cond, "aws:SourceArn") {
				t.Errorf("%s: %v lets %v in without aws:SourceArn", id, get(st, "Action"), get(st, "Principal", "Service"))
			}
		}
	}
	if checked < 6 {
		t.Errorf("only %d service-principal statements checked: the test would prove little", checked)
	}
	for id, p := range resources(t, "AWS::Lambda::Permission") {
		if p["SourceArn"] == nil {
			t.Errorf("%s: lets %v invoke without a SourceArn", id, p["Principal"])
		}
	}
}

func TestTables(t *testing.T) {
	// Idempotency-Keys, per customer, expiring; payment intents (the only table with tokens), expiring.
	hasProps(t, "AWS::DynamoDB::Table", map[string]any{
		"KeySchema":               []any{map[string]any{"AttributeName": "customerId", "KeyType": "HASH"}, map[string]any{"AttributeName": "key", "KeyType": "RANGE"}},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expiresAt", "Enabled": true},
	})
	hasProps(t, "AWS::DynamoDB::Table", map[string]any{
		"KeySchema":               []any{map[string]any{"AttributeName": "intentId", "KeyType": "HASH"}},
		"TimeToLiveSpecification": map[string]any{"AttributeName": "expiresAt", "Enabled": true},
	})
	// The event store lists a customer's orders through a sparse index on OrderPlaced items.
	hasProps(t, "AWS::DynamoDB::Table", map[string]any{
		"KeySchema": []any{map[string]any{"AttributeName": "orderId", "KeyType": "HASH"}, map[string]any{"AttributeName": "sequence", "KeyType": "RANGE"}},
		"GlobalSecondaryIndexes": []any{map[string]any{
			"IndexName":  customerOrdersIndex,
			"KeySchema":  []any{map[string]any{"AttributeName": "customerId", "KeyType": "HASH"}, map[string]any{"AttributeName": "placedAt", "KeyType": "RANGE"}},
			"Projection": map[string]any{"ProjectionType": "INCLUDE", "NonKeyAttributes": []any{"envelope"}},
		}},
	})
}

// No IAM statement may grant a wildcard action: every grant names the calls it allows.
func TestLeastPrivilegeNoWildcardActions(t *testing.T) {
	for id, p := range resources(t, "AWS::IAM::Policy") {
		for _, s := range get(p, "PolicyDocument", "Statement").([]any) {
			actions := get(s, "Action")
			list, ok := actions.([]any)
			if !ok {
				list = []any{actions}
			}
			for _, a := range list {
				if strings.Contains(fmt.Sprint(a), "*") {
					t.Errorf("%s: wildcard action %v", id, a)
				}
			}
		}
	}
}

// Every function's role writes to the function's own log group and to no other: no managed
// policy (AWSLambdaBasicExecutionRole would let it create and write any log group of the account),
// and every CloudWatch Logs grant it has names its own group.
func TestFunctionsWriteTheirOwnLogsOnly(t *testing.T) {
	roles := resources(t, "AWS::IAM::Role")
	policies := resources(t, "AWS::IAM::Policy")
	for id, fn := range resources(t, "AWS::Lambda::Function") {
		roleID := fmt.Sprint(get(fn, "Role", "Fn::GetAtt").([]any)[0])
		logGroup := get(fn, "LoggingConfig", "LogGroup", "Ref")
		if managed := get(roles[roleID], "ManagedPolicyArns"); managed != nil {
			t.Errorf("%s: role %s has managed policies %v, want none", id, roleID, managed)
		}
		own := 0
		for pid, p := range policies {
			if !strings.Contains(fmt.Sprint(get(p, "Roles")), roleID) {
				continue
			}
			for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
				if !strings.Contains(fmt.Sprint(get(st, "Action")), "logs:") {
					continue
				}
				if ref, _ := get(st, "Resource", "Fn::GetAtt").([]any); len(ref) != 2 || ref[0] != logGroup {
					t.Errorf("%s: %s grants %v on %v, want its own log group %v only", id, pid, get(st, "Action"), get(st, "Resource"), logGroup)
					continue
				}
				own++
			}
		}
		if own == 0 || logGroup == nil {
			t.Errorf("%s: no grant to write to its own log group %v", id, logGroup)
		}
	}
}

// Grants the code never calls are left out where CDK's grant helpers would add them: the
// functions that park a message themselves may only send to their DLQ (deadletter.Queue calls
// SendMessage alone), and the streamer puts one record an invoke (no PutRecords). order-api,
// which faces the internet, may write payment intents but not read their tokens back.
func TestGrantsAreWhatTheCodeCalls(t *testing.T) {
	checked, intents := 0, 0
	for id, p := range resources(t, "AWS::IAM::Policy") {
		for _, s := range get(p, "PolicyDocument", "Statement").([]any) {
			actions := fmt.Sprint(get(s, "Action"))
			if strings.Contains(actions, "kinesis:PutRecords") {
				t.Errorf("%s grants kinesis:PutRecords, which no function calls", id)
			}
			if strings.HasPrefix(id, "ApiOrderApi") && strings.Contains(fmt.Sprint(get(s, "Resource")), "TablesPaymentIntents") {
				intents++
				if actions != "dynamodb:PutItem" {
					t.Errorf("%s grants %s on the payment intents, want dynamodb:PutItem alone", id, actions)
				}
			}
			ref, _ := get(s, "Resource", "Fn::GetAtt").([]any)
			if len(ref) != 2 || !strings.Contains(fmt.Sprint(ref[0]), "DLQ") ||
				!(strings.HasPrefix(id, "PaymentsFunction") || strings.HasPrefix(id, "NotificationsFunction")) {
				continue
			}
			checked++
			if actions != "sqs:SendMessage" {
				t.Errorf("%s grants %s on %v, want sqs:SendMessage alone", id, actions, ref[0])
			}
		}
	}
	if checked != 3 { // payments', email's and sms's DLQs
		t.Errorf("%d DLQ grants of payment and notifier checked, want 3", checked)
	}
	if intents != 1 {
		t.Errorf("%d grants of order-api on the payment intents, want 1", intents)
	}
}

// cdk-nag's AwsSolutions pack: every finding is fixed or suppressed with a reason in code.
func TestCdkNagAwsSolutions(t *testing.T) {
	errs := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, e := range *errs {
		t.Errorf("%s: %v", *e.Id, e.Entry.Data)
	}
	warnings := assertions.Annotations_FromStack(stack).FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
	for _, w := range *warnings {
		t.Errorf("%s: %v", *w.Id, w.Entry.Data)
	}
}

func TestParseArchitecture(t *testing.T) {
	for _, tc := range []struct {
		in      any
		want    Architecture
		wantErr bool
	}{
		{nil, ARM64, false}, {"", ARM64, false}, {"arm64", ARM64, false},
		{"x86_64", X8664, false}, {"amd64", X8664, false}, {"sparc", "", true}, {42, "", true},
	} {
		got, err := ParseArchitecture(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseArchitecture(%v) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// Every SQS consumer: the queue's visibility timeout is at least 6x the function's timeout (AWS's
// guidance for Lambda event sources), and the function knows the queue's maxReceiveCount
// (MAX_RECEIVE_COUNT) so that it parks a message with its reason on the last receive.
func TestSQSConsumersKnowTheirQueues(t *testing.T) {
	queues := resources(t, "AWS::SQS::Queue")
	functions := resources(t, "AWS::Lambda::Function")
	sqsSources := 0
	for id, esm := range resources(t, "AWS::Lambda::EventSourceMapping") {
		if esm["StartingPosition"] != nil {
			continue // Kinesis
		}
		sqsSources++
		queueID := fmt.Sprint(get(esm, "EventSourceArn", "Fn::GetAtt").([]any)[0])
		fnID := fmt.Sprint(get(esm, "FunctionName", "Ref"))
		q, fn := queues[queueID], functions[fnID]
		if q == nil || fn == nil {
			t.Fatalf("%s: queue %q or function %q not found", id, queueID, fnID)
		}
		visibility, _ := q["VisibilityTimeout"].(float64)
		timeout, _ := fn["Timeout"].(float64)
		if timeout == 0 || visibility < 6*timeout {
			t.Errorf("%s: visibility %vs, function %s timeout %vs; want visibility >= 6x the timeout", queueID, visibility, fnID, timeout)
		}
		if got := get(fn, "Environment", "Variables", "MAX_RECEIVE_COUNT"); got != fmt.Sprint(maxReceiveCount) {
			t.Errorf("%s: MAX_RECEIVE_COUNT %v, want %d (its queue's maxReceiveCount)", fnID, got, maxReceiveCount)
		}
	}
	if sqsSources != 3 {
		t.Errorf("%d SQS sources, want 3 (payments, email, sms)", sqsSources)
	}
	hasProps(t, "AWS::Lambda::Function", map[string]any{
		"Timeout":     paymentTimeoutSeconds,
		"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{"PAYMENTS_TABLE": assertions.Match_AnyValue(), "PAYMENT_INTENTS_TABLE": assertions.Match_AnyValue()})},
	})
	hasProps(t, "AWS::SQS::Queue", map[string]any{"VisibilityTimeout": paymentVisibilitySeconds})
}

// The streamer is invoked asynchronously by EventBridge: after Lambda's own retries a failed event
// must land in its DLQ, and the stream keeps a week to replay from.
func TestStreamPath(t *testing.T) {
	hasProps(t, "AWS::Lambda::EventInvokeConfig", map[string]any{
		"MaximumRetryAttempts": 2,
		"DestinationConfig":    map[string]any{"OnFailure": map[string]any{"Destination": assertions.Match_AnyValue()}},
	})
	hasProps(t, "AWS::Kinesis::Stream", map[string]any{"RetentionPeriodHours": 168, "ShardCount": 1})
	hasProps(t, "AWS::Events::Rule", map[string]any{
		"EventPattern": map[string]any{"source": orderSourcesAny()},
		"Targets": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Arn": map[string]any{"Fn::GetAtt": assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("Streamer"))})},
		})}),
	})
}

// EventBridge publishes to the KMS-encrypted topic, so the key policy lets it use the key, with
// named actions only, for this account's rules on the orders bus only.
func TestKeyPolicyLetsEventBridgeUseTheKey(t *testing.T) {
	hasProps(t, "AWS::KMS::Key", map[string]any{
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Principal": map[string]any{"Service": "events.amazonaws.com"},
			"Action":    []any{"kms:Decrypt", "kms:GenerateDataKey"},
			"Effect":    "Allow",
			"Condition": map[string]any{
				"StringEquals": map[string]any{"kms:EncryptionContext:aws:sns:topicArn": map[string]any{"Fn::Join": []any{"", []any{
					"arn:", map[string]any{"Ref": "AWS::Partition"}, ":sns:", map[string]any{"Ref": "AWS::Region"}, ":", map[string]any{"Ref": "AWS::AccountId"}, ":",
					map[string]any{"Fn::Join": []any{"-", []any{map[string]any{"Ref": "AWS::StackName"}, "order-notifications"}}},
				}}}},
			},
		})})},
	})
	// The ARN it names is the notifications topic's.
	hasProps(t, "AWS::SNS::Topic", map[string]any{
		"TopicName": map[string]any{"Fn::Join": []any{"-", []any{map[string]any{"Ref": "AWS::StackName"}, "order-notifications"}}},
	})
}
