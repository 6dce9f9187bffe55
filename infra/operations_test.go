package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// alarmsOn returns the alarms whose metric is name in namespace, by logical id.
func alarmsOn(t *testing.T, namespace, name string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, p := range resources(t, "AWS::CloudWatch::Alarm") {
		if p["Namespace"] == namespace && p["MetricName"] == name {
			out[id] = p
		}
	}
	return out
}

// dimension is the value of an alarm's dimension, as the template writes it.
func dimension(p map[string]any, name string) any {
	dims, _ := p["Dimensions"].([]any)
	for _, d := range dims {
		if get(d, "Name") == name {
			return get(d, "Value")
		}
	}
	return nil
}

// alarmTopic is the logical id of the alarm topic.
func alarmTopic(t *testing.T) string {
	t.Helper()
	for id, p := range resources(t, "AWS::SNS::Topic") {
		if p["DisplayName"] == "orderflow alarms" {
			return id
		}
	}
	t.Fatal("no alarm topic")
	return ""
}

// Every alarm tells the one alarm topic when it fires and when it clears.
func TestEveryAlarmNotifiesTheAlarmTopic(t *testing.T) {
	topic := alarmTopic(t)
	alarms := resources(t, "AWS::CloudWatch::Alarm")
	if len(alarms) == 0 {
		t.Fatal("no alarms")
	}
	for id, p := range alarms {
		for _, actions := range []string{"AlarmActions", "OKActions"} {
			if got := fmt.Sprint(p[actions]); got != fmt.Sprintf("[map[Ref:%s]]", topic) {
				t.Errorf("%s: %s %s, want the alarm topic", id, actions, got)
			}
		}
		// Missing data is no trouble (no traffic), but where it means nothing reads the stream.
		missing := "notBreaching"
		if p["MetricName"] == "GetRecords.IteratorAgeMilliseconds" {
			missing = "breaching"
		}
		if p["TreatMissingData"] != missing || p["AlarmDescription"] == nil || len(fmt.Sprint(p["AlarmDescription"])) < 40 {
			t.Errorf("%s: missing data %v, description %v: want %s and a description that says what to do", id, p["TreatMissingData"], p["AlarmDescription"], missing)
		}
	}
}

// A dead-letter queue that fills up wakes someone: every queue without a DLQ of its own is one,
// and each has an alarm on its visible messages, and one on the messages sent to it (the first
// stays in ALARM while any message is kept, and pages once; the second pages for more).
func TestEveryDeadLetterQueueHasAnAlarm(t *testing.T) {
	watched := map[string]map[string]bool{} // queue → metrics alarmed on
	for _, m := range []struct{ metric, op, statistic string }{
		{"ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", "Maximum"},
		{"NumberOfMessagesSent", "GreaterThanOrEqualToThreshold", "Sum"},
	} {
		for id, p := range alarmsOn(t, "AWS/SQS", m.metric) {
			ref, _ := get(dimension(p, "QueueName"), "Fn::GetAtt").([]any)
			if len(ref) != 2 || ref[1] != "QueueName" {
				t.Errorf("%s: dimension %v, want a queue's QueueName", id, dimension(p, "QueueName"))
				continue
			}
			if p["ComparisonOperator"] != m.op || p["Statistic"] != m.statistic {
				t.Errorf("%s: %v %v of the %v, want %s of the %s: any message at all", id, p["ComparisonOperator"], p["Threshold"], p["Statistic"], m.op, m.statistic)
			}
			if watched[fmt.Sprint(ref[0])] == nil {
				watched[fmt.Sprint(ref[0])] = map[string]bool{}
			}
			watched[fmt.Sprint(ref[0])][m.metric] = true
		}
	}
	dlqs := 0
	for id, p := range resources(t, "AWS::SQS::Queue") {
		if p["RedrivePolicy"] != nil {
			continue
		}
		dlqs++
		if len(watched[id]) != 2 {
			t.Errorf("dead-letter queue %s has alarms on %v, want its visible and its sent messages", id, watched[id])
		}
	}
	if dlqs < 11 {
		t.Errorf("%d dead-letter queues found, want at least 11", dlqs)
	}
}

