package events_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// banned are packages the functions must not link, each with why: every one was measured in
// each cold start's package initialisation or in each zip (README, Performance; make bench).
// Production code is what the function binaries link (their dependencies, events among them)
// and every other package of functions/ but test helpers (packages that import "testing",
// such as metrics/metricstest, which checks log lines against a JSON Schema in tests).
var banned = []ban{
	{
		under("github.com/santhosh-tekuri/jsonschema", "golang.org/x/text"),
		"events validates with its own small validator; the JSON Schema library (with golang.org/x/text, its message printer) serves only the tests that hold that validator to it: its init alone cost milliseconds of every cold start, and the two some 270 KB of every zip",
	},
	{
		under("github.com/aws/aws-sdk-go-v2/config"),
		"boot.FromEnv builds the AWS config from the variables Lambda sets; config.LoadDefaultConfig's credential chain (SSO, STS, IMDS clients) is never reached in a function and adds about 570 KB to each zip",
	},
	{
		sdkSchemas,
		"the AWS SDK's schema-based (de)serialisation builds every shape of a service's model at each cold start (DynamoDB's 0.5-0.8 ms and 587 KB, EventBridge's 0.3-0.4 ms, SQS's 0.15-0.2 ms), which doubled the functions' package init: go.mod keeps the service modules the functions link on their last releases before it. Upgrade one past that only after make bench shows init within 1.5x hello-world with it",
	},
}

// ban is one rule: the packages match selects, and why they stay out.
type ban struct {
	match func(pkg string) bool
	why   string
}

// bannedFor is the rule that keeps pkg out of the functions, if any.
func bannedFor(pkg string) (ban, bool) {
	i := slices.IndexFunc(banned, func(b ban) bool { return b.match(pkg) })
	if i < 0 {
		return ban{}, false
	}
	return banned[i], true
}

// under matches the packages at or below any of the paths.
func under(paths ...string) func(string) bool {
	return func(pkg string) bool {
		for _, p := range paths {
			if pkg == p || strings.HasPrefix(pkg, p+"/") {
				return true
			}
		}
		return false
	}
}

// sdkSchemas matches a service client's generated schema package,
// github.com/aws/aws-sdk-go-v2/service/<service>/schemas.
func sdkSchemas(pkg string) bool {
	rest, ok := strings.CutPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/")
	if !ok {
		return false
	}
	service, sub, _ := strings.Cut(rest, "/")
	return service != "" && sub == "schemas"
}

func TestBannedMatchers(t *testing.T) {
	for _, tc := range []struct {
		pkg  string
		want bool
	}{
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas", true},
		{"github.com/aws/aws-sdk-go-v2/service/sqs/schemas", true},
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb", false},
		{"github.com/aws/aws-sdk-go-v2/service/dynamodb/types", false},
		{"github.com/aws/aws-sdk-go-v2/config", true},
		{"github.com/aws/aws-sdk-go-v2/credentials", false},
		{"github.com/aws/aws-sdk-go-v2/configsources", false},
		{"golang.org/x/text/message", true},
		{"golang.org/x/textual", false},
	} {
		if _, got := bannedFor(tc.pkg); got != tc.want {
			t.Errorf("bannedFor(%s) = %v, want %v", tc.pkg, !tc.want, tc.want)
		}
	}
}

// TestProductionDependencies walks what the functions link from go list's import graph and fails
// on each banned package, with the chain of imports that reaches it and the reason it is banned.
func TestProductionDependencies(t *testing.T) {
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
	// The SDK's service clients must be among what is walked, or the schema ban proves nothing.
	if _, ok := imports["github.com/aws/aws-sdk-go-v2/service/dynamodb"]; !ok {
		t.Fatal("go list did not reach the DynamoDB client: the check would prove nothing")
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
			if b, ok := bannedFor(imp); ok {
				chain := []string{imp}
				for p := pkg; p != ""; p = via[p] {
					chain = append(chain, p)
				}
				slices.Reverse(chain)
				t.Errorf("production code depends on %s: %s\n\twhy not: %s", imp, strings.Join(chain, " -> "), b.why)
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
