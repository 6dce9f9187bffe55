package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The business metrics the projector writes in CloudWatch Embedded Metric Format (one log
// line per metric record, no API call), in this namespace.
const (
	metricsNamespace       = "Orderflow"
	metricOrdersPlaced     = "OrdersPlaced"
	metricOrdersShipped    = "OrdersShipped"
	metricOrdersCancelled  = "OrdersCancelled" // also per dimension Reason
	metricRefunds          = "Refunds"
	metricRefundedCents    = "RefundedCents"
	metricPlacedToTerminal = "PlacedToTerminal" // milliseconds from OrderPlaced to OrderShipped or OrderCancelled
	// The batch consumers write these after a batch with a failed or parked message, per dimension
	// Consumer: what Lambda's Errors do not count (a consumer reports a failed message, it does not fail).
	metricRecordsFailed = "RecordsFailed"
	metricRecordsParked = "RecordsParked"
)

// batchConsumers are the values of the dimension Consumer: the functions that read a queue or the stream.
var batchConsumers = []string{"analytics", "notifier", "payment", "projector"}

// Thresholds of the alarms that are not "any at all".
const (
	iteratorAgeAlarmMillis = 60_000 // the stream's consumers a minute behind
	api5xxAlarmPercent     = 1      // of the requests in five minutes
	apiP99AlarmMillis      = 2_000
)

// OperationsProps are what an operator watches.
type OperationsProps struct {
	Key        awskms.IKey // encrypts the alarm topic
	AlarmEmail string      // optional: who the alarm topic e-mails (context value alarmEmail)
	Workflow   awsstepfunctions.IStateMachine
	Stream     awskinesis.IStream
	Consumers  []awslambda.IFunction // the stream's consumers (projector, analytics)
	API        awsapigatewayv2.IHttpApi
}

// Operations is what makes the stack operable: one topic every alarm notifies, the alarms, and
// a dashboard of the flow.
type Operations struct {
	Topic     awssns.Topic
	Dashboard awscloudwatch.Dashboard
	scope     constructs.Construct
	action    awscloudwatch.IAlarmAction
	alarms    []interfacesawscloudwatch.IAlarmRef
	props     OperationsProps
}

// NewOperations defines the alarm topic (encrypted, TLS only; CloudWatch may publish to it for
// this account's alarms only) and its optional e-mail subscription. Watch adds the alarms and
// the dashboard once every resource exists.
func NewOperations(scope constructs.Construct, p OperationsProps) *Operations {
	s := constructs.NewConstruct(scope, jsii.String("Operations"))
	topic := awssns.NewTopic(s, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("orderflow alarms"),
		MasterKey:   p.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	alarmsOfThisAccount := &map[string]any{
		"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()},
		"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":cloudwatch:"), awscdk.Aws_REGION(), jsii.String(":"),
			awscdk.Aws_ACCOUNT_ID(), jsii.String(":alarm:*"),
		})},
	}
	cloudWatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudWatch}, Actions: jsii.Strings("sns:Publish"),
		Resources: &[]*string{topic.TopicArn()}, Conditions: alarmsOfThisAccount,
	}))
	p.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{cloudWatch}, Actions: jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources: jsii.Strings("*"), Conditions: alarmsOfThisAccount,
	}), nil)
	if p.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(p.AlarmEmail), nil))
	}
	return &Operations{Topic: topic, scope: s, action: awscloudwatchactions.NewSnsAction(topic), props: p}
}

// alarm defines an alarm on metric that notifies the topic when it goes to ALARM and back to
// OK. Missing data is not a breach: no traffic is no trouble.
func (o *Operations) alarm(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator) awscloudwatch.Alarm {
	return o.alarmMissing(id, description, metric, threshold, op, awscloudwatch.TreatMissingData_NOT_BREACHING)
}

