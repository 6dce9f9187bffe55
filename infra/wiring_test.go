package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// taskGrants says, for each service integration the definition uses, the IAM action it needs
// and the parameter naming the resource it acts on ("" when the resource is data: PutEvents
// puts the entries a task wrote, on the bus they name).
var taskGrants = map[string]struct{ action, param string }{
	"arn:aws:states:::lambda:invoke":                    {"lambda:InvokeFunction", "FunctionName"},
	"arn:aws:states:::sqs:sendMessage.waitForTaskToken": {"sqs:SendMessage", "QueueUrl"},
	"arn:aws:states:::dynamodb:putItem":                 {"dynamodb:PutItem", "TableName"},
	"arn:aws:states:::events:putEvents":                 {"events:PutEvents", ""},
}

// grantsOfEveryStateMachine are the role's grants that no task uses: tracing and log delivery.
var grantsOfEveryStateMachine = []string{
	"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
	"logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
	"logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}

// TestStateMachineRoleGrantsWhatTheTasksCall ties the definition to its role, both ways: each
// task's action is allowed on the very resource its parameters name (through the definition's
// substitutions), and the role allows nothing no task calls (least privilege).
func TestStateMachineRoleGrantsWhatTheTasksCall(t *testing.T) {
	var sm map[string]any
	for _, props := range resources(t, "AWS::StepFunctions::StateMachine") {
		if get(props, "DefinitionSubstitutions", "SagasTable") != nil {
			sm = props
		}
	}
	if sm == nil {
		t.Fatal("no order-fulfilment state machine in the template")
	}
	role := fmt.Sprint(get(sm, "RoleArn", "Fn::GetAtt").([]any)[0])
	granted := map[string][]string{} // action → resources, as JSON
	for id, p := range resources(t, "AWS::IAM::Policy") {
		if !slices.ContainsFunc(get(p, "Roles").([]any), func(r any) bool { return get(r, "Ref") == role }) {
			continue
		}
		for _, st := range get(p, "PolicyDocument", "Statement").([]any) {
			if get(st, "Effect") != "Allow" {
				t.Errorf("%s: unexpected %v statement", id, get(st, "Effect"))
			}
			for _, a := range list(get(st, "Action")) {
				for _, r := range list(get(st, "Resource")) {
					b, _ := json.Marshal(r)
					granted[fmt.Sprint(a)] = append(granted[fmt.Sprint(a)], string(b))
				}
			}
		}
	}
	if len(granted) == 0 {
		t.Fatalf("no policy of the state machine's role %s", role)
	}

	var def struct {
		States map[string]struct {
			Type, Resource string
			Parameters     map[string]any
		}
	}
	if err := json.Unmarshal([]byte(fulfilmentASL), &def); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for name, s := range def.States {
		if s.Type != "Task" {
			continue
		}
		g, ok := taskGrants[s.Resource]
		if !ok {
			t.Errorf("%s: %s is an integration this test does not know: add the action it needs to taskGrants", name, s.Resource)
			continue
		}
		used[g.action] = true
		if len(granted[g.action]) == 0 {
			t.Errorf("%s calls %s, which the role does not allow", name, g.action)
			continue
		}
		if g.param == "" {
			continue
		}
		placeholder, _ := s.Parameters[g.param].(string)
		sub, ok := strings.CutPrefix(placeholder, "${")
		if !ok {
			t.Errorf("%s: %s = %q, want a ${...} substitution", name, g.param, placeholder)
			continue
		}
		target := get(sm, "DefinitionSubstitutions", strings.TrimSuffix(sub, "}"))
		logical := logicalIDIn(target)
		if logical == "" {
			t.Errorf("%s: %s names %v, which is no resource of the stack", name, g.param, target)
			continue
		}
		if !slices.ContainsFunc(granted[g.action], func(r string) bool { return strings.Contains(r, `"`+logical+`"`) }) {
			t.Errorf("%s calls %s on %s, but the role allows it only on %v", name, g.action, logical, granted[g.action])
		}
	}
	for a, rs := range granted {
		if !used[a] && !slices.Contains(grantsOfEveryStateMachine, a) {
			t.Errorf("the role allows %s on %v, which no task calls", a, rs)
		}
	}
}

// list is a policy field that may be one value or a list, as a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// logicalIDIn is the logical id a Ref or Fn::GetAtt names; "" if v is neither.
func logicalIDIn(v any) string {
	if r, ok := get(v, "Ref").(string); ok {
		return r
	}
	if a, ok := get(v, "Fn::GetAtt").([]any); ok && len(a) > 0 {
		return fmt.Sprint(a[0])
	}
	return ""
}

// TestEveryDeadLetterQueueIsAnOutput: every queue something dead-letters into (a queue's
// redrive policy, a rule target's, a subscription's, a function's on-failure destination) is a
// stack output named …DlqUrl, which is how `make redrive`, the load run's DLQ check and the
// operators find it (redrive's own test then wants a way back for each such output).
func TestEveryDeadLetterQueueIsAnOutput(t *testing.T) {
	dlqs := map[string]string{} // logical id → what dead-letters into it
	note := func(arn any, by string) {
		if id := logicalIDIn(arn); id != "" {
			dlqs[id] = by
		}
	}
	for id, p := range resources(t, "AWS::SQS::Queue") {
		note(get(p, "RedrivePolicy", "deadLetterTargetArn"), "queue "+id)
	}
	for id, p := range resources(t, "AWS::Events::Rule") {
		for _, target := range list(get(p, "Targets")) {
			note(get(target, "DeadLetterConfig", "Arn"), "rule "+id)
		}
	}
	for id, p := range resources(t, "AWS::SNS::Subscription") {
		note(get(p, "RedrivePolicy", "deadLetterTargetArn"), "subscription "+id)
	}
	for _, typ := range []string{"AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping"} {
		for id, p := range resources(t, typ) {
			note(get(p, "DestinationConfig", "OnFailure", "Destination"), typ+" "+id)
		}
	}
	if len(dlqs) < 10 {
		t.Fatalf("found only %d dead-letter queues: %v", len(dlqs), dlqs)
	}
	t.Logf("%d dead-letter queues", len(dlqs))
	output := map[string]string{} // logical id → output name
	for name, o := range tpl["Outputs"].(map[string]any) {
		if strings.HasSuffix(name, "DlqUrl") {
			output[logicalIDIn(get(o, "Value"))] = name
		}
	}
	for id, by := range dlqs {
		if output[id] == "" {
			t.Errorf("%s dead-letters into %s, which no …DlqUrl output names (infra/stack.go): redrive cannot find it", by, id)
		}
	}
}

// TestEveryFunctionIsAnOutput: every function of ours (the Go functions, runtime provided.*) is a
// stack output named …FunctionName, which is how the trace draws it (its own test then wants each
// such output in a journey) and how `make chaos` and the operators find it.
func TestEveryFunctionIsAnOutput(t *testing.T) {
	output := map[string]string{} // logical id → output name
	for name, o := range tpl["Outputs"].(map[string]any) {
		if strings.HasSuffix(name, "FunctionName") {
			output[logicalIDIn(get(o, "Value"))] = name
		}
	}
	ours := 0
	for id, p := range resources(t, "AWS::Lambda::Function") {
		if !strings.HasPrefix(fmt.Sprint(get(p, "Runtime")), "provided") {
			continue // the CDK's own helpers (custom resources)
		}
		ours++
		if output[id] == "" {
			t.Errorf("function %s (%v) has no …FunctionName output (infra/stack.go): the trace and the tools cannot find it", id, get(p, "Description"))
		}
	}
	if ours < 9 {
		t.Fatalf("found only %d Go functions", ours)
	}
}
