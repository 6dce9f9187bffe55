// The Markdown report, for people, and how it writes durations, memory and times.

package load

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// WriteMarkdown writes the report for people: the machine, the run, the outcome, the
// latencies, where the time goes, the requests, the checks and the CPU.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	p("# Load: %d orders at concurrency %d — %s", r.Orders, r.Concurrency, r.Verdict())
	p("")
	m := r.Machine
	p("- **Machine**: %d CPUs (%s), %s memory, %s, Linux %s, %s", m.CPUs, cmp.Or(m.CPUModel, "model unknown"), mib(m.MemoryMB), m.OS, cmp.Or(m.Kernel, "?"), m.Go)
	endpoint := r.Endpoint
	if r.Emulator != "" {
		endpoint += ", " + r.Emulator
	}
	p("- **Endpoint**: %s", endpoint)
	p("- **Run**: %d orders of %s, %d requests in flight, spread over %d signed-in customers (Idempotency-Key per order)",
		r.Orders, r.What(), r.Concurrency, r.Customers)
	p("- **Time**: first POST %s, last POST answered %s, last order ended %s (UTC)", clock(r.Started), clock(r.Placed), clock(r.Ended))
	window := "no order ended"
	if !r.Ended.IsZero() {
		window = fmt.Sprintf("%.1f s", r.Ended.Sub(r.Started).Seconds())
	}
	p("- **Throughput**: %.2f orders/s ended (first POST → last terminal event, %s); placing: %.2f orders/s accepted",
		r.Throughput, window, r.PlacingRate)
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
		result := c.Result()
		switch {
		case !c.OK():
			result = "**" + result + "**"
		case !c.Checked():
			result += ": " + c.NotChecked
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
	if s := r.Sales; s != nil {
		m := moved(s.Before, s.After)
		if m == s.Want || s.InFlightBefore == 0 {
			p("Analytics' totals moved by %s.", totals(m))
		} else { // the run may not be all that moved them, nor are they known to be the rest: say what the run's own orders should account for
			p("Analytics' totals moved by %s. That may include the orders of the %s running before the run; this run's orders should account for %s.",
				totals(m), cli.Plural(s.InFlightBefore, "execution"), totals(s.Want))
		}
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
		if c.Proxy > 0 {
			p("| its proxy (scripts/emulator: throttles, TLS; not in the ratio) | %.2f s | %s |", c.Proxy.Seconds(), dur(ms(c.PerOrder(c.Proxy))))
		}
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
		if len(c.ByFunction) > 0 {
			p("")
			p("By function: the processes alive at the end (MiniStack keeps an execution environment as a process), each over the run or since it started; what processes that ended meanwhile used is not attributed.")
			counted := ""
			if c.Counted {
				counted = " | invocations | per order | CPU per invocation"
				p("Invocations: the REPORT lines its log group received over the same window, one an invocation, every process's (CPU per invocation: the live processes' CPU over them all, so a little low where processes ended).")
			}
			p("")
			p("| function | processes | CPU | per order | of the functions'%s |", counted)
			p("|---|---:|---:|---:|---:%s|", strings.Repeat("|---:", strings.Count(counted, "|")))
			// row is the line of what d of the functions' CPU was: f's, or no function's (nil).
			row := func(f *FunctionCPU, d time.Duration) {
				share := 0.0
				if c.Functions > 0 {
					share = 100 * float64(d) / float64(c.Functions)
				}
				name, procs := "not attributed", ""
				if f != nil {
					name, procs = f.Function, strconv.Itoa(f.Processes)
				}
				line := fmt.Sprintf("| %s | %s | %.2f s | %s | %.0f %% |", name, procs, d.Seconds(), dur(ms(c.PerOrder(d))), share)
				switch {
				case c.Counted && f != nil:
					each := perInvocation(d, f.Invocations)
					if f.Processes == 0 { // all ended: their CPU is not attributed
						each = "—"
					}
					line += fmt.Sprintf(" %d | %s | %s |", f.Invocations, perOrder(f.Invocations, c.Orders), each)
				case c.Counted:
					line += " | | |"
				}
				p("%s", line)
			}
			for i := range c.ByFunction {
				row(&c.ByFunction[i], c.ByFunction[i].CPU)
			}
			if u := c.Unattributed(); u > 0 {
				row(nil, u)
			}
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

// totals says what analytics' totals (or a move of them) count.
func totals(t toolkit.Totals) string {
	return fmt.Sprintf("%d orders charged (%d cents), %d cancellations and %d refunds (%d cents): money kept %d cents",
		t.Orders, t.RevenueCents, t.Cancelled, t.Refunds, t.RefundedCents, t.RevenueCents-t.RefundedCents)
}

// perOrder is n an order, to a tenth ("5.0"); "—" without orders.
func perOrder(n, orders int) string {
	if orders == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(n)/float64(orders))
}

// perInvocation is d an invocation, to a hundredth of a millisecond; "—" without invocations.
func perInvocation(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(n)/float64(time.Millisecond))
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
