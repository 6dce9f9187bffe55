package docs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is the most lines a Go source file (tests aside) may have: past it, a file holds more
// than one idea, and a reader has to hold it all at once.
const maxLines = 400

// TestNoSourceFileIsTooLong names every non-test Go file of the repository over maxLines lines.
func TestNoSourceFileIsTooLong(t *testing.T) {
	skip := map[string]bool{".git": true, ".venv": true, ".emulator": true, "node_modules": true, "cdk.out": true}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > maxLines {
			t.Errorf("%s: %d lines, over %d: split it where its ideas part", path, n, maxLines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
