package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// goBenchOutput is `go test -bench` output of two packages, two runs each, with the lines a
// real run interleaves (headers, logs, PASS, ok).
const goBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/orderflow-dev/orderflow/functions/order-api
cpu: AMD EPYC
BenchmarkHandleOrderAPIPlace-2   	    5548	    212404 ns/op	  13.88 MB/s	   58435 B/op	     947 allocs/op
BenchmarkFloorOrderAPIPlace-2    	   27780	     46349 ns/op	  63.60 MB/s	    7193 B/op	     125 allocs/op
BenchmarkHandleOrderAPIGet-2     	   16530	     75726 ns/op	  37.37 MB/s	   20472 B/op	     184 allocs/op
BenchmarkFloorOrderAPIGet-2      	   21003	     56221 ns/op	  50.34 MB/s	    7547 B/op	     117 allocs/op
BenchmarkHandleOrderAPIPlace-2   	    5000	    200000 ns/op	  13.88 MB/s	   58435 B/op	     947 allocs/op
BenchmarkFloorOrderAPIPlace-2    	   27780	     50000 ns/op	  63.60 MB/s	    7193 B/op	     125 allocs/op
BenchmarkHandleOrderAPIGet-2     	   16530	     75726 ns/op	  37.37 MB/s	   20472 B/op	     184 allocs/op
BenchmarkFloorOrderAPIGet-2      	   21003	     56221 ns/op	  50.34 MB/s	    7547 B/op	     117 allocs/op
PASS
ok  	github.com/orderflow-dev/orderflow/functions/order-api	5.210s
goos: linux
goarch: amd64
pkg: github.com/orderflow-dev/orderflow/functions/streamer
cpu: AMD EPYC
{"time":"2026-03-01T12:00:00Z","level":"INFO","msg":"a log line a test printed"}
BenchmarkHandleStreamer 	    6712	    164036 ns/op	   31961 B/op	     550 allocs/op
BenchmarkFloorStreamer  	  129320	     11593 ns/op	    1440 B/op	      17 allocs/op
PASS
ok  	github.com/orderflow-dev/orderflow/functions/streamer	2.9s
`

func TestParseGoBench(t *testing.T) {
	samples, err := parseGoBench(strings.NewReader(goBenchOutput))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 10 {
		t.Fatalf("%d samples, want 10", len(samples))
	}
	want := sample{Pkg: "github.com/orderflow-dev/orderflow/functions/order-api", Name: "HandleOrderAPIPlace", N: 5548,
		Metrics: map[string]float64{"ns/op": 212404, "MB/s": 13.88, "B/op": 58435, "allocs/op": 947}}
	if !reflect.DeepEqual(samples[0], want) {
		t.Errorf("first sample %+v, want %+v", samples[0], want)
	}
	last := samples[len(samples)-1]
	if last.Pkg != "github.com/orderflow-dev/orderflow/functions/streamer" || last.Name != "FloorStreamer" || last.Metrics["allocs/op"] != 17 {
		t.Errorf("last sample %+v (no -GOMAXPROCS suffix, no MB/s)", last)
	}
	for name, bad := range map[string]string{
		"odd fields":    "BenchmarkHandleX-2 100 5 ns/op 7\n",
		"no ns/op":      "BenchmarkHandleX-2 100 5 B/op\n",
		"bad value":     "BenchmarkHandleX-2 100 five ns/op\n",
		"bad iteration": "BenchmarkHandleX-2 99999999999999999999 5 ns/op\n",
	} {
		if _, err := parseGoBench(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPairUp(t *testing.T) {
	samples, err := parseGoBench(strings.NewReader(goBenchOutput))
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := pairUp(samples, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pairs {
		got = append(got, p.Function+"/"+p.Input)
	}
	if want := []string{"order-api/OrderAPIGet", "order-api/OrderAPIPlace", "streamer/Streamer"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs %v, want %v", got, want)
	}
	place := pairs[1]
	// Medians of two runs: (212404+200000)/2 over (46349+50000)/2.
	if place.Handler.NsPerOp.Median != 206202 || place.Floor.NsPerOp.Median != 48174.5 || place.Handler.NsPerOp.Runs != 2 {
		t.Errorf("place stats %+v / %+v", place.Handler.NsPerOp, place.Floor.NsPerOp)
	}
	if r := 206202 / 48174.5; math.Abs(place.Ratio-r) > 1e-9 || place.Pass || place.Goal != 3 {
		t.Errorf("place ratio %v pass %v, want %v and a failure", place.Ratio, place.Pass, r)
	}
	if get := pairs[0]; !get.Pass || math.Abs(get.Ratio-75726.0/56221) > 1e-9 || get.Handler.AllocsPerOp.Median != 184 || get.Floor.BytesPerOp.Median != 7547 {
		t.Errorf("get %+v", get)
	}
	if s := pairs[2]; s.Pass || s.Ratio < 14 {
		t.Errorf("streamer %+v", s)
	}

	// A handler without its floor, or a floor without its handler, cannot be reported.
	for _, drop := range []string{"FloorStreamer", "HandleStreamer"} {
		var some []sample
		for _, s := range samples {
			if s.Name != drop {
				some = append(some, s)
			}
		}
		if _, err := pairUp(some, 3); err == nil || !strings.Contains(err.Error(), "Streamer") {
			t.Errorf("without %s: error %v", drop, err)
		}
	}
}

func TestStat(t *testing.T) {
	for _, tc := range []struct {
		in           []float64
		med, spread  float64
		unchangedArg bool
	}{
		{[]float64{3, 1, 2}, 2, 0.5, true},
		{[]float64{4, 1, 3, 2}, 2.5, 0.6, true},
		{[]float64{5}, 5, 0, true},
		{nil, 0, 0, true},
	} {
		in := append([]float64(nil), tc.in...)
		s := statOf(in)
		if s.Median != tc.med || math.Abs(s.Spread-tc.spread) > 1e-9 || s.Runs != len(tc.in) {
			t.Errorf("statOf(%v) = %+v, want median %v spread %v", tc.in, s, tc.med, tc.spread)
		}
		if !reflect.DeepEqual(in, tc.in) {
			t.Errorf("statOf sorted its argument: %v", in)
		}
	}
}

// rieOutput is what the RIE prints for a cold invoke and two warm ones: its own log lines, the
// function's JSON logs, START/END/REPORT lines (REPORT lines end in a tab).
const rieOutput = "01 Dec 2026 22:45:48,719 [INFO] (rapid) exec './bootstrap' (cwd=/tmp/x, handler=)\n" +
	"01 Dec 2026 22:45:49,167 [INFO] (rapid) INIT START(type: on-demand, phase: init)\n" +
	"01 Dec 2026 22:45:49,171 [INFO] (rapid) INIT REPORT(durationMs: 3.314000)\n" +
	"START RequestId: 57e8dda0-d743-46e0-9bd2-e6914f161af9 Version: $LATEST\n" +
	`{"time":"2026-12-01T22:45:49.171Z","level":"INFO","msg":"request answered","status":400,"requestId":"57e8dda0"}` + "\n" +
	"END RequestId: 57e8dda0-d743-46e0-9bd2-e6914f161af9\n" +
	"REPORT RequestId: 57e8dda0-d743-46e0-9bd2-e6914f161af9\tInit Duration: 0.63 ms\tDuration: 4.34 ms\tBilled Duration: 5 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n" +
	"01 Dec 2026 22:45:49,171 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 0.744000ms)\n" +
	"START RequestId: eaf96054-3e0f-4045-a1f6-ffad34049759 Version: $LATEST\n" +
	"END RequestId: eaf96054-3e0f-4045-a1f6-ffad34049759\n" +
	"REPORT RequestId: eaf96054-3e0f-4045-a1f6-ffad34049759\tDuration: 0.84 ms\tBilled Duration: 1 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n" +
	"REPORT RequestId: ee518d73-c428-43fd-9f1c-6a2246c8b6c5\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 3008 MB\tMax Memory Used: 3008 MB\t\n"

func TestParseRIE(t *testing.T) {
	reports, inits, err := parseRIE(strings.NewReader(rieOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := []report{
		{RequestID: "57e8dda0-d743-46e0-9bd2-e6914f161af9", InitMs: 0.63, HasInit: true, DurationMs: 4.34},
		{RequestID: "eaf96054-3e0f-4045-a1f6-ffad34049759", DurationMs: 0.84},
		{RequestID: "ee518d73-c428-43fd-9f1c-6a2246c8b6c5", DurationMs: 1.00},
	}
	if !reflect.DeepEqual(reports, want) {
		t.Errorf("reports %+v\nwant %+v", reports, want)
	}
	if !reflect.DeepEqual(inits, []float64{3.314}) {
		t.Errorf("init reports %v", inits)
	}
	if r, i, err := parseRIE(strings.NewReader("nothing here\n")); err != nil || len(r) != 0 || len(i) != 0 {
		t.Errorf("%v %v %v", r, i, err)
	}
}

func TestRatiosAndMarkdown(t *testing.T) {
	hello := summarize(helloFunctionName, "{}", []coldRun{
		{InitMs: 3, ReportInitMs: 0.5, FirstMs: 4, ColdWallMs: 5, WarmMs: []float64{0.5, 0.6}},
		{InitMs: 4, ReportInitMs: 0.6, FirstMs: 5, ColdWallMs: 6, WarmMs: []float64{0.7}},
	})
	if hello.InitMs.Median != 3.5 || hello.WarmMs.Median != 0.6 || hello.WarmMs.Runs != 3 {
		t.Fatalf("hello %+v", hello)
	}
	fns := ratios(hello, []fnResult{
		summarize("fast", "a path", []coldRun{{InitMs: 5, FirstMs: 6, ColdWallMs: 7, WarmMs: []float64{0.6}}}),
		summarize("slow", "another path", []coldRun{{InitMs: 14, FirstMs: 20, ColdWallMs: 22, WarmMs: []float64{1.2}}}),
	})
	if fns[0].InitRatio != 5/3.5 || !fns[0].InitPass || fns[0].WarmRatio != 1 {
		t.Errorf("fast %+v", fns[0])
	}
	if fns[1].InitRatio != 4 || fns[1].InitPass || fns[1].WarmRatio != 2 || fns[1].ColdRatio != 4 {
		t.Errorf("slow %+v", fns[1])
	}

	samples, err := parseGoBench(strings.NewReader(goBenchOutput))
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := pairUp(samples, handlerGoal)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{
		Generated: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), Go: "go1.26.8", Host: "linux/amd64, 2 CPUs",
		Settings:   Settings{Count: 2, Benchtime: "1s", Bench: ".", Cold: 2, Warm: 20, ZipArch: "arm64"},
		Benchmarks: pairs,
		Zips: []zipRow{
			{Function: helloFunctionName, Bytes: map[string]int64{"arm64": 2427549, "amd64": 2676290}, Method: zipByNode, Limit: zipGoalBytes, Pass: true},
			{Function: "order-api", Bytes: map[string]int64{"arm64": 4165940, "amd64": 4621122}, Method: zipByNode, Limit: zipGoalBytes},
		},
		RIE: &rieReport{Module: rieModule, Version: rieVersion, GOARCH: "amd64", Hello: hello, Results: fns},
	}
	var md bytes.Buffer
	if err := rep.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| order-api | OrderAPIPlace | 206,202 ±3% | 58,435 | 947 | 48,175 ±4% | 7,193 | 125 | 4.28× | ≤ 3.00× | ✗ |",
		"| order-api | OrderAPIGet | 75,726 ±0% | 20,472 | 184 | 56,221 ±0% | 7,547 | 117 | 1.35× | ≤ 3.00× | ✓ |",
		"| hello | 3.50 | 1.00× |  | 0.55 | 4.50 | 5.50 | 1.00× | 0.60 | 1.00× | {} |",
		"| fast | 5.00 | 1.43× | ✓ | 0.00 | 6.00 | 7.00 | 1.27× | 0.60 | 1.00× | a path |",
		"| slow | 14.00 | 4.00× | ✗ |",
		"| function | arm64 bytes | MB | ≤ 4 MB | amd64 bytes |",
		"| hello | 2,427,549 | 2.428 |  | 2,676,290 |",
		"| order-api | 4,165,940 | 4.166 | ✗ | 4,621,122 |",
		rieVersion,
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}

	// The JSON report carries the same numbers.
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.md")
	var stdout bytes.Buffer
	if err := write(rep, out, &stdout); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), md.Bytes()) {
		t.Error("stdout differs from the report")
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Benchmarks[1].Ratio != pairs[1].Ratio || back.RIE.Results[1].InitRatio != 4 || back.Zips[1].Bytes["arm64"] != 4165940 {
		t.Errorf("JSON report %s", b)
	}
	if md2, err := os.ReadFile(out); err != nil || !bytes.Equal(md2, md.Bytes()) {
		t.Errorf("Markdown file differs from the report (%v)", err)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 4000000: "4,000,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestInstructions(t *testing.T) {
	out := []byte("==4242== Callgrind, a call-graph generating cache profiler\n" +
		"BenchmarkHandlePayment \t      40\t  59908584 ns/op\n==4242== \n==4242== Events    : Ir\n==4242== Collected : 191738553\n==4242== \n==4242== I   refs:      191,738,553\n")
	if n, err := parseCollected(out); err != nil || n != 191738553 {
		t.Errorf("parseCollected = %d, %v", n, err)
	}
	if _, err := parseCollected([]byte("==1== valgrind: failed to start tool 'callgrind'\n")); err == nil {
		t.Error("parseCollected found a count where there is none")
	}
	for _, tc := range []struct {
		bytesPerOp float64
		want       int
	}{{301622, 56}, {79404, 212}, {5193, 3231}, {1 << 30, instrMinOps}, {1, instrMaxOps}, {0, instrMaxOps}} {
		if got := instrOps(tc.bytesPerOp); got != tc.want {
			t.Errorf("instrOps(%v) = %d, want %d", tc.bytesPerOp, got, tc.want)
		}
	}

	// A run that adds a burst (the second of 2n ops here) does not count: the lowest of each size does.
	runs := map[int][]int64{50: {1_050_000, 1_050_000}, 100: {2_050_000, 9_000_000_000}}
	perOp, err := instructionsPerOp(50, func(ops int) (int64, error) {
		c := runs[ops][0]
		runs[ops] = append(runs[ops][1:], c)
		return c, nil
	})
	if err != nil || perOp != 20_000 {
		t.Errorf("instructionsPerOp = %v, %v; want 20000 (a million a run, 20,000 an op)", perOp, err)
	}
	if _, err := instructionsPerOp(50, func(int) (int64, error) { return 7, nil }); err == nil {
		t.Error("instructionsPerOp found a count per op where twice the ops counted no more")
	}
	if _, err := instructionsPerOp(50, func(int) (int64, error) { return 0, errors.New("valgrind: no such tool") }); err == nil {
		t.Error("instructionsPerOp hid a failed run")
	}

	with := []pair{
		{Function: "payment", Input: "Payment", Instructions: &instructions{Handler: 9_700_000, Floor: 3_580_000, Ratio: 9.7 / 3.58}},
		{Function: "shipping", Input: "Shipping"},
	}
	var b strings.Builder
	instructionsTable(&b, with)
	if !strings.Contains(b.String(), "| payment | Payment | 9,700,000 | 3,580,000 | 2.71× |") || strings.Contains(b.String(), "| shipping |") {
		t.Errorf("instructions table:\n%s", b.String())
	}
	b.Reset()
	instructionsTable(&b, with[1:])
	if b.Len() != 0 {
		t.Errorf("an instructions table without counts:\n%s", b.String())
	}
}

// A bad call is usage (exit 2) that names what is wrong, with bench's own usage line for -h, and
// nothing measured; good flags are read as given.
func TestParse(t *testing.T) {
	for says, args := range map[string][]string{
		"unexpected arguments":                     {"extra"},
		"-count, -cold and -warm must be at least": {"-cold", "0"},
		"name the Markdown report":                 {"-out", "bench.JSON"},
		"flag provided but not defined: -nope":     {"-nope"},
	} {
		var stderr bytes.Buffer
		if _, code, done := parse(args, &stderr); !done || code != 2 || !strings.Contains(stderr.String(), says) {
			t.Errorf("parse(%q) = %d, done %v, %q; want 2 saying %q", args, code, done, stderr.String(), says)
		}
	}
	var stderr bytes.Buffer
	if _, code, done := parse([]string{"-h"}, &stderr); !done || code != 0 || !strings.HasPrefix(stderr.String(), "usage: go run ./scripts/bench ") {
		t.Errorf("-h: %d, done %v, %q; want 0 and bench's usage", code, done, stderr.String())
	}
	o, _, done := parse([]string{"-count", "3", "-rie=false", "-out", "b.md"}, &stderr)
	if done || o.count != 3 || o.rie || !o.zip || o.out != "b.md" || o.cold != 15 {
		t.Errorf("parse = %+v, done %v", o, done)
	}
}