func TestAlarms(t *testing.T) {
	for _, m := range []string{"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"} {
		got := alarmsOn(t, "AWS/States", m)
		if len(got) != 1 {
			t.Errorf("%d alarms on %s, want 1", len(got), m)
		}
		for id, p := range got {
			if get(dimension(p, "StateMachineArn"), "Ref") == nil || p["Threshold"] != float64(1) {
				t.Errorf("%s: %v", id, p)
			}
		}
	}
	functions := resources(t, "AWS::Lambda::Function")
	for _, m := range []string{"Errors", "Throttles"} {
		seen := map[string]bool{}
		for _, p := range alarmsOn(t, "AWS/Lambda", m) {
			seen[fmt.Sprint(get(dimension(p, "FunctionName"), "Ref"))] = true
		}
		for id := range functions {
			if !seen[id] {
				t.Errorf("function %s has no %s alarm", id, m)
			}
		}
	}
	// DestinationDeliveryFailures exists only for a function with a failure destination (Lambda
	// emits it for those alone): one alarm each, and none that could never fire.
	destinations := map[string]bool{}
	for _, typ := range []string{"AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping"} {
		for _, p := range resources(t, typ) {
			if get(p, "DestinationConfig", "OnFailure", "Destination") != nil {
				destinations[fmt.Sprint(get(p, "FunctionName", "Ref"))] = true
			}
		}
	}
	alarmed := map[string]bool{}
	for id, p := range alarmsOn(t, "AWS/Lambda", "DestinationDeliveryFailures") {
		fn := fmt.Sprint(get(dimension(p, "FunctionName"), "Ref"))
		if !destinations[fn] {
			t.Errorf("%s: DestinationDeliveryFailures of %s, which has no failure destination: it cannot fire", id, fn)
		}
		alarmed[fn] = true
	}
	if len(destinations) < 4 || !maps.Equal(alarmed, destinations) {
		t.Errorf("DestinationDeliveryFailures alarms on %v, want one on each function with a failure destination %v (streamer, rescuer, projector, analytics)", alarmed, destinations)
	}
	if got := alarmsOn(t, "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds"); len(got) != 1 {
		t.Errorf("%d iterator-age alarms, want 1", len(got))
	}
	// Each rule pages when an event it failed to deliver could not be dead-lettered either: the
	// orders bus's rules with both dimensions, the default bus's with RuleName alone.
	// (A custom bus's rule's Ref is "bus|rule" on AWS: the name is the last part of its ARN,
	// arn:…:rule/bus/rule.)
	rules := resources(t, "AWS::Events::Rule")
	for id, p := range alarmsOn(t, "AWS/Events", "InvocationsFailedToBeSentToDlq") {
		name, rule := dimension(p, "RuleName"), ""
		if split, ok := get(name, "Fn::Select").([]any); ok && dimension(p, "EventBusName") != nil {
			var arn []any
			if len(split) == 2 {
				arn, _ = get(split[1], "Fn::Split").([]any)
			}
			if len(split) != 2 || split[0] != float64(2) || len(arn) != 2 || arn[0] != "/" {
				t.Errorf("%s: RuleName %v, want the last part of the rule's ARN", id, name)
				continue
			}
			if ref, _ := get(arn[1], "Fn::GetAtt").([]any); len(ref) == 2 && ref[1] == "Arn" {
				rule = fmt.Sprint(ref[0])
			}
		} else if dimension(p, "EventBusName") == nil {
			rule = fmt.Sprint(get(name, "Ref")) // the default bus's: the Ref is the name
		}
		r, ok := rules[rule]
		if !ok {
			t.Errorf("%s: RuleName %v is not a rule of the stack", id, dimension(p, "RuleName"))
			continue
		}
		if fmt.Sprint(dimension(p, "EventBusName")) != fmt.Sprint(r["EventBusName"]) {
			t.Errorf("%s: EventBusName %v, the rule's bus %v", id, dimension(p, "EventBusName"), r["EventBusName"])
		}
		delete(rules, rule)
	}
	if len(rules) != 0 {
		t.Errorf("rules without an InvocationsFailedToBeSentToDlq alarm: %v", slices.Collect(maps.Keys(rules)))
	}
	// Each of the stream's consumers has its own: the stream's hides one behind the other.
	consumers := map[string]bool{}
	streams := resources(t, "AWS::Kinesis::Stream")
	for _, p := range resources(t, "AWS::Lambda::EventSourceMapping") {
		if source, _ := get(p, "EventSourceArn", "Fn::GetAtt").([]any); len(source) == 2 && streams[fmt.Sprint(source[0])] != nil {
			consumers[fmt.Sprint(get(p, "FunctionName", "Ref"))] = true
		}
	}
	if len(consumers) != 2 {
		t.Errorf("%d stream consumers found, want 2 (projector, analytics)", len(consumers))
	}
	for _, p := range alarmsOn(t, "AWS/Lambda", "IteratorAge") {
		if p["Threshold"] != float64(iteratorAgeAlarmMillis) || p["Statistic"] != "Maximum" {
			t.Errorf("IteratorAge alarm %v", p)
		}
		delete(consumers, fmt.Sprint(get(dimension(p, "FunctionName"), "Ref")))
	}
	if len(consumers) != 0 {
		t.Errorf("stream consumers without an IteratorAge alarm: %v", consumers)
	}
	if got := alarmsOn(t, "AWS/ApiGateway", "Latency"); len(got) != 1 {
		t.Errorf("%d API latency alarms, want 1", len(got))
	} else {
		for id, p := range got {
			if p["ExtendedStatistic"] != "p99" || get(dimension(p, "ApiId"), "Ref") == nil {
				t.Errorf("%s: %v", id, p)
			}
		}
	}
	rate := 0
	for id, r := range tpl["Resources"].(map[string]any) {
		p, _ := get(r, "Properties").(map[string]any)
		if b, _ := json.Marshal(p["Metrics"]); get(r, "Type") == "AWS::CloudWatch::Alarm" && strings.Contains(string(b), "100 * errors / requests") && strings.Contains(string(b), `"MetricName":"5xx"`) {
			rate++
			// A metric-math alarm: left out only where the parameter says so (MiniStack's deploy).
			cond := get(tpl, "Conditions", fmt.Sprint(get(r, "Condition")))
			if want := `map[Fn::Equals:[map[Ref:MetricMathAlarms] true]]`; fmt.Sprint(cond) != want {
				t.Errorf("%s: condition %v, want %s", id, cond, want)
			}
			if d := get(tpl, "Parameters", "MetricMathAlarms", "Default"); d != "true" {
				t.Errorf("MetricMathAlarms defaults to %v, want true (AWS)", d)
			}
		}
	}
	if rate != 1 {
		t.Errorf("%d API 5xx-rate alarms, want 1", rate)
	}

	// Each stream consumer: an alarm when records came in and it ran not once (a metric-math
	// alarm, under the same condition).
	stopped := map[string]bool{}
	for id, r := range tpl["Resources"].(map[string]any) {
		b, _ := json.Marshal(get(r, "Properties", "Metrics"))
		// (json.Marshal writes > as \u003e: the match leaves it out.)
		if get(r, "Type") != "AWS::CloudWatch::Alarm" || !strings.Contains(string(b), "AND FILL(invocations, 0) == 0") {
			continue
		}
		if !strings.Contains(string(b), `"MetricName":"IncomingRecords"`) || !strings.Contains(string(b), `"MetricName":"Invocations"`) || get(r, "Condition") != "MetricMathAlarmsOn" {
			t.Errorf("%s: %s (condition %v), want the stream's IncomingRecords and the consumer's Invocations, under MetricMathAlarmsOn", id, b, get(r, "Condition"))
		}
		// Several periods in a row: a record put at one period's end is read in the next.
		if get(r, "Properties", "EvaluationPeriods") != float64(3) || get(r, "Properties", "DatapointsToAlarm") != float64(3) {
			t.Errorf("%s: %v of %v periods to alarm, want 3 of 3", id, get(r, "Properties", "DatapointsToAlarm"), get(r, "Properties", "EvaluationPeriods"))
		}
		var m []struct {
			MetricStat struct {
				Metric struct {
					Dimensions []struct {
						Name  string
						Value any
					}
				}
			}
		}
		_ = json.Unmarshal(b, &m)
		for _, x := range m {
			for _, d := range x.MetricStat.Metric.Dimensions {
				if d.Name == "FunctionName" {
					stopped[fmt.Sprint(get(d.Value, "Ref"))] = true
				}
			}
		}
	}
	readers := map[string]bool{}
	for _, p := range resources(t, "AWS::Lambda::EventSourceMapping") {
		if p["StartingPosition"] != nil { // Kinesis
			readers[fmt.Sprint(get(p, "FunctionName", "Ref"))] = true
		}
	}
	if len(readers) != 2 || !maps.Equal(stopped, readers) {
		t.Errorf("Stopped alarms on %v, want one on each stream consumer %v", stopped, readers)
	}
}

