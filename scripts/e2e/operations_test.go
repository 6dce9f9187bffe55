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

	// An action the inventory task does not know: it fails (InvalidInputError), as a bug would.
	out, err := lambda.NewFromConfig(stack.AWS).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(fn), Payload: []byte(`{"action":"teleport"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.FunctionError == nil {
		t.Fatalf("the function did not fail: %s", out.Payload)
	}
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
		if len(got.MetricAlarms) != 1 || got.MetricAlarms[0].StateValue != cwtypes.StateValueAlarm {
			return fmt.Errorf("alarm %s: %+v", aws.ToString(alarm.AlarmName), got.MetricAlarms)
		}
		return nil
	})
}
