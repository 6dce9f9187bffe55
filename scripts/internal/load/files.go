package load

import (
	"io"
	"os"
	"path/filepath"
)

// WriteReports writes a run's two reports into dir (made if need be): report.md by markdown,
// report.json by json. make load and make chaos write theirs so.
func WriteReports(dir string, markdown, json func(io.Writer) error) error {
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
	return nil
}