// CloudWatch may publish to the encrypted alarm topic, for this account's alarms only.
func TestAlarmTopic(t *testing.T) {
	topic := alarmTopic(t)
	hasProps(t, "AWS::SNS::Topic", map[string]any{"DisplayName": "orderflow alarms", "KmsMasterKeyId": assertions.Match_AnyValue()})
	hasProps(t, "AWS::SNS::TopicPolicy", map[string]any{
		"Topics": []any{map[string]any{"Ref": topic}},
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish", "Effect": "Allow",
			"Condition": assertions.Match_ObjectLike(&map[string]any{"ArnLike": map[string]any{"aws:SourceArn": assertions.Match_AnyValue()}}),
		})})},
	})
	hasProps(t, "AWS::KMS::Key", map[string]any{
		"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
			"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"}, "Action": []any{"kms:Decrypt", "kms:GenerateDataKey"},
		})})},
	})
	for id, p := range resources(t, "AWS::SNS::Subscription") {
		if p["Protocol"] == "email" {
			t.Errorf("%s: an e-mail subscription without the alarmEmail context value", id)
		}
	}
	if _, ok := get(tpl, "Outputs", "AlarmTopicArn").(map[string]any); !ok {
		t.Error("no AlarmTopicArn output")
	}
}

// local is the template of a stack built as `make deploy-local` and `-c alarmEmail=…`,
// `-c faults=…` and `-c placeOrderRate=8` would build it (one more synthesis, shared by the tests
// that need it).
var local = sync.OnceValues(func() (map[string]any, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(os.TempDir(), "orderflow-infra-test-local.out"))})
	s := NewOrderflowStack(app, "Local", &OrderflowStackProps{Architecture: ARM64, SourceRoot: root, AlarmEmail: "ops@example.com", Emulator: true,
		Faults: map[string]string{"payment": localFaults}, PlaceOrder: localPlaceOrder})
	return *assertions.Template_FromStack(s, nil).ToJSON(), nil
})

