package chaos

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// Mix is what order i of a chaos run buys: of every ten, one is declined (the saga releases
// the stock), one is SKU-451, which the carrier refuses (charged, refunded, released), and the
// rest are approved and shipped. Refunds and releases are where a retried step could act twice.
func Mix(i int) load.Choice {
	switch i % 10 {
	case 4:
		return load.Choice{SKU: "SKU-100", Token: shop.TokenDecline}
	case 9:
		return load.Choice{SKU: shop.SKUDangerousGoods, Token: shop.TokenApprove}
	}
	return load.Choice{SKU: "SKU-100", Token: shop.TokenApprove}
}

// Options are one chaos run.
type Options struct {
	Load   load.Config       // the run (Choose, Tend and the waits are set by Run if unset)
	Armed  map[string]string // function folder → the faults armed in it (for the report and the checks)
	Every  time.Duration     // between two redrive passes (default 15 s)
	Drain  time.Duration     // once the run has ended, how long to wait for every queue to empty (default 5 min)
	Log    io.Writer
	Clock  func() time.Time
	Logs   LogsAPI           // default: CloudWatch Logs of the stack's account
	Lambda FunctionConfigAPI // default: Lambda of the stack's account
}

// Result is a chaos run: the load report (its checks include the chaos ones) and what the
// faults did.
type Result struct {
	Report      *load.Report
	Armed       map[string]string
	Fired       map[string]map[string]int // function folder → kind → faults injected
	FiredErr    error
	DeadLetters []DeadLetter
	Passes      int
	Problems    []string // redrive passes that could not finish
	Drained     time.Duration
}

// Violations counts what broke the checks.
func (r *Result) Violations() int { return r.Report.Violations() }

