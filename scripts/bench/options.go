package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
)

// options are bench's flags (parse).
type options struct {
	count, cold, warm           int
	out, bench, benchtime, only string
	zipArch                     string
	goBench, rie, zip           bool
	instructions                bool
}

// parse reads bench's flags. When done, bench exits with code at once: 0 after -h, 2 (usage)
// after a bad flag or value, which stderr names.
func parse(args []string, stderr io.Writer) (o options, code int, done bool) {
	fs := cli.Flags("bench", "go run ./scripts/bench [-count 5] [-cold 15] [-warm 20] [-instructions] [-out bench.md] [flags]", stderr)
	fs.IntVar(&o.count, "count", 5, "runs of each handler benchmark and its floor (medians are reported)")
	fs.IntVar(&o.cold, "cold", 15, "cold starts of each function under the RIE (medians are reported; fewer move the init ratios by up to ±0.5× from run to run)")
	fs.IntVar(&o.warm, "warm", 20, "warm invokes after each cold start")
	fs.StringVar(&o.out, "out", "", "write the Markdown report to this file and the JSON report beside it (same name, .json); default: Markdown on stdout")
	fs.StringVar(&o.bench, "bench", ".", "which benchmarks to run (go test -bench)")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime of each run")
	fs.StringVar(&o.zipArch, "arch", "arm64", "the architecture whose zips are held to the 4 MB goal (the CDK app's default)")
	fs.StringVar(&o.only, "functions", "", "comma-separated function folders for the RIE and the zips (default: every functions/<name>/main.go)")
	fs.BoolVar(&o.goBench, "go", true, "run the handler benchmarks")
	fs.BoolVar(&o.rie, "rie", true, "run the functions under the RIE")
	fs.BoolVar(&o.zip, "zip", true, "measure the zips")
	fs.BoolVar(&o.instructions, "instructions", false, "also count each handler's and floor's instructions per op under valgrind's callgrind (minutes more; needs valgrind)")
	if code, done := cli.Parse(fs, args); done {
		return o, code, true
	}
	err := cli.NoArgs(fs)
	switch {
	case err != nil:
	case o.count < 1 || o.cold < 1 || o.warm < 1:
		err = errors.New("-count, -cold and -warm must be at least 1")
	case strings.EqualFold(filepath.Ext(o.out), ".json"):
		err = fmt.Errorf("-out %s: name the Markdown report; the JSON report is written beside it, with the same name and .json", o.out)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return o, cli.Usage, true
	}
	return o, cli.OK, false
}
