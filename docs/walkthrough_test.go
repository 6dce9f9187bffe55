// Package docs checks that the walkthrough cites only what exists: every linked file, every name
// it links to a file, every make target, script, flag and test it tells the reader to run.
package docs

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const walkthrough = "WALKTHROUGH.md"

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	linkRE = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	codeRE = regexp.MustCompile("`([^`]+)`")
)

// TestLinksExist: the walkthrough points into the code, and every `name` in a link's text occurs
// in the file it links to (that the file exists, TestDocLinksResolve checks for every document).
func TestLinksExist(t *testing.T) {
	doc := read(t, walkthrough)
	links := linkRE.FindAllStringSubmatch(doc, -1)
	if len(links) < 40 {
		t.Fatalf("only %d links: the walkthrough should point into the code for every concept", len(links))
	}
	for _, l := range links {
		text, target := l[1], l[2]
		path, _, external := linkTarget(walkthrough, target)
		if external || strings.HasPrefix(target, "#") {
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			continue // TestDocLinksResolve names it
		}
		if info.IsDir() {
			continue
		}
		for _, name := range codeRE.FindAllStringSubmatch(text, -1) {
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(name[1]) + `\b`).MatchString(read(t, path)) {
				t.Errorf("[%s](%s): %q does not occur in %s", text, target, name[1], target)
			}
		}
	}
}

// commands returns what the walkthrough tells the reader to run: the lines of its sh code
// blocks and its inline code that start with make, go run or go test, without comments.
func commands(doc string) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if i := strings.Index(s, " #"); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		for _, prefix := range []string{"make ", "go run ", "go test "} {
			if strings.HasPrefix(s, prefix) {
				out = append(out, s)
			}
		}
	}
	inBlock := false
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			add(line)
			continue
		}
		for _, m := range codeRE.FindAllStringSubmatch(line, -1) {
			add(m[1])
		}
	}
	return out
}

var (
	argsRE   = regexp.MustCompile(`ARGS=("([^"]*)"|(\S+))`)
	targetRE = regexp.MustCompile(`^make ([a-z0-9-]+)`)
	flagRE   = regexp.MustCompile(`(?:^|\s)--?([a-z][a-z0-9-]*)`)
)

// flags returns the names of the flags in args ("-order ORD-… -dry-run" → order, dry-run).
func flags(args string) []string {
	var out []string
	for _, m := range flagRE.FindAllStringSubmatch(args, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkFlags reports each flag the script at dir does not define.
func checkFlags(t *testing.T, cmd, dir string, names []string) {
	t.Helper()
	main := filepath.Join(dir, "main.go")
	src := read(t, main)
	for _, f := range names {
		if !strings.Contains(src, `"`+f+`"`) {
			t.Errorf("%s: %s defines no flag -%s", cmd, main, f)
		}
	}
}

// TestCommandsExist: every make target is in the Makefile, every script exists and defines the
// flags the walkthrough passes it, every go test names a package and a test that exist.
func TestCommandsExist(t *testing.T) {
	doc := read(t, walkthrough)
	makefile := read(t, filepath.Join("..", "Makefile"))
	cmds := commands(doc)
	if len(cmds) < 15 {
		t.Fatalf("only %d commands found: %v", len(cmds), cmds)
	}
	for _, cmd := range cmds {
		switch {
		case strings.HasPrefix(cmd, "make "):
			target := targetRE.FindStringSubmatch(cmd)[1]
			if !regexp.MustCompile(`(?m)^` + target + `:`).MatchString(makefile) {
				t.Errorf("%s: no target %q in the Makefile", cmd, target)
				continue
			}
			if strings.Contains(cmd, "ORDER=") && !strings.Contains(makefile, "$(ORDER)") {
				t.Errorf("%s: the Makefile does not use ORDER", cmd)
			}
			if m := argsRE.FindStringSubmatch(cmd); m != nil {
				if !strings.Contains(makefile, "go run ./scripts/"+target+" $(ARGS)") {
					t.Errorf("%s: the %s target does not pass ARGS to scripts/%s", cmd, target, target)
					continue
				}
				checkFlags(t, cmd, filepath.Join("..", "scripts", target), flags(m[2]+m[3]))
			}
		case strings.HasPrefix(cmd, "go run "):
			f := strings.Fields(cmd)
			dir := filepath.Join("..", filepath.FromSlash(f[2]))
			if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
				t.Errorf("%s: %v", cmd, err)
				continue
			}
			checkFlags(t, cmd, dir, flags(strings.Join(f[3:], " ")))
		case strings.HasPrefix(cmd, "go test "):
			f := strings.Fields(cmd)
			dir := filepath.Join("..", filepath.FromSlash(f[2]))
			files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
			if len(files) == 0 {
				t.Errorf("%s: no tests in %s", cmd, dir)
				continue
			}
			for i, a := range f {
				if a == "-run" && i+1 < len(f) {
					found := false
					for _, file := range files {
						if regexp.MustCompile(`func Test\w*` + f[i+1]).MatchString(read(t, file)) {
							found = true
						}
					}
					if !found {
						t.Errorf("%s: no test matching %q in %s", cmd, f[i+1], dir)
					}
				}
			}
		}
	}
}

// TestCoversTheLesson: every concept of the lesson has its place, and every section points into
// the code and says how to watch it.
func TestCoversTheLesson(t *testing.T) {
	doc := read(t, walkthrough)
	lower := strings.ToLower(doc)
	for _, concept := range []string{"immutable fact", "producer", "event channel", "consumer", "event router",
		"synchronous", "asynchronous", "point-to-point", "publish/subscribe", "streaming", "replay", "event sourcing",
		"eventual consistency", "debugging", "ordering", "idempotency", "schema evolution", "correlationid", "causationid"} {
		if !strings.Contains(lower, concept) {
			t.Errorf("the walkthrough never mentions %q", concept)
		}
	}
	sections := regexp.MustCompile(`(?m)^#{2,3} `).Split(doc, -1)[1:]
	for _, s := range sections {
		title := strings.SplitN(s, "\n", 2)[0]
		if title == "Before you start" || title == "At a glance" || title == "The challenges" {
			continue
		}
		if !linkRE.MatchString(s) {
			t.Errorf("section %q links to no file", title)
		}
		if !strings.Contains(s, "**Watch it.**") || len(commands(s)) == 0 && !strings.Contains(s, "`make ") {
			t.Errorf("section %q gives no command to watch it", title)
		}
	}
}
