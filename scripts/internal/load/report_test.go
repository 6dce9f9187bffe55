package load

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

func sampleReport() *Report {
	f := clean()
	f.Orders, f.Stock = f.Orders[:4], f.Stock[:1] // approvals, a decline, an out-of-stock
	f.Sales.After = toolkit.Totals{Orders: 12, RevenueCents: 22998, Cancelled: 4, Refunds: 1, RefundedCents: 500}
	f.Orders[2].Events[4].Detail = `{"type":"OrderCancelled","payload":{"orderId":"ORD-3","reason":"payment-declined"}}`
	r := &Report{Machine: Machine{CPUs: 2, OS: "linux/amd64", Go: "go1.26"}, Endpoint: "http://127.0.0.1:4590", Orders: 4, Concurrency: 2,
		Customers: 2, SKU: "SKU-100", Token: "tok_visa", UnitsPerOrder: 1, Stock: f.Stock,
		Requests: Requests{Tries: 5, Created: 4, Throttled: 1}, CPUGoal: 0.25}
	var placements []Placement
	for i, o := range f.Orders {
		placements = append(placements, Placement{Index: i, OrderID: o.ID, Start: at(-50), Latency: time.Duration(50+i) * time.Millisecond})
	}
	cpu := Between(1234, CPUSample{At: t0}, CPUSample{At: t0.Add(time.Minute), Emulator: 8 * time.Second, Functions: 4 * time.Second, Proxy: 2 * time.Second,
		live: map[int]liveCPU{7: {function: "Orderflow-StreamingStreamer7DF6", cpu: 3 * time.Second}}}, 4, 0.25)
	cpu.Named(map[string]string{"StreamerFunctionName": "Orderflow-StreamingStreamer7DF6", "StreamDlqUrl": "http://q"})
	r.CPU = &cpu
	idle := Between(1234, CPUSample{At: t0}, CPUSample{At: t0.Add(2 * time.Second), Emulator: 100 * time.Millisecond}, 0, 0.25)
	r.Idle = &idle
	r.judge(f)
	r.summarize(placements, f.Orders, []journey.Journey{handMade(0)}, at(-50), at(10))
	return r
}

// markdownHas renders r's Markdown and reports each of wants it lacks.
func markdownHas(t *testing.T, r *Report, wants ...string) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range wants {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, b.String())
		}
	}
}

func TestReportMarkdown(t *testing.T) {
	markdownHas(t, sampleReport(),
		"# Load: 4 orders at concurrency 2 — all checks passed",
		"2 CPUs", "go1.26",
		"**Outcome**: 1 CANCELLED, 1 CANCELLED (payment-declined), 2 SHIPPED",
		"| POST /orders (client: first try sent → 201) | 4 | 51 ms | 53 ms | 53 ms | 53 ms |",
		"| "+journey.StageBusToWorkflow+" | 1 | 10 ms |",
		"| task <State> |",
		"| stock conserved | ok |",
		"Stock of SKU-100: set to 14 before the run, 12 after.",
		"| sales totals | ok |",
		"Analytics' totals moved by 2 orders charged (2998 cents), 2 cancellations and 0 refunds (0 cents): money kept 2998 cents.",
		"Functions' CPU per order = **50 %** of the emulator's (goal ≤ 25 %: **not met**)",
		"| MiniStack itself | 8.00 s | 2.00 s |",
		"| its proxy (scripts/emulator: throttles, TLS; not in the ratio) | 2.00 s | 500 ms |",
		"At rest (2.0 s measured just before the run) MiniStack used 50 ms of CPU per second and its functions 0: about 3.00 s",
		"| Streamer | 1 | 3.00 s | 750 ms | 75 % |",
		"| not attributed |  | 1.00 s | 250 ms | 25 % |",
	)
}

func TestReportMarkdownShowsViolations(t *testing.T) {
	r := sampleReport()
	f := clean()
	f.Stock[0].After, f.Running = 3, 2
	r.Checks = reconcile(f)
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"— **2 violations**", "| stock conserved | **1 violation** |", "- no execution left running: 2 executions still RUNNING"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the Markdown lacks %q", want)
		}
	}
	r.CPU, r.CPUNote = nil, "not measured: not a local MiniStack: endpoint AWS"
	b.Reset()
	_ = r.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "Not measured: not a local MiniStack") {
		t.Error("a run without a CPU measurement does not say why")
	}
}

func TestReportMarkdownShowsTheMix(t *testing.T) {
	r := sampleReport()
	r.Mix = map[string]int{"SKU-100 tok_visa": 3, "SKU-100 tok_declined": 1}
	r.Stock = append(r.Stock, Stock{SKU: "SKU-451", Before: 11, After: 11})
	markdownHas(t, r, "4 orders of 1 unit (3 × SKU-100 paid with `tok_visa`, 1 × SKU-100 paid with `tok_declined`)",
		"Stock of SKU-100: set to 14 before the run, 12 after; of SKU-451: set to 11 before the run, 11 after.")
}

func TestReportJSON(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Orders     int
		Violations int
		Post       struct{ P50Ms float64 }
		Stages     []struct {
			Stage   string
			Latency struct{ Count int }
		}
		CPU struct {
			FunctionsToEmulator float64
			FunctionsPerOrderMs float64
			ProxyPerOrderMs     float64
			Met                 bool
			ByFunction          []struct {
				Function   string
				Processes  int
				PerOrderMs float64
			}
			UnattributedS float64
		}
		Checks    []struct{ Name string }
		OrderList []struct{ OrderID, Outcome string }
		Sales     *Sales // analytics' totals around the run, as the Markdown tells them
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Sales == nil || *got.Sales != *r.Sales || got.Sales.Before != r.Facts.Sales.Before || got.Sales.After != r.Facts.Sales.After {
		t.Errorf("sales %+v, want %+v", got.Sales, r.Sales)
	}
	if got.Orders != 4 || got.Violations != 0 || got.Post.P50Ms != 51 || len(got.Checks) != 12 || len(got.OrderList) != 4 {
		t.Errorf("JSON %+v", got)
	}
	if got.CPU.FunctionsToEmulator != 0.5 || got.CPU.FunctionsPerOrderMs != 1000 || got.CPU.ProxyPerOrderMs != 500 || got.CPU.Met {
		t.Errorf("CPU %+v, want 0.5, 1000 ms per order, the proxy 500 ms, not met", got.CPU)
	}
	if f := got.CPU.ByFunction; len(f) != 1 || f[0].Function != "Streamer" || f[0].Processes != 1 || f[0].PerOrderMs != 750 || got.CPU.UnattributedS != 1 {
		t.Errorf("CPU by function %+v, unattributed %v s; want Streamer, 1 process, 750 ms per order; 1 s", f, got.CPU.UnattributedS)
	}
	if len(got.Stages) == 0 || got.Stages[0].Stage != StageAPI || got.Stages[0].Latency.Count != 4 {
		t.Errorf("stages %+v", got.Stages)
	}
}
