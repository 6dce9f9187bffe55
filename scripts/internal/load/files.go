package load

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// OutDir makes the directory a run's reports will go to (-out), before the run: a path that
// is a file, or cannot be made, is refused then rather than after minutes of load. "" (the
// default directory, named at the end of the run) is left alone.
func OutDir(dir string) error {
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out must be a directory for report.md and report.json: %w", err)
	}
	return nil
}

// WriteReports writes a run's two reports into dir (made if need be): report.md by markdown,
// report.json by json; then prints the Markdown report to stdout and says where the files
// are. make load and make chaos report so. The Markdown report is printed even when the files
// cannot be written: a run's results are not lost to a full disk.
func WriteReports(stdout io.Writer, dir string, markdown, json func(io.Writer) error) error {
	written := writeFiles(dir, map[string]func(io.Writer) error{"report.md": markdown, "report.json": json})
	if err := markdown(stdout); err != nil {
		return err
	}
	if written != nil {
		return fmt.Errorf("the report above could not be written to %s: %w", dir, written)
	}
	_, err := fmt.Fprintf(stdout, "\nWrote %s and %s.\n", filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json"))
	return err
}

func writeFiles(dir string, files map[string]func(io.Writer) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, write := range files {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
