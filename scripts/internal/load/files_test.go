package load

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReports(t *testing.T) {
	markdown := func(w io.Writer) error { _, err := io.WriteString(w, "# Load: all checks passed\n"); return err }
	json := func(w io.Writer) error { _, err := io.WriteString(w, "{}\n"); return err }

	dir := filepath.Join(t.TempDir(), "run", "1")
	var stdout bytes.Buffer
	if err := WriteReports(&stdout, dir, markdown, json); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"report.md": "# Load: all checks passed\n", "report.json": "{}\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if !strings.HasPrefix(stdout.String(), "# Load: all checks passed\n") || !strings.Contains(stdout.String(), "Wrote ") {
		t.Errorf("stdout = %q", stdout.String())
	}

	// Where the files cannot go, the report is still printed, and the error says so.
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	err := WriteReports(&stdout, file, markdown, json)
	if err == nil || !strings.Contains(err.Error(), "the report above could not be written") || !strings.Contains(stdout.String(), "# Load: all checks passed") {
		t.Errorf("into a file: %v, stdout %q; want the report printed and an error", err, stdout.String())
	}
	if OutDir(file) == nil || OutDir("") != nil || OutDir(filepath.Join(t.TempDir(), "new")) != nil {
		t.Error("OutDir: a file must be refused, the default and a new directory taken")
	}
}
