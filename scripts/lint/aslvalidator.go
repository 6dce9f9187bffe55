package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// asl-validator: run on an ASL file as it is, or on a state machine's definition rebuilt
// from the template (see definition.go).

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