// alarmMissing is alarm with its own treatment of missing data: for a metric that is there for
// as long as all is well (BREACHING).
func (o *Operations) alarmMissing(id, description string, metric awscloudwatch.IMetric, threshold float64, op awscloudwatch.ComparisonOperator, missing awscloudwatch.TreatMissingData) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(o.scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: op,
		EvaluationPeriods:  jsii.Number(1),
		DatapointsToAlarm:  jsii.Number(1),
		TreatMissingData:   missing,
		AlarmDescription:   jsii.String(description),
	})
	a.AddAlarmAction(o.action)
	a.AddOkAction(o.action)
	o.alarms = append(o.alarms, a)
	return a
}

func fiveMinutes(statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(statistic)}
}

// mathOnly creates a metric-math alarm only where the MetricMathAlarms parameter allows it
// (MiniStack's CloudFormation refuses them: the README's emulator gaps).
func mathOnly(stack awscdk.Stack, a awscloudwatch.Alarm) {
	a.Node().DefaultChild().(awscdk.CfnResource).CfnOptions().SetCondition(metricMath(stack))
}

// Watch adds every alarm and the dashboard. It finds the functions and the dead-letter queues
// by walking the stack (a queue without a DLQ of its own is one: every work queue has one), so
// that a function or DLQ added later is watched without anyone remembering to.
func (o *Operations) Watch(stack awscdk.Stack) {
	var functions []awslambda.Function
	var dlqs, work []awssqs.Queue
	var rules []awsevents.Rule
	var topics []awssns.Topic
	for _, c := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		switch r := c.(type) {
		case awslambda.Function:
			functions = append(functions, r)
		case awsevents.Rule:
			rules = append(rules, r)
		case awssqs.Queue:
			if r.DeadLetterQueue() == nil {
				dlqs = append(dlqs, r)
			} else {
				work = append(work, r)
			}
		case awssns.Topic:
			if *r.Node().Path() != *o.Topic.Node().Path() { // the alarms' own: e-mail only, no DLQ
				topics = append(topics, r)
			}
		}
	}
	sort.Slice(functions, func(i, j int) bool { return *functions[i].Node().Path() < *functions[j].Node().Path() })
	sort.Slice(dlqs, func(i, j int) bool { return *dlqs[i].Node().Path() < *dlqs[j].Node().Path() })
	sort.Slice(rules, func(i, j int) bool { return *rules[i].Node().Path() < *rules[j].Node().Path() })
	sort.Slice(work, func(i, j int) bool { return *work[i].Node().Path() < *work[j].Node().Path() })
	sort.Slice(topics, func(i, j int) bool { return *topics[i].Node().Path() < *topics[j].Node().Path() })

	over, atLeast := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	for _, q := range dlqs {
		o.alarm(nameOf(q)+"NotEmpty",
			"A message was dead-lettered: it failed every delivery, and its body (and reason attribute) wait in the queue. Read why with `go run ./scripts/redrive -dry-run` (credentials of the account; `make redrive` is the local emulator's), fix the cause, then redrive.",
			q.MetricApproximateNumberOfMessagesVisible(fiveMinutes("Maximum")), 0, over)
		// NotEmpty stays in ALARM while any message is kept in the queue, and pages once: this one
		// pages for each five minutes in which more arrived. (SQS does not count the moves of a
		// queue's own redrive policy here; the consumers park a message on its last receive
		// themselves, and Lambda's failure destinations send.)
		o.alarm(nameOf(q)+"Arrivals",
			"More messages were dead-lettered, perhaps into a queue that already held some (its NotEmpty alarm, already in ALARM, does not page again). Read why with `go run ./scripts/redrive -dry-run`, fix the cause, then redrive.",
			q.MetricNumberOfMessagesSent(fiveMinutes("Sum")), 1, atLeast)
	}
	// A work queue's message is handled, or dead-lettered by its consumer on its last receive,
	// within maxReceiveCount visibility timeouts. One older than that (and five minutes) is not
	// being received: its consumer's event source mapping is disabled or cannot poll. No DLQ can
	// tell (nothing failed), and after the queue's retention (SQS's default, 4 days, shorter than
	// its DLQ's 14 as SQS advises: a message keeps its first enqueue time when it is moved) it is gone.
	for _, q := range work {
		visibility := q.Node().DefaultChild().(awssqs.CfnQueue).VisibilityTimeout()
		if visibility == nil {
			panic(fmt.Sprintf("work queue %s: set its visibility timeout", nameOf(q)))
		}
		o.alarm(nameOf(q)+"NotConsumed",
			fmt.Sprintf("A message has waited in the queue %s longer than its deliveries could take (%d receives of %.0f s, and five minutes): nothing receives it. Its consumer's event source mapping is disabled or cannot poll (aws lambda list-event-source-mappings; the function's Throttles and Errors); messages left unread expire after the queue's retention period (4 days).", nameOf(q), maxReceiveCount, *visibility),
			q.MetricApproximateAgeOfOldestMessage(fiveMinutes("Maximum")), float64(maxReceiveCount)*(*visibility)+300, over)
	}
	// What SNS cannot deliver to a subscription goes to the subscription's DLQ (alarmed above); if
	// that send fails too (the DLQ's policy or key), the copy is lost and only this metric tells.
	for _, t := range topics {
		o.alarm(nameOf(t)+"FailedToDeadLetter", "SNS could not move a message it failed to deliver from topic "+nameOf(t)+" to the subscription's dead-letter queue: that copy is lost. Check the DLQ's policy (it must let the topic send); then find the order by its events and publish its notification again.",
			t.Metric(jsii.String("NumberOfNotificationsFailedToRedriveToDlq"), fiveMinutes("Sum")), 1, atLeast)
	}
	wf := o.props.Workflow
	for _, m := range []struct {
		id, what string
		metric   awscloudwatch.Metric
	}{
		{"ExecutionsFailed", "failed", wf.MetricFailed(fiveMinutes("Sum"))},
		{"ExecutionsTimedOut", "timed out", wf.MetricTimedOut(fiveMinutes("Sum"))},
		{"ExecutionsAborted", "was aborted", wf.MetricAborted(fiveMinutes("Sum"))},
	} {
		o.alarm("Workflow"+m.id,
			fmt.Sprintf("An order-fulfilment execution %s. Error FulfilmentFailed: the saga compensated the order itself (refund or void, release, OrderCancelled), as it does for a shipment the carrier refused, a payment answer that timed out, or a Publish state that gave up (the compensation published its events again); read why its step failed. Otherwise the rescuer starts a rescue execution that compensates; if none followed (status changes are delivered best effort), go run ./scripts/rescue hands it over. If the error is RefundFailed, or a rescue failed, the order needs an operator: read the execution's history.", m.what),
			m.metric, 1, atLeast)
	}
	for _, fn := range functions {
		name := nameOf(fn)
		o.alarm(name+"Errors", "The function "+name+" returned errors (its own, or a timeout or crash): read its log group. Workflow tasks retry, then compensate (shipping's ShipmentRefused is a carrier's refusal, compensated as designed). A queue or stream consumer reports a failed record without failing (it is retried, then dead-lettered: its DLQ alarms tell): its errors here are crashes, timeouts or a failed start.",
			fn.MetricErrors(fiveMinutes("Sum")), 1, atLeast)
		o.alarm(name+"Throttles", "The function "+name+" was throttled: the account's or its own concurrency limit was reached. Work waits and is retried; raise the limit if it persists.",
			fn.MetricThrottles(fiveMinutes("Sum")), 1, atLeast)
		// What failed every retry goes to a failure destination or DLQ; if that send fails too, the
		// event is gone, and no DLQ alarm can tell. Lambda counts this only for a function with a
		// failure destination (asynchronous invocation, or a stream's event source mapping).
		if !hasFailureDestination(fn) {
			continue
		}
		o.alarm(name+"DestinationDeliveryFailures", "Lambda could not send a failed event or record of "+name+" to its failure destination (its dead-letter queue): the event is lost. Check the function's role may send to the queue, and that the queue exists; then find the event in the function's log and replay it (go run ./scripts/replay, for the stream's consumers).",
			fn.Metric(jsii.String("DestinationDeliveryFailures"), fiveMinutes("Sum")), 1, atLeast)
	}
	// A rule's target that fails for good goes to the target's DLQ (alarmed above); if that send
	// fails too (its policy, its key, its size), the event is lost and only this metric tells.
	for _, r := range rules {
		dims := map[string]*string{"RuleName": r.RuleName()}
		if bus := r.Node().DefaultChild().(awsevents.CfnRule).EventBusName(); bus != nil {
			// A custom bus's rule: both dimensions (the default bus's: RuleName alone). Its Ref,
			// which RuleName is, reads "bus|rule" on AWS (and "rule" on MiniStack): the name is read
			// from its ARN instead, "arn:…:rule/bus/rule" on both.
			dims["EventBusName"] = bus
			dims["RuleName"] = awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), r.RuleArn(), nil))
		}
		o.alarm(nameOf(r)+"FailedToDeadLetter", "EventBridge could not send an event that rule "+nameOf(r)+" failed to deliver to the target's dead-letter queue: the event is lost. Check the DLQ's policy (it must let this rule send); then find the order by its events and put the event on the bus again.",
			awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String("AWS/Events"), MetricName: jsii.String("InvocationsFailedToBeSentToDlq"),
				DimensionsMap: &dims, Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}), 1, atLeast)
	}
	// Lambda's pollers read every shard about once a second, even with nothing new (age 0): no
	// data means nothing reads the stream (both event source mappings disabled or failing), and
	// the stream's retention then runs out on events never stored.
	o.alarmMissing("StreamIteratorAge", "The order-events stream's consumers (projector, analytics) are more than a minute behind, or no one reads the stream at all (no data: their event source mappings are disabled or cannot poll): GET /orders lags or stops, and after the stream's retention events are lost. A consumer may be failing on a record (see its errors and DLQ) or be too slow.",
		o.props.Stream.MetricGetRecordsIteratorAgeMilliseconds(fiveMinutes("Maximum")), iteratorAgeAlarmMillis, over, awscloudwatch.TreatMissingData_BREACHING)
	// The stream's figure is the most behind of its readers at each read: one consumer retrying a
	// record can hide behind the other's fresh reads. Each consumer's own age tells.
	for _, fn := range o.props.Consumers {
		name := nameOf(fn)
		o.alarm(name+"IteratorAge", "The stream consumer "+name+" is more than a minute behind the order-events stream: a record it keeps failing on (see its errors and DLQ) or too slow.",
			fn.Metric(jsii.String("IteratorAge"), fiveMinutes("Maximum")), iteratorAgeAlarmMillis, over)
	}
	// A consumer that reads nothing raises no IteratorAge (Lambda emits it per invocation), and the
	// stream's figure follows the other reader: records came in and this consumer ran not once,
	// in each of three five-minute periods in a row (its event source mapping disabled, or unable
	// to poll). Three: a record put at a period's end is read in the next, which one period would
	// take for a stop.
	for _, fn := range o.props.Consumers {
		name := nameOf(fn)
		stopped := o.alarm(name+"Stopped", "Records came into the order-events stream and the stream consumer "+name+" was not invoked once, in each of three five-minute periods in a row: its event source mapping is disabled or cannot poll (aws lambda list-event-source-mappings). Its records wait in the stream until its retention passes.",
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String("IF(FILL(incoming, 0) > 0 AND FILL(invocations, 0) == 0, 1, 0)"),
				UsingMetrics: &map[string]awscloudwatch.IMetric{
					"incoming":    o.props.Stream.MetricIncomingRecords(fiveMinutes("Sum")),
					"invocations": fn.MetricInvocations(fiveMinutes("Sum")),
				},
				Label:  jsii.String(name + " stopped"),
				Period: awscdk.Duration_Minutes(jsii.Number(5)),
			}), 1, atLeast)
		cfn := stopped.Node().DefaultChild().(awscloudwatch.CfnAlarm)
		cfn.SetEvaluationPeriods(jsii.Number(3))
		cfn.SetDatapointsToAlarm(jsii.Number(3))
		mathOnly(stack, stopped)
		o.alarms = o.alarms[:len(o.alarms)-1]
	}
	api := o.props.API
	rate := o.alarm("Api5xxRate", fmt.Sprintf("More than %d%% of the API's requests failed with a 5xx in five minutes: read order-api's log (its 5xx answers log the cause); with nothing there, its Throttles (a throttled invocation reaches the client as API Gateway's 500 and leaves no log).", api5xxAlarmPercent),
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression:   jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{"errors": api.MetricServerError(fiveMinutes("Sum")), "requests": api.MetricCount(fiveMinutes("Sum"))},
			Label:        jsii.String("5xx %"),
			Period:       awscdk.Duration_Minutes(jsii.Number(5)),
		}), api5xxAlarmPercent, over)
	// MiniStack's CloudFormation refuses metric-math alarms: this one is left out there (the
	// README's emulator gaps). The alarm status widget does not name it, so that the dashboard
	// deploys either way.
	mathOnly(stack, rate)
	o.alarms = o.alarms[:len(o.alarms)-1]
	o.alarm("ApiLatencyP99", fmt.Sprintf("The API's p99 latency was over %d ms in five minutes: look at order-api's duration and throttles, and DynamoDB's.", apiP99AlarmMillis),
		api.MetricLatency(fiveMinutes("p99")), apiP99AlarmMillis, over)

	o.dashboard(functions, dlqs)
}

