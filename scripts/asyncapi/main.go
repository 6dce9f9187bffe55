// Command asyncapi writes the AsyncAPI 3.0 document of orderflow (docs/asyncapi.json) from the
// event registry, the schemas and the samples; with -check it writes nothing and fails when the
// committed document differs from what it would write, then validates the document with the
// official parser (pinned in package.json: make deps installs it).
//
//	go run ./scripts/asyncapi          # regenerate
//	go run ./scripts/asyncapi -check   # make lint
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/orderflow-dev/orderflow/scripts/internal/asyncapi"
)

func main() {
	check := flag.Bool("check", false, "fail if "+asyncapi.Path+" is stale, then validate it with @asyncapi/parser")
	flag.Parse()
	doc, err := asyncapi.Document(".")
	if err != nil {
		fail(2, err)
	}
	if !*check {
		if err := os.WriteFile(asyncapi.Path, doc, 0o644); err != nil {
			fail(2, err)
		}
		fmt.Println("wrote", asyncapi.Path)
		return
	}
	committed, err := os.ReadFile(asyncapi.Path)
	if err != nil {
		fail(1, err)
	}
	if !bytes.Equal(committed, doc) {
		fail(1, fmt.Errorf("%s is stale: the registry, a schema or a sample changed; run `go run ./scripts/asyncapi` and commit the result", asyncapi.Path))
	}
	cmd := exec.Command("node", "scripts/asyncapi/validate.mjs", asyncapi.Path)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fail(1, fmt.Errorf("%s: the AsyncAPI parser refused it: %w", asyncapi.Path, err))
	}
}

func fail(code int, err error) {
	fmt.Fprintln(os.Stderr, "asyncapi:", err)
	os.Exit(code)
}
