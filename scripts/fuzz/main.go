// Command fuzz runs every Go fuzz test of the module for a while each (`make fuzz`,
// FUZZTIME=30s by default): `go test` fuzzes one target of one package at a time, so this finds
// them all (a func FuzzXxx(*testing.F) in a _test.go file) and runs them in turn.
//
//	go run ./scripts/fuzz -fuzztime 5m            # every target, 5 minutes each
//	go run ./scripts/fuzz -run FuzzFold -fuzztime 1h
//
// A failing input is written by go test under the package's testdata/fuzz/<target>/, where every
// later `go test` (and so `make test`) runs it as a seed: commit it with the fix. The seed corpora
// alone run in `make test`; this is the long search.
package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Target is one fuzz test: its package directory ("./events") and its name.
type Target struct{ Dir, Name string }

// fuzzFunc is the signature go test fuzzes: func FuzzXxx(f *testing.F) (any name for f).
var fuzzFunc = regexp.MustCompile(`^func (Fuzz\w*)\(\w+ \*testing\.F\)`)

// Find lists the fuzz targets under root, by package then name. Directories go ignores (node_modules,
// testdata, hidden ones and those starting with _) are skipped, as are files behind a build tag.
func Find(root string) ([]Target, error) {
	var out []Target
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "node_modules" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, "_test.go") {
			return nil
		}
		found, err := targetsIn(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, f := range found {
			out = append(out, Target{Dir: "./" + filepath.ToSlash(rel), Name: f})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Dir+" "+a.Name, b.Dir+" "+b.Name) })
	return out, err
}

// targetsIn lists the fuzz functions of one test file, none if the file has a build constraint
// (go test would not build it without its tag).
func targetsIn(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "//go:build ") {
			return nil, nil
		}
		if m := fuzzFunc.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out, sc.Err()
}

// Exit codes: 0 every target ran clean, 1 a target failed (its input is in testdata/fuzz), 2 usage.
func run(args []string, stdout, stderr io.Writer) int {
	flags := cli.Flags("fuzz", "go run ./scripts/fuzz [-fuzztime 30s] [-run REGEXP] [-list]", stderr)
	fuzztime := flags.Duration("fuzztime", 30*time.Second, "how long to fuzz each target")
	only := flags.String("run", "", "only the targets whose name matches this regular expression")
	list := flags.Bool("list", false, "list the targets and stop")
	if code, done := cli.Parse(flags, args); done {
		return code
	}
	match := regexp.MustCompile("")
	if *only != "" {
		var err error
		if match, err = regexp.Compile(*only); err != nil {
			fmt.Fprintf(stderr, "fuzz: -run: %v\n", err)
			return 2
		}
	}
	if *fuzztime <= 0 {
		fmt.Fprintln(stderr, "fuzz: -fuzztime must be positive")
		return 2
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "fuzz: %v\n", err)
		return 1
	}
	root, err := cli.Root(wd) // the whole module's targets, from whatever folder inside it
	if err != nil {
		fmt.Fprintf(stderr, "fuzz: %v\n", err)
		return 1
	}
	targets, err := Find(root)
	if err != nil {
		fmt.Fprintf(stderr, "fuzz: %v\n", err)
		return 1
	}
	targets = slices.DeleteFunc(targets, func(t Target) bool { return !match.MatchString(t.Name) })
	if len(targets) == 0 {
		fmt.Fprintln(stderr, "fuzz: no fuzz target matches")
		return 2
	}
	if *list {
		for _, t := range targets {
			fmt.Fprintf(stdout, "%s %s\n", t.Dir, t.Name)
		}
		return 0
	}
	var failed []string
	for i, t := range targets {
		fmt.Fprintf(stdout, "fuzz: [%d/%d] %s in %s for %s\n", i+1, len(targets), t.Name, t.Dir, *fuzztime)
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.Name+"$", "-fuzztime", fuzztime.String(), t.Dir)
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, stdout, stderr
		if err := cmd.Run(); err != nil {
			failed = append(failed, fmt.Sprintf("%s %s (%v)", t.Dir, t.Name, err))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "fuzz: %d of %d targets failed; each failing input is under its package's testdata/fuzz/<target>/:\n  %s\n",
			len(failed), len(targets), strings.Join(failed, "\n  "))
		return 1
	}
	fmt.Fprintf(stdout, "fuzz: %d targets, %s each: no failure\n", len(targets), *fuzztime)
	return 0
}
