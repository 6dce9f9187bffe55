// Command bench measures the functions (make bench): each handler against its floor, each
// function's cold start and warm invoke under the AWS Lambda Runtime Interface Emulator against a
// hello-world function built the same way, and each function's zip. Every comparison is a ratio
// of two things measured in the same run, on the same machine, interleaved, so that a shared,
// noisy machine slows both sides alike.
//
// Handlers: every functions/<name>/bench_test.go pairs BenchmarkHandle<X> with BenchmarkFloor<X>
// (see functions/internal/benchfixture). Each package's test binary is built once and run -count
// times with -test.count 1, packages in turn, so that a handler's runs and its floor's alternate;
// the table gives medians and each handler's ratio to its floor (goal ≤ 3×).
//
// RIE: the pinned aws-lambda-rie (installed with `go install` into the user cache directory) runs
// each bootstrap, built as infra/function.go builds it, -cold times from a fresh start, then -warm
// warm invokes each time, every function in turn. Each function's payload is answered without
// AWS: every AWS call goes to a local port nothing listens on. The table gives init and warm
// durations and their ratios to scripts/bench/hello's (goal: init ≤ 1.5×).
//
// Zips: the zip the CDK CLI would upload for each function (goal ≤ 4 MB for -arch).
//
// A ratio over its goal is reported, not fatal: the exit status is non-zero only when the tool
// could not measure (a build, a benchmark or an invoke failed, or an answer took another path).
//
// With -instructions, each handler and its floor are also run under valgrind's callgrind, and
// the table gives their instructions per op and the ratio of those (see instructions.go).
//
//	go run ./scripts/bench [-count 5] [-cold 15] [-warm 20] [-instructions] [-out bench.md]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
)

func main() {
	o, code, done := parse(os.Args[1:], os.Stderr)
	if done {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		os.Exit(cli.Fail(ctx, os.Stderr, "bench", err))
	}
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }

func run(ctx context.Context, o options) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := cli.Root(wd)
	if err != nil {
		return err
	}
	goVersion, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return fmt.Errorf("go env GOVERSION: %w", err)
	}
	rep := Report{
		Generated: time.Now(), Go: strings.TrimSpace(string(goVersion)),
		Host:     fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Settings: Settings{Count: o.count, Benchtime: o.benchtime, Bench: o.bench, Cold: o.cold, Warm: o.warm, ZipArch: o.zipArch},
	}
	work, err := os.MkdirTemp("", "orderflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	if o.goBench {
		if rep.Benchmarks, err = handlerBenchmarks(ctx, root, work, o); err != nil {
			return err
		}
	}
	if o.rie || o.zip {
		names, err := functionNames(root, o.only)
		if err != nil {
			return err
		}
		if o.zip {
			if rep.Zips, err = zips(ctx, root, work, names, o.zipArch); err != nil {
				return err
			}
		}
		if o.rie {
			if rep.RIE, err = rieRuns(ctx, root, work, names, o); err != nil {
				return err
			}
		}
	}
	return write(rep, o.out, os.Stdout)
}

// functionNames are the folders functions/<name> with a main.go (sorted), or those of only.
func functionNames(root, only string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	all := map[string]bool{}
	var names []string
	for _, m := range mains {
		n := filepath.Base(filepath.Dir(m))
		all[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	if only == "" {
		return names, nil
	}
	names = nil
	for _, n := range strings.Split(only, ",") {
		n = strings.TrimSpace(n)
		if !all[n] {
			return nil, fmt.Errorf("-functions: no functions/%s/main.go", n)
		}
		names = append(names, n)
	}
	return names, nil
}

// benchPackages are the packages under functions/ whose tests define BenchmarkHandle<X>.
func benchPackages(ctx context.Context, root string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", `{{.ImportPath}}{{"\t"}}{{.Dir}}{{"\t"}}{{join .TestGoFiles " "}}`, "./functions/...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./functions/...: %w", err)
	}
	has := regexp.MustCompile(`(?m)^func Benchmark` + handlePrefix + `\w*\(`)
	pkgs := map[string]string{} // import path -> dir
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == "" {
			continue
		}
		for _, file := range strings.Fields(f[2]) {
			src, err := os.ReadFile(filepath.Join(f[1], file))
			if err != nil {
				return nil, err
			}
			if has.Match(src) {
				pkgs[f[0]] = f[1]
				break
			}
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no BenchmarkHandle<X> under ./functions/...")
	}
	return pkgs, nil
}

// handlerBenchmarks builds the test binary of every package with handler benchmarks once, runs
// them count times in turn (each run -test.count 1), and pairs the results.
func handlerBenchmarks(ctx context.Context, root, work string, o options) ([]pair, error) {
	pkgs, err := benchPackages(ctx, root)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(pkgs))
	for p := range pkgs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	bins := map[string]string{}
	for i, p := range paths {
		bin := filepath.Join(work, "tests", fmt.Sprintf("%02d-%s.test", i, filepath.Base(p)))
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, p)
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go test -c %s: %w\n%s", p, err, b)
		}
		bins[p] = bin
	}
	logf("handler benchmarks: %d packages, %d runs of -benchtime %s each", len(paths), o.count, o.benchtime)
	var all bytes.Buffer
	for round := range o.count {
		for i := range paths {
			p := paths[(i+round)%len(paths)] // a different package first in each round
			// -test.cpu 1: one P, as every function runs (GOMAXPROCS=1, infra/function.go); with
			// more, a handler that works a batch concurrently would be measured faster than it runs.
			cmd := exec.CommandContext(ctx, bins[p], "-test.run", "^$", "-test.bench", o.bench, "-test.benchmem",
				"-test.count", "1", "-test.benchtime", o.benchtime, "-test.cpu", "1")
			cmd.Dir = pkgs[p]
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				return nil, fmt.Errorf("benchmarks of %s (run %d): %w\n%s", p, round+1, err, out.String())
			}
			all.Write(out.Bytes())
		}
		logf("handler benchmarks: run %d of %d done", round+1, o.count)
	}
	samples, err := parseGoBench(&all)
	if err != nil {
		return nil, err
	}
	pairs, err := pairUp(samples, handlerGoal)
	if err != nil || !o.instructions {
		return pairs, err
	}
	valgrind, err := exec.LookPath("valgrind")
	if err != nil {
		return nil, fmt.Errorf("-instructions needs valgrind (Debian: apt-get install valgrind): %w", err)
	}
	byName := map[string]string{} // functions/<name> -> import path
	for _, p := range paths {
		byName[filepath.Base(p)] = p
	}
	for i := range pairs {
		p := byName[pairs[i].Function]
		if err := countInstructions(ctx, valgrind, bins[p], pkgs[p], &pairs[i]); err != nil {
			return nil, err
		}
		logf("instructions: %s %s done", pairs[i].Function, pairs[i].Input)
	}
	return pairs, nil
}

