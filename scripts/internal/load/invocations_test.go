package load

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/orderflow-dev/orderflow/scripts/internal/fnlogs/fnlogstest"
)

// fakeConfigs gives each function the log group groups names (Lambda's default if none), and
// fails for "gone".
type fakeConfigs map[string]string

func (f fakeConfigs) GetFunctionConfiguration(_ context.Context, in *lambda.GetFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	name := aws.ToString(in.FunctionName)
	if name == "gone" {
		return nil, errors.New("ResourceNotFoundException: function gone")
	}
	out := &lambda.GetFunctionConfigurationOutput{}
	if g, ok := f[name]; ok {
		out.LoggingConfig = &lambdatypes.LoggingConfig{LogGroup: aws.String(g)}
	}
	return out, nil
}

func TestInvocations(t *testing.T) {
	report := "REPORT RequestId: 6f1c\tDuration: 2 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB"
	logs := &fnlogstest.Logs{PageSize: 2, Groups: map[string][]string{
		"/orderflow/streamer":    {report, report, report, `{"msg":"the REPORT RequestId line is Lambda's"}`, report, report},
		"/aws/lambda/fn-payment": {report},
	}}
	fns := fakeConfigs{"fn-streamer": "/orderflow/streamer"}
	from, to := t0, t0.Add(150*time.Second)
	got, err := Invocations(context.Background(), logs, fns, []string{"fn-streamer", "fn-payment", "fn-rescuer"}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"fn-streamer": 5, "fn-payment": 1, "fn-rescuer": 0}; !maps.Equal(got, want) {
		t.Errorf("invocations %v, want %v (REPORT lines, every page, in each function's own group; none where the group is not there yet)", got, want)
	}
	in := logs.Got[0]
	if aws.ToString(in.FilterPattern) != `"REPORT RequestId"` || aws.ToInt64(in.StartTime) != from.UnixMilli() || aws.ToInt64(in.EndTime) != to.UnixMilli() {
		t.Errorf("request %+v: want the REPORT pattern over the run's window", in)
	}
	if _, err := Invocations(context.Background(), logs, fns, []string{"fn-streamer", "gone"}, from, to); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("a function whose configuration cannot be read: %v, want an error naming it", err)
	}
}

func TestFunctionNames(t *testing.T) {
	got := FunctionNames(map[string]string{"StreamerFunctionName": "fn-b", "PaymentFunctionName": "fn-a", "StreamerDlqUrl": "http://q", "FunctionName": "fn-c"})
	if want := []string{"fn-a", "fn-b"}; !slices.Equal(got, want) {
		t.Errorf("FunctionNames %v, want %v (the …FunctionName outputs' values, sorted)", got, want)
	}
}

// Invocations count every process's, the ended ones too: a function invoked whose processes have
// all ended still gets a row.
func TestInvokedAddsTheCountsAndTheFunctionsWithoutProcesses(t *testing.T) {
	c := CPU{Orders: 10, ByFunction: []FunctionCPU{{Function: "fn-streamer", Processes: 2, CPU: time.Second}}}
	c.Invoked(map[string]int{"fn-streamer": 50, "fn-payment": 2, "fn-rescuer": 0})
	want := []FunctionCPU{{Function: "fn-streamer", Processes: 2, CPU: time.Second, Invocations: 50}, {Function: "fn-payment", Invocations: 2}}
	if !slices.Equal(c.ByFunction, want) || !c.Counted {
		t.Errorf("by function %+v (counted %v), want %+v, counted", c.ByFunction, c.Counted, want)
	}
}

func TestReportMarkdownShowsInvocations(t *testing.T) {
	r := sampleReport()
	var uncounted strings.Builder
	if err := r.WriteJSON(&uncounted); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(uncounted.String(), `"invocations"`) {
		t.Errorf("invocations in the JSON before they were counted: %s", uncounted.String())
	}
	r.CPU.Invoked(map[string]int{"Streamer": 20, "Orderflow-Payment": 2}) // Streamer: sampleReport has named it already
	markdownHas(t, r,
		"| function | processes | CPU | per order | of the functions' | invocations | per order | CPU per invocation |",
		"|---|---:|---:|---:|---:|---:|---:|---:|",
		"| Streamer | 1 | 3.00 s | 750 ms | 75 % | 20 | 5.0 | 150.00 ms |",
		"| Orderflow-Payment | 0 | 0.00 s | 0 ms | 0 % | 2 | 0.5 | — |",
		"| not attributed |  | 1.00 s | 250 ms | 25 % | | | |",
	)
	var j strings.Builder
	if err := r.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `"invocations": 20`) {
		t.Errorf("the JSON lacks the streamer's invocations: %s", j.String())
	}
}
