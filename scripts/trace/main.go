// Command trace shows the journey of one order through every service of the deployed stack, read
// from the services' own APIs: the API call, each event on the bus and the rules it matched, the
// workflow execution and its states, the messages through SQS and SNS, the records in Kinesis,
// each Lambda function that handled it and what it wrote to DynamoDB.
//
//	go run ./scripts/trace ORD-…                    # the journey so far, in time order
//	go run ./scripts/trace -html trace.html ORD-…   # also a page with a sequence diagram
//	go run ./scripts/trace -follow ORD-…            # print hops as they happen, until the order ends
//
// It talks to whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an emulator).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/render"
)

type options struct {
	order    string
	html     string
	follow   bool
	timeout  time.Duration
	interval time.Duration
	settle   int
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes (cli's): 0 traced, 1 failed (unknown order, unreachable stack, --follow gave up, the
// reads gave up after onceWithin),
// 2 usage, 130 interrupted (Ctrl-C, whenever it comes: while the stack is read too).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cli.OK
		}
		fmt.Fprintln(stderr, "trace:", err)
		return cli.Usage
	}
	stack, err := deployed.Load(ctx)
	if err != nil {
		if ctx.Err() != nil { // Ctrl-C while the stack was described: not a stack to fix
			err = fmt.Errorf("%w while reading the stack's outputs", errInterrupted)
		}
		return report(ctx, err, opt, stderr)
	}
	c := journey.NewCollector(stack)
	var j journey.Journey
	if opt.follow {
		j, err = follow(ctx, c, opt, stdout, stderr)
	} else {
		j, err = once(ctx, c, opt.order, stdout)
	}
	if opt.html != "" && len(j.Hops) > 0 {
		if werr := writeHTML(opt.html, j); werr != nil {
			fmt.Fprintln(stderr, "trace:", werr)
			return cli.Failed
		}
		fmt.Fprintf(stdout, "\nWrote %s: a sequence diagram of the %d hops (self-contained: open it in any browser).\n", opt.html, len(j.Hops))
	}
	return report(ctx, err, opt, stderr)
}

// errInterrupted is the end of a -follow stopped by its caller (Ctrl-C), not by its timeout.
var errInterrupted = errors.New("interrupted")

// report says how the trace ended and returns the exit code. An interrupt is told apart from a
// failure: the user stopped the trace, which found nothing wrong.
func report(ctx context.Context, err error, opt options, stderr io.Writer) int {
	switch {
	case errors.Is(err, errInterrupted) || ctx.Err() != nil: // even after a journey printed: it may be partial
		if err == nil {
			err = fmt.Errorf("%w: what is printed above may be partial", errInterrupted)
		}
		if !errors.Is(err, errInterrupted) {
			err = fmt.Errorf("%w while reading the journey of %s", errInterrupted, opt.order)
		}
		fmt.Fprintln(stderr, "trace:", err)
		return cli.Interrupted
	case err == nil:
		return cli.OK
	case errors.Is(err, journey.ErrUnknownOrder):
		hint := "Right after a POST the event store may not have it yet\n" +
			"(it fills asynchronously from the stream): try again, or use -follow, which waits for it."
		if opt.follow {
			hint = fmt.Sprintf("-follow waited %s for it and it did not come: check that the order was placed\n"+
				"on this stack, or follow it longer (-timeout).", opt.timeout)
		}
		fmt.Fprintf(stderr, "trace: no order %s on this stack: the event store holds no event for it.\n"+
			"Check the id (POST /orders returns it). %s\n", opt.order, hint)
		return cli.Failed
	}
	fmt.Fprintln(stderr, "trace:", err)
	return cli.Failed
}

func parse(args []string, stderr io.Writer) (options, error) {
	var opt options
	fs := cli.Flags("trace", "go run ./scripts/trace [-html FILE] [-follow [-timeout 3m]] ORD-<uuid>", stderr)
	fs.StringVar(&opt.html, "html", "", "also write a self-contained HTML page with a sequence diagram to `FILE`")
	fs.BoolVar(&opt.follow, "follow", false, "print hops as they happen until the order is shipped or cancelled")
	fs.DurationVar(&opt.timeout, "timeout", 3*time.Minute, "with -follow: give up after this long")
	fs.DurationVar(&opt.interval, "interval", 500*time.Millisecond, "with -follow: how often to poll")
	fs.IntVar(&opt.settle, "settle", 6, "with -follow: polls without a new hop, once the order has ended, before stopping")
	// Flags may come before or after the order id.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return opt, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(rest) != 1:
		fs.Usage()
		return opt, fmt.Errorf("want exactly one order id, got %d", len(rest))
	case !toolkit.IsOrderID(rest[0]):
		return opt, fmt.Errorf("%q is not an order id: want ORD-<uuid>, as POST /orders returns it", rest[0])
	case opt.follow && (opt.timeout <= 0 || opt.interval <= 0 || opt.settle <= 0):
		return opt, errors.New("-timeout, -interval and -settle must be positive")
	}
	opt.order = rest[0]
	return opt, nil
}

