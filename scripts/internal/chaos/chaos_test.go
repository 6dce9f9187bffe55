package chaos

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
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/fnlogs/fnlogstest"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

func TestDefaultFaultsArmEveryFunction(t *testing.T) {
	root, err := cli.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"order-api", "inventory", "payment", "shipping", "notifier", "streamer", "projector", "analytics", "rescuer"} {
		if !slices.Contains(fns, want) {
			t.Errorf("functions %v lack %s", fns, want)
		}
	}
	if slices.Contains(fns, "toolkit") || slices.Contains(fns, "internal") {
		t.Errorf("functions %v name a package that is no function", fns)
	}
	faults, err := DefaultFaults(fns)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range fns {
		var cfg struct {
			InvocationError    *struct{ InvocationPercentage float64 }
			CrashAfterWrite    *struct{ CallPercentage float64 }
			InvocationAddDelay *struct{ StartupDelayMilliseconds int }
		}
		if err := json.Unmarshal([]byte(faults[fn]), &cfg); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if cfg.InvocationError == nil || cfg.InvocationError.InvocationPercentage != ErrorPercentage || cfg.CrashAfterWrite == nil || cfg.CrashAfterWrite.CallPercentage != CrashPercentage {
			t.Errorf("%s: %s, want 20 %% errors and 10 %% crashes", fn, faults[fn])
		}
		if delayed := cfg.InvocationAddDelay != nil; delayed != (fn == "payment") {
			t.Errorf("%s: %s: latency on the payments path only", fn, faults[fn])
		}
	}
	// What -print-faults prints is one JSON object from function names to these configurations,
	// each valid (the CDK app's ParseFaults, infra/function.go, reads it back).
	var back map[string]json.RawMessage
	if err := json.Unmarshal([]byte(Encode(faults)), &back); err != nil || len(back) != len(faults) || string(back["payment"]) != faults["payment"] {
		t.Errorf("Encode(defaults) = %s (%v)", Encode(faults), err)
	}
	if err := toolkit.CheckFaultsByFunction([]byte(Encode(faults))); err != nil {
		t.Error(err)
	}
	for fn, cfg := range back {
		if err := toolkit.CheckFaults(string(cfg)); err != nil {
			t.Errorf("%s: %v", fn, err)
		}
	}
}