// zips builds every function (and hello) for arch and for this machine, as the CDK app does, and
// measures the zips the CDK CLI would make.
func zips(ctx context.Context, root, work string, names []string, arch string) ([]zipRow, error) {
	archs := []string{arch}
	if runtime.GOARCH != arch {
		archs = append(archs, runtime.GOARCH)
	}
	var rows []zipRow
	for _, name := range append([]string{helloFunctionName}, names...) {
		row := zipRow{Function: name, Bytes: map[string]int64{}, Limit: zipGoalBytes}
		for _, a := range archs {
			boot, err := buildFunction(ctx, root, pkgOf(name), a, filepath.Join(work, a, name))
			if err != nil {
				return nil, err
			}
			n, method, err := zipSize(ctx, boot)
			if err != nil {
				return nil, err
			}
			row.Bytes[a], row.Method = n, method
		}
		row.Pass = row.Bytes[arch] <= zipGoalBytes
		rows = append(rows, row)
	}
	logf("zips measured (%s)", rows[0].Method)
	return rows, nil
}

func pkgOf(name string) string {
	if name == helloFunctionName {
		return "./scripts/bench/hello"
	}
	return "./functions/" + name
}

// rieRuns runs hello and every function under the RIE: one unrecorded round first (every binary
// read once, so that none pays for the disk in a recorded round), then cold rounds, the order of
// the functions turning each round.
func rieRuns(ctx context.Context, root, work string, names []string, o options) (*rieReport, error) {
	if runtime.GOOS != "linux" {
		return nil, errNotLinux
	}
	rieBin, err := installRIE(ctx, logf)
	if err != nil {
		return nil, err
	}
	version, err := moduleVersion(ctx, rieBin, rieModule)
	if err != nil {
		return nil, err
	}
	logf("RIE: %s %s (%s)", rieModule, version, rieBin)
	all, err := payloads()
	if err != nil {
		return nil, fmt.Errorf("payloads: %w", err)
	}
	// Nothing listens on port 1 (tcpmux, a privileged port no one serves): every AWS call is
	// refused at once. (A free port drawn here could be drawn again for an RIE, and the calls
	// would reach it.)
	endpoint := "http://127.0.0.1:1"
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	var targets []target
	for _, name := range append([]string{helloFunctionName}, names...) {
		p, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("no RIE payload for functions/%s: add one to scripts/bench/payloads.go", name)
		}
		boot, err := buildFunction(ctx, root, pkgOf(name), runtime.GOARCH, filepath.Join(work, "rie", name))
		if err != nil {
			return nil, err
		}
		env, err := functionEnv(name, root, endpoint, home, os.Getenv("PATH"))
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{Name: name, Bootstrap: boot, Env: env, Payload: p})
	}
	runs := map[string][]coldRun{}
	for round := -1; round < o.cold; round++ {
		for i := range targets {
			t := targets[(i+max(round, 0))%len(targets)]
			r, err := coldStart(ctx, rieBin, t, o.warm)
			if err != nil {
				return nil, err
			}
			if round >= 0 {
				runs[t.Name] = append(runs[t.Name], r)
			}
		}
		if round >= 0 {
			logf("RIE: cold round %d of %d done", round+1, o.cold)
		}
	}
	rep := &rieReport{Module: rieModule, Version: version, GOARCH: runtime.GOARCH,
		Hello: summarize(helloFunctionName, all[helloFunctionName].Path, runs[helloFunctionName])}
	var results []fnResult
	for _, name := range names {
		results = append(results, summarize(name, all[name].Path, runs[name]))
	}
	rep.Results = ratios(rep.Hello, results)
	return rep, nil
}

// write writes the Markdown to out and the JSON beside it, and the Markdown to stdout.
func write(rep Report, out string, stdout io.Writer) error {
	if out == "" {
		return rep.Markdown(stdout)
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		return err
	}
	if err := os.WriteFile(out, md.Bytes(), 0o644); err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	jsonPath := strings.TrimSuffix(out, filepath.Ext(out)) + ".json"
	if err := os.WriteFile(jsonPath, append(js, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s and %s", out, jsonPath)
	_, err = io.Copy(stdout, &md)
	return err
}
