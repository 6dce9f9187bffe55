package rescue

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const machine = "arn:aws:states:us-east-1:111122223333:stateMachine:Orderflow-Fulfilment"

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func execARN(name string) string {
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
}

// exec is one execution the fake knows: how it ended, and its error.
type exec struct {
	name          string
	status        types.ExecutionStatus
	started, stop time.Duration // before now
	err           string
}

// fakeSFN lists executions newest first, two a page, and describes them; ARNs in exists (the
// rescues) describe too.
type fakeSFN struct {
	execs     []exec
	exists    map[string]bool
	pages     map[types.ExecutionStatus]int // pages read per status
	described []string
}

func (f *fakeSFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.pages[in.StatusFilter]++
	var items []types.ExecutionListItem
	for _, x := range f.execs {
		if x.status == in.StatusFilter {
			items = append(items, types.ExecutionListItem{ExecutionArn: aws.String(execARN(x.name)), Name: aws.String(x.name), Status: x.status,
				StartDate: aws.Time(now.Add(-x.started)), StopDate: aws.Time(now.Add(-x.stop))})
		}
	}
	from := 0
	if in.NextToken != nil {
		from = len(aws.ToString(in.NextToken))
	}
	out := &sfn.ListExecutionsOutput{Executions: items[from:min(from+2, len(items))]}
	if from+2 < len(items) {
		out.NextToken = aws.String(strings.Repeat("n", from+2))
	}
	return out, nil
}

func (f *fakeSFN) DescribeStateMachine(context.Context, *sfn.DescribeStateMachineInput, ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	return &sfn.DescribeStateMachineOutput{Definition: aws.String(`{"TimeoutSeconds":3000,"StartAt":"A","States":{}}`)}, nil // 50 min
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	arn := aws.ToString(in.ExecutionArn)
	f.described = append(f.described, arn)
	for _, x := range f.execs {
		if execARN(x.name) == arn {
			out := &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(arn), StateMachineArn: aws.String(machine), Name: aws.String(x.name),
				Status: x.status, StartDate: aws.Time(now.Add(-x.started)), StopDate: aws.Time(now.Add(-x.stop)),
				Input: aws.String(`{"detail":{"orderId":"ORD-1"}}`)}
			if x.err != "" {
				out.Error, out.Cause = aws.String(x.err), aws.String("because")
			}
			return out, nil
		}
	}
	if f.exists[arn] {
		return &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(arn)}, nil
	}
	return nil, &types.ExecutionDoesNotExist{Message: aws.String("no such execution")}
}

// fakeRescuer starts the rescue of the execution its event names, unless told not to.
type fakeRescuer struct {
	sfn      *fakeSFN
	payloads [][]byte
	start    bool
	fail     bool
}