// Run places the orders with faults armed (Options.Armed says which; arming is the caller's),
// redriving the dead-letter queues every Every while it waits, then drains: until every queue
// and dead-letter queue of the stack is empty, redriving what is dead-lettered. It reconciles as
// `make load` does, with the dead-letter queues as they are after the drain, and adds the chaos
// checks: every dead letter explained, faults injected.
func Run(ctx context.Context, stack *deployed.Stack, o Options) (*Result, error) {
	if o.Every <= 0 {
		o.Every = 15 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logs == nil {
		o.Logs = cloudwatchlogs.NewFromConfig(stack.AWS)
	}
	if o.Lambda == nil {
		o.Lambda = lambda.NewFromConfig(stack.AWS)
	}
	c := redrive.NewClients(stack)
	sources, err := redrive.Sources(ctx, stack, c.SQS)
	if err != nil {
		return nil, err
	}
	t := &Tender{Clients: c, Sources: sources, Every: o.Every, Log: o.Log}
	cfg := o.Load
	if cfg.Choose == nil {
		cfg.Choose = Mix
	}
	if cfg.Timeout <= 0 { // faults slow every step: a crashed POST waits out its key's 30 s lease
		cfg.Timeout = 8*time.Minute + time.Duration(cfg.Orders)*500*time.Millisecond
	}
	if cfg.MaxTries <= 0 { // a POST that crashes holds its key for the 30 s lease: several 409s before a retry takes over
		cfg.MaxTries = 20
	}
	if cfg.Settle <= 0 { // past the callback tasks' 300 s timeout, so a lost callback ends too
		cfg.Settle = 6 * time.Minute
	}
	cfg.Tend = t.Tend
	cfg.Log = o.Log
	start := o.Clock()
	rep, err := load.Run(ctx, stack, cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, Armed: o.Armed}

	// Drain: the run has ended when its orders and executions have; the notifications and the
	// redriven messages may still be on their way.
	fmt.Fprintln(o.Log, "chaos: draining: every queue empty, dead letters redriven")
	drainStart := o.Clock()
	left, err := drain(ctx, stack, t, o.Drain)
	res.Drained = o.Clock().Sub(drainStart)
	if err != nil {
		return nil, err
	}
	res.DeadLetters = t.DeadLetters()
	res.Passes, res.Problems = t.Passes()

	// The checks: load's, on what the services recorded once the drain's redrives were done
	// (they can add events, refunds, released stock and sales), then the chaos ones.
	fmt.Fprintln(o.Log, "chaos: reading what the services recorded after the drain")
	if err := load.Recount(ctx, stack, rep, cfg.Poll, cfg.Settle); err != nil {
		return nil, err
	}
	names := Names(stack.Outputs, slices.Collect(maps.Keys(o.Armed)))
	res.Fired, res.FiredErr = Injected(ctx, o.Logs, o.Lambda, names, start.Add(-5*time.Second)) // a little slack for the clock that stamps the logs
	rep.Checks = append(rep.Checks, DrainedCheck(left, o.Drain), ExplainedCheck(res.DeadLetters, res.Fired), FiredCheck(o.Armed, res.Fired, res.FiredErr))
	for i := range rep.Checks {
		if rep.Checks[i].Name == load.DLQCheckName {
			rep.Checks[i].Rule = "every …DlqUrl queue holds no message once the run has ended and what they held was redriven"
			rep.Checks[i].Notes = append(rep.Checks[i].Notes, res.Problems...)
		}
	}
	return res, nil
}

// drain waits until every queue and dead-letter queue of the stack has been empty on two looks
// in a row, redriving the dead-letter queues whenever one holds a message, or until within ends:
// then it returns the queues that still held messages, by output name, with their depths.
func drain(ctx context.Context, stack *deployed.Stack, t *Tender, within time.Duration) (map[string]int, error) {
	q := sqs.NewFromConfig(stack.AWS)
	deadline := time.Now().Add(within)
	quiet := 0
	for {
		queues, err := load.Depths(ctx, q, stack.Outputs, "QueueUrl")
		if err != nil {
			return nil, err
		}
		dlqs, err := load.Depths(ctx, q, stack.Outputs, "DlqUrl")
		if err != nil {
			return nil, err
		}
		if sum(queues)+sum(dlqs) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet == 2 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			left := map[string]int{}
			for _, depths := range []map[string]int{queues, dlqs} {
				for name, n := range depths {
					if n > 0 {
						left[name] = n
					}
				}
			}
			return left, nil
		}
		if sum(dlqs) > 0 {
			t.Pass(ctx)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// DrainedCheck checks that the drain found every queue empty before its time ran out: a message
// still queued then (a payment, a refund, a redriven dead letter) is handled after the checks
// have read the ledger, the events and the stock, and what it changes would go unchecked.
func DrainedCheck(left map[string]int, within time.Duration) load.Check {
	c := load.Check{Name: "queues drained", Rule: "every queue and dead-letter queue empty on two looks in a row before the drain's time ran out, so that the checks read a state that no longer changes"}
	for _, name := range slices.Sorted(maps.Keys(left)) {
		c.Violations = append(c.Violations, fmt.Sprintf("%s still held %d message(s) after %s of draining", name, left[name], within))
	}
	return c
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// WriteMarkdown writes the load report, then what the faults did: the faults armed, those
// injected, the dead letters and their reasons.
func (r *Result) WriteMarkdown(w io.Writer) error {
	if err := r.Report.WriteMarkdown(w); err != nil {
		return err
	}
	b := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	p("")
	p("## Chaos")
	p("")
	p("| function | faults armed | injected |")
	p("|---|---|---|")
	all := map[string]int{}
	for _, fn := range slices.Sorted(maps.Keys(r.Armed)) {
		var parts []string
		for _, kind := range slices.Sorted(maps.Keys(r.Fired[fn])) {
			parts = append(parts, fmt.Sprintf("%d %s", r.Fired[fn][kind], kind))
			all[kind] += r.Fired[fn][kind]
		}
		p("| %s | `%s` | %s |", fn, r.Armed[fn], cmp.Or(strings.Join(parts, ", "), "none"))
	}
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(all)) {
		parts = append(parts, fmt.Sprintf("%d %s", all[kind], kind))
	}
	p("| **all** | | %s |", cmp.Or(strings.Join(parts, ", "), "none"))
	if r.FiredErr != nil {
		p("")
		p("Counting the injected faults (\"fault injected\" in each function's log group): %v", r.FiredErr)
	}
	p("")
	moved, n := 0, 0
	for _, d := range r.DeadLetters {
		moved += d.Moved
		n += d.Count
	}
	p("Dead letters: %d messages, %d moved back by %d redrive passes (during the run and the %.0f s drain after it).", n, moved, r.Passes, r.Drained.Seconds())
	if n > 0 {
		p("")
		p("| queue | kind | reason | messages | moved back |")
		p("|---|---|---|---:|---:|")
		for _, d := range r.DeadLetters {
			p("| %s | %s | %s | %d | %d |", d.Queue, d.Kind, strings.ReplaceAll(d.Reason, "|", `\|`), d.Count, d.Moved)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the load report's JSON under "load", and what the faults did.
func (r *Result) WriteJSON(w io.Writer) error {
	var b strings.Builder
	if err := r.Report.WriteJSON(&b); err != nil {
		return err
	}
	firedErr := ""
	if r.FiredErr != nil {
		firedErr = r.FiredErr.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Load        json.RawMessage           `json:"load"`
		Armed       map[string]string         `json:"armed"`
		Injected    map[string]map[string]int `json:"injected"`
		InjectedErr string                    `json:"injectedError,omitempty"`
		DeadLetters []DeadLetter              `json:"deadLetters"`
		Passes      int                       `json:"redrivePasses"`
		Problems    []string                  `json:"redriveProblems,omitempty"`
		DrainedS    float64                   `json:"drainedS"`
		Violations  int                       `json:"violations"`
	}{json.RawMessage(b.String()), r.Armed, r.Fired, firedErr, r.DeadLetters, r.Passes, r.Problems, r.Drained.Seconds(), r.Violations()})
}