// hasFailureDestination reports whether Lambda sends fn's failed events somewhere: an
// asynchronous invocation config (ConfigureAsyncInvoke, given an OnFailure wherever this stack
// calls it) or an event source mapping with a destination (a stream's OnFailure). An SQS event
// source has none: the queue's own redrive policy dead-letters.
func hasFailureDestination(fn awslambda.Function) bool {
	for _, c := range *fn.Node().Children() {
		if *c.Node().Id() == "EventInvokeConfig" {
			return true
		}
		if m, ok := c.Node().DefaultChild().(awslambda.CfnEventSourceMapping); ok && m.DestinationConfig() != nil {
			return true
		}
	}
	return false
}

// nameOf is a construct's path in the stack without the stack and the slashes
// ("Payments/Function" → "PaymentsFunction"): unique, and what the console shows.
func nameOf(c constructs.IConstruct) string {
	path := *c.Node().Path()
	if i := strings.Index(path, "/"); i >= 0 {
		path = path[i+1:]
	}
	return strings.ReplaceAll(path, "/", "")
}

// metricMath is the stack's condition "metric-math alarms can be created": true unless the
// parameter MetricMathAlarms says false, as `make deploy-local` does for MiniStack, whose
// CloudFormation refuses them (and cannot evaluate a condition on AWS::AccountId either). The
// template is the same everywhere; only the emulator's deploy sets the parameter.
func metricMath(stack awscdk.Stack) awscdk.CfnCondition {
	if c, ok := stack.Node().TryFindChild(jsii.String("MetricMathAlarmsOn")).(awscdk.CfnCondition); ok {
		return c
	}
	param := awscdk.NewCfnParameter(stack, jsii.String("MetricMathAlarms"), &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String("true"),
		AllowedValues: jsii.Strings("true", "false"),
		Description:   jsii.String("Create the alarms that use metric math (the API's 5xx rate, a stream consumer stopped). false only for an emulator whose CloudFormation refuses them (MiniStack)."),
	})
	return awscdk.NewCfnCondition(stack, jsii.String("MetricMathAlarmsOn"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(param.ValueAsString(), jsii.String("true")),
	})
}
