package load

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// stat is a /proc/<pid>/stat line with the fields the measurement reads (the rest zero).
func stat(pid, ppid int, comm string, utime, stime, cutime, cstime int64) string {
	return statInGroup(pid, ppid, 0, comm, utime, stime, cutime, cstime)
}

// statInGroup is stat of a process in process group pgrp.
func statInGroup(pid, ppid, pgrp int, comm string, utime, stime, cutime, cstime int64) string {
	return fmt.Sprintf("%d (%s) S %d %d 0 0 -1 0 0 0 0 0 %d %d %d %d 20 0 1 0 0 0 0", pid, comm, ppid, pgrp, utime, stime, cutime, cstime)
}

func TestParseStat(t *testing.T) {
	st, err := parseStat(statInGroup(42, 7, 42, "python -m (mini) stack", 150, 50, 300, 20))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{PID: 42, PPID: 7, PGrp: 42, UTime: 150, STime: 50, CUTime: 300, CSTime: 20}
	if st != want {
		t.Errorf("parseStat = %+v, want %+v (a command name with spaces and parentheses)", st, want)
	}
	for _, bad := range []string{"", "42 no command", "42 (x) S 1 2"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
}

// fakeProc writes a /proc tree of stat files, and environ files for the pids functions names
// (AWS_LAMBDA_FUNCTION_NAME among other variables).
func fakeProc(t *testing.T, lines map[int]string, functions map[int]string) string {
	t.Helper()
	root := t.TempDir()
	for pid, line := range lines {
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if name, ok := functions[pid]; ok {
			environ := "PATH=/usr/bin\x00AWS_LAMBDA_FUNCTION_NAME=" + name + "\x00GOMAXPROCS=1\x00"
			if err := os.WriteFile(filepath.Join(dir, "environ"), []byte(environ), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "self"), 0o755); err != nil { // not a pid: skipped
		t.Fatal(err)
	}
	return root
}

func TestSampleCPU(t *testing.T) {
	root := fakeProc(t, map[int]string{
		100: stat(100, 1, "python", 500, 100, 40, 10),  // MiniStack: 6 s itself, 0.5 s of children it waited for
		101: stat(101, 100, "bootstrap", 30, 10, 0, 0), // a warm function: 0.4 s
		102: stat(102, 101, "helper", 5, 5, 0, 0),      // its child: 0.1 s
		103: stat(103, 100, "bootstrap", 10, 0, 10, 0), // another, with a child it waited for: 0.2 s
		200: stat(200, 1, "unrelated", 900, 900, 0, 0),
	}, map[int]string{101: "streamer", 103: "projector"})
	s, err := SampleCPU(root, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Emulator != 6*time.Second || s.Functions != 1200*time.Millisecond || s.Live() != 3 {
		t.Errorf("sample %+v, want emulator 6s, functions 1.2s (0.5 waited for + 0.4 + 0.1 + 0.2 live), 3 live", s)
	}
	want := map[int]liveCPU{101: {"streamer", 400 * time.Millisecond}, 102: {"", 100 * time.Millisecond}, 103: {"projector", 200 * time.Millisecond}}
	if !maps.Equal(s.live, want) {
		t.Errorf("live processes %v, want %v", s.live, want)
	}
	if s.Proxy != 0 {
		t.Errorf("proxy %v, want 0: MiniStack leads no process group here", s.Proxy)
	}
	if _, err := SampleCPU(root, 999, nil); err == nil {
		t.Error("a missing emulator process was sampled")
	}
}

// With a clock, each process's threads are read by it, to the nanosecond, and its reaped
// children from its stat; a process the clock does not answer for (gone) keeps its ticks.
func TestSampleCPUReadsEachProcessByClock(t *testing.T) {
	root := fakeProc(t, map[int]string{
		100: statInGroup(100, 1, 100, "python", 500, 100, 40, 10), // reaped functions: 0.5 s
		101: statInGroup(101, 100, 100, "bootstrap", 0, 0, 0, 0),  // 9 ms by clock: 0 ticks
		102: statInGroup(102, 100, 100, "bootstrap", 3, 1, 2, 0),  // its clock fails: 40 ms + 20 ms reaped
		103: statInGroup(103, 101, 100, "bootstrap", 0, 0, 1, 0),  // 5 ms, and 10 ms of a reaped child
		150: statInGroup(150, 1, 100, "emulator", 70, 20, 0, 0),   // the proxy: 0.95 s by clock
	}, map[int]string{101: "streamer", 102: "streamer"})
	clocks := map[int]time.Duration{100: 6123 * time.Millisecond, 101: 9 * time.Millisecond, 103: 5 * time.Millisecond, 150: 950 * time.Millisecond}
	clock := func(pid int) (time.Duration, error) {
		if d, ok := clocks[pid]; ok {
			return d, nil
		}
		return 0, errors.New("no such process")
	}
	s, err := SampleCPU(root, 100, clock)
	if err != nil {
		t.Fatal(err)
	}
	if s.Emulator != 6123*time.Millisecond || s.Proxy != 950*time.Millisecond {
		t.Errorf("emulator %v, proxy %v; want 6.123s and 0.95s, by clock", s.Emulator, s.Proxy)
	}
	if want := 500*time.Millisecond + 9*time.Millisecond + 60*time.Millisecond + 15*time.Millisecond; s.Functions != want {
		t.Errorf("functions %v, want %v (reaped 0.5 s + 9 ms + 60 ms by ticks + 15 ms)", s.Functions, want)
	}
	if got := s.live[101].cpu; got != 9*time.Millisecond {
		t.Errorf("process 101: %v, want its clock's 9ms (its ticks say 0)", got)
	}
}

// ProcessCPU reads a process's CPU to the nanosecond: this test's own, as getrusage counts it,
// and nothing for a process that does not exist.
func TestProcessCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for x, start := uint64(1), time.Now(); time.Since(start) < 30*time.Millisecond; x = x*6364136223846793005 + 1 {
		sink = x
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	used := ownCPU()
	if after-before < 10*time.Millisecond || after > used+20*time.Millisecond || after < used-20*time.Millisecond {
		t.Errorf("ProcessCPU went from %v to %v over 30 ms of busy work; getrusage says %v in all", before, after, used)
	}
	if after%(10*time.Millisecond) == 0 {
		t.Errorf("ProcessCPU %v: a multiple of 10 ms, as if read in ticks", after)
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	if d, err := ProcessCPU(gone.Process.Pid); err == nil {
		t.Errorf("ProcessCPU of process %d, reaped, answered %v", gone.Process.Pid, d)
	}
}

var sink uint64

// As `make up` starts it: MiniStack leads a process group, its functions are in it (below it),
// and so is the proxy (not below it).
func TestSampleCPUCountsTheProxyInMiniStacksGroup(t *testing.T) {
	root := fakeProc(t, map[int]string{
		100: statInGroup(100, 1, 100, "python", 500, 100, 0, 0),
		101: statInGroup(101, 100, 100, "bootstrap", 30, 10, 0, 0), // a function: not the proxy
		150: statInGroup(150, 1, 100, "emulator", 70, 20, 0, 0),    // the proxy: 0.9 s
		200: statInGroup(200, 1, 200, "make", 900, 900, 0, 0),      // another group
	}, map[int]string{101: "streamer"})
	s, err := SampleCPU(root, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Proxy != 900*time.Millisecond || s.Functions != 400*time.Millisecond || s.Emulator != 6*time.Second {
		t.Errorf("sample %+v, want proxy 0.9s, functions 0.4s, emulator 6s", s)
	}
	c := Between(100, CPUSample{At: t0, Proxy: 200 * time.Millisecond}, s, 7, 0.25)
	if c.Proxy != 700*time.Millisecond {
		t.Errorf("proxy over the run %v, want 0.7s", c.Proxy)
	}
}

func TestBetweenAttributesTheLiveProcessesToTheirFunctions(t *testing.T) {
	before := CPUSample{At: t0, Functions: time.Second, live: map[int]liveCPU{
		10: {"streamer", 300 * time.Millisecond},
		11: {"payment", 200 * time.Millisecond}, // ends during the run
		12: {"projector", 500 * time.Millisecond},
	}}
	after := CPUSample{At: t0.Add(time.Minute), Functions: 5 * time.Second, live: map[int]liveCPU{
		10: {"streamer", 1300 * time.Millisecond}, // +1 s
		12: {"analytics", 100 * time.Millisecond}, // the pid taken by another function since: all of it
		13: {"streamer", 1500 * time.Millisecond}, // started during the run: all of it
		14: {"", 50 * time.Millisecond},           // no function's
		15: {"projector", 400 * time.Millisecond}, // started during the run
	}}
	c := Between(7, before, after, 10, 0.25)
	want := []FunctionCPU{
		{Function: "streamer", Processes: 2, CPU: 2500 * time.Millisecond},
		{Function: "projector", Processes: 1, CPU: 400 * time.Millisecond},
		{Function: "analytics", Processes: 1, CPU: 100 * time.Millisecond},
	}
	if !slices.Equal(c.ByFunction, want) {
		t.Errorf("by function %+v, want %+v (most first)", c.ByFunction, want)
	}
	if u := c.Unattributed(); u != time.Second {
		t.Errorf("unattributed %v, want 1s (4 s of functions less 3 s named)", u)
	}
	c.Named(map[string]string{"StreamerFunctionName": "streamer", "ProjectorFunctionName": "projector", "StreamerDlqUrl": "analytics"})
	if got := []string{c.ByFunction[0].Function, c.ByFunction[1].Function, c.ByFunction[2].Function}; !slices.Equal(got, []string{"Streamer", "Projector", "analytics"}) {
		t.Errorf("named %v, want the outputs' stems, and the deployed name where no …FunctionName output names it", got)
	}
}

func TestBetween(t *testing.T) {
	before := CPUSample{At: t0, Emulator: 10 * time.Second, Functions: 2 * time.Second}
	after := CPUSample{At: t0.Add(time.Minute), Emulator: 18 * time.Second, Functions: 4 * time.Second}
	c := Between(7, before, after, 100, 0.25)
	if c.Emulator != 8*time.Second || c.Functions != 2*time.Second || c.Window != time.Minute {
		t.Errorf("Between = %+v", c)
	}
	if c.Ratio() != 0.25 || !c.Met() || c.PerOrder(c.Functions) != 20*time.Millisecond {
		t.Errorf("ratio %v met %v per order %v, want 0.25, met, 20ms", c.Ratio(), c.Met(), c.PerOrder(c.Functions))
	}
	c.Functions = 3 * time.Second
	if c.Met() {
		t.Error("37.5 % met a goal of 25 %")
	}
	if (CPU{}).Ratio() != 0 || (CPU{}).PerOrder(time.Second) != 0 {
		t.Error("an empty measurement divides by zero")
	}
}

func TestFindMiniStackSaysWhyNot(t *testing.T) {
	dir := t.TempDir()
	for _, endpoint := range []string{"", "https://sqs.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://127.0.0.1:4599"} {
		if _, err := FindMiniStack(dir, endpoint); !errors.Is(err, ErrNotLocal) {
			t.Errorf("FindMiniStack(%q) = %v, want ErrNotLocal", endpoint, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".emulator"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The pid file names this test's own process: not MiniStack.
	if err := os.WriteFile(filepath.Join(dir, ".emulator", "ministack-4599.pid"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindMiniStack(dir, "http://127.0.0.1:4599"); !errors.Is(err, ErrNotLocal) {
		t.Errorf("a pid file naming another program: %v, want ErrNotLocal", err)
	}
}

func TestMiniStackVersion(t *testing.T) {
	dir := t.TempDir()
	if v := MiniStackVersion(dir); v != "" {
		t.Errorf("no virtualenv: %q", v)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".venv", "lib", "python3.11", "site-packages", "ministack-1.5.33.dist-info"), 0o755); err != nil {
		t.Fatal(err)
	}
	if v := MiniStackVersion(dir); v != "1.5.33" {
		t.Errorf("version %q, want 1.5.33", v)
	}
}

// Without a virtualenv to read MiniStack's version from, the report names it without a gap.
func TestMiniStackNameWithoutAVersion(t *testing.T) {
	if got := MiniStackName("", 1241); got != "MiniStack (pid 1241)" {
		t.Errorf("MiniStackName(\"\", 1241) = %q, want \"MiniStack (pid 1241)\"", got)
	}
	if got := MiniStackName("1.3.9", 1241); got != "MiniStack 1.3.9 (pid 1241)" {
		t.Errorf("MiniStackName(\"1.3.9\", 1241) = %q", got)
	}
}
