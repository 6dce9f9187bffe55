package browsertest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyTestsImportIt: no command or library package of the module links the browser helpers
// (go list's Imports leaves out the test files').
func TestOnlyTestsImportIt(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH (%v)", err)
	}
	const module = "github.com/orderflow-dev/orderflow"
	out, err := exec.Command(goBin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	listed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		listed++
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == module+"/scripts/internal/render/browsertest" {
				t.Errorf("%s imports the tests' browser helpers", pkg)
			}
		}
	}
	if listed < 20 {
		t.Fatalf("go list named only %d packages", listed)
	}
}
