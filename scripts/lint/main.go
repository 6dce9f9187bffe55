// Command lint checks the synthesized CloudFormation template and the state machine definitions with
// the pinned linters the Makefile installs: cfn-lint (PyPI, into .venv) and asl-validator (npm, into
// node_modules). It installs nothing itself.
//
//	go run ./scripts/lint -template cdk.out/Orderflow.template.json -asl infra/workflow/order-fulfilment.asl.json
//
// It fails when cfn-lint reports any error or warning (informational findings are not asked for), or
// when asl-validator rejects the -asl file or the definition of any AWS::StepFunctions::StateMachine in
// the template. That definition is rebuilt the way CloudFormation would: Fn::Join, Fn::Sub, Ref and
// Fn::GetAtt are resolved with plausible stand-in values (an ARN where an ARN would be), then the
// DefinitionSubstitutions fill the ${...} placeholders. A placeholder left unfilled, or a substitution
// that fills nothing, fails too.
//
// A warning that cannot be fixed is suppressed in the CDK code, on the resource, with the reason in a
// comment beside it: Metadata {"cfn-lint": {"config": {"ignore_checks": ["W...."]}}}. This command
// lists those suppressions, so that they stay visible in every run.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

func main() {
	template := flag.String("template", "cdk.out/Orderflow.template.json", "synthesized CloudFormation template (JSON)")
	asl := flag.String("asl", "", "an Amazon States Language file to validate as it is (its ${...} placeholders are valid strings)")
	cfnLint := flag.String("cfn-lint", ".venv/bin/cfn-lint", "the cfn-lint executable")
	aslValidator := flag.String("asl-validator", "node_modules/.bin/asl-validator", "the asl-validator executable")
	flag.Parse()

	failed := false
	report := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "lint:", err)
			failed = true
		}
	}
	for _, tool := range []string{*cfnLint, *aslValidator} {
		if _, err := os.Stat(tool); err != nil {
			fmt.Fprintf(os.Stderr, "lint: %s is not installed (make deps installs the pinned linters): %v\n", tool, err)
			os.Exit(2)
		}
	}
	tpl, err := readTemplate(*template)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lint:", err)
		os.Exit(2)
	}

	report(runCfnLint(*cfnLint, *template, tpl))
	if *asl != "" {
		report(validateASL(*aslValidator, *asl, *asl))
	}
	defs := Definitions(tpl)
	if len(defs) == 0 {
		fmt.Printf("%s: no state machine\n", *template)
	}
	for _, d := range defs {
		report(validateDefinition(*aslValidator, *template, d))
	}
	if failed {
		fmt.Fprintln(os.Stderr, "lint: FAILED")
		os.Exit(1)
	}
	fmt.Println("lint: template and state machine definitions OK")
}

// Template is the part of a CloudFormation template this command reads.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

func readTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the template (synthesize it first: make synth): %w", err)
	}
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &t, nil
}

// --- cfn-lint ------------------------------------------------------------------------------------

// Finding is one entry of `cfn-lint --format json`.
type Finding struct {
	Level    string // Error, Warning or Informational
	Message  string
	Location struct {
		Path  []any
		Start struct{ LineNumber int }
	}
	Rule struct{ Id string }
}

// Resource is the logical id a finding is about, if it is under Resources.
func (f Finding) Resource() string {
	if len(f.Location.Path) >= 2 && f.Location.Path[0] == "Resources" {
		return fmt.Sprint(f.Location.Path[1])
	}
	return ""
}

func (f Finding) String() string {
	path := make([]string, len(f.Location.Path))
	for i, p := range f.Location.Path {
		path[i] = fmt.Sprint(p)
	}
	where := f.Rule.Id
	if r := f.Resource(); r != "" {
		where += " " + r
	}
	return fmt.Sprintf("%s: %s (%s, line %d)", where, f.Message, strings.Join(path, "/"), f.Location.Start.LineNumber)
}

// ParseCfnLint reads cfn-lint's JSON output and returns the findings that fail the run (errors and
// warnings) and the others.
func ParseCfnLint(out []byte) (failing, other []Finding, err error) {
	var all []Finding
	if err := json.Unmarshal(out, &all); err != nil {
		return nil, nil, fmt.Errorf("cfn-lint output is not JSON: %w: %.500s", err, out)
	}
	for _, f := range all {
		if f.Level == "Error" || f.Level == "Warning" {
			failing = append(failing, f)
		} else {
			other = append(other, f)
		}
	}
	return failing, other, nil
}

