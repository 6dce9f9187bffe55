package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// Architecture is the CPU architecture the Lambda functions are built for and run on.
type Architecture string

const (
	ARM64 Architecture = "arm64"  // the AWS default: cheaper per GB-second
	X8664 Architecture = "x86_64" // what a local emulator on an x86-64 host can execute
)

// ParseArchitecture reads the `arch` context value; empty means arm64.
func ParseArchitecture(v any) (Architecture, error) {
	if v == nil || v == "" {
		return ARM64, nil
	}
	switch s, _ := v.(string); Architecture(s) {
	case ARM64:
		return ARM64, nil
	case X8664, "amd64":
		return X8664, nil
	}
	return "", fmt.Errorf("context arch=%v: want %q or %q", v, ARM64, X8664)
}

func (a Architecture) lambda() awslambda.Architecture {
	if a == X8664 {
		return awslambda.Architecture_X86_64()
	}
	return awslambda.Architecture_ARM_64()
}

func (a Architecture) goarch() string {
	if a == X8664 {
		return "amd64"
	}
	return "arm64"
}

// FunctionDefaults are the settings every orderflow function shares.
type FunctionDefaults struct {
	Architecture Architecture
	SourceRoot   string // repository root: functions/<name> is built from here
	// NoReservedConcurrency leaves every function in the account's unreserved pool (context
	// reservedConcurrency=false): for an account whose concurrency quota is too small to reserve
	// any (AWS keeps 100 unreserved; new accounts may have a quota of 10).
	NoReservedConcurrency bool
	// Faults arms fault injection (functions/internal/faults) in the functions it names: folder
	// name → that function's ORDERFLOW_FAULTS. Only from the `faults` context value (ParseFaults),
	// which `make deploy` never passes: the AWS template carries no fault variable (a template test).
	Faults map[string]string
}

// ParseFaults reads the `faults` context value: a JSON object from function folder names
// (functions/<name>) to that function's fault configuration, e.g.
//
//	-c faults='{"payment":{"crashAfterWrite":{"callPercentage":10}}}'
//
// Each configuration is checked as the function checks it at cold start, so a mistake fails the
// synth rather than every invocation. Unset or empty: no faults.
func ParseFaults(v any, root string) (map[string]string, error) {
	var raw []byte
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string: // -c faults='…'
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		raw = []byte(v)
	default: // an object in a cdk.json
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("context faults: %w", err)
		}
		raw = b
	}
	var byName map[string]json.RawMessage
	if err := toolkit.CheckFaultsByFunction(raw); err != nil {
		return nil, fmt.Errorf("context faults=%s: %w", raw, err)
	}
	if err := json.Unmarshal(raw, &byName); err != nil || byName == nil {
		return nil, fmt.Errorf("context faults=%s: want a JSON object from function names to fault configurations", raw)
	}
	faults := map[string]string{}
	for name, spec := range byName {
		if _, err := os.Stat(filepath.Join(root, "functions", name, "main.go")); err != nil || strings.ContainsAny(name, `/\.`) {
			return nil, fmt.Errorf("context faults: %q is not a function (no functions/%s/main.go)", name, name)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, spec); err != nil {
			return nil, fmt.Errorf("context faults.%s: %w", name, err)
		}
		if err := toolkit.CheckFaults(compact.String()); err != nil {
			return nil, fmt.Errorf("context faults.%s: %w", name, err)
		}
		faults[name] = compact.String()
	}
	return faults, nil
}

// GoFunctionProps describes one function; everything else comes from FunctionDefaults.
type GoFunctionProps struct {
	Name        string // the folder under functions/
	Description string
	Environment map[string]*string
	Timeout     awscdk.Duration // default 10 s
	// Reserved bounds how many copies of the function run at once (reserved concurrency; 0: no
	// bound). A burst past it is throttled and waits where the platform keeps it: Lambda's
	// asynchronous queue, the workflow's retries, the client's retry of a 429.
	Reserved int
}

// memorySize is every function's memory, in MB. Lambda gives a function CPU time in proportion to
// its memory, a whole vCPU at 1,769 MB: at 256 MB about a seventh of one.
const memorySize = 256

// goMaxProcs is every function's GOMAXPROCS: with less than one vCPU of CPU time a second P buys
// nothing, while its thread hand-offs, spinning and parallel GC cost the same small share. Under
// `make load` the functions' CPU per order fell by a fifth to a third with it (README, Performance). A
// function's own Environment may set another value.
const goMaxProcs = "1"