func localResources(t *testing.T, typ string) map[string]map[string]any {
	t.Helper()
	tmpl, err := local()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for id, r := range tmpl["Resources"].(map[string]any) {
		if get(r, "Type") == typ {
			out[id], _ = get(r, "Properties").(map[string]any)
		}
	}
	return out
}

// localPlaceOrder is the local stack's POST /orders throttle (context placeOrderRate=8).
var localPlaceOrder = RouteThrottle{Rate: 8, Burst: 16}

// localFaults arm the payment function of the local stack.
const localFaults = `{"crashAfterWrite":{"callPercentage":10}}`

// Faults are armed only by the `faults` context value, which `make deploy` never passes: no
// function of the AWS template has a fault variable; the stack given faults arms exactly the
// function named, with the value given (so the first check is not vacuous); neither cdk.json
// nor the deploy target passes a faults value.
func TestAWSTemplateArmsNoFaults(t *testing.T) {
	armed := func(fns map[string]map[string]any) map[string]any {
		found := map[string]any{}
		for id, p := range fns {
			vars, _ := get(p, "Environment", "Variables").(map[string]any)
			for name, v := range vars {
				if strings.Contains(strings.ToUpper(name), "FAULT") {
					found[id] = v
				}
			}
		}
		return found
	}
	if found := armed(resources(t, "AWS::Lambda::Function")); len(found) > 0 {
		t.Errorf("AWS template: fault variables in %v", found)
	}
	var payment []string
	for id := range localResources(t, "AWS::Lambda::Function") {
		if strings.HasPrefix(id, "PaymentsFunction") {
			payment = append(payment, id)
		}
	}
	found := armed(localResources(t, "AWS::Lambda::Function"))
	if len(payment) != 1 || len(found) != 1 || found[payment[0]] != localFaults {
		t.Fatalf("stack with faults for payment: fault variables in %v, want %s=%s in %v only", found, toolkit.FaultsVariable, localFaults, payment)
	}
	if get(localResources(t, "AWS::Lambda::Function")[payment[0]], "Environment", "Variables", toolkit.FaultsVariable) == nil {
		t.Errorf("the payment function's fault variable is not %s", toolkit.FaultsVariable)
	}

	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if b, err := os.ReadFile("../cdk.json"); err != nil || json.Unmarshal(b, &cdkJSON) != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	if _, ok := cdkJSON.Context["faults"]; ok {
		t.Error("cdk.json passes a faults context value to every deploy")
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, _ := strings.Cut(string(makefile), "\ndeploy:")
	recipe, _, _ = strings.Cut(recipe, "\n\n")
	if recipe == "" || strings.Contains(recipe, "faults") {
		t.Errorf("make deploy's recipe %q passes faults (or was not found)", recipe)
	}
}

func TestParseFaults(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, unset := range []any{nil, "", "  "} {
		if f, err := ParseFaults(unset, root); f != nil || err != nil {
			t.Errorf("%q: %v, %v", unset, f, err)
		}
	}
	got, err := ParseFaults(`{"payment": {"crashAfterWrite": {"callPercentage": 10}}, "shipping": {"invocationTimeout": {"invocationPercentage": 5}}}`, root)
	want := map[string]string{"payment": `{"crashAfterWrite":{"callPercentage":10}}`, "shipping": `{"invocationTimeout":{"invocationPercentage":5}}`}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := ParseFaults(map[string]any{"payment": map[string]any{"invocationTimeout": map[string]any{"invocationPercentage": 5}}}, root); err != nil || len(got) != 1 {
		t.Errorf("from cdk.json: %v, %v", got, err)
	}
	for in, want := range map[string]string{
		`[]`: "want a JSON object",
		`{"payment":{"crashAfterWrite":{"callPercentage":10}},"payment":{"invocationAddDelay":{"invocationPercentage":5}}}`: "given twice",
		`{"internal":{"invocationTimeout":{"invocationPercentage":5}}}`:                                                     `"internal" is not a function`,
		`{"../infra":{"invocationTimeout":{"invocationPercentage":5}}}`:                                                     "is not a function",
		`{"payment":{"invocationTimeout":{"invocationPercentage":500}}}`:                                                    "faults.payment: invocationTimeout.invocationPercentage 500",
	} {
		if _, err := ParseFaults(in, root); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", in, err, want)
		}
	}
}

