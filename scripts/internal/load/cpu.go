package load

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: fixed at 100 per second on Linux,
// whatever the kernel's own tick (USER_HZ, part of the user-space ABI).
const userHZ = 100

// ticks turns /proc clock ticks into a duration.
func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }

// procStat is the part of /proc/<pid>/stat the CPU measurement reads.
type procStat struct {
	PID, PPID      int
	PGrp           int   // its process group
	UTime, STime   int64 // the process itself (all its threads), in ticks
	CUTime, CSTime int64 // its children it has waited for, in ticks
}

// total is the CPU the process used, its own and its waited-for children's.
func (st procStat) total() time.Duration { return ticks(st.UTime + st.STime + st.CUTime + st.CSTime) }

// parseStat reads one /proc/<pid>/stat line. The command name, in parentheses, may hold spaces
// and parentheses itself: the fields are counted from the last ')'.
func parseStat(line string) (procStat, error) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("stat %q: no command name", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return procStat{}, fmt.Errorf("stat: pid: %w", err)
	}
	f := strings.Fields(line[end+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("stat of %d: %d fields", pid, len(f)+2)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	return procStat{PID: pid, PPID: int(n(1)), PGrp: int(n(2)), UTime: n(11), STime: n(12), CUTime: n(13), CSTime: n(14)}, nil
}

// CPUSample is the CPU an emulator process has used so far: its own, and its functions' (every
// process below it, alive or gone).
type CPUSample struct {
	At        time.Time
	Emulator  time.Duration // the process itself
	Functions time.Duration // children it waited for (cutime+cstime), plus every live descendant's own and waited-for
	// Proxy is what the rest of the emulator's process group used: the proxy `make up` starts in
	// front of MiniStack, in its group (scripts/emulator). Zero when MiniStack leads no group.
	Proxy time.Duration
	live  map[int]liveCPU
}

// Live is how many descendants were alive.
func (s CPUSample) Live() int { return len(s.live) }

// liveCPU is a live descendant's CPU so far (its own and its children's it waited for), and the
// function it is an execution environment of (AWS_LAMBDA_FUNCTION_NAME; "" for none).
type liveCPU struct {
	function string
	cpu      time.Duration
}

// functionOf is the AWS_LAMBDA_FUNCTION_NAME in process pid's environment ("" when it has none
// or it cannot be read).
func functionOf(root string, pid int) string {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "environ"))
	if err != nil {
		return ""
	}
	for v := range strings.SplitSeq(string(b), "\x00") {
		if name, ok := strings.CutPrefix(v, "AWS_LAMBDA_FUNCTION_NAME="); ok {
			return name
		}
	}
	return ""
}

// ProcessClock is a process's CPU clock (clock_gettime of its CPUCLOCK_SCHED): the time its
// threads, live and ended, have run, to the nanosecond. /proc/<pid>/stat gives the same in
// 10 ms ticks, rounded down: a function process that has used 9 ms reads 0 there, and a run that
// starts a hundred of them loses about a second of their CPU (measured: 2.70 s read in ticks
// against 3.49 s by this clock over 85 function processes).
type ProcessClock func(pid int) (time.Duration, error)

// SampleCPU reads the CPU of process pid, its descendants and the rest of its process group from
// the proc file system at root ("/proc"), each process by clock where it answers (nil: by its
// stat's ticks alone). Descendants are read before the process, so that one ending in between
// is counted twice (in its parent's reaped children too) rather than lost.
func SampleCPU(root string, pid int, clock ProcessClock) (CPUSample, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return CPUSample{}, err
	}
	children := map[int][]procStat{} // by parent
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		st, err := parseStat(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		children[st.PPID] = append(children[st.PPID], st)
	}
	// cpu is what process st used: its threads' time by clock (by its ticks if the clock does not
	// answer: no clock, or the process gone), and its reaped children's, which only stat gives.
	cpu := func(st procStat) time.Duration {
		if clock != nil {
			if d, err := clock(st.PID); err == nil {
				return d + ticks(st.CUTime+st.CSTime)
			}
		}
		return st.total()
	}
	s := CPUSample{At: time.Now(), live: map[int]liveCPU{}}
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if seen[c.PID] {
				continue
			}
			seen[c.PID] = true
			used := cpu(c)
			s.Functions += used
			s.live[c.PID] = liveCPU{function: functionOf(root, c.PID), cpu: used}
			queue = append(queue, c.PID)
		}
	}
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "stat"))
	if err != nil {
		return CPUSample{}, fmt.Errorf("the emulator process %d: %w", pid, err)
	}
	self, err := parseStat(strings.TrimSpace(string(b)))
	if err != nil {
		return CPUSample{}, err
	}
	s.Emulator = cpu(procStat{PID: pid, UTime: self.UTime, STime: self.STime}) // its children are the functions
	s.Functions += ticks(self.CUTime + self.CSTime)
	if self.PGrp == pid { // MiniStack leads its group: what else is in it and not below it is the proxy
		for _, siblings := range children {
			for _, st := range siblings {
				if st.PGrp == pid && !seen[st.PID] {
					s.Proxy += cpu(st)
				}
			}
		}
	}
	return s, nil
}

