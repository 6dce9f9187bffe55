package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The documents whose links TestDocLinksResolve follows, relative to this folder.
var documents = []string{"../README.md", "WALKTHROUGH.md", "CAPACITY.md", "PERFORMANCE.md"}

var headingRE = regexp.MustCompile(`(?m)^#{1,6} (.+)$`)

// slug is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the anchors of a Markdown document's headings.
func anchors(doc string) map[string]bool {
	out := map[string]bool{}
	for _, h := range headingRE.FindAllStringSubmatch(doc, -1) {
		out[slug(h[1])] = true
	}
	return out
}

// linkTarget splits a link's target in the document at file (a path from this folder) into the
// path it names, from this folder (file itself for "#…" alone), and the heading anchor, if any;
// external is true for a URL or a mailto: link.
func linkTarget(file, target string) (path, anchor string, external bool) {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return "", "", true
	}
	path, anchor, _ = strings.Cut(target, "#")
	if path == "" {
		return file, anchor, false
	}
	return filepath.Join(filepath.Dir(file), filepath.FromSlash(path)), anchor, false
}

// TestDocLinksResolve: every relative link of the README and the docs names a file that exists
// and, when it names a heading (#…), a heading that document has. The performance record was
// split out of the README; a link left pointing at a section that moved fails here.
func TestDocLinksResolve(t *testing.T) {
	headings := map[string]map[string]bool{} // each linked document's anchors, read once
	for _, file := range documents {
		doc := read(t, file)
		for _, l := range linkRE.FindAllStringSubmatch(doc, -1) {
			target := l[2]
			resolved, anchor, external := linkTarget(file, target)
			if external {
				continue
			}
			if _, err := os.Stat(resolved); err != nil {
				t.Errorf("%s: [%s](%s): %v", file, l[1], target, err)
				continue
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(resolved, ".md") {
				t.Errorf("%s: [%s](%s): an anchor into a file that is not Markdown", file, l[1], target)
				continue
			}
			if headings[resolved] == nil {
				headings[resolved] = anchors(read(t, resolved))
			}
			if !headings[resolved][anchor] {
				t.Errorf("%s: [%s](%s): %s has no heading #%s", file, l[1], target, resolved, anchor)
			}
		}
	}
}

func TestSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Performance":                                "performance",
		"MiniStack's Runtime API delay":              "ministacks-runtime-api-delay",
		"Init, and the SDK's service modules pinned": "init-and-the-sdks-service-modules-pinned",
		"A curl session on the local stack":          "a-curl-session-on-the-local-stack",
		"Running locally: MiniStack or LocalStack":   "running-locally-ministack-or-localstack",
		"`make load` and `make_bench`":               "make-load-and-make_bench",
	} {
		if got := slug(heading); got != want {
			t.Errorf("slug(%q) = %q, want %q", heading, got, want)
		}
	}
}
