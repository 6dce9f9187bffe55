package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// cfn-lint: running it on the template, reading its findings, and listing the suppressions
// the CDK code declares.

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
