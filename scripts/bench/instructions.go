package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// With -instructions, each handler benchmark and its floor also run under valgrind's callgrind,
// which counts the instructions the process executes, the garbage collector's included. The
// count does not depend on how busy the machine is: where the timed ratio moves with the hour
// (±50 % spreads on a noisy one), this one repeats within a few per cent. It is a proxy: an
// instruction that misses the cache costs more than one that does not, and a handler allocates
// more than its floor, so the timed ratio stays the one held to the goal.
//
// A benchmark's count per op is the difference between two runs, of n and 2n ops, divided by n:
// what the process does once (start-up, the benchmark's setup) cancels out. n is large enough
// that the ops allocate about instrHeap between the two runs (the collections they cause are
// counted in proportion), and at least instrMinOps. Go's asynchronous preemption is off
// (GODEBUG=asyncpreemptoff=1): its signals land at points that differ from run to run under
// valgrind, and made counts erratic. Even so, a run now and then counts billions more than its
// twin (seen once in a dozen runs of the projector's floor: 6.2 billion instructions for 1,562
// ops where a run before and one after counted 2.7, and 1.4 for 781), so each run is made
// instrRepeats times and the lowest count kept: the extra is only ever added.
const (
	instrHeap    = 16 << 20
	instrMinOps  = 20
	instrMaxOps  = 5000
	instrRepeats = 2
)

// instructions is a pair's count per op under callgrind.
type instructions struct {
	Handler float64 `json:"handler"`
	Floor   float64 `json:"floor"`
	Ratio   float64 `json:"ratio"`
}

// collected is callgrind's summary line: "==123== Collected : 256546931".
var collected = regexp.MustCompile(`(?m)^==\d+== Collected : (\d+)\s*$`)

// parseCollected reads the instructions counted from callgrind's output.
func parseCollected(out []byte) (int64, error) {
	m := collected.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no \"Collected\" line in callgrind's output:\n%s", out)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// instrOps is how many ops a benchmark runs under callgrind (see instrHeap), from its bytes
// allocated per op.
func instrOps(bytesPerOp float64) int {
	if bytesPerOp <= 0 {
		return instrMaxOps
	}
	return min(max(int(math.Ceil(instrHeap/bytesPerOp)), instrMinOps), instrMaxOps)
}

// countInstructions sets p.Instructions from runs of the package's test binary bin (in dir)
// under valgrind.
func countInstructions(ctx context.Context, valgrind, bin, dir string, p *pair) error {
	perOp := func(name string, bytesPerOp float64) (float64, error) {
		return instructionsPerOp(instrOps(bytesPerOp), func(ops int) (int64, error) {
			cmd := exec.CommandContext(ctx, valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", bin,
				"-test.run", "^$", "-test.bench", "^Benchmark"+name+"$", "-test.cpu", "1", "-test.benchtime", strconv.Itoa(ops)+"x")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				return 0, fmt.Errorf("callgrind of Benchmark%s (%d ops): %w\n%s", name, ops, err, out)
			}
			c, err := parseCollected(out)
			if err != nil {
				return 0, fmt.Errorf("callgrind of Benchmark%s: %w", name, err)
			}
			return c, nil
		})
	}
	h, err := perOp(handlePrefix+p.Input, p.Handler.BytesPerOp.Median)
	if err != nil {
		return err
	}
	f, err := perOp(floorPrefix+p.Input, p.Floor.BytesPerOp.Median)
	if err != nil {
		return err
	}
	p.Instructions = &instructions{Handler: h, Floor: f, Ratio: h / f}
	return nil
}

// instructionsPerOp is the count per op from count, the instructions a run of so many ops
// counted: the lowest of instrRepeats runs of n ops and of 2n, their difference over n.
func instructionsPerOp(n int, count func(ops int) (int64, error)) (float64, error) {
	var lowest [2]int64
	for i, ops := range []int{n, 2 * n} {
		for range instrRepeats {
			c, err := count(ops)
			if err != nil {
				return 0, err
			}
			if lowest[i] == 0 || c < lowest[i] {
				lowest[i] = c
			}
		}
	}
	if lowest[1] <= lowest[0] {
		return 0, fmt.Errorf("%d ops counted %d instructions, %d ops %d: no per-op count", n, lowest[0], 2*n, lowest[1])
	}
	return float64(lowest[1]-lowest[0]) / float64(n), nil
}