// With the alarmEmail context value, the alarm topic e-mails it.
func TestAlarmEmail(t *testing.T) {
	found := false
	for _, p := range localResources(t, "AWS::SNS::Subscription") {
		found = found || (p["Protocol"] == "email" && p["Endpoint"] == "ops@example.com")
	}
	if !found {
		t.Error("no e-mail subscription with alarmEmail set")
	}
}

// The AWS template never carries an emulator-only allowance: payment's task-token callbacks stay
// scoped to the state machine. The emulator's template does (so the first check is not vacuous).
func TestAWSTemplateHasNoEmulatorAllowance(t *testing.T) {
	taskTokenOnStar := func(policies map[string]map[string]any) []string {
		var found []string
		for id, p := range policies {
			for _, s := range get(p, "PolicyDocument", "Statement").([]any) {
				if get(s, "Sid") == "EmulatorTaskTokenCallbacks" ||
					(strings.Contains(fmt.Sprint(get(s, "Action")), "states:SendTask") && fmt.Sprint(get(s, "Resource")) == "*") {
					found = append(found, id)
				}
			}
		}
		return found
	}
	if found := taskTokenOnStar(resources(t, "AWS::IAM::Policy")); len(found) > 0 {
		t.Errorf("AWS template: states:SendTask* on Resource * in %v", found)
	}
	if found := taskTokenOnStar(localResources(t, "AWS::IAM::Policy")); len(found) != 1 || !strings.HasPrefix(found[0], "PaymentsFunction") {
		t.Errorf("emulator template: want the allowance on the payment role only, found it in %v", found)
	}
}

