// Package browsertest holds the tests' headless-browser helpers: find Chromium, render the trace
// page in it, take a screenshot, and check that the rendered page shows every hop of a journey.
// Only tests import it (the trace page's own tests and the end-to-end trace test).
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// ChromiumInstall is how to get the browser the page is checked with (Debian's package).
const ChromiumInstall = "apt-get update && apt-get install -y --no-install-recommends chromium"

// Chromium returns the path of a Chromium (or Chrome) on PATH, or "" if there is none.
func Chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// headless runs Chromium without a sandbox (tests run as root), a GPU, or any network of its own
// (a closed machine refuses its background connections), in a fresh profile.
func headless(ctx context.Context, bin string, args ...string) ([]byte, error) {
	profile, err := os.MkdirTemp("", "orderflow-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	flags := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--hide-scrollbars", "--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, bin, append(flags, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(bin), err, lastLines(stderr.String(), 5))
	}
	return stdout.Bytes(), nil
}

func fileURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return "file://" + filepath.ToSlash(abs), nil
}

// DumpDOM loads a page in headless Chromium, lets its scripts run, and returns the DOM as
// Chromium then serialises it.
func DumpDOM(ctx context.Context, bin, page string) ([]byte, error) {
	u, err := fileURL(page)
	if err != nil {
		return nil, err
	}
	return headless(ctx, bin, "--virtual-time-budget=5000", "--dump-dom", u)
}

// Screenshot renders a page in headless Chromium at the given window size and saves it as PNG.
func Screenshot(ctx context.Context, bin, page, png string, width, height int) error {
	u, err := fileURL(page)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	_, err = headless(ctx, bin, "--virtual-time-budget=5000", fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+abs, u)
	return err
}

// ShowsJourney renders page, the trace page of j, in headless Chromium within timeout and fails
// t where the DOM the page builds lacks any of j (CheckDOM); without Chromium it skips t. It
// returns the Chromium and the page's file, for a further look such as a Screenshot.
func ShowsJourney(t testing.TB, page []byte, j journey.Journey, timeout time.Duration) (bin, path string) {
	t.Helper()
	bin = Chromium()
	if bin == "" {
		t.Skip("chromium is not installed, so the page is not checked in a browser; install it with: " + ChromiumInstall)
	}
	path = filepath.Join(t.TempDir(), "trace.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dom, err := DumpDOM(ctx, bin, path)
	if err != nil {
		t.Fatal(err)
	}
	if missing := CheckDOM(dom, j); len(missing) > 0 {
		t.Errorf("the page Chromium rendered lacks:\n%s", strings.Join(missing, "\n"))
	}
	return bin, path
}

var (
	tagRE  = regexp.MustCompile(`<(g|tr|html)\s[^>]*>`)
	attrRE = regexp.MustCompile(`([a-zA-Z][\w-]*)="([^"]*)"`)
)

// CheckDOM reports what of the journey a rendered page lacks: every hop must be drawn (a
// g.hop of the diagram with its key, its lanes and its label) and listed (a row of the hop table),
// and the page's script must have run (it sets data-hops on <html> to the number it wired).
// An empty answer means the page shows the whole journey.
func CheckDOM(dom []byte, j journey.Journey) []string {
	drawn, listed := map[string]map[string]string{}, map[string]bool{}
	wired := ""
	for _, tag := range tagRE.FindAll(dom, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllSubmatch(tag, -1) {
			attrs[string(m[1])] = html.UnescapeString(string(m[2]))
		}
		switch {
		case bytes.HasPrefix(tag, []byte("<html")):
			wired = attrs["data-hops"]
		case bytes.HasPrefix(tag, []byte("<g")) && strings.Fields(attrs["class"]) != nil && strings.Fields(attrs["class"])[0] == "hop":
			drawn[attrs["data-key"]] = attrs
		case bytes.HasPrefix(tag, []byte("<tr")) && attrs["class"] == "hoprow":
			listed[attrs["data-key"]] = true
		}
	}
	text := html.UnescapeString(string(dom))
	var missing []string
	if wired != strconv.Itoa(len(j.Hops)) {
		missing = append(missing, fmt.Sprintf("the page's script wired %q hops, want %d", wired, len(j.Hops)))
	}
	for i, h := range j.Hops {
		g, ok := drawn[h.Key]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("hop %d (%s) is not drawn", i+1, h.Key))
		case g["data-service"] != h.Service || (h.From != "" && g["data-from"] != h.From):
			missing = append(missing, fmt.Sprintf("hop %d (%s) is drawn from %q to %q, want %q to %q", i+1, h.Key,
				g["data-from"], g["data-service"], h.From, h.Service))
		case g["data-n"] != strconv.Itoa(i+1):
			missing = append(missing, fmt.Sprintf("hop %d (%s) is drawn as #%s", i+1, h.Key, g["data-n"]))
		}
		if !listed[h.Key] {
			missing = append(missing, fmt.Sprintf("hop %d (%s) is not in the hop table", i+1, h.Key))
		}
		if !strings.Contains(text, h.What) || (h.Action != "" && !strings.Contains(text, h.Action)) {
			missing = append(missing, fmt.Sprintf("hop %d (%s): its text %q / label %q is not on the page", i+1, h.Key, h.What, h.Action))
		}
	}
	for _, svc := range j.Services() {
		if !strings.Contains(string(dom), `data-lane="`+svc+`"`) {
			missing = append(missing, "no lane for "+svc)
		}
	}
	return missing
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
