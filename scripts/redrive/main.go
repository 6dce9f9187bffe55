// Command redrive moves dead-lettered messages back to where they came from once the cause is
// fixed: for each dead-letter queue of the stack it prints every message's errorReason, sends
// the message back the way its kind of failure calls for (see package redrive), and deletes it
// from the DLQ only after that succeeded. It exits 1 if a message could not be moved, 2 if a
// dead-letter queue could not be read to the end (the others are still redriven, and the
// summary printed).
//
//	go run ./scripts/redrive [-queue NAME] [-dry-run] [-max N] [-match TEXT]
//
// Queue names: payments, email, sms, streamer, projector, analytics (and workflow-rule,
// stream-rule, notify-rule when the stack outputs their DLQs).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
)

func main() {
	queue := flag.String("queue", "", "only this dead-letter queue (by name: payments, email, sms, streamer, projector, analytics, ...)")
	o := redrive.Options{Log: os.Stdout}
	flag.BoolVar(&o.DryRun, "dry-run", false, "print the messages and where they would go; move nothing")
	flag.IntVar(&o.Max, "max", 0, "move at most N messages per queue (0: all)")
	flag.StringVar(&o.Match, "match", "", "only messages whose body (or its payload, if parked as base64) contains this text (an order id, say)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if flag.NArg() > 0 || o.Max < 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *queue, o); err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, queue string, o redrive.Options) error {
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	c := redrive.NewClients(stack)
	sources, err := redrive.Sources(ctx, stack, c.SQS)
	if err != nil {
		return err
	}
	if queue != "" {
		i := slices.IndexFunc(sources, func(s redrive.Source) bool { return s.Name == queue })
		if i < 0 {
			var names []string
			for _, s := range sources {
				names = append(names, s.Name)
			}
			return fmt.Errorf("no dead-letter queue %q: want one of %s", queue, strings.Join(names, ", "))
		}
		sources = sources[i : i+1]
	}
	rep, redriveErr := redrive.Redrive(ctx, c, sources, o)
	verb := "moved"
	if o.DryRun {
		verb = "would move"
	}
	n := rep.Moved
	if o.DryRun {
		n = len(rep.Results) - rep.Failed
	}
	fmt.Printf("%d messages: %s %d, %d not moved\n", len(rep.Results), verb, n, rep.Failed)
	if redriveErr != nil { // the others were read: what they held is above
		return fmt.Errorf("not read to the end: %s: %w", strings.Join(rep.Unfinished, ", "), redriveErr)
	}
	if rep.Failed > 0 {
		os.Exit(1)
	}
	return nil
}