func runCfnLint(bin, path string, tpl *Template) error {
	version, _ := exec.Command(bin, "--version").Output()
	fmt.Printf("%s on %s\n", strings.TrimSpace(string(version)), path)
	// cfn-lint's exit code is a bit mask of the levels found (2 error, 4 warning, 8 informational);
	// the JSON says the same per finding, so the code is only trusted when the output is not JSON.
	cmd := exec.Command(bin, "--format", "json", "--", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	failing, other, err := ParseCfnLint(out)
	if err != nil {
		return fmt.Errorf("cfn-lint: %v (exit: %v) %s", err, runErr, stderr.String())
	}
	for _, f := range append(failing, other...) {
		fmt.Println("  " + f.String())
	}
	if s := Suppressions(tpl); len(s) > 0 {
		fmt.Println("  suppressed in the code, on the resource (Metadata cfn-lint ignore_checks):")
		for _, line := range s {
			fmt.Println("    " + line)
		}
	}
	if len(failing) > 0 {
		return fmt.Errorf("cfn-lint: %d error(s) or warning(s) on %s: fix each, or suppress it in the CDK code with its reason", len(failing), path)
	}
	fmt.Println("  cfn-lint: no errors, no warnings")
	return nil
}

// Suppressions lists, per rule, the resources whose Metadata tells cfn-lint to ignore it.
func Suppressions(t *Template) []string {
	byRule := map[string][]string{}
	for id, r := range t.Resources {
		cfg, _ := r.Metadata["cfn-lint"].(map[string]any)
		c, _ := cfg["config"].(map[string]any)
		rules, _ := c["ignore_checks"].([]any)
		for _, rule := range rules {
			byRule[fmt.Sprint(rule)] = append(byRule[fmt.Sprint(rule)], id)
		}
	}
	var out []string
	for rule, ids := range byRule {
		sort.Strings(ids)
		out = append(out, fmt.Sprintf("%s on %s", rule, strings.Join(ids, ", ")))
	}
	sort.Strings(out)
	return out
}

// --- asl-validator -------------------------------------------------------------------------------

func validateASL(bin, path, name string) error {
	out, err := exec.Command(bin, "--json-path", path).CombinedOutput()
	text := strings.TrimSpace(string(out))
	if name != path {
		text = strings.ReplaceAll(text, path, name)
	}
	fmt.Println(indent(text))
	if err != nil {
		return fmt.Errorf("asl-validator rejected %s", name)
	}
	return nil
}

func validateDefinition(bin, templatePath string, d Definition) error {
	name := fmt.Sprintf("%s (the definition of %s, rebuilt)", templatePath, d.LogicalID)
	if d.Err != nil {
		return fmt.Errorf("%s: %w", name, d.Err)
	}
	f, err := os.CreateTemp("", "asl-"+d.LogicalID+"-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(d.JSON); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return validateASL(bin, f.Name(), name)
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// --- rebuilding a state machine's definition from the template -------------------------------------

// Definition is the definition of one state machine, as CloudFormation would hand it to Step Functions.
type Definition struct {
	LogicalID string
	JSON      string
	Err       error // the definition could not be rebuilt, or placeholders and substitutions disagree
}

// Stand-ins for what only a deployment knows.
const (
	partition = "aws"
	region    = "us-east-1"
	account   = "123456789012"
)

var (
	// placeholder is a DefinitionSubstitutions key as Step Functions finds it in the definition.
	placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_.:-]+)\}`)
	// subVariable is a ${...} of Fn::Sub.
	subVariable = regexp.MustCompile(`\$\{([^}]*)\}`)
)

// Definitions rebuilds the definition of every AWS::StepFunctions::StateMachine in the template, in
// logical-id order.
func Definitions(t *Template) []Definition {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::StepFunctions::StateMachine" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []Definition
	for _, id := range ids {
		s, err := definition(t, t.Resources[id].Properties)
		out = append(out, Definition{LogicalID: id, JSON: s, Err: err})
	}
	return out
}

func definition(t *Template, props map[string]any) (string, error) {
	var def string
	switch {
	case props["DefinitionString"] != nil:
		v, err := resolve(t, props["DefinitionString"])
		if err != nil {
			return "", fmt.Errorf("DefinitionString: %w", err)
		}
		def = v
	case props["Definition"] != nil: // the definition as a JSON object
		b, err := json.Marshal(props["Definition"])
		if err != nil {
			return "", err
		}
		def = string(b)
	default:
		return "", errors.New("no DefinitionString or Definition (DefinitionS3Location is not checked)")
	}

	subs, _ := props["DefinitionSubstitutions"].(map[string]any)
	values := map[string]string{}
	for k, v := range subs {
		s, err := resolve(t, v)
		if err != nil {
			return "", fmt.Errorf("DefinitionSubstitutions.%s: %w", k, err)
		}
		values[k] = s
	}
	var missing []string
	used := map[string]bool{}
	def = placeholder.ReplaceAllStringFunc(def, func(m string) string {
		key := placeholder.FindStringSubmatch(m)[1]
		v, ok := values[key]
		if !ok {
			missing = append(missing, m)
			return m
		}
		used[key] = true
		return jsonEscape(v) // the placeholder sits inside a JSON string
	})
	var unused []string
	for k := range values {
		if !used[k] {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	switch {
	case len(missing) > 0:
		return def, fmt.Errorf("placeholders with no DefinitionSubstitutions entry: %s", strings.Join(missing, ", "))
	case len(unused) > 0:
		return def, fmt.Errorf("DefinitionSubstitutions that fill no placeholder: %s", strings.Join(unused, ", "))
	}
	return def, nil
}

// jsonEscape escapes s for use inside a JSON string literal.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// resolve evaluates a template value that must come out a string: a literal, Fn::Join, Fn::Sub, Ref
// or Fn::GetAtt. Anything else is an error rather than a guess, so that a test on it fails loudly.
func resolve(t *Template, v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case float64, bool:
		return fmt.Sprint(v), nil
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for fn, arg := range v {
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				return ref(t, name)
			case "Fn::GetAtt":
				id, attr, err := getAttArgs(arg)
				if err != nil {
					return "", err
				}
				return getAtt(t, id, attr)
			case "Fn::Join":
				args, _ := arg.([]any)
				if len(args) != 2 {
					return "", fmt.Errorf("Fn::Join: want [delimiter, [values]], got %v", arg)
				}
				sep, _ := args[0].(string)
				parts, _ := args[1].([]any)
				out := make([]string, len(parts))
				for i, p := range parts {
					s, err := resolve(t, p)
					if err != nil {
						return "", err
					}
					out[i] = s
				}
				return strings.Join(out, sep), nil
			case "Fn::Sub":
				return sub(t, arg)
			}
			return "", fmt.Errorf("%s is not resolved by this command", fn)
		}
	}
	return "", fmt.Errorf("cannot resolve %v to a string", v)
}

func getAttArgs(arg any) (id, attr string, err error) {
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			id, _ = a[0].(string)
			attr, _ = a[1].(string)
		}
	case string: // "Logical.Attr"
		id, attr, _ = strings.Cut(a, ".")
	}
	if id == "" || attr == "" {
		return "", "", fmt.Errorf("Fn::GetAtt: want [logicalId, attribute], got %v", arg)
	}
	return id, attr, nil
}

// sub evaluates Fn::Sub: "${Name}" is a Ref, "${Name.Attr}" a GetAtt, "${!Literal}" stays "${Literal}".
func sub(t *Template, arg any) (string, error) {
	var s string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		s = a
	case []any:
		if len(a) == 2 {
			s, _ = a[0].(string)
			vars, _ = a[1].(map[string]any)
		}
	}
	var firstErr error
	out := subVariable.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v string
		var err error
		if x, ok := vars[name]; ok {
			v, err = resolve(t, x)
		} else if id, attr, ok := strings.Cut(name, "."); ok {
			v, err = getAtt(t, id, attr)
		} else {
			v, err = ref(t, name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// ref is a stand-in for what Ref returns: a pseudo parameter's value, or per resource type its name,
// URL or ARN.
func ref(t *Template, name string) (string, error) {
	switch name {
	case "AWS::Partition":
		return partition, nil
	case "AWS::Region":
		return region, nil
	case "AWS::AccountId":
		return account, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return "Orderflow", nil
	case "AWS::StackId":
		return arn("cloudformation", "stack/Orderflow/00000000-0000-0000-0000-000000000000"), nil
	}
	r, ok := t.Resources[name]
	if !ok {
		return "", fmt.Errorf("Ref %s: no such resource", name)
	}
	switch r.Type {
	case "AWS::SQS::Queue":
		return "https://sqs." + region + ".amazonaws.com/" + account + "/" + name, nil
	case "AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::StepFunctions::Activity", "AWS::IAM::ManagedPolicy":
		return getAtt(t, name, "Arn")
	}
	return name, nil // a name: table, function, bus, bucket, role, ...
}

// getAtt is a stand-in for what Fn::GetAtt returns; Arn gets an ARN of the resource type's shape.
func getAtt(t *Template, id, attr string) (string, error) {
	r, ok := t.Resources[id]
	if !ok {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	switch attr {
	case "QueueUrl":
		return ref(t, id)
	case "QueueName", "TopicName", "Name":
		return id, nil
	case "Arn":
	default:
		return id + "-" + attr, nil
	}
	switch r.Type {
	case "AWS::Lambda::Function":
		return arn("lambda", "function:"+id), nil
	case "AWS::SQS::Queue", "AWS::SNS::Topic":
		return arn(service(r.Type), id), nil
	case "AWS::DynamoDB::Table":
		return arn("dynamodb", "table/"+id), nil
	case "AWS::Events::EventBus":
		return arn("events", "event-bus/"+id), nil
	case "AWS::StepFunctions::StateMachine":
		return arn("states", "stateMachine:"+id), nil
	case "AWS::IAM::Role":
		return "arn:" + partition + ":iam::" + account + ":role/" + id, nil
	case "AWS::S3::Bucket":
		return "arn:" + partition + ":s3:::" + strings.ToLower(id), nil
	}
	return arn(service(r.Type), strings.ToLower(filepath.Base(strings.ReplaceAll(r.Type, "::", "/")))+"/"+id), nil
}

func arn(svc, resource string) string {
	return "arn:" + partition + ":" + svc + ":" + region + ":" + account + ":" + resource
}

// service is "sqs" for "AWS::SQS::Queue".
func service(typ string) string {
	parts := strings.Split(typ, "::")
	if len(parts) < 2 {
		return "unknown"
	}
	return strings.ToLower(parts[1])
}