// The dashboard shows the business metrics, where the time goes and what failed.
func TestDashboard(t *testing.T) {
	for id, p := range resources(t, "AWS::CloudWatch::Dashboard") {
		b, _ := json.Marshal(p["DashboardBody"])
		body := string(b)
		for _, want := range []string{
			metricsNamespace, metricOrdersPlaced, metricOrdersShipped, metricOrdersCancelled, metricRefunds, metricPlacedToTerminal,
			"out-of-stock", "ApproximateNumberOfMessagesVisible", "Duration", "Errors", "Throttles", "IteratorAgeMilliseconds",
			"ExecutionTime", "Latency", "alarm",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the dashboard does not show %s", id, want)
			}
		}
	}
	if _, ok := get(tpl, "Outputs", "DashboardName").(map[string]any); !ok {
		t.Error("no DashboardName output")
	}
}

// What SNS cannot deliver to a subscribed queue goes to the subscription's own DLQ.
// A work queue nothing receives fails nothing: no DLQ fills. Its oldest message's age tells,
// past the longest its deliveries could take (maxReceiveCount visibility timeouts, and five minutes).
func TestEveryWorkQueueHasAnAgeAlarm(t *testing.T) {
	alarmed := map[string]float64{}
	for id, p := range alarmsOn(t, "AWS/SQS", "ApproximateAgeOfOldestMessage") {
		ref, _ := get(dimension(p, "QueueName"), "Fn::GetAtt").([]any)
		if len(ref) != 2 || ref[1] != "QueueName" || p["Statistic"] != "Maximum" || p["ComparisonOperator"] != "GreaterThanThreshold" {
			t.Errorf("%s: %v", id, p)
			continue
		}
		alarmed[fmt.Sprint(ref[0])], _ = p["Threshold"].(float64)
	}
	work := 0
	for id, p := range resources(t, "AWS::SQS::Queue") {
		if p["RedrivePolicy"] == nil {
			continue
		}
		work++
		visibility, _ := p["VisibilityTimeout"].(float64)
		if want := float64(maxReceiveCount)*visibility + 300; visibility == 0 || alarmed[id] != want {
			t.Errorf("work queue %s (visibility %v s): age alarm at %v s, want %v", id, visibility, alarmed[id], want)
		}
		delete(alarmed, id)
	}
	if work < 3 || len(alarmed) != 0 {
		t.Errorf("%d work queues; age alarms on queues that are none: %v", work, alarmed)
	}
}

