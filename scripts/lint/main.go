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
	"encoding/json"
	"flag"
	"fmt"
	"os"
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
