package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Goals, from the issue.
const (
	handlerGoal  = 3.0       // handler ns/op ≤ 3 × its floor's
	initGoal     = 1.5       // init ≤ 1.5 × hello-world's
	zipGoalBytes = 4_000_000 // every zip ≤ 4 MB (decimal: the stricter reading, and the one the 3.85–4.02 MB match)
)

// Report is everything one run measured; main writes it as Markdown and JSON.
type Report struct {
	Generated  time.Time  `json:"generated"`
	Go         string     `json:"go"`
	Host       string     `json:"host"` // GOOS/GOARCH and CPUs of the machine that measured
	Settings   Settings   `json:"settings"`
	Benchmarks []pair     `json:"benchmarks,omitempty"`
	Zips       []zipRow   `json:"zips,omitempty"`
	RIE        *rieReport `json:"rie,omitempty"`
}

// Settings are the flags of the run.
type Settings struct {
	Count     int    `json:"count"`
	Benchtime string `json:"benchtime"`
	Bench     string `json:"bench"`
	Cold      int    `json:"cold"`
	Warm      int    `json:"warm"`
	ZipArch   string `json:"zipArch"`
}

// zipRow is the zip of one function for each architecture measured.
type zipRow struct {
	Function string           `json:"function"`
	Bytes    map[string]int64 `json:"bytes"` // by GOARCH
	Method   string           `json:"method"`
	Limit    int64            `json:"limit"`
	Pass     bool             `json:"pass"` // the zip of Settings.ZipArch is within Limit
}

// rieReport is the cold and warm runs under the RIE.
type rieReport struct {
	Module  string     `json:"module"`
	Version string     `json:"version"`
	GOARCH  string     `json:"goarch"`
	Hello   fnResult   `json:"hello"`
	Results []fnResult `json:"functions"`
}

// fnResult is one function under the RIE: medians over its cold starts (warm: over every
// warm invoke of every cold start), and ratios to hello-world's.
type fnResult struct {
	Function     string  `json:"function"`
	Path         string  `json:"path"`
	InitMs       stat    `json:"initMs"`       // the RIE's INIT REPORT
	ReportInitMs stat    `json:"reportInitMs"` // REPORT's Init Duration
	FirstMs      stat    `json:"firstMs"`      // REPORT Duration of the cold invoke
	ColdWallMs   stat    `json:"coldWallMs"`   // the cold request, client side
	WarmMs       stat    `json:"warmMs"`       // REPORT Duration of the warm invokes
	InitRatio    float64 `json:"initRatio"`
	WarmRatio    float64 `json:"warmRatio"`
	ColdRatio    float64 `json:"coldWallRatio"`
	InitPass     bool    `json:"initPass"`
}

// summarize turns a function's cold runs into its result (ratios are set by ratios).
func summarize(name, path string, runs []coldRun) fnResult {
	var init, reportInit, first, wall, warm []float64
	for _, r := range runs {
		init, reportInit, first, wall = append(init, r.InitMs), append(reportInit, r.ReportInitMs), append(first, r.FirstMs), append(wall, r.ColdWallMs)
		warm = append(warm, r.WarmMs...)
	}
	return fnResult{Function: name, Path: path, InitMs: statOf(init), ReportInitMs: statOf(reportInit), FirstMs: statOf(first), ColdWallMs: statOf(wall), WarmMs: statOf(warm)}
}

// ratios sets each result's ratios to hello's and whether its init meets the goal.
func ratios(hello fnResult, results []fnResult) []fnResult {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	out := make([]fnResult, len(results))
	for i, r := range results {
		r.InitRatio = div(r.InitMs.Median, hello.InitMs.Median)
		r.WarmRatio = div(r.WarmMs.Median, hello.WarmMs.Median)
		r.ColdRatio = div(r.ColdWallMs.Median, hello.ColdWallMs.Median)
		r.InitPass = r.InitRatio > 0 && r.InitRatio <= initGoal
		out[i] = r
	}
	return out
}