// CPU is the CPU an emulator and its functions used over a run.
type CPU struct {
	PID       int           `json:"pid"`
	Emulator  time.Duration `json:"emulator"`
	Functions time.Duration `json:"functions"`
	// Proxy is the emulator's proxy (CPUSample.Proxy): the clients' requests and the functions' AWS
	// calls pass through it. Not in the ratio, which compares the functions with MiniStack.
	Proxy  time.Duration `json:"proxy"`
	Window time.Duration `json:"window"` // between the two samples
	Orders int           `json:"orders"`
	Goal   float64       `json:"goal"` // the functions' CPU may be at most this share of the emulator's
	Note   string        `json:"note,omitempty"`
	// ByFunction is the functions' CPU per function, most first: the processes alive at the end,
	// each from its start or the first sample. What processes that ended meanwhile used (and
	// descendants that are no function's) is Functions less their sum: Unattributed.
	ByFunction []FunctionCPU `json:"byFunction,omitempty"`
	// Counted: each function's Invocations over the window were read (Invoked).
	Counted bool `json:"counted"`
}

// FunctionCPU is what one function's execution environments used over a run.
type FunctionCPU struct {
	Function  string        `json:"function"`  // its name, as deployed (Named: the stack output's)
	Processes int           `json:"processes"` // alive at the end
	CPU       time.Duration `json:"cpu"`
	// Invocations is how many times it was invoked over the run (its REPORT lines: Invocations),
	// by all its processes, the ended ones too.
	Invocations int `json:"invocations"`
}

// Named renames each function by the stack output that holds its name ("StreamerFunctionName"
// names it Streamer); a function no output names keeps its deployed name.
func (c *CPU) Named(outputs map[string]string) {
	stems := functionStems(outputs)
	for i, f := range c.ByFunction {
		if stem, ok := stems[f.Function]; ok {
			c.ByFunction[i].Function = stem
		}
	}
}

// Unattributed is the functions' CPU that ByFunction does not name.
func (c CPU) Unattributed() time.Duration {
	d := c.Functions
	for _, f := range c.ByFunction {
		d -= f.CPU
	}
	return d
}

// Ratio is the functions' CPU as a share of the emulator's.
func (c CPU) Ratio() float64 {
	if c.Emulator <= 0 {
		return 0
	}
	return float64(c.Functions) / float64(c.Emulator)
}

// PerOrder divides d by the orders.
func (c CPU) PerOrder(d time.Duration) time.Duration {
	if c.Orders == 0 {
		return 0
	}
	return d / time.Duration(c.Orders)
}

// Met reports whether the functions stayed within the goal.
func (c CPU) Met() bool { return c.Ratio() <= c.Goal }

// Between is the CPU used from one sample to the next.
func Between(pid int, before, after CPUSample, orders int, goal float64) CPU {
	c := CPU{PID: pid, Emulator: after.Emulator - before.Emulator, Functions: after.Functions - before.Functions,
		Proxy: after.Proxy - before.Proxy, Window: after.At.Sub(before.At), Orders: orders, Goal: goal}
	byName := map[string]*FunctionCPU{}
	for pid, p := range after.live {
		if p.function == "" {
			continue
		}
		f := byName[p.function]
		if f == nil {
			f = &FunctionCPU{Function: p.function}
			byName[p.function] = f
		}
		f.Processes++
		if b, ok := before.live[pid]; ok && b.function == p.function {
			f.CPU += p.cpu - b.cpu
		} else { // started since the first sample: all of it
			f.CPU += p.cpu
		}
	}
	for _, f := range byName {
		c.ByFunction = append(c.ByFunction, *f)
	}
	slices.SortFunc(c.ByFunction, func(a, b FunctionCPU) int {
		return cmp.Or(cmp.Compare(b.CPU, a.CPU), strings.Compare(a.Function, b.Function))
	})
	return c
}

// ErrNotLocal means the CPU cannot be measured: the endpoint is not a MiniStack this machine runs.
var ErrNotLocal = errors.New("not a local MiniStack")

// FindMiniStack returns the pid of the MiniStack that `make up` started for endpoint: the one its
// pid file (.emulator/ministack-<port>.pid under dir) names, if it runs here and is MiniStack.
func FindMiniStack(dir, endpoint string) (int, error) {
	u, err := url.Parse(endpoint)
	if endpoint == "" || err != nil || u.Port() == "" {
		return 0, fmt.Errorf("%w: endpoint %q", ErrNotLocal, endpoint)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return 0, fmt.Errorf("%w: endpoint %s is not on this machine", ErrNotLocal, endpoint)
	}
	file := filepath.Join(dir, ".emulator", "ministack-"+u.Port()+".pid")
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("%w: no pid file %s (an emulator `make up` did not start?)", ErrNotLocal, file)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrNotLocal, file, err)
	}
	return pid, IsMiniStack(pid)
}

// IsMiniStack checks that process pid runs MiniStack.
func IsMiniStack(pid int) error {
	cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return fmt.Errorf("%w: process %d: %v", ErrNotLocal, pid, err)
	}
	if !strings.Contains(string(cmd), "ministack") {
		return fmt.Errorf("%w: process %d runs %q", ErrNotLocal, pid, strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return nil
}

// MiniStackVersion is the version of the MiniStack installed in the project's virtualenv under
// dir ("" if none).
func MiniStackVersion(dir string) string {
	found, _ := filepath.Glob(filepath.Join(dir, ".venv", "lib", "python*", "site-packages", "ministack-*.dist-info"))
	if len(found) == 0 {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(found[0]), "ministack-"), ".dist-info")
}

// MiniStackName names the emulator in the report: "MiniStack 1.2.3 (pid 42)", or "MiniStack
// (pid 42)" when its version is not known (no virtualenv to read it from).
func MiniStackName(version string, pid int) string {
	return strings.Join(strings.Fields(fmt.Sprintf("MiniStack %s (pid %d)", version, pid)), " ")
}
