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

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
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

	// Sales is analytics' totals before and after the run (nil: not read).
	Sales *Sales `json:"sales,omitempty"`

	// Facts are what the checks were made of, for a caller's own checks (make chaos).
	Facts Facts `json:"-"`
}

// judge records f, what the run found, and the checks made of it.
func (r *Report) judge(f Facts) {
	r.Facts, r.Sales, r.Checks = f, nil, reconcile(f)
	if f.Sales != nil {
		s := *f.Sales
		s.Want = expectedSales(f.Orders)
		r.Sales = &s
	}
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

// NotChecked names the checks that could not be made: they broke nothing, so they fail no run,
// but the report must not call the run all passed.
func (r *Report) NotChecked() []string {
	var names []string
	for _, c := range r.Checks {
		if c.OK() && !c.Checked() {
			names = append(names, c.Name)
		}
	}
	return names
}

// Exit tells stderr how the run of command cmd (load, chaos) ended, after its report, and
// returns the exit code: 1 with violations; else 0, naming the checks not made, so that a run
// that passed without them is not read as one that checked everything.
func (r *Report) Exit(stderr io.Writer, cmd string) int {
	if n := r.Violations(); n > 0 {
		fmt.Fprintf(stderr, "%s: %s\n", cmd, cli.Plural(n, "violation"))
		return cli.Failed
	}
	if skipped := r.NotChecked(); len(skipped) > 0 {
		fmt.Fprintf(stderr, "%s: no violation; not checked: %s (the report says why)\n", cmd, strings.Join(skipped, ", "))
	}
	return cli.OK
}

// Verdict is the report's title after the run's size: its violations, else the checks not made,
// else "all checks passed".
func (r *Report) Verdict() string {
	n, skipped := r.Violations(), r.NotChecked()
	switch {
	case n > 0 && len(skipped) > 0:
		return fmt.Sprintf("**%s**, %s not made (%s)", cli.Plural(n, "violation"), cli.Plural(len(skipped), "check"), strings.Join(skipped, ", "))
	case n > 0:
		return fmt.Sprintf("**%s**", cli.Plural(n, "violation"))
	case len(skipped) > 0:
		return fmt.Sprintf("no violation, but %s not made (%s)", cli.Plural(len(skipped), "check"), strings.Join(skipped, ", "))
	}
	return "all checks passed"
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
		// One 201 per order placed: a replayed one is the only 201 of an order whose first answer was lost.
		r.PlacingRate = float64(len(post)) / d
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
			switch {
			case e.Type == string(events.TypeOrderPlaced):
				placedAt = e.Time
			case events.EndsOrder(events.Type(e.Type)) && endAt.IsZero(): // the registry's ending types
				endAt = e.Time
				line.Outcome = Outcome(o.Events)
				if e.Type == cancelled {
					line.Reason = reasonOf(e.Detail)
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
