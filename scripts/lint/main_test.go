package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// template parses a template written in the test.
func template(t *testing.T, js string) *Template {
	t.Helper()
	var tpl Template
	if err := json.Unmarshal([]byte(js), &tpl); err != nil {
		t.Fatal(err)
	}
	return &tpl
}

// one rebuilds the only state machine of tpl and parses its definition.
func one(t *testing.T, tpl *Template) (map[string]any, Definition) {
	t.Helper()
	defs := Definitions(tpl)
	if len(defs) != 1 {
		t.Fatalf("got %d definitions, want 1", len(defs))
	}
	var m map[string]any
	if defs[0].Err == nil {
		if err := json.Unmarshal([]byte(defs[0].JSON), &m); err != nil {
			t.Fatalf("rebuilt definition is not JSON: %v\n%s", err, defs[0].JSON)
		}
	}
	return m, defs[0]
}

// The shape CDK synthesizes when a definition holds tokens: Fn::Join of strings, Refs and GetAtts,
// then DefinitionSubstitutions.
const joined = `{"Resources": {
  "Fn": {"Type": "AWS::Lambda::Function"},
  "Q": {"Type": "AWS::SQS::Queue"},
  "T": {"Type": "AWS::DynamoDB::Table"},
  "Bus": {"Type": "AWS::Events::EventBus"},
  "SM": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
    "DefinitionString": {"Fn::Join": ["", [
      "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"${FnArn}\",\"Parameters\":{\"Bus\":\"",
      {"Ref": "Bus"}, "\",\"Region\":\"", {"Ref": "AWS::Region"},
      "\",\"Queue\":\"${QueueUrl}\",\"Table\":\"${Table}\",\"Quoted\":\"${Quoted}\"},\"End\":true}}}"
    ]]},
    "DefinitionSubstitutions": {
      "FnArn": {"Fn::GetAtt": ["Fn", "Arn"]},
      "QueueUrl": {"Ref": "Q"},
      "Table": {"Ref": "T"},
      "Quoted": {"Fn::Sub": "say \"${AWS::AccountId}\" ${!Literal} ${Fn.Arn}"}
    }}}}}`

func TestDefinitionFromJoinAndSubstitutions(t *testing.T) {
	m, d := one(t, template(t, joined))
	if d.Err != nil {
		t.Fatal(d.Err)
	}
	if d.LogicalID != "SM" {
		t.Errorf("LogicalID = %q", d.LogicalID)
	}
	a := m["States"].(map[string]any)["A"].(map[string]any)
	if got, want := a["Resource"], "arn:aws:lambda:us-east-1:123456789012:function:Fn"; got != want {
		t.Errorf("Resource = %v, want %v", got, want)
	}
	p := a["Parameters"].(map[string]any)
	for k, want := range map[string]string{
		"Bus":    "Bus",
		"Region": "us-east-1",
		"Queue":  "https://sqs.us-east-1.amazonaws.com/123456789012/Q",
		"Table":  "T",
		// A substituted value lands inside a JSON string, so its quotes are escaped.
		"Quoted": `say "123456789012" ${Literal} arn:aws:lambda:us-east-1:123456789012:function:Fn`,
	} {
		if p[k] != want {
			t.Errorf("Parameters.%s = %v, want %v", k, p[k], want)
		}
	}
}

func TestDefinitionPlainStringAndObject(t *testing.T) {
	for name, props := range map[string]string{
		"string": `"DefinitionString": "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}"`,
		"object": `"Definition": {"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`,
	} {
		m, d := one(t, template(t, `{"Resources":{"SM":{"Type":"AWS::StepFunctions::StateMachine","Properties":{`+props+`}}}}`))
		if d.Err != nil || m["StartAt"] != "A" {
			t.Errorf("%s: err %v, definition %s", name, d.Err, d.JSON)
		}
	}
}