// A topic whose subscriptions have DLQs pages when SNS could not move a message there either.
func TestTopicsWithDLQsAlarmOnFailedRedrives(t *testing.T) {
	want := map[string]bool{}
	for _, p := range resources(t, "AWS::SNS::Subscription") {
		if get(p, "RedrivePolicy") != nil {
			want[fmt.Sprint(get(p, "TopicArn", "Ref"))] = true
		}
	}
	got := map[string]bool{}
	for id, p := range alarmsOn(t, "AWS/SNS", "NumberOfNotificationsFailedToRedriveToDlq") {
		ref, _ := get(dimension(p, "TopicName"), "Fn::GetAtt").([]any)
		if len(ref) != 2 || ref[1] != "TopicName" || p["Statistic"] != "Sum" || p["Threshold"] != float64(1) {
			t.Errorf("%s: %v", id, p)
			continue
		}
		got[fmt.Sprint(ref[0])] = true
	}
	if len(want) == 0 || !maps.Equal(got, want) {
		t.Errorf("failed-redrive alarms on topics %v, want on %v", got, want)
	}
}

func TestSubscriptionsHaveDLQs(t *testing.T) {
	for id, p := range resources(t, "AWS::SNS::Subscription") {
		if p["Protocol"] != "sqs" {
			continue
		}
		if get(p, "RedrivePolicy", "deadLetterTargetArn") == nil {
			t.Errorf("%s: no redrive policy", id)
		}
	}
}

// The execution timeout is in the definition itself: a definition given as a string ignores
// the construct's Timeout, so a test reads the synthesized one.
func TestWorkflowTimeout(t *testing.T) {
	for id, p := range resources(t, "AWS::StepFunctions::StateMachine") {
		def := definitionOf(t, p)
		if def["TimeoutSeconds"] != float64(1800) {
			t.Errorf("%s: TimeoutSeconds %v, want 1800", id, def["TimeoutSeconds"])
		}
	}
}

// definitionOf decodes a state machine's synthesized definition, with every token (Ref,
// GetAtt) replaced by a placeholder string.
func definitionOf(t *testing.T, p map[string]any) map[string]any {
	t.Helper()
	var text strings.Builder
	switch d := p["DefinitionString"].(type) {
	case string:
		text.WriteString(d)
	case map[string]any:
		parts, _ := get(d, "Fn::Join").([]any)
		list, _ := parts[1].([]any)
		for _, part := range list {
			if s, ok := part.(string); ok {
				text.WriteString(s)
			} else {
				text.WriteString("token")
			}
		}
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(text.String()), &def); err != nil {
		t.Fatalf("definition: %v\n%s", err, text.String())
	}
	return def
}

// The dashboard's metric names are the ones the projector emits (functions/internal/metrics, lent
// through the toolkit), with their dimensions.
func TestDashboardNamesTheEmittedMetrics(t *testing.T) {
	catalog := toolkit.BusinessMetrics()
	if catalog.Namespace != metricsNamespace {
		t.Errorf("namespace %s, the projector emits %s", metricsNamespace, catalog.Namespace)
	}
	emitted := map[string]bool{}
	for _, m := range catalog.Metrics {
		emitted[m.Name] = true
	}
	for _, name := range []string{metricOrdersPlaced, metricOrdersShipped, metricOrdersCancelled, metricRefunds, metricRefundedCents, metricPlacedToTerminal, metricRecordsFailed, metricRecordsParked} {
		if !emitted[name] {
			t.Errorf("the dashboard graphs %s, which no function emits", name)
		}
	}
	for _, d := range catalog.Dimensions {
		switch d.Name {
		case "Reason":
			for _, r := range []string{"out-of-stock", "payment-declined", "fulfilment-failed"} {
				if !slices.Contains(d.Values, r) {
					t.Errorf("the dashboard graphs cancellations for %s, which is no Reason the projector emits", r)
				}
			}
		case "Consumer":
			if !slices.Equal(d.Values, batchConsumers) {
				t.Errorf("the dashboard graphs the consumers %v, the functions emit %v", batchConsumers, d.Values)
			}
		}
	}
}

