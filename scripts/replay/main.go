// Command replay rebuilds the projections (the event store and the sales totals) by replaying
// the order-events stream from its start, or the event store, through the consumers' own code,
// and checks they reach the same state: every order's fold over the event store equals its
// fold over the events replayed (an order begun before the stream's 7 days: takes in those it
// still holds), and the totals recomputed from the event store equal the analytics table's. It
// exits 1 on a mismatch or a conflict, and when it cannot run or does not finish (a timeout, an
// error reading or writing): such a run's report says INCOMPLETE, never OK. Exit 2 is bad
// usage alone.
//
//	go run ./scripts/replay [-from stream|eventstore] [-order ORD-<uuid>] [-dry-run] [-timeout 10m]
//
// It works against whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an
// emulator), finding the stack by its outputs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/replay"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 the projections match; 1 a mismatch or a conflict, or a run that could not start
// (no stack) or did not finish (its report then says INCOMPLETE, and gives no verdict); 2 usage
// alone, as for every command: a script that retries on 1 and fixes its call on 2 must not
// take a timeout for its own mistake.
func run(args []string, stdout, stderr io.Writer) int {
	var o replay.Options
	fs := cli.Flags("replay", "go run ./scripts/replay [-from stream|eventstore] [-order ORD-<uuid>] [-dry-run] [-timeout 10m]", stderr)
	fs.StringVar(&o.From, "from", replay.FromStream, "where to read the events: stream (the Kinesis stream from TRIM_HORIZON) or eventstore")
	fs.StringVar(&o.OrderID, "order", "", "replay one order (ORD-<uuid>) instead of every order")
	fs.BoolVar(&o.DryRun, "dry-run", false, "work out and report what a replay would do; write nothing")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if code, done := cli.ParseFlags(fs, args); done {
		return code
	}
	if err := o.Check(); err != nil { // before the stack is looked for, let alone the stream read
		fmt.Fprintln(stderr, "replay:", err)
		return cli.Usage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return cli.Failed
	}
	r, err := replay.Run(ctx, replay.FromStack(stack), o)
	return finish(r, err, stdout, stderr)
}

// finish reports run r, which err stopped if not nil, and returns the exit code.
func finish(r *replay.Report, err error, stdout, stderr io.Writer) int {
	if r != nil {
		Print(stdout, r) // a run that stopped says so, with what it did until then
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "replay:", err)
		return cli.Failed
	case !r.OK():
		return cli.Failed
	}
	return cli.OK
}

// Print writes the report for people.
func Print(w io.Writer, r *replay.Report) {
	what := "every order"
	if r.OrderID != "" {
		what = r.OrderID
	}
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing written; counts say what a replay would do)"
	}
	from := "order-events stream"
	if r.From == replay.FromEventStore {
		from = "event store"
	}
	fmt.Fprintf(w, "replay of %s from the %s%s\n", what, from, mode)
	fmt.Fprintf(w, "  read        %d records, %d events of the orders replayed\n", r.Records, r.Events)
	if r.From == replay.FromEventStore {
		fmt.Fprintf(w, "  event store the source: %d events\n", r.EventStore.AlreadyPresent)
	} else {
		fmt.Fprintf(w, "  event store %d appended, %d already present, %d conflicts\n", r.EventStore.Applied, r.EventStore.AlreadyPresent, r.EventStore.Conflicts)
	}
	fmt.Fprintf(w, "  analytics   %d counted, %d already counted, %d not counted (types that do not count), %d too old to count again\n",
		r.Analytics.Applied, r.Analytics.AlreadyPresent, r.Analytics.NotCounted, r.Analytics.TooOld)
	for _, c := range r.Conflicts {
		fmt.Fprintf(w, "  CONFLICT    %s\n", c)
	}
	for _, i := range r.Invalid {
		fmt.Fprintf(w, "  invalid     %s (the consumers park such records)\n", i)
	}
	fmt.Fprintf(w, "check\n  folds       %d orders compared", r.Orders)
	if n := len(r.Unfoldable); n > 0 {
		fmt.Fprintf(w, ", %d do not fold on either side", n)
	}
	if n := len(r.Partial); n > 0 {
		fmt.Fprintf(w, ", %d begun before the stream's retention (its later events checked against the event store's fold)", n)
	}
	fmt.Fprintln(w)
	for _, u := range r.Unfoldable {
		fmt.Fprintf(w, "  unfoldable  %s\n", u)
	}
	switch {
	case r.TotalsChecked:
		verdict := "equal"
		if r.Recomputed != r.Table {
			verdict = "DIFFER"
		}
		fmt.Fprintf(w, "  totals      recomputed from the event store %s, table %s: %s\n", replay.FormatTotals(r.Recomputed), replay.FormatTotals(r.Table), verdict)
	case r.OrderID != "":
		fmt.Fprintf(w, "  totals      %d countable events of the order marked as counted\n", r.CountedMarked)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(w, "  MISMATCH    %s\n", m)
	}
	switch {
	case r.Stopped != "":
		fmt.Fprintf(w, "INCOMPLETE: the replay stopped before it finished (%s): the counts above are what it did until then, and the check is no verdict; run it again\n", r.Stopped)
	case r.OK():
		fmt.Fprintln(w, "OK: the projections match the events")
	default:
		fmt.Fprintln(w, "FAILED: the projections do not match the events")
	}
}
