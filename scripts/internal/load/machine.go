package load

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Machine is where a run ran: the figures mean little without it.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel,omitempty"`
	MemoryMB int    `json:"memoryMB,omitempty"`
	OS       string `json:"os"`
	Kernel   string `json:"kernel,omitempty"`
	Go       string `json:"go"`
}

// ThisMachine describes the machine the run is on (Linux details from /proc where present).
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, _ := strconv.Atoi(strings.Fields(v)[0])
		m.MemoryMB = kb / 1024
	}
	return m
}

// procField is the value of the first "name: value" line of a /proc file.
func procField(file, name string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
