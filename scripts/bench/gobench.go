package main

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The benchmarks' naming contract: functions/<name>/bench_test.go has BenchmarkHandle<X> (the
// handler behind aws-lambda-go's decoding and encoding) and BenchmarkFloor<X> (JSON decode of
// the same event and encode of the same answer).
const (
	handlePrefix = "Handle"
	floorPrefix  = "Floor"
)

// sample is one line of `go test -bench` output.
type sample struct {
	Pkg     string             // the package's import path (its "pkg:" line)
	Name    string             // without "Benchmark" and the -GOMAXPROCS suffix
	N       int                // iterations
	Metrics map[string]float64 // by unit: "ns/op", "B/op", "allocs/op", "MB/s", ...
}

// benchLine is a result line: name, optional -procs, iterations, then value/unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$`)

// parseGoBench reads `go test -bench` output (any number of packages and -count runs). Lines
// that are not results (goos, cpu, PASS, ok, logs) are skipped; a result line that cannot be
// read is an error.
func parseGoBench(r io.Reader) ([]sample, error) {
	var out []sample
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return nil, fmt.Errorf("%q: iterations: %w", line, err)
		}
		fields := strings.Fields(m[3])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("%q: want value/unit pairs", line)
		}
		s := sample{Pkg: pkg, Name: m[1], N: n, Metrics: map[string]float64{}}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %s: %w", line, fields[i+1], err)
			}
			s.Metrics[fields[i+1]] = v
		}
		if _, ok := s.Metrics["ns/op"]; !ok {
			return nil, fmt.Errorf("%q: no ns/op", line)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

// stat is one metric over the runs of one benchmark: the median (as benchstat reports it) and
// the largest distance from it to a run, as a fraction of it.
type stat struct {
	Median float64 `json:"median"`
	Spread float64 `json:"spread"` // max |run - median| / median
	Runs   int     `json:"runs"`
}

func statOf(vs []float64) stat {
	if len(vs) == 0 {
		return stat{}
	}
	med := median(vs)
	spread := 0.0
	if med != 0 {
		for _, v := range vs {
			spread = max(spread, abs(v-med)/med)
		}
	}
	return stat{Median: med, Spread: spread, Runs: len(vs)}
}

// median of vs (the mean of the middle two for an even count); vs is not changed.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// benchStats is one benchmark over its runs.
type benchStats struct {
	NsPerOp     stat `json:"nsPerOp"`
	BytesPerOp  stat `json:"bytesPerOp"`
	AllocsPerOp stat `json:"allocsPerOp"`
}

// pair is a handler benchmark and its floor.
type pair struct {
	Function string     `json:"function"` // the folder under functions/
	Input    string     `json:"input"`    // <X> of BenchmarkHandle<X>
	Handler  benchStats `json:"handler"`
	Floor    benchStats `json:"floor"`
	Ratio    float64    `json:"ratio"` // median handler ns/op over median floor ns/op
	Goal     float64    `json:"goal"`
	Pass     bool       `json:"pass"`
	// Instructions per op under callgrind (-instructions; nil without).
	Instructions *instructions `json:"instructions,omitempty"`
}

// pairUp aggregates the samples per benchmark and pairs each Handle<X> with the Floor<X> of
// the same package. A handler without its floor (or a floor without its handler) is an error:
// its ratio could not be reported.
func pairUp(samples []sample, goal float64) ([]pair, error) {
	type key struct{ pkg, name string }
	runs := map[key][]sample{}
	for _, s := range samples {
		k := key{s.Pkg, s.Name}
		runs[k] = append(runs[k], s)
	}
	stats := func(k key) benchStats {
		var ns, bs, as []float64
		for _, s := range runs[k] {
			ns = append(ns, s.Metrics["ns/op"])
			if v, ok := s.Metrics["B/op"]; ok {
				bs = append(bs, v)
			}
			if v, ok := s.Metrics["allocs/op"]; ok {
				as = append(as, v)
			}
		}
		return benchStats{NsPerOp: statOf(ns), BytesPerOp: statOf(bs), AllocsPerOp: statOf(as)}
	}
	var out []pair
	var problems []string
	for k := range runs {
		switch {
		case strings.HasPrefix(k.name, handlePrefix):
			x := strings.TrimPrefix(k.name, handlePrefix)
			fk := key{k.pkg, floorPrefix + x}
			if _, ok := runs[fk]; !ok {
				problems = append(problems, fmt.Sprintf("%s: Benchmark%s has no Benchmark%s", k.pkg, k.name, fk.name))
				continue
			}
			p := pair{Function: path.Base(k.pkg), Input: x, Handler: stats(k), Floor: stats(fk), Goal: goal}
			if f := p.Floor.NsPerOp.Median; f > 0 {
				p.Ratio = p.Handler.NsPerOp.Median / f
			}
			p.Pass = p.Ratio > 0 && p.Ratio <= goal
			out = append(out, p)
		case strings.HasPrefix(k.name, floorPrefix):
			if _, ok := runs[key{k.pkg, handlePrefix + strings.TrimPrefix(k.name, floorPrefix)}]; !ok {
				problems = append(problems, fmt.Sprintf("%s: Benchmark%s has no Benchmark%s", k.pkg, k.name, handlePrefix+strings.TrimPrefix(k.name, floorPrefix)))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("unpaired benchmarks: %s", strings.Join(problems, "; "))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Function != out[j].Function {
			return out[i].Function < out[j].Function
		}
		return out[i].Input < out[j].Input
	})
	return out, nil
}