// The concurrency budget reaches the template: reserved concurrency on the functions a burst
// would otherwise multiply and whose callers retry a throttle (not order-api: an HTTP client would
// get a 500), a maximum concurrency on each SQS source, and POST /orders' own throttle.
func TestConcurrencyBudget(t *testing.T) {
	reserved := map[string]float64{}
	for _, p := range resources(t, "AWS::Lambda::Function") {
		if n, ok := p["ReservedConcurrentExecutions"].(float64); ok {
			reserved[fmt.Sprint(p["Description"])[:20]] = n
		}
	}
	if len(reserved) != 4 {
		t.Errorf("reserved concurrency on %v, want streamer, inventory, shipping and the rescuer (order-api's bound is the API's throttles)", reserved)
	}
	for id, p := range resources(t, "AWS::Lambda::EventSourceMapping") {
		if p["StartingPosition"] != nil {
			continue // Kinesis: one batch per shard at a time
		}
		if n, _ := get(p, "ScalingConfig", "MaximumConcurrency").(float64); n < 2 {
			t.Errorf("%s: SQS source without a maximum concurrency (%v)", id, p["ScalingConfig"])
		}
	}
	hasProps(t, "AWS::ApiGatewayV2::Stage", map[string]any{
		"RouteSettings": map[string]any{"POST /orders": map[string]any{"ThrottlingRateLimit": placeOrderRate, "ThrottlingBurstLimit": placeOrderBurst}},
	})
}

// The stage names POST /orders in its RouteSettings, which API Gateway checks against the routes
// there: the stage waits for that route (DependsOn), or a first deploy may create it before the
// route and fail.
func TestStageWaitsForTheRouteItThrottles(t *testing.T) {
	route := ""
	for id, p := range resources(t, "AWS::ApiGatewayV2::Route") {
		if p["RouteKey"] == "POST /orders" {
			route = id
		}
	}
	stages := resources(t, "AWS::ApiGatewayV2::Stage")
	if route == "" || len(stages) != 1 {
		t.Fatalf("POST /orders route %q, %d stages", route, len(stages))
	}
	for id := range stages {
		dependsOn := get(tpl, "Resources", id, "DependsOn")
		if !slices.Contains(list(dependsOn), any(route)) {
			t.Errorf("stage %s depends on %v, want %s (POST /orders, which its RouteSettings name)", id, dependsOn, route)
		}
	}
}

// Context placeOrderRate sets POST /orders' throttle, and only its: the stage's default stays.
func TestPlaceOrderRateSetsTheRouteThrottle(t *testing.T) {
	stages := localResources(t, "AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		t.Fatalf("%d stages", len(stages))
	}
	for id, p := range stages {
		route := get(p, "RouteSettings", "POST /orders")
		want := map[string]any{"ThrottlingRateLimit": localPlaceOrder.Rate, "ThrottlingBurstLimit": localPlaceOrder.Burst}
		if !reflect.DeepEqual(route, want) {
			t.Errorf("%s: POST /orders throttle %v, want %v", id, route, want)
		}
		if n := get(p, "DefaultRouteSettings", "ThrottlingRateLimit"); n != 100.0 {
			t.Errorf("%s: the stage's default rate %v, want 100", id, n)
		}
	}
}

func TestParsePlaceOrderRate(t *testing.T) {
	for _, c := range []struct {
		in   any
		want RouteThrottle
		err  bool
	}{
		{nil, RouteThrottle{Rate: placeOrderRate, Burst: placeOrderBurst}, false},
		{" ", RouteThrottle{Rate: placeOrderRate, Burst: placeOrderBurst}, false},
		{"8", RouteThrottle{Rate: 8, Burst: 16}, false},
		{20.0, RouteThrottle{Rate: 20, Burst: 40}, false}, // a number in cdk.json
		{"0", RouteThrottle{}, true},
		{"8.5", RouteThrottle{}, true},
		{"5001", RouteThrottle{}, true},
		{"fast", RouteThrottle{}, true},
	} {
		got, err := ParsePlaceOrderRate(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParsePlaceOrderRate(%v) = %+v, %v; want %+v (error: %v)", c.in, got, err, c.want, c.err)
		}
		if err != nil && !strings.Contains(err.Error(), "placeOrderRate=") {
			t.Errorf("ParsePlaceOrderRate(%v): %v does not name the context value", c.in, err)
		}
	}
}