// NewGoFunction builds functions/<name> with `go build` on this machine (no Docker) and defines it
// on provided.al2023 with JSON logs to its own log group, X-Ray tracing and the chosen architecture.
func NewGoFunction(scope constructs.Construct, id string, d FunctionDefaults, p GoFunctionProps) awslambda.Function {
	timeout := p.Timeout
	if timeout == nil {
		timeout = awscdk.Duration_Seconds(jsii.Number(10))
	}
	env := maps.Clone(p.Environment)
	if env == nil {
		env = map[string]*string{}
	}
	if _, ok := env["GOMAXPROCS"]; !ok {
		env["GOMAXPROCS"] = jsii.String(goMaxProcs)
	}
	if spec, ok := d.Faults[p.Name]; ok {
		env[toolkit.FaultsVariable] = jsii.String(spec)
	}
	logs := awslogs.NewLogGroup(scope, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_TWO_WEEKS,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	// The function's own role writes to its own log group only. (The role CDK would make has the
	// managed AWSLambdaBasicExecutionRole, which lets a function create log groups and write to
	// any of the account's: a compromised function could forge lines in another's logs.) Its
	// logical id starts as CDK's own role's (<id>ServiceRole…), but its hash differs: a stack
	// deployed before this change gets new roles on update (created before the functions move to
	// them, then the old ones deleted).
	role := awsiam.NewRole(scope, jsii.String(id+"ServiceRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
	})
	logs.GrantWrite(role)
	fn := awslambda.NewFunction(scope, jsii.String(id), &awslambda.FunctionProps{
		Description:  jsii.String(p.Description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: d.Architecture.lambda(),
		Handler:      jsii.String("bootstrap"),
		Code: awslambda.Code_FromAsset(jsii.String(filepath.Join(d.SourceRoot, "functions", p.Name)), &awss3assets.AssetOptions{
			AssetHashType: awscdk.AssetHashType_OUTPUT,
			Bundling: &awscdk.BundlingOptions{
				// Never used: goBundler builds locally. CDK requires an image to fall back to.
				Image: awscdk.DockerImage_FromRegistry(jsii.String("local-go-build-only")),
				Local: &goBundler{root: d.SourceRoot, pkg: "./functions/" + p.Name, goarch: d.Architecture.goarch()},
			},
		}),
		MemorySize:            jsii.Number(memorySize),
		Timeout:               timeout,
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logs,
		Role:                  role,
		Environment:           &env,
	})
	if p.Reserved > 0 && !d.NoReservedConcurrency {
		fn.Node().DefaultChild().(awslambda.CfnFunction).SetReservedConcurrentExecutions(jsii.Number(p.Reserved))
	}
	// cfn-lint W3005: CDK's Function always adds a DependsOn on its own role, which the
	// Role's Fn::GetAtt already orders. The duplicate is harmless, and CDK's to remove.
	ignoreCfnLint(fn, "W3005")
	return fn
}

// ignoreCfnLint makes cfn-lint skip rules on c's own CloudFormation resource; say why beside
// each call. (AddMetadata replaces the key: list every rule of a resource in one call.)
func ignoreCfnLint(c constructs.IConstruct, rules ...string) {
	c.Node().DefaultChild().(awscdk.CfnResource).AddMetadata(jsii.String("cfn-lint"),
		map[string]any{"config": map[string]any{"ignore_checks": rules}})
}

// goBundler implements awscdk.ILocalBundling: CDK calls TryBundle with the asset's output folder.
type goBundler struct {
	root, pkg, goarch string
}

func (b *goBundler) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w", "-o", filepath.Join(*outputDir, "bootstrap"), b.pkg)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+b.goarch, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		// Returning false would make CDK try Docker, which hides the real error: stop here instead.
		fmt.Fprintf(os.Stderr, "go build %s (GOARCH=%s) failed: %v\n", b.pkg, b.goarch, err)
		os.Exit(1)
	}
	return jsii.Bool(true)
}

// suppressFunctionRoleFindings records, on one function's role, the finding every Lambda
// function with X-Ray has, and why it is acceptable.
func suppressFunctionRoleFindings(fn awslambda.Function) {
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions; AWS requires Resource '*'."),
		AppliesTo: &[]any{"Resource::*"},
	}}, jsii.Bool(true))
}