func TestDefinitionPlaceholdersAndSubstitutionsMustAgree(t *testing.T) {
	for name, c := range map[string]struct{ props, want string }{
		"missing": {`"DefinitionString": "{\"A\":\"${Nope}\"}"`, "no DefinitionSubstitutions entry: ${Nope}"},
		"unused":  {`"DefinitionString": "{}", "DefinitionSubstitutions": {"Spare": "x"}`, "fill no placeholder: Spare"},
		"unknown": {`"DefinitionString": {"Fn::ImportValue": "x"}`, "Fn::ImportValue is not resolved"},
		"no ref":  {`"DefinitionString": {"Fn::Join": ["", [{"Ref": "Gone"}]]}`, "Ref Gone: no such resource"},
		"none":    {`"DefinitionS3Location": {}`, "no DefinitionString"},
	} {
		_, d := one(t, template(t, `{"Resources":{"SM":{"Type":"AWS::StepFunctions::StateMachine","Properties":{`+c.props+`}}}}`))
		if d.Err == nil || !strings.Contains(d.Err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, d.Err, c.want)
		}
	}
}

// The project's own state machine, its placeholders filled as the template fills them, stays JSON.
func TestDefinitionOfTheProjectFile(t *testing.T) {
	asl, err := os.ReadFile("../../infra/workflow/order-fulfilment.asl.json")
	if err != nil {
		t.Fatal("the project's state machine file (make lint-templates lints it):", err)
	}
	subs := map[string]any{}
	for _, m := range placeholder.FindAllStringSubmatch(string(asl), -1) {
		subs[m[1]] = map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}
	}
	b, _ := json.Marshal(map[string]any{"Resources": map[string]any{
		"Fn": map[string]any{"Type": "AWS::Lambda::Function"},
		"SM": map[string]any{"Type": "AWS::StepFunctions::StateMachine", "Properties": map[string]any{
			"DefinitionString": string(asl), "DefinitionSubstitutions": subs,
		}},
	}})
	m, d := one(t, template(t, string(b)))
	if d.Err != nil {
		t.Fatal(d.Err)
	}
	if strings.Contains(d.JSON, "${") || m["StartAt"] == nil {
		t.Errorf("placeholders left or no StartAt:\n%s", d.JSON)
	}
}

func TestParseCfnLint(t *testing.T) {
	out := `[
	 {"Level": "Warning", "Message": "dependency already enforced", "Rule": {"Id": "W3005"},
	  "Location": {"Path": ["Resources", "Fn", "DependsOn", 1], "Start": {"LineNumber": 12}}},
	 {"Level": "Informational", "Message": "Prefer Fn::Sub", "Rule": {"Id": "I1022"},
	  "Location": {"Path": ["Resources", "Role", "Properties"], "Start": {"LineNumber": 3}}},
	 {"Level": "Error", "Message": "could not be processed", "Rule": {"Id": "E0003"},
	  "Location": {"Path": null, "Start": {"LineNumber": 1}}}]`
	failing, other, err := ParseCfnLint([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(failing) != 2 || len(other) != 1 {
		t.Fatalf("failing %v, other %v", failing, other)
	}
	if got, want := failing[0].String(), "W3005 Fn: dependency already enforced (Resources/Fn/DependsOn/1, line 12)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := failing[1].String(), "E0003: could not be processed (, line 1)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, _, err := ParseCfnLint([]byte("Traceback (most recent call last):")); err == nil {
		t.Error("non-JSON output was accepted")
	}
}

func TestSuppressions(t *testing.T) {
	tpl := template(t, `{"Resources": {
	  "B": {"Type": "X", "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3005"]}}}},
	  "A": {"Type": "X", "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["W3005", "W1030"]}}}},
	  "C": {"Type": "X", "Metadata": {"cdk_nag": {}}}}}`)
	got := strings.Join(Suppressions(tpl), "; ")
	if want := "W1030 on A; W3005 on A, B"; got != want {
		t.Errorf("Suppressions = %q, want %q", got, want)
	}
}
