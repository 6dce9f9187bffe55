// Command redrive moves dead-lettered messages back to where they came from once the cause is
// fixed: for each dead-letter queue of the stack it prints every message's errorReason, sends
// the message back the way its kind of failure calls for (see package redrive), and deletes it
// from the DLQ only after that succeeded. It exits 1 if a message could not be moved, or a
// dead-letter queue could not be read to the end (the others are still redriven, and the
// summary printed), or the stack could not be reached; 2 on bad usage alone.
//
//	go run ./scripts/redrive [-queue NAME] [-dry-run] [-max N] [-match TEXT] [-timeout 10m]
//
// Queue names: payments, email, sms, streamer, projector, analytics (and workflow-rule,
// stream-rule, notify-rule when the stack outputs their DLQs).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 every message moved (or, with -dry-run, would be); 1 one could not be, a
// dead-letter queue not read to the end, or no stack to read; 2 usage alone (a -queue the
// stack has no dead-letter queue of is one), as for every command; 130 interrupted (Ctrl-C).
func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.Flags("redrive", "go run ./scripts/redrive [-queue NAME] [-dry-run] [-max N] [-match TEXT] [-timeout 10m]", stderr)
	queue := fs.String("queue", "", "only this dead-letter queue (by name: payments, email, sms, streamer, projector, analytics, ...)")
	o := redrive.Options{Log: stdout}
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the messages and where they would go; move nothing")
	fs.IntVar(&o.Max, "max", 0, "move at most N messages per queue (0: all)")
	fs.StringVar(&o.Match, "match", "", "only messages whose body (or its payload, if parked as base64) contains this text (an order id, say)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if code, done := cli.ParseFlags(fs, args); done {
		return code
	}
	if o.Max < 0 {
		fmt.Fprintf(stderr, "redrive: -max %d: want 0 (every message) or more\n", o.Max)
		return cli.Usage
	}
	// Ctrl-C ends the run, not the process: the messages it holds are made visible again (they
	// stay hidden until the run's deadline otherwise), and what it did is summed up.
	interrupt, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(interrupt, *timeout)
	defer cancel()
	code, err := redriveAll(ctx, stdout, *queue, o)
	switch {
	case interrupt.Err() != nil && err != nil:
		return cli.Fail(interrupt, stderr, "redrive", err) // "interrupted", and its exit code
	case interrupt.Err() != nil:
		return cli.Interrupted
	case err != nil:
		fmt.Fprintln(stderr, "redrive:", err)
	}
	return code
}

func redriveAll(ctx context.Context, stdout io.Writer, queue string, o redrive.Options) (int, error) {
	stack, err := deployed.Load(ctx)
	if err != nil {
		return cli.Failed, err
	}
	c := redrive.NewClients(stack)
	sources, err := redrive.Sources(ctx, stack, c.SQS)
	if err != nil {
		return cli.Failed, err
	}
	if queue != "" {
		i := slices.IndexFunc(sources, func(s redrive.Source) bool { return s.Name == queue })
		if i < 0 {
			var names []string
			for _, s := range sources {
				names = append(names, s.Name)
			}
			return cli.Usage, fmt.Errorf("no dead-letter queue %q: want one of %s", queue, strings.Join(names, ", "))
		}
		sources = sources[i : i+1]
	}
	rep, err := redrive.Redrive(ctx, c, sources, o)
	return finish(stdout, rep, err, o.DryRun)
}

// finish prints the summary of rep, which err stopped if not nil, and returns the exit code.
func finish(stdout io.Writer, rep *redrive.Report, err error, dryRun bool) (int, error) {
	fmt.Fprintln(stdout, summary(rep, dryRun))
	switch {
	case err != nil: // the others were read: what they held is above
		return cli.Failed, fmt.Errorf("not read to the end: %s: %w", strings.Join(rep.Unfinished, ", "), err)
	case rep.Failed > 0:
		return cli.Failed, nil
	}
	return cli.OK, nil
}

// summary is the run's last line: how many messages it handled, and what became of them.
func summary(rep *redrive.Report, dryRun bool) string {
	verb, n := "moved", rep.Moved
	if dryRun {
		verb, n = "would move", len(rep.Results)-rep.Failed
	}
	return fmt.Sprintf("%s handled: %s %d, %d not moved", redrive.Messages(len(rep.Results)), verb, n, rep.Failed)
}
