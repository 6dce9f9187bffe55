package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
)

// The environment a function runs in under the RIE: Lambda's variables, the refusing
// endpoint, and stand-in values for the variables its Config reads.

// configEnv lists the environment variables a function's Config reads: the `env` tags of the
// type Config struct in functions/<name>/main.go (the one home of that contract).
func configEnv(mainGo string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), mainGo, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var names []string
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		found = true
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				continue
			}
			tag, err := strconv.Unquote(field.Tag.Value)
			if err != nil {
				continue
			}
			if name := reflect.StructTag(tag).Get("env"); name != "" {
				names = append(names, name)
			}
		}
		return false
	})
	if !found {
		return nil, fmt.Errorf("%s: no type Config struct", mainGo)
	}
	return names, nil
}

// envValue is a stand-in value for a Config variable, in the form the function parses. Queue
// URLs name the refusing endpoint too, so that nothing can leave the machine.
func envValue(name, endpoint string) string {
	switch {
	case name == "MAX_RECEIVE_COUNT":
		return "3"
	case name == "QUEUE_CHANNELS":
		return notifyQueueARN + "=email"
	case name == "DLQ_URLS":
		return notifyQueueARN + "=" + endpoint + "/" + benchAccount + "/orderflow-bench-notify-email-dlq"
	case name == "STATE_MACHINE_ARN":
		return stateMachineARN
	case strings.HasSuffix(name, "_URL"):
		return endpoint + "/" + benchAccount + "/orderflow-bench-" + strings.ToLower(strings.TrimSuffix(name, "_URL"))
	case strings.HasSuffix(name, "_ARN"):
		return "arn:aws:lambda:us-east-1:000000000000:function:orderflow-bench-" + strings.ToLower(strings.TrimSuffix(name, "_ARN"))
	default:
		return "orderflow-bench-" + strings.ReplaceAll(strings.ToLower(name), "_", "-")
	}
}

// functionEnv is the environment the RIE runs a function in (it passes its own environment
// on): what Lambda sets for a function the CDK app defines (256 MB, 10 s, JSON logs at INFO),
// the GOMAXPROCS the app sets for every function (hello-world too, to compare like with like),
// fake credentials, the refusing endpoint, and the Config variables.
func functionEnv(name, root, endpoint, home, path string) ([]string, error) {
	env := []string{
		"PATH=" + path,
		"HOME=" + home, // empty: no shared config or credentials file is read
		"AWS_REGION=" + benchRegion, "AWS_DEFAULT_REGION=" + benchRegion,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=test",
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_MAX_ATTEMPTS=1", // a refused call fails at once instead of sleeping in the retryer's backoff
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_LAMBDA_FUNCTION_NAME=orderflow-bench-" + name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256", "AWS_LAMBDA_FUNCTION_TIMEOUT=10",
		"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=INFO",
		"GOMAXPROCS=1",
		"LOG_LEVEL=info", // the RIE's own log level: its INIT REPORT line is logged at info
	}
	if name == helloFunctionName {
		return env, nil
	}
	names, err := configEnv(filepath.Join(root, "functions", name, "main.go"))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		env = append(env, n+"="+envValue(n, endpoint))
	}
	return env, nil
}
