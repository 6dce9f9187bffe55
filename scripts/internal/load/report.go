package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// Millis is a duration in milliseconds, as the JSON report gives durations.
type Millis float64

func ms(d time.Duration) Millis { return Millis(float64(d) / float64(time.Millisecond)) }

// Latency is a Summary in milliseconds.
type Latency struct {
	Count int    `json:"count"`
	P50   Millis `json:"p50Ms"`
	P95   Millis `json:"p95Ms"`
	P99   Millis `json:"p99Ms"`
	Max   Millis `json:"maxMs"`
}

func latency(s Summary) Latency {
	return Latency{Count: s.Count, P50: ms(s.P50), P95: ms(s.P95), P99: ms(s.P99), Max: ms(s.Max)}
}

// Stage is one row of "where the time goes".
type Stage struct {
	Stage   string  `json:"stage"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	Latency Latency `json:"latency"`
}

// Collection is how the journeys were gathered.
type Collection struct {
	Orders     int      `json:"orders"`
	Took       Millis   `json:"tookMs"`
	Collectors int      `json:"collectors"`
	Notes      []string `json:"notes,omitempty"`
}

// OrderLine is one order in the JSON report.
type OrderLine struct {
	ID               string `json:"orderId"`
	Customer         string `json:"customer"`
	Outcome          string `json:"outcome"`
	Reason           string `json:"reason,omitempty"`
	POST             Millis `json:"postMs,omitempty"`
	PlacedToTerminal Millis `json:"placedToTerminalMs,omitempty"`
}

// Report is one run's results, written as JSON and Markdown.
type Report struct {
	Machine     Machine `json:"machine"`
	Endpoint    string  `json:"endpoint"`
	Emulator    string  `json:"emulator,omitempty"` // a local MiniStack: its version and pid
	Orders      int     `json:"orders"`
	Concurrency int     `json:"concurrency"`
	Customers   int     `json:"customers"`
	SKU         string  `json:"sku"`
	Token       string  `json:"token"`
	// Mix counts the orders per "SKU token" when they did not all buy the same (Config.Choose).
	Mix map[string]int `json:"mix,omitempty"`

	UnitsPerOrder int     `json:"unitsPerOrder"`
	Stock         []Stock `json:"stock"`

	Started     time.Time `json:"started"`     // the first POST sent
	Placed      time.Time `json:"placed"`      // the last POST answered
	Ended       time.Time `json:"ended"`       // the last terminal event (its producer's time)
	Throughput  float64   `json:"throughput"`  // orders ended per second, first POST → last terminal event
	PlacingRate float64   `json:"placingRate"` // 201s per second while placing

	Outcomes map[string]int `json:"outcomes"` // SHIPPED, CANCELLED (reason), NOT ENDED
	Requests Requests       `json:"requests"`
	Polls    int            `json:"polls"` // GET /orders requests while waiting

	POST             Latency `json:"post"`
	PlacedToTerminal Latency `json:"placedToTerminal"`
	Stages           []Stage `json:"stages"`

	ExecutionsStarted int     `json:"executionsStarted"`
	Running           int     `json:"running"`
	DLQs              []Queue `json:"dlqs"`
	Checks            []Check `json:"checks"`

	CPU     *CPU          `json:"-"`
	Idle    *CPU          `json:"-"` // the same, at rest before the run
	CPUNote string        `json:"cpuNote,omitempty"`
	CPUGoal float64       `json:"-"`
	LoadCPU time.Duration `json:"-"`

	Collection Collection  `json:"collection"`
	Slowest    []OrderLine `json:"slowest"`
	Notes      []string    `json:"notes,omitempty"`
	Lines      []OrderLine `json:"orderList"`

	// Facts are what the checks were made of, for a caller's own checks (make chaos).
	Facts Facts `json:"-"`
}

// What says what the orders bought: "1 × SKU-100 paid with `tok_visa`", or the mix.
func (r *Report) What() string {
	if len(r.Mix) == 0 {
		return fmt.Sprintf("1 × %s paid with `%s`", r.SKU, r.Token)
	}
	keys := slices.Sorted(maps.Keys(r.Mix))
	sort.SliceStable(keys, func(a, b int) bool { return r.Mix[keys[a]] > r.Mix[keys[b]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		sku, token, _ := strings.Cut(k, " ")
		parts[i] = fmt.Sprintf("%d × %s paid with `%s`", r.Mix[k], sku, token)
	}
	return "1 unit (" + strings.Join(parts, ", ") + ")"
}

// Violations counts what broke the checks.
func (r *Report) Violations() int {
	n := 0
	for _, c := range r.Checks {
		n += len(c.Violations)
	}
	return n
}

// summarize computes the latencies, stages, outcomes and throughput.
func (r *Report) summarize(placements []Placement, orders []Order, journeys []journey.Journey, since, placedAll time.Time) {
	var post []time.Duration
	r.Started = since
	for _, pl := range placements {
		if pl.OrderID != "" {
			post = append(post, pl.Latency)
			if pl.Start.Before(r.Started) {
				r.Started = pl.Start
			}
		}
	}
	byID := map[string]Placement{}
	for _, pl := range placements {
		byID[pl.OrderID] = pl
	}
	r.Placed = placedAll
	if d := placedAll.Sub(r.Started).Seconds(); d > 0 {
		r.PlacingRate = float64(r.Requests.Created-r.Requests.Replayed) / d
	}
	r.Outcomes = map[string]int{}
	var toTerminal []time.Duration
	ended := 0
	for _, o := range orders {
		line := OrderLine{ID: o.ID, Customer: o.Customer, Outcome: "NOT ENDED"}
		if pl, ok := byID[o.ID]; ok {
			line.POST = ms(pl.Latency)
		}
		var placedAt, endAt time.Time
		for _, e := range o.Events {
			switch e.Type {
			case "OrderPlaced":
				placedAt = e.Time
			case shipped, cancelled:
				if endAt.IsZero() {
					endAt = e.Time
					line.Outcome = Outcome(o.Events)
					if e.Type == cancelled {
						line.Reason = reasonOf(e.Detail)
					}
				}
			}
		}
		if !placedAt.IsZero() && !endAt.IsZero() {
			ended++
			toTerminal = append(toTerminal, endAt.Sub(placedAt))
			line.PlacedToTerminal = ms(endAt.Sub(placedAt))
			if endAt.After(r.Ended) {
				r.Ended = endAt
			}
		}
		key := line.Outcome
		if line.Reason != "" {
			key += " (" + line.Reason + ")"
		}
		r.Outcomes[key]++
		r.Lines = append(r.Lines, line)
	}
	if d := r.Ended.Sub(r.Started).Seconds(); ended > 0 && d > 0 {
		r.Throughput = float64(ended) / d
	}
	r.POST = latency(Summarize(post))
	r.PlacedToTerminal = latency(Summarize(toTerminal))
	for _, s := range Stages(post, journeys) {
		r.Stages = append(r.Stages, Stage{Stage: s.Stage, From: s.From, To: s.To, Latency: latency(s.Summary)})
	}
	slowest := slices.Clone(r.Lines)
	sort.SliceStable(slowest, func(a, b int) bool { return slowest[a].PlacedToTerminal > slowest[b].PlacedToTerminal })
	r.Slowest = slowest[:min(5, len(slowest))]
}

// reasonOf reads an OrderCancelled envelope's payload reason.
func reasonOf(envelope string) string {
	var e struct {
		Payload struct {
			Reason string `json:"reason"`
		} `json:"payload"`
	}
	_ = json.Unmarshal([]byte(envelope), &e) // no reason: the outcome alone
	return e.Payload.Reason
}

// cpuJSON is the CPU part of the JSON report.
type cpuJSON struct {
	PID                 int     `json:"pid"`
	WindowS             float64 `json:"windowS"`
	EmulatorS           float64 `json:"emulatorS"`
	FunctionsS          float64 `json:"functionsS"`
	EmulatorPerOrderMs  Millis  `json:"emulatorPerOrderMs"`
	FunctionsPerOrder   Millis  `json:"functionsPerOrderMs"`
	Ratio               float64 `json:"functionsToEmulator"`
	Goal                float64 `json:"goal"`
	Met                 bool    `json:"met"`
	LoadGeneratorS      float64 `json:"loadGeneratorS"`
	IdleEmulatorMsPerS  float64 `json:"idleEmulatorMsPerS,omitempty"`  // at rest, before the run
	IdleFunctionsMsPerS float64 `json:"idleFunctionsMsPerS,omitempty"` // at rest, before the run
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
	}{plain: (*plain)(r), Violations: r.Violations()}
	if c := r.CPU; c != nil {
		out.CPU = &cpuJSON{PID: c.PID, WindowS: c.Window.Seconds(), EmulatorS: c.Emulator.Seconds(), FunctionsS: c.Functions.Seconds(),
			EmulatorPerOrderMs: ms(c.PerOrder(c.Emulator)), FunctionsPerOrder: ms(c.PerOrder(c.Functions)), Ratio: c.Ratio(), Goal: c.Goal,
			Met: c.Met(), LoadGeneratorS: r.LoadCPU.Seconds()}
		if i := r.Idle; i != nil {
			out.CPU.IdleEmulatorMsPerS, out.CPU.IdleFunctionsMsPerS = perSecond(i.Emulator, i.Window), perSecond(i.Functions, i.Window)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteMarkdown writes the report for people: the machine, the run, the outcome, the
// latencies, where the time goes, the requests, the checks and the CPU.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	verdict := "all checks passed"
	if n := r.Violations(); n > 0 {
		verdict = fmt.Sprintf("**%d violations**", n)
	}
	p("# Load: %d orders at concurrency %d — %s", r.Orders, r.Concurrency, verdict)
	p("")
	m := r.Machine
	p("- **Machine**: %d CPUs (%s), %s memory, %s, Linux %s, %s", m.CPUs, orDefault(m.CPUModel, "model unknown"), mib(m.MemoryMB), m.OS, orDefault(m.Kernel, "?"), m.Go)
	endpoint := r.Endpoint
	if r.Emulator != "" {
		endpoint += ", " + r.Emulator
	}
	p("- **Endpoint**: %s", endpoint)
	p("- **Run**: %d orders of %s, %d requests in flight, spread over %d signed-in customers (Idempotency-Key per order)",
		r.Orders, r.What(), r.Concurrency, r.Customers)
	p("- **Time**: first POST %s, last POST answered %s, last order ended %s (UTC)", clock(r.Started), clock(r.Placed), clock(r.Ended))
	p("- **Throughput**: %.2f orders/s ended (first POST → last terminal event, %.1f s); placing: %.2f orders/s accepted",
		r.Throughput, r.Ended.Sub(r.Started).Seconds(), r.PlacingRate)
	outcomes := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Outcomes {
			if !yield(k) {
				return
			}
		}
	})
	var parts []string
	for _, k := range outcomes {
		parts = append(parts, fmt.Sprintf("%d %s", r.Outcomes[k], k))
	}
	executions := fmt.Sprintf("%d executions started", r.ExecutionsStarted)
	if extra := r.ExecutionsStarted - len(r.Lines); extra > 0 {
		executions += fmt.Sprintf(" (%d more than orders: duplicate deliveries of OrderPlaced, which end at Duplicate, or rescues)", extra)
	}
	p("- **Outcome**: %s; %s", strings.Join(parts, ", "), executions)
	p("")
	p("## Latency")
	p("")
	p("| | count | p50 | p95 | p99 | max |")
	p("|---|---:|---:|---:|---:|---:|")
	row := func(name string, l Latency) {
		p("| %s | %d | %s | %s | %s | %s |", name, l.Count, dur(l.P50), dur(l.P95), dur(l.P99), dur(l.Max))
	}
	row("POST /orders (client: first try sent → 201)", r.POST)
	row("placed → terminal (event store: OrderPlaced's time → OrderShipped/OrderCancelled's)", r.PlacedToTerminal)
	p("")
	p("## Where the time goes")
	p("")
	p("Per stage, over every order, measured on each order's journey as `make trace` builds it (hops and their causes).")
	p("")
	p("| stage | count | p50 | p95 | p99 | max |")
	p("|---|---:|---:|---:|---:|---:|")
	for _, s := range r.Stages {
		row(s.Stage, s.Latency)
	}
	p("")
	p("<details><summary>Stage definitions</summary>")
	p("")
	p("| stage | from | to |")
	p("|---|---|---|")
	seen := map[string]bool{}
	for _, s := range r.Stages {
		name := s.Stage
		if strings.HasPrefix(name, journey.TaskStage("")) {
			name = journey.TaskStage("<State>")
		}
		if !seen[name] {
			seen[name] = true
			p("| %s | %s | %s |", name, s.From, s.To)
		}
	}
	p("")
	p("</details>")
	p("")
	p("## Requests")
	p("")
	q := r.Requests
	p("| tries | 201 | replayed 201 | 409 | 429 | 5xx | other 4xx | no answer | orders not placed | GET /orders polls |")
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	p("| %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |", q.Tries, q.Created, q.Replayed, q.Conflict, q.Throttled, q.Server, q.Client, q.Transport, q.NotPlaced, r.Polls)
	p("")
	p("## Reconciliation")
	p("")
	p("| check | result | rule |")
	p("|---|---|---|")
	for _, c := range r.Checks {
		result := "ok"
		if !c.OK() {
			result = fmt.Sprintf("**%d violations**", len(c.Violations))
		}
		p("| %s | %s | %s |", c.Name, result, c.Rule)
	}
	p("")
	var stock []string
	for _, s := range r.Stock {
		stock = append(stock, fmt.Sprintf("%s: set to %d before the run, %d after", s.SKU, s.Before, s.After))
	}
	if len(stock) > 0 {
		p("Stock of %s.", strings.Join(stock, "; of "))
	}
	for _, c := range r.Checks {
		for i, v := range c.Violations {
			if i == 20 {
				p("- … and %d more (report.json has them all)", len(c.Violations)-i)
				break
			}
			p("- %s: %s", c.Name, v)
		}
		for i, n := range c.Notes {
			if i == 5 {
				p("- (%d more notes in report.json)", len(c.Notes)-i)
				break
			}
			p("- note, %s: %s", c.Name, n)
		}
	}
	p("")
	p("## CPU")
	p("")
	if c := r.CPU; c != nil {
		p("MiniStack (pid %d) over %.1f s, from before the first POST until every execution had ended (the GET /orders polls included):", c.PID, c.Window.Seconds())
		p("")
		p("| | CPU | per order |")
		p("|---|---:|---:|")
		p("| MiniStack itself | %.2f s | %s |", c.Emulator.Seconds(), dur(ms(c.PerOrder(c.Emulator))))
		p("| functions (its subprocesses) | %.2f s | %s |", c.Functions.Seconds(), dur(ms(c.PerOrder(c.Functions))))
		met := "met"
		if !c.Met() {
			met = "**not met**"
		}
		p("")
		p("Functions' CPU per order = **%.0f %%** of the emulator's (goal ≤ %.0f %%: %s). The load generator itself used %.2f s.",
			100*c.Ratio(), 100*c.Goal, met, r.LoadCPU.Seconds())
		if i := r.Idle; i != nil {
			e := perSecond(i.Emulator, i.Window)
			p("At rest (%.1f s measured just before the run) MiniStack used %.0f ms of CPU per second and its functions %.0f: "+
				"about %.2f s of the emulator's figure is that background (its pollers), included above.",
				i.Window.Seconds(), e, perSecond(i.Functions, i.Window), e*c.Window.Seconds()/1000)
		}
	} else {
		p("Not measured: %s", strings.TrimPrefix(r.CPUNote, "not measured: "))
	}
	p("")
	p("## Slowest orders")
	p("")
	p("| order | outcome | POST | placed → terminal |")
	p("|---|---|---:|---:|")
	for _, l := range r.Slowest {
		p("| `%s` | %s | %s | %s |", l.ID, strings.TrimSpace(l.Outcome+" "+l.Reason), dur(l.POST), dur(l.PlacedToTerminal))
	}
	p("")
	p("`make trace ORDER=…` shows one of them hop by hop. Journeys of %d orders collected in %.1f s (%d at a time).",
		r.Collection.Orders, float64(r.Collection.Took)/1000, r.Collection.Collectors)
	for i, n := range append(slices.Clone(r.Notes), r.Collection.Notes...) {
		if i == 0 {
			p("")
		}
		if i == 10 {
			p("- … (report.json has every note)")
			break
		}
		p("- %s", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dur(m Millis) string {
	switch {
	case m >= 10000:
		return fmt.Sprintf("%.1f s", float64(m)/1000)
	case m >= 1000:
		return fmt.Sprintf("%.2f s", float64(m)/1000)
	}
	return fmt.Sprintf("%.0f ms", float64(m))
}

func mib(mb int) string {
	if mb == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(mb)/1024)
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000")
}
