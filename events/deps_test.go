package events_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The functions carry no JSON Schema library: events validates with its own small validator,
// and github.com/santhosh-tekuri/jsonschema (with golang.org/x/text, its message printer)
// serves only the tests that hold that validator to it. Its init alone cost milliseconds of
// every cold start, and the two some 270 KB of every zip.
//
// Production code is what the function binaries link (their dependencies, events among them)
// and every other package of functions/ but test helpers (packages that import "testing",
// such as metrics/metricstest, which checks log lines against a JSON Schema in tests).
func TestNoSchemaLibraryInProduction(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go is not on PATH (%v): cannot list the functions' dependencies", err)
	}
	const module = "github.com/orderflow-dev/orderflow"
	cmd := exec.Command(goBin, "list", "-deps", "-f", `{{.ImportPath}} {{.Name}} {{join .Imports " "}}`,
		module+"/events", module+"/functions/...")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	banned := func(path string) bool {
		for _, b := range []string{"github.com/santhosh-tekuri/jsonschema", "golang.org/x/text"} {
			if path == b || strings.HasPrefix(path, b+"/") {
				return true
			}
		}
		return false
	}
	imports := map[string][]string{}
	var roots, helpers []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pkg, name := f[0], f[1]
		imports[pkg] = f[2:]
		switch {
		case pkg == module+"/events" || (strings.HasPrefix(pkg, module+"/functions/") && name == "main"):
			roots = append(roots, pkg)
		case strings.HasPrefix(pkg, module+"/functions/") && slices.Contains(f[2:], "testing"):
			helpers = append(helpers, pkg)
		case strings.HasPrefix(pkg, module+"/functions/"):
			roots = append(roots, pkg)
		}
	}
	if len(roots) < 10 {
		t.Fatalf("go list found %d production packages; the check would prove nothing", len(roots))
	}
	// Walk from each root; report each banned package with the chain that reaches it.
	via := map[string]string{}
	queue := []string{}
	for _, r := range roots {
		if _, ok := via[r]; !ok {
			via[r] = ""
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		pkg := queue[0]
		queue = queue[1:]
		for _, imp := range imports[pkg] {
			if _, ok := via[imp]; ok {
				continue
			}
			via[imp] = pkg
			if banned(imp) {
				chain := []string{imp}
				for p := pkg; p != ""; p = via[p] {
					chain = append(chain, p)
				}
				slices.Reverse(chain)
				t.Errorf("production code depends on %s: %s", imp, strings.Join(chain, " -> "))
				continue
			}
			queue = append(queue, imp)
		}
	}
	for _, h := range helpers {
		if _, linked := via[h]; linked {
			t.Errorf("test helper %s (it imports testing) is linked into production code", h)
		}
	}
}
