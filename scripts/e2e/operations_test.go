//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// A function that fails sets off its Errors alarm, which notifies the alarm topic. (MiniStack
// records AWS/Lambda metrics and evaluates alarms, but only when metric data or an alarm is
// put: the test puts one probe datapoint to have them evaluated. It records no SQS metrics, so a
// dead-letter queue's alarm cannot fire there: see the README's emulator gaps.)
func TestAFailingFunctionRaisesItsAlarm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fn := stack.Output("InventoryFunctionName")
	cw := cloudwatch.NewFromConfig(stack.AWS)
	var alarm *cwtypes.MetricAlarm
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{})
	for p.HasMorePages() && alarm == nil {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range page.MetricAlarms {
			for _, d := range a.Dimensions {
				if aws.ToString(a.MetricName) == "Errors" && aws.ToString(d.Name) == "FunctionName" && aws.ToString(d.Value) == fn {
					alarm = &page.MetricAlarms[i]
				}
			}
		}
	}
	if alarm == nil {
		t.Fatalf("no Errors alarm for %s", fn)
	}
	if len(alarm.AlarmActions) != 1 || alarm.AlarmActions[0] != stack.Output("AlarmTopicArn") {
		t.Errorf("alarm %s notifies %v, want the alarm topic", aws.ToString(alarm.AlarmName), alarm.AlarmActions)
	}

	// From OK (whatever an earlier run on this stack left), and with the function's errors
	// counted first, so that the move to ALARM is seen to follow this failure's datapoint (an
	// earlier error within the alarm's period would raise it again too).
	since := time.Now().Add(-15 * time.Minute)
	errorsSoFar := func(ctx context.Context) (float64, error) {
		out, err := cw.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Errors"),
			Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(fn)}},
			StartTime:  aws.Time(since), EndTime: aws.Time(time.Now().Add(time.Minute)), Period: aws.Int32(60),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
		})
		if err != nil {
			return 0, err
		}
		sum := 0.0
		for _, d := range out.Datapoints {
			sum += aws.ToFloat64(d.Sum)
		}
		return sum, nil
	}
	errorsBefore, err := errorsSoFar(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: alarm.AlarmName, StateValue: cwtypes.StateValueOk,
		StateReason: aws.String("e2e: from OK before a failure of its function")}); err != nil {
		t.Fatal(err)
	}
	failedAt := time.Now()
	// An action the inventory task does not know: it fails (InvalidInputError), as a bug would.
	out, err := lambda.NewFromConfig(stack.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"action":"teleport"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError == nil {
		t.Fatalf("the function did not fail: %s", out.Payload)
	}
	eventually(t, time.Minute, "the failure is counted", func(ctx context.Context) error {
		if n, err := errorsSoFar(ctx); err != nil || n <= errorsBefore {
			return fmt.Errorf("%s's Errors: %v since %s (%v), %v before the failure", fn, n, since.Format(time.RFC3339), err, errorsBefore)
		}
		return nil
	})
	eventually(t, time.Minute, "the Errors alarm goes to ALARM", func(ctx context.Context) error {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Orderflow/e2e"), MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("Probe"), Value: aws.Float64(1)},
		}}); err != nil {
			return err
		}
		got, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{aws.ToString(alarm.AlarmName)}})
		if err != nil {
			return err
		}
		if len(got.MetricAlarms) != 1 || got.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm ||
			aws.ToTime(got.MetricAlarms[0].StateUpdatedTimestamp).Before(failedAt.Add(-time.Second)) {
			return fmt.Errorf("alarm %s: %+v, want ALARM since the failure at %s", aws.ToString(alarm.AlarmName), got.MetricAlarms, failedAt.Format(time.RFC3339))
		}
		return nil
	})
}