func TestOutputOf(t *testing.T) {
	for in, want := range map[string]string{"order-api": "OrderApiFunctionName", "payment": "PaymentFunctionName"} {
		if got := OutputOf(in); got != want {
			t.Errorf("OutputOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestMixExercisesEveryEnding(t *testing.T) {
	count := map[string]int{}
	for i := range 100 {
		c := Mix(i)
		count[c.SKU+" "+c.Token]++
	}
	want := map[string]int{"SKU-100 " + shop.TokenApprove: 80, "SKU-100 " + shop.TokenDecline: 10, shop.SKUDangerousGoods + " " + shop.TokenApprove: 10}
	if len(count) != len(want) {
		t.Fatalf("mix %v, want %v", count, want)
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("mix %v, want %v", count, want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for line, want := range map[string]string{
		`{"time":"2026-01-01T00:00:00Z","level":"WARN","msg":"fault injected","kind":"crashAfterWrite","function":"f","operation":"DynamoDB.PutItem"}`: "crashAfterWrite",
		`{"level":"WARN","message":"fault injected","kind":"invocationError","preventExecution":false}`:                                                "invocationError",
		`2026-01-01T00:00:00Z {"msg":"fault injected","kind":"invocationAddDelay"`:                                                                     "invocationAddDelay", // cut short
		`{"level":"WARN","msg":"fault injected","kind":"invocationAddDelay","milliseconds":800,"pastDeadline":true}`:                                   KindDelayPastDeadline,
		`{"level":"WARN","msg":"fault injected","kind":"invocationAddDelay","milliseconds":200,"pastDeadline":false}`:                                  "invocationAddDelay",
		`time=2026-01-01T00:00:00Z level=WARN msg="fault injected" kind=invocationAddDelay milliseconds=800 pastDeadline=true`:                         KindDelayPastDeadline,
		`{"level":"WARN","msg":"faults armed","faults":{"invocationError":{}}}`:                                                                        "",
		`{"level":"INFO","msg":"placed","note":"fault injected earlier","kind":"x"}`:                                                                   "",
		`START RequestId: 1 Version: $LATEST`: "",
	} {
		if got := KindOf(line); got != want {
			t.Errorf("KindOf(%s) = %q, want %q", line, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize("gave up after 3 receives: payment ORD-6f1c2d3e-aaaa-4bbb-8ccc-0123456789ab: task token 1234567890123 for 0f8fad5b-d9cb-469f-a165-70867728950e")
	want := "gave up after 3 receives: payment ORD-…: task token … for …"
	if got != want {
		t.Errorf("Normalize = %q, want %q", got, want)
	}
}

func TestTenderTalliesEachMessageOnce(t *testing.T) {
	tender := &Tender{}
	msg := func(id string, kind redrive.Kind, reason string) redrive.Message {
		return redrive.Message{ID: id, Kind: kind, Reason: reason}
	}
	// Pass 1: three payment requests parked with their reason (one cannot be moved yet), one email
	// moved by SQS without a reason.
	tender.record(&redrive.Report{Results: []redrive.Result{
		{Source: "payments", Message: msg("m1", redrive.Parked, "gave up after 3 receives: ORD-1: throttled")},
		{Source: "payments", Message: msg("m2", redrive.Parked, "gave up after 3 receives: ORD-2: throttled")},
		{Source: "payments", Message: msg("m3", redrive.Parked, "gave up after 3 receives: ORD-3: throttled"), Err: errors.New("send: connection reset")},
		{Source: "email", Message: msg("m4", redrive.Exhausted, "no reason recorded")},
	}}, nil)
	// Pass 2: the one left behind moves; a pass fails half way.
	tender.record(&redrive.Report{Results: []redrive.Result{
		{Source: "payments", Message: msg("m3", redrive.Parked, "gave up after 3 receives: ORD-3: throttled")},
	}}, errors.New("streamer: receive: timeout"))
	got := tender.DeadLetters()
	want := []DeadLetter{
		{Queue: "email", Kind: redrive.Exhausted, Reason: "no reason recorded", Count: 1, Moved: 1},
		{Queue: "payments", Kind: redrive.Parked, Reason: "gave up after 3 receives: ORD-…: throttled", Count: 3, Moved: 3},
	}
	if !slices.Equal(got, want) {
		t.Errorf("dead letters %+v,\nwant %+v", got, want)
	}
	if n, problems := tender.Passes(); n != 2 || len(problems) != 1 {
		t.Errorf("passes %d %v, want 2 with one problem", n, problems)
	}
	tender.record(&redrive.Report{Results: []redrive.Result{{Source: "sms", Message: msg("m5", redrive.Parked, "bad"), Err: errors.New("still invalid, kept")}}}, nil)
	if d := tender.DeadLetters(); d[2].Moved != 0 || d[2].LastError != "still invalid, kept" {
		t.Errorf("a message never moved: %+v", d[2])
	}
}

func TestExplainedCheck(t *testing.T) {
	fired := map[string]map[string]int{"notifier": {"invocationError": 3}, "payment": {"invocationAddDelay": 40}}
	for _, tc := range []struct {
		name    string
		letter  DeadLetter
		violate string // "" for none
	}{
		{"a parked message with its reason", DeadLetter{Queue: "payments", Kind: redrive.Parked, Reason: "gave up: throttled", Count: 2}, ""},
		{"a rule failure with its error", DeadLetter{Queue: "workflow-rule", Kind: redrive.RuleFailure, Reason: "Throttling: rate exceeded", Count: 1}, ""},
		{"moved by SQS from a consumer faults struck", DeadLetter{Queue: "email", Kind: redrive.Exhausted, Reason: "no reason recorded", Count: 1}, ""},
		// A delay within the deadline ends no invocation: the handler still parks with a reason.
		{"moved by SQS from a consumer only delays within the deadline struck", DeadLetter{Queue: "payments", Kind: redrive.Exhausted, Reason: "no reason recorded", Count: 1}, "no fault struck payment"},
		{"moved by SQS from a queue of no known consumer", DeadLetter{Queue: "email-subscription", Kind: redrive.Exhausted, Count: 1}, "no fault struck its consumer"},
		{"parked with a blank reason", DeadLetter{Queue: "streamer", Kind: redrive.Parked, Reason: " ", Count: 4}, "4 parked messages without a reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ExplainedCheck([]DeadLetter{tc.letter}, fired)
			switch {
			case tc.violate == "" && !c.OK():
				t.Errorf("violations %v", c.Violations)
			case tc.violate != "" && (len(c.Violations) != 1 || !strings.Contains(c.Violations[0], tc.violate)):
				t.Errorf("violations %v, want one saying %q", c.Violations, tc.violate)
			}
		})
	}
}

// A delay past the deadline ends its invocation as a timeout does: it explains a message SQS
// moved without a reason.
func TestExplainedByADelayPastTheDeadline(t *testing.T) {
	letter := DeadLetter{Queue: "payments", Kind: redrive.Exhausted, Reason: "no reason recorded", Count: 1}
	if c := ExplainedCheck([]DeadLetter{letter}, map[string]map[string]int{"payment": {"invocationAddDelay": 40, KindDelayPastDeadline: 1}}); !c.OK() {
		t.Errorf("violations %v", c.Violations)
	}
}

func TestFiredCheck(t *testing.T) {
	armed := map[string]string{"payment": "{}", "rescuer": "{}"}
	if c := FiredCheck(armed, map[string]map[string]int{"payment": {"crashAfterWrite": 2}}, nil); !c.OK() || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "rescuer") {
		t.Errorf("faults fired in one function: %+v, want ok with a note on the other", c)
	}
	if c := FiredCheck(armed, map[string]map[string]int{"payment": {}}, nil); c.OK() || !strings.Contains(c.Violations[0], "no fault fired") {
		t.Errorf("no fault fired: %+v, want a violation", c)
	}
	if c := FiredCheck(armed, nil, errors.New("AccessDenied")); c.OK() || !strings.Contains(c.Violations[0], "AccessDenied") {
		t.Errorf("faults not counted: %+v, want a violation", c)
	}
	if c := FiredCheck(armed, map[string]map[string]int{"payment": {toolkit.FaultKindAddDelay: 40}}, nil); c.OK() || !strings.Contains(c.Violations[0], "only delays fired") {
		t.Errorf("only delays fired: %+v, want a violation (no invocation ended abnormally)", c)
	}
}

// A drain whose time ran out with messages still queued fails the run, naming the queues: the
// checks read a state those messages would still change.
func TestDrainedCheck(t *testing.T) {
	if c := DrainedCheck(nil, time.Minute); !c.OK() {
		t.Errorf("drained: %+v", c)
	}
	c := DrainedCheck(map[string]int{"PaymentsQueueUrl": 3, "EmailDlqUrl": 1}, time.Minute)
	if c.OK() || len(c.Violations) != 2 || !strings.Contains(c.Violations[0], "EmailDlqUrl still held 1") || !strings.Contains(c.Violations[1], "PaymentsQueueUrl still held 3") {
		t.Errorf("not drained: %+v, want a violation per queue", c)
	}
}

// fakeLambda keeps functions' environments and reports updates InProgress on the first read.
type fakeLambda struct {
	env     map[string]map[string]string
	pending map[string]bool
	group   map[string]string
	updates int
}

func (f *fakeLambda) GetFunctionConfiguration(_ context.Context, in *lambda.GetFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error) {
	name := aws.ToString(in.FunctionName)
	env, ok := f.env[name]
	if !ok {
		return nil, &lambdatypes.ResourceNotFoundException{Message: aws.String(name)}
	}
	out := &lambda.GetFunctionConfigurationOutput{Environment: &lambdatypes.EnvironmentResponse{Variables: env}, LastUpdateStatus: lambdatypes.LastUpdateStatusSuccessful}
	if f.pending[name] {
		out.LastUpdateStatus, f.pending[name] = lambdatypes.LastUpdateStatusInProgress, false
	}
	if g := f.group[name]; g != "" {
		out.LoggingConfig = &lambdatypes.LoggingConfig{LogGroup: aws.String(g)}
	}
	return out, nil
}

func (f *fakeLambda) UpdateFunctionConfiguration(_ context.Context, in *lambda.UpdateFunctionConfigurationInput, _ ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error) {
	f.updates++
	f.env[aws.ToString(in.FunctionName)] = in.Environment.Variables
	f.pending[aws.ToString(in.FunctionName)] = true
	return &lambda.UpdateFunctionConfigurationOutput{}, nil
}

func TestArmKeepsEveryVariableAndRestores(t *testing.T) {
	f := &fakeLambda{env: map[string]map[string]string{
		"Orderflow-Payment": {"PAYMENTS_TABLE": "payments", "MAX_RECEIVE_COUNT": "3"},
		"Orderflow-Ship":    {"SHIPMENTS_TABLE": "shipments"},
	}, pending: map[string]bool{}}
	names := map[string]string{"payment": "Orderflow-Payment", "shipping": "Orderflow-Ship"}
	restore, err := Arm(context.Background(), f, names, map[string]string{"payment": `{"invocationTimeout":{"invocationPercentage":5}}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.env["Orderflow-Payment"]; got["PAYMENTS_TABLE"] != "payments" || got["MAX_RECEIVE_COUNT"] != "3" || got[toolkit.FaultsVariable] == "" {
		t.Errorf("armed environment %v, want the variables kept and the faults added", got)
	}
	armed, err := ArmedFaults(context.Background(), f, names)
	if err != nil || len(armed) != 1 || armed["payment"] == "" {
		t.Errorf("ArmedFaults = %v, %v, want payment only", armed, err)
	}
	if err := restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.env["Orderflow-Payment"]; len(got) != 2 || got[toolkit.FaultsVariable] != "" {
		t.Errorf("restored environment %v, want it as it was", got)
	}
	if f.updates != 2 {
		t.Errorf("%d updates, want 2 (arm, restore): shipping was not asked for", f.updates)
	}
	if _, err := Arm(context.Background(), f, names, map[string]string{"ledger": "{}"}); err == nil || !strings.Contains(err.Error(), "ledger") {
		t.Errorf("arming a function the stack lacks: %v", err)
	}
}

func TestInjectedCountsPerFunctionAndKind(t *testing.T) {
	f := &fakeLambda{env: map[string]map[string]string{"Pay": {}, "Ship": {}, "Note": {}}, pending: map[string]bool{}, group: map[string]string{"Pay": "PayLogs"}}
	logs := &fnlogstest.Logs{Groups: map[string][]string{
		"PayLogs": {`{"msg":"fault injected","kind":"crashAfterWrite"}`, `{"msg":"fault injected","kind":"crashAfterWrite"}`,
			`{"msg":"fault injected","kind":"invocationAddDelay"}`, `{"msg":"charged"}`},
		"/aws/lambda/Ship": {`{"msg":"fault injected","kind":"invocationError"}`},
	}}
	got, err := Injected(context.Background(), logs, f, map[string]string{"payment": "Pay", "shipping": "Ship", "notifier": "Note"}, t0())
	if err != nil {
		t.Fatal(err)
	}
	if got["payment"]["crashAfterWrite"] != 2 || got["payment"]["invocationAddDelay"] != 1 || got["shipping"]["invocationError"] != 1 || total(got["notifier"]) != 0 {
		t.Errorf("injected %v", got)
	}
	if _, err := Injected(context.Background(), logs, f, map[string]string{"payment": "Gone"}, t0()); err == nil {
		t.Error("a function that is not there: no error")
	}
}

func t0() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func TestResultReportsWhatTheFaultsDid(t *testing.T) {
	armed := map[string]string{"payment": `{"crashAfterWrite":{"callPercentage":10}}`, "shipping": `{"invocationTimeout":{"invocationPercentage":5}}`}
	fired := map[string]map[string]int{"payment": {"crashAfterWrite": 7}, "shipping": {}}
	letters := []DeadLetter{{Queue: "payments", Kind: redrive.Exhausted, Reason: "no reason | recorded", Count: 3, Moved: 3}}
	rep := &load.Report{Orders: 2, Concurrency: 1, SKU: "SKU-100", Token: "tok_visa"}
	rep.Checks = []load.Check{ExplainedCheck(letters, fired), FiredCheck(armed, fired, nil)}
	r := &Result{Report: rep, Armed: armed, Fired: fired, DeadLetters: letters, Passes: 4}
	var md strings.Builder
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"all checks passed",
		"| payment | `" + armed["payment"] + "` | 7 crashAfterWrite |",
		"| shipping | `" + armed["shipping"] + "` | none |",
		"| **all** | | 7 crashAfterWrite |",
		"Dead letters: 3 messages, 3 moved back by 4 redrive passes",
		`| payments | max-receives | no reason \| recorded | 3 | 3 |`,
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js strings.Builder
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Load        struct{ Orders int }
		Injected    map[string]map[string]int
		DeadLetters []DeadLetter
		Violations  int
	}
	if err := json.Unmarshal([]byte(js.String()), &got); err != nil || got.Load.Orders != 2 || got.Injected["payment"]["crashAfterWrite"] != 7 || len(got.DeadLetters) != 1 || got.Violations != 0 {
		t.Errorf("JSON %s (%v)", js.String(), err)
	}
}