// Markdown writes the report's tables.
func (r Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s with %s on %s.\n\n", r.Generated.Format("2006-01-02 15:04 MST"), r.Go, r.Host)
	if len(r.Benchmarks) > 0 {
		fmt.Fprintf(&b, "### Handlers against their floor\n\n")
		fmt.Fprintf(&b, "Each package's test binary (`go test -c`) run %[2]d times with `-test.run '^$' -test.bench '%[1]s' -test.benchmem -test.count 1 -test.benchtime %[3]s -test.cpu 1` (one P, as the functions run), packages in turn: median of %[2]d runs (± the largest distance of a run from it). "+
			"Handler: the event's bytes through the `lambda.Handler` the function hands the runtime (`boot.Handler`: decode, handle on in-memory fakes, encode the answer). "+
			"Floor: `json.Unmarshal` of the same bytes into the same event type and `json.Marshal` of the same answer.\n\n",
			r.Settings.Bench, r.Settings.Count, r.Settings.Benchtime)
		b.WriteString("| function | input | handler ns/op | B/op | allocs/op | floor ns/op | B/op | allocs/op | ratio | goal | |\n")
		b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|:-:|\n")
		for _, p := range r.Benchmarks {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | ≤ %s | %s |\n", p.Function, p.Input,
				withSpread(p.Handler.NsPerOp), thousands(p.Handler.BytesPerOp.Median), thousands(p.Handler.AllocsPerOp.Median),
				withSpread(p.Floor.NsPerOp), thousands(p.Floor.BytesPerOp.Median), thousands(p.Floor.AllocsPerOp.Median),
				times(p.Ratio), times(p.Goal), mark(p.Pass))
		}
		b.WriteString("\n")
		instructionsTable(&b, r.Benchmarks)
	}
	if r.RIE != nil {
		x := r.RIE
		fmt.Fprintf(&b, "### Cold start and warm invoke under the Lambda Runtime Interface Emulator\n\n")
		fmt.Fprintf(&b, "%s %s, each function built as infra/function.go builds it (linux/%s), beside scripts/bench/hello built the same way. "+
			"%d cold starts per function (a fresh RIE each, functions interleaved), %d warm invokes after each; medians. "+
			"init: the RIE's `INIT REPORT` (bootstrap start to its first request for an event). "+
			"REPORT init: the `Init Duration` of the first REPORT line, which this RIE measures before init has run (it starts init asynchronously). "+
			"first invoke: the first REPORT's Duration (waits for init, then handles). cold request: the first invoke as its client saw it. "+
			"warm: the other REPORT lines' Duration.\n\n",
			x.Module, x.Version, x.GOARCH, r.Settings.Cold, r.Settings.Warm)
		b.WriteString("| function | init ms | × hello | goal ≤ 1.5× | REPORT init ms | first invoke ms | cold request ms | × hello | warm ms | × hello | path measured |\n")
		b.WriteString("|---|--:|--:|:-:|--:|--:|--:|--:|--:|--:|---|\n")
		row := func(f fnResult, goal string) {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Function,
				ms(f.InitMs), times(f.InitRatio), goal, ms(f.ReportInitMs), ms(f.FirstMs), ms(f.ColdWallMs), times(f.ColdRatio),
				ms(f.WarmMs), times(f.WarmRatio), f.Path)
		}
		hello := x.Hello
		hello.InitRatio, hello.WarmRatio, hello.ColdRatio = 1, 1, 1
		row(hello, "")
		for _, f := range x.Results {
			row(f, mark(f.InitPass))
		}
		b.WriteString("\n")
	}
	if len(r.Zips) > 0 {
		arch := r.Settings.ZipArch
		fmt.Fprintf(&b, "### Zip size\n\nThe zip the CDK CLI uploads (%s); goal ≤ 4 MB = %s bytes for %s, what `cdk deploy` ships by default.\n\n",
			r.Zips[0].Method, thousands(zipGoalBytes), arch)
		var archs []string
		for a := range r.Zips[0].Bytes {
			if a != arch {
				archs = append(archs, a)
			}
		}
		b.WriteString("| function | " + arch + " bytes | MB | ≤ 4 MB |")
		for _, a := range archs {
			b.WriteString(" " + a + " bytes |")
		}
		b.WriteString("\n|---|--:|--:|:-:|" + strings.Repeat("--:|", len(archs)) + "\n")
		for _, z := range r.Zips {
			pass := mark(z.Pass)
			if z.Function == helloFunctionName {
				pass = ""
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %s |", z.Function, thousands(float64(z.Bytes[arch])), float64(z.Bytes[arch])/1e6, pass)
			for _, a := range archs {
				fmt.Fprintf(&b, " %s |", thousands(float64(z.Bytes[a])))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// instructionsTable writes the instruction counts of the pairs that have them (-instructions).
func instructionsTable(b *strings.Builder, pairs []pair) {
	if !slices.ContainsFunc(pairs, func(p pair) bool { return p.Instructions != nil }) {
		return
	}
	fmt.Fprintf(b, "Instructions per op under valgrind's callgrind (the garbage collector's included; runs of n and 2n ops, "+
		"the lowest count of %d runs each, their difference over n; n from the bytes an op allocates, about %d MiB between the two runs, at least %d ops; "+
		"`GODEBUG=asyncpreemptoff=1`): a count that does not move with the machine's load, and a proxy, "+
		"blind to cache misses; the timed ratio above is the one held to the goal.\n\n", instrRepeats, instrHeap>>20, instrMinOps)
	b.WriteString("| function | input | handler instructions/op | floor instructions/op | ratio |\n|---|---|--:|--:|--:|\n")
	for _, p := range pairs {
		if i := p.Instructions; i != nil {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", p.Function, p.Input, thousands(i.Handler), thousands(i.Floor), times(i.Ratio))
		}
	}
	b.WriteString("\n")
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

func times(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "×" }

func ms(s stat) string { return strconv.FormatFloat(s.Median, 'f', 2, 64) }

func withSpread(s stat) string {
	if s.Runs < 2 {
		return thousands(s.Median)
	}
	return fmt.Sprintf("%s ±%.0f%%", thousands(s.Median), s.Spread*100)
}

// thousands formats x rounded to an integer with comma separators.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
