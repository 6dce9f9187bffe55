package load

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteReports writes a run's two reports into dir (made if need be): report.md by markdown,
// report.json by json; then prints the Markdown report to stdout and says where the files
// are. make load and make chaos report so.
func WriteReports(stdout io.Writer, dir string, markdown, json func(io.Writer) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, write := range map[string]func(io.Writer) error{"report.md": markdown, "report.json": json} {
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
	if err := markdown(stdout); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "\nWrote %s and %s.\n", filepath.Join(dir, "report.md"), filepath.Join(dir, "report.json"))
	return err
}