func (f *fakeRescuer) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.payloads = append(f.payloads, in.Payload)
	if f.fail {
		return &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"boom"}`)}, nil
	}
	var ev struct {
		Detail struct{ ExecutionArn, Name string }
	}
	if err := json.Unmarshal(in.Payload, &ev); err != nil {
		return nil, err
	}
	if f.start {
		f.sfn.exists[RescueARN(ev.Detail.ExecutionArn, ev.Detail.Name)] = true
	}
	return &lambda.InvokeOutput{}, nil
}

func stalled() []exec {
	return []exec{
		{name: "compensated", status: types.ExecutionStatusFailed, started: 10 * time.Minute, stop: 9 * time.Minute, err: "FulfilmentFailed"},
		{name: "rescued", status: types.ExecutionStatusFailed, started: 8 * time.Minute, stop: 7 * time.Minute, err: "CompensationFailed"},
		{name: "rescue-x", status: types.ExecutionStatusFailed, started: 6 * time.Minute, stop: 5 * time.Minute, err: "CompensationFailed"},
		{name: "rescue-y", status: types.ExecutionStatusFailed, started: 6 * time.Minute, stop: 5 * time.Minute, err: "FulfilmentFailed"}, // a rescue that compensated
		{name: "refund-failed", status: types.ExecutionStatusFailed, started: 6 * time.Minute, stop: 5 * time.Minute, err: "RefundFailed"},
		{name: "lost", status: types.ExecutionStatusAborted, started: 30 * time.Minute, stop: 20 * time.Minute},
		{name: "too-early", status: types.ExecutionStatusTimedOut, started: 3 * time.Hour, stop: 150 * time.Minute},
		{name: "long-ago", status: types.ExecutionStatusTimedOut, started: 5 * time.Hour, stop: 270 * time.Minute},
		{name: "older", status: types.ExecutionStatusTimedOut, started: 6 * time.Hour, stop: 330 * time.Minute}, // on a second page
	}
}

// An execution whose status change was lost (no rescue, not compensated) is handed to the
// rescuer with the event Step Functions sends; one that compensated itself, one already rescued
// and a rescue are not; one that stopped before the window is left, and the listing stops at
// executions started too early to have stopped within it.
func TestSweep(t *testing.T) {
	f := &fakeSFN{execs: stalled(), exists: map[string]bool{RescueARN(execARN("rescued"), "rescued"): true}, pages: map[types.ExecutionStatus]int{}}
	r := &fakeRescuer{sfn: f, start: true}
	// MaxRun from the definition: its TimeoutSeconds (50 min) and ten minutes.
	results, err := Sweep(context.Background(), f, r, Options{StateMachineARN: machine, Rescuer: "rescuer", Since: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, res := range results {
		if res.Err != nil {
			t.Errorf("%s: %v", res.Execution, res.Err)
		}
		got[res.Execution] = res.Outcome
	}
	want := map[string]string{"compensated": Compensated, "rescued": AlreadyDone, "rescue-x": IsRescue, "rescue-y": Compensated,
		"refund-failed": RefundFailed, "lost": Started}
	if len(got) != len(want) {
		t.Errorf("results %v, want %v", got, want)
	}
	for name, outcome := range want {
		if got[name] != outcome {
			t.Errorf("%s: %q, want %q", name, got[name], outcome)
		}
	}
	if len(r.payloads) != 1 {
		t.Fatalf("%d invokes, want the lost one's alone", len(r.payloads))
	}
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Account    string `json:"account"`
		Region     string `json:"region"`
		Detail     struct {
			ExecutionArn, StateMachineArn, Name, Status string
			Input                                       *string
			InputDetails                                struct{ Included bool }
			StopDate                                    int64
		} `json:"detail"`
	}
	if err := json.Unmarshal(r.payloads[0], &ev); err != nil {
		t.Fatal(err)
	}
	d := ev.Detail
	if ev.Source != "aws.states" || ev.DetailType != "Step Functions Execution Status Change" || ev.Account != "111122223333" || ev.Region != "us-east-1" ||
		d.ExecutionArn != execARN("lost") || d.StateMachineArn != machine || d.Name != "lost" || d.Status != "ABORTED" ||
		aws.ToString(d.Input) != `{"detail":{"orderId":"ORD-1"}}` || !d.InputDetails.Included || d.StopDate != now.Add(-20*time.Minute).UnixMilli() {
		t.Errorf("event %s", r.payloads[0])
	}
	// TIMED_OUT: "too-early" (started 3 h ago) ends the listing: the page after it is never read.
	if f.pages[types.ExecutionStatusTimedOut] != 1 || slices.Contains(f.described, execARN("long-ago")) || slices.Contains(f.described, execARN("too-early")) {
		t.Errorf("pages %v, described %v", f.pages, f.described)
	}
}

func TestSweepDryRunAndFailures(t *testing.T) {
	f := &fakeSFN{execs: stalled(), exists: map[string]bool{}, pages: map[types.ExecutionStatus]int{}}
	r := &fakeRescuer{sfn: f}
	results, err := Sweep(context.Background(), f, r, Options{StateMachineARN: machine, Rescuer: "rescuer", Since: now.Add(-time.Hour), MaxRun: time.Hour, DryRun: true})
	if err != nil || len(r.payloads) != 0 {
		t.Fatalf("dry run: %v, %d invokes", err, len(r.payloads))
	}
	would := 0
	for _, res := range results {
		if res.Outcome == WouldHand {
			would++
		}
	}
	if would != 2 { // "rescued" has no rescue here, "lost" neither
		t.Errorf("dry run: %d would be handed over, want 2 (%+v)", would, results)
	}

	for _, tc := range []struct {
		name    string
		rescuer *fakeRescuer
		want    string
	}{
		{"the rescuer starts nothing", &fakeRescuer{sfn: f}, NoneStarted},
		{"the rescuer fails", &fakeRescuer{sfn: f, fail: true}, ""},
	} {
		results, err := Sweep(context.Background(), f, tc.rescuer, Options{StateMachineARN: machine, Rescuer: "rescuer", Since: now.Add(-time.Hour), MaxRun: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(results, func(r Result) bool { return r.Execution == "lost" }) {
			t.Errorf("%s: no result for the lost execution: %+v", tc.name, results)
		}
		for _, res := range results {
			if res.Execution != "lost" {
				continue
			}
			if res.Outcome != tc.want || (tc.want == "") != (res.Err != nil) {
				t.Errorf("%s: %q, %v; want %q", tc.name, res.Outcome, res.Err, tc.want)
			}
			if tc.want == "" && !strings.Contains(res.Err.Error(), "boom") {
				t.Errorf("%s: %v, want the rescuer's error", tc.name, res.Err)
			}
		}
	}
}

func TestSweepStopsWhenTheListingFails(t *testing.T) {
	_, err := Sweep(context.Background(), failingList{}, &fakeRescuer{}, Options{StateMachineARN: machine, Since: now, MaxRun: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "throttled") {
		t.Errorf("err = %v", err)
	}
}

type failingList struct{ SFNAPI }

func (failingList) ListExecutions(context.Context, *sfn.ListExecutionsInput, ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	return nil, errors.New("throttled")
}
