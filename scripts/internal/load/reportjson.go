// The JSON report: the Report as it is, with its CPU in seconds and milliseconds.

package load

import (
	"encoding/json"
	"io"
	"time"
)

// cpuJSON is the CPU part of the JSON report.
type cpuJSON struct {
	PID                 int     `json:"pid"`
	WindowS             float64 `json:"windowS"`
	EmulatorS           float64 `json:"emulatorS"`
	FunctionsS          float64 `json:"functionsS"`
	EmulatorPerOrderMs  Millis  `json:"emulatorPerOrderMs"`
	FunctionsPerOrder   Millis  `json:"functionsPerOrderMs"`
	ProxyS              float64 `json:"proxyS"` // the emulator's proxy (CPU.Proxy): not in the ratio
	ProxyPerOrderMs     Millis  `json:"proxyPerOrderMs"`
	Ratio               float64 `json:"functionsToEmulator"`
	Goal                float64 `json:"goal"`
	Met                 bool    `json:"met"`
	LoadGeneratorS      float64 `json:"loadGeneratorS"`
	IdleEmulatorMsPerS  float64 `json:"idleEmulatorMsPerS,omitempty"`  // at rest, before the run
	IdleFunctionsMsPerS float64 `json:"idleFunctionsMsPerS,omitempty"` // at rest, before the run
	// ByFunction: the processes alive at the end, per function (CPU.ByFunction); UnattributedS
	// is the rest of FunctionsS (processes that ended meanwhile).
	ByFunction    []functionCPUJSON `json:"byFunction,omitempty"`
	UnattributedS float64           `json:"unattributedS"`
}

type functionCPUJSON struct {
	Function   string  `json:"function"`
	Processes  int     `json:"processes"`
	CPUS       float64 `json:"cpuS"`
	PerOrderMs Millis  `json:"perOrderMs"`
	// Invocations over the run (its REPORT lines); absent when they were not counted.
	Invocations *int `json:"invocations,omitempty"`
}

// perSecond is a CPU time per second of a window, in milliseconds.
func perSecond(cpu, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return float64(ms(cpu)) / window.Seconds()
}

// WriteJSON writes the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	type plain Report
	out := struct {
		*plain
		CPU        *cpuJSON `json:"cpu,omitempty"`
		Violations int      `json:"violations"`
		// NotChecked names the checks that could not be made (each says why): no violation, no pass.
		NotChecked []string `json:"notChecked,omitempty"`
	}{plain: (*plain)(r), Violations: r.Violations(), NotChecked: r.NotChecked()}
	if c := r.CPU; c != nil {
		out.CPU = &cpuJSON{PID: c.PID, WindowS: c.Window.Seconds(), EmulatorS: c.Emulator.Seconds(), FunctionsS: c.Functions.Seconds(),
			EmulatorPerOrderMs: ms(c.PerOrder(c.Emulator)), FunctionsPerOrder: ms(c.PerOrder(c.Functions)),
			ProxyS: c.Proxy.Seconds(), ProxyPerOrderMs: ms(c.PerOrder(c.Proxy)), Ratio: c.Ratio(), Goal: c.Goal,
			Met: c.Met(), LoadGeneratorS: r.LoadCPU.Seconds()}
		for _, f := range c.ByFunction {
			j := functionCPUJSON{Function: f.Function, Processes: f.Processes, CPUS: f.CPU.Seconds(), PerOrderMs: ms(c.PerOrder(f.CPU))}
			if c.Counted {
				j.Invocations = &f.Invocations
			}
			out.CPU.ByFunction = append(out.CPU.ByFunction, j)
		}
		out.CPU.UnattributedS = c.Unattributed().Seconds()
		if i := r.Idle; i != nil {
			out.CPU.IdleEmulatorMsPerS, out.CPU.IdleFunctionsMsPerS = perSecond(i.Emulator, i.Window), perSecond(i.Functions, i.Window)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
