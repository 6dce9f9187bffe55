package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Rebuilding a state machine's definition from the template, as CloudFormation would: its
// intrinsic functions resolved with stand-in values, then its DefinitionSubstitutions applied.

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
