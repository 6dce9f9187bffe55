package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// dashboard is one page for the flow: the business metrics, where the time goes, what failed.
func (o *Operations) dashboard(functions []awslambda.Function, dlqs []awssqs.Queue) {
	business := func(name, statistic string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(metricsNamespace), MetricName: jsii.String(name),
			Statistic: jsii.String(statistic), Period: awscdk.Duration_Minutes(jsii.Number(5))})
	}
	// One series of a metric of ours: its Sum for one value of one dimension, labelled by the value.
	byDimension := func(name, dimension, value string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(metricsNamespace), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{dimension: jsii.String(value)}, Statistic: jsii.String("Sum"), Label: jsii.String(value),
			Period: awscdk.Duration_Minutes(jsii.Number(5))})
	}
	cancelledBy := func(reason string) awscloudwatch.IMetric { return byDimension(metricOrdersCancelled, "Reason", reason) }
	graph := func(title string, width float64, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left})
	}
	each := func(metric func(fn awslambda.Function) awscloudwatch.IMetric) []awscloudwatch.IMetric {
		out := make([]awscloudwatch.IMetric, 0, len(functions))
		for _, fn := range functions {
			out = append(out, metric(fn))
		}
		return out
	}
	depths := make([]awscloudwatch.IMetric, 0, len(dlqs))
	for _, q := range dlqs {
		depths = append(depths, q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Label: jsii.String(nameOf(q)), Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}))
	}
	perConsumer := func(name string) []awscloudwatch.IMetric {
		out := make([]awscloudwatch.IMetric, 0, len(batchConsumers))
		for _, c := range batchConsumers {
			out = append(out, byDimension(name, "Consumer", c))
		}
		return out
	}
	wf, api := o.props.Workflow, o.props.API
	o.Dashboard = awscloudwatch.NewDashboard(o.scope, jsii.String("Flow"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Width: jsii.Number(24), Height: jsii.Number(2), Markdown: jsii.String(
				"# orderflow\nOrders from POST /orders to shipped or cancelled. Business metrics come from the projector, the consumers' failed and parked messages from each consumer (CloudWatch Embedded Metric Format, namespace `" +
					metricsNamespace + "`); what each alarm means, and what to do first, is in the README's *Operating it*.")})},
			{
				graph("Orders", 8, business(metricOrdersPlaced, "Sum"), business(metricOrdersShipped, "Sum"), business(metricOrdersCancelled, "Sum"), business(metricRefunds, "Sum")),
				graph("Cancelled, by reason", 8, cancelledBy("out-of-stock"), cancelledBy("payment-declined"), cancelledBy("fulfilment-failed"), cancelledBy("timed-out")),
				graph("Placed → shipped or cancelled (ms)", 8, business(metricPlacedToTerminal, "p50"), business(metricPlacedToTerminal, "p99")),
			},
			{
				graph("API latency (ms)", 8, api.MetricLatency(fiveMinutes("p50")), api.MetricLatency(fiveMinutes("p99"))),
				graph("Saga duration (ms)", 8, wf.MetricTime(fiveMinutes("p50")), wf.MetricTime(fiveMinutes("p99"))),
				graph("Stream consumers behind (ms)", 8, o.consumersBehind()...),
			},
			{graph("Function duration p99 (ms), per stage", 24, each(func(fn awslambda.Function) awscloudwatch.IMetric {
				return fn.MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Label: jsii.String(nameOf(fn)), Period: awscdk.Duration_Minutes(jsii.Number(5))})
			})...)},
			{
				graph("Function errors", 8, each(func(fn awslambda.Function) awscloudwatch.IMetric {
					return fn.MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String(nameOf(fn)), Period: awscdk.Duration_Minutes(jsii.Number(5))})
				})...),
				graph("Function throttles", 8, each(func(fn awslambda.Function) awscloudwatch.IMetric {
					return fn.MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Label: jsii.String(nameOf(fn)), Period: awscdk.Duration_Minutes(jsii.Number(5))})
				})...),
				graph("Dead-letter queue depths", 8, depths...),
			},
			{
				graph("Messages failed and retried, per consumer (no Errors: the batch reports them)", 12, perConsumer(metricRecordsFailed)...),
				graph("Messages parked in a dead-letter queue, per consumer", 12, perConsumer(metricRecordsParked)...),
			},
			{graph("Executions failed, timed out, aborted", 12, wf.MetricFailed(fiveMinutes("Sum")), wf.MetricTimedOut(fiveMinutes("Sum")), wf.MetricAborted(fiveMinutes("Sum"))),
				awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{Title: jsii.String("Alarms"), Width: jsii.Number(12), Height: jsii.Number(6), Alarms: &o.alarms})},
		},
	})
}

// consumersBehind is how far behind the stream its readers are: the stream's figure (the most
// behind at each read) and each consumer's own, which the stream's can hide.
func (o *Operations) consumersBehind() []awscloudwatch.IMetric {
	out := []awscloudwatch.IMetric{o.props.Stream.MetricGetRecordsIteratorAgeMilliseconds(&awscloudwatch.MetricOptions{
		Statistic: jsii.String("Maximum"), Label: jsii.String("stream"), Period: awscdk.Duration_Minutes(jsii.Number(5)),
	})}
	for _, fn := range o.props.Consumers {
		out = append(out, fn.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{
			Statistic: jsii.String("Maximum"), Label: jsii.String(nameOf(fn)), Period: awscdk.Duration_Minutes(jsii.Number(5)),
		}))
	}
	return out
}