// collector reads an order's journey (journey.Collector; a fake in tests).
type collector interface {
	Collect(ctx context.Context, orderID string) (journey.Journey, error)
}

// onceWithin is how long once reads before it gives up.
const onceWithin = 2 * time.Minute

// once prints the journey as it stands now. Cut short (Ctrl-C, or onceWithin passed), it prints
// what it read and says it is partial.
func once(ctx context.Context, c collector, id string, stdout io.Writer) (journey.Journey, error) {
	return onceIn(ctx, c, id, stdout, onceWithin)
}

func onceIn(ctx context.Context, c collector, id string, stdout io.Writer, within time.Duration) (journey.Journey, error) {
	rctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	j, err := c.Collect(rctx, id)
	if err != nil {
		return j, err
	}
	if err := render.Text(stdout, j); err != nil {
		return j, err
	}
	if rctx.Err() != nil && ctx.Err() == nil {
		return j, fmt.Errorf("gave up reading after %s: the journey above is partial", within)
	}
	return j, nil
}

// follow polls until the order has ended and no new hop has shown for opt.settle polls (the
// consumers may still be catching up when the workflow ends), printing only new hops and, again
// under their number, hops printed before their details were known.
func follow(parent context.Context, c collector, opt options, stdout, stderr io.Writer) (journey.Journey, error) {
	ctx, cancel := context.WithTimeout(parent, opt.timeout)
	defer cancel()
	var printed journey.Printed
	var j journey.Journey
	started, waiting, quiet := false, false, 0
	for {
		got, err := c.Collect(ctx, opt.order)
		switch {
		case errors.Is(err, journey.ErrUnknownOrder):
			if !waiting {
				fmt.Fprintf(stdout, "waiting for %s to reach the event store (it is filled asynchronously, from the stream)…\n", opt.order)
				waiting = true
			}
		case err != nil && ctx.Err() == nil:
			return j, err
		case err == nil:
			j = got
			if !started {
				render.Heading(stdout, j)
				fmt.Fprintf(stdout, "\nFollowing %s until it is shipped or cancelled, hops numbered as they are found"+
					" (≈: time of the hop's recorded effect;"+
					" UPDATED: a hop printed before its details were known, again under its number)\n%s\n", opt.order, render.HopHeader)
				started = true
			}
			fresh := printed.Next(j, render.HopSays) // new hops, and hops printed before their details were known, again
			for _, s := range fresh {
				fmt.Fprintln(stdout, render.HopLine(s))
			}
			if len(fresh) > 0 {
				quiet = 0
			} else if j.Terminal() && j.Status != "RUNNING" {
				quiet++
			}
			if quiet >= opt.settle {
				render.Events(stdout, j)
				fmt.Fprintf(stdout, "\nDone: %s; execution %s.\n", render.Outcome(j), orDash(j.Status))
				render.Footer(stdout, j)
				return j, nil
			}
		}
		select {
		case <-ctx.Done():
			switch {
			case parent.Err() != nil && !started:
				return j, fmt.Errorf("%w while waiting for %s to reach the event store", errInterrupted, opt.order)
			case parent.Err() != nil:
				return j, fmt.Errorf("%w: %s, execution %s", errInterrupted, render.Outcome(j), orDash(j.Status))
			case !started:
				return j, fmt.Errorf("%s: %w (gave up after %s)", opt.order, journey.ErrUnknownOrder, opt.timeout)
			}
			return j, fmt.Errorf("gave up after %s: %s, execution %s", opt.timeout, render.Outcome(j), orDash(j.Status))
		case <-time.After(opt.interval):
		}
	}
}

func writeHTML(path string, j journey.Journey) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render.HTML(f, j); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func orDash(s string) string {
	if s == "" {
		return "not started"
	}
	return s
}
