// Command inject puts events on the bus to watch the consumers cope, for learners and tests.
//
//	go run ./scripts/inject -duplicate ORD-... [-type OrderShipped[,OrderPlaced...]]
//	    re-publishes stored events of the order unchanged (same id): every consumer ignores them,
//	    and a duplicate OrderPlaced starts an execution that finds the order claimed and stops
//	go run ./scripts/inject -v1 [-token tok_visa] [-sku SKU-001] [-qty 1] [-customer C] [-copies 2]
//	    places an order by publishing an OrderPlaced v1 (the events package's v1 sample, with a
//	    fresh order id): the consumers upcast it and it flows through like one the API placed
//
// Then follow it: make trace ORDER=ORD-...
//
// A flag of the other mode, or a value out of range, is refused (exit 2) rather than ignored:
// the event put on the bus is then the one asked for.
//
// On AWS the bus's resource policy refuses orderflow.* events from anyone but the stack's own
// producers, so these work against the local emulator only (which does not evaluate it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/inject"
)

// v1Flags are the flags of -v1 only; typeFlag is of -duplicate only.
var v1Flags = []string{"token", "sku", "qty", "customer", "copies"}

const typeFlag = "type"

// options is one call: -duplicate with types, or -v1 with the order.
type options struct {
	dup   string
	types []events.Type
	v1    bool
	order inject.V1Order
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

// Exit codes: 0 published, 1 failed, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt, code, done := parse(args, stderr)
	if done {
		return code
	}
	if err := publish(ctx, opt, stdout); err != nil {
		fmt.Fprintln(stderr, "inject:", err)
		return cli.Failed
	}
	return cli.OK
}

// parse reads the flags and refuses what would be ignored or is out of range.
func parse(args []string, stderr io.Writer) (options, int, bool) {
	var opt options
	fs := cli.Flags("inject", "go run ./scripts/inject -duplicate ORD-... [-type T[,T...]] | -v1 [-token T] [-sku S] [-qty N] [-customer C] [-copies N]", stderr)
	fs.StringVar(&opt.dup, "duplicate", "", "re-publish stored events of this order (ORD-<uuid>) unchanged")
	typ := fs.String(typeFlag, "", "with -duplicate: only events of these types, comma-separated (default: every stored event)")
	fs.BoolVar(&opt.v1, "v1", false, "place an order by publishing an OrderPlaced v1 event onto the bus")
	o := &opt.order
	fs.StringVar(&o.Token, "token", "tok_visa", "with -v1: payment token (tok_visa approves; the sample's tok_declined declines)")
	fs.StringVar(&o.SKU, "sku", "", "with -v1: the SKU ordered, one of the catalogue's (default: the sample's)")
	fs.IntVar(&o.Quantity, "qty", 0, fmt.Sprintf("with -v1: the quantity, 1 to %d (default: the sample's)", events.MaxLineQuantity))
	fs.StringVar(&o.CustomerID, "customer", "", "with -v1: the customer id, a Cognito sub (default: the sample's, which no one can sign in as: GET /orders/{id} answers 404; use the trace)")
	fs.IntVar(&o.Copies, "copies", 1, fmt.Sprintf("with -v1: put the event on the bus this many times at once (1 to %d), to watch one saga run and the others stop at Duplicate", inject.MaxCopies))
	if code, done := cli.Parse(fs, args); done {
		return opt, code, true
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usage := func(format string, a ...any) (options, int, bool) {
		fmt.Fprintf(stderr, "inject: "+format+"\n", a...)
		return opt, cli.Usage, true
	}
	if err := cli.NoArgs(fs); err != nil {
		return usage("%v", err)
	}
	switch {
	case (opt.dup == "") == !opt.v1:
		fs.Usage()
		return usage("give either -duplicate ORD-... or -v1")
	case opt.v1 && set[typeFlag]:
		return usage("-type is for -duplicate: -v1 publishes one OrderPlaced v1")
	case opt.dup != "" && slices.ContainsFunc(v1Flags, func(f string) bool { return set[f] }):
		return usage("-%s %s for -v1 only: -duplicate re-publishes each stored event once, unchanged", strings.Join(setOf(v1Flags, set), ", -"), isOrAre(len(setOf(v1Flags, set))))
	case opt.dup != "" && !toolkit.IsOrderID(opt.dup):
		return usage("%q is not an order id: want ORD-<uuid>, as POST /orders returns it", opt.dup)
	case set["qty"] && (o.Quantity < 1 || o.Quantity > events.MaxLineQuantity):
		return usage("-qty must be 1 to %d (leave it out for the sample's)", events.MaxLineQuantity)
	case o.Copies < 1 || o.Copies > inject.MaxCopies:
		return usage("-copies must be 1 to %d", inject.MaxCopies)
	case o.Token == "": // the sample's token, which declines: not what an empty one reads as
		return usage("-token must not be empty (leave it out for tok_visa)")
	case set["sku"] && o.SKU == "": // an unset $SKU, say: not a request for the sample's
		return usage("-sku must not be empty (leave it out for the sample's)")
	case set["customer"] && o.CustomerID == "":
		return usage("-customer must not be empty (leave it out for the sample's)")
	}
	if err := o.Check(); err != nil {
		return usage("%v", err)
	}
	for _, t := range strings.Split(*typ, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !events.Type(t).Known() {
			return usage("-type: unknown event type %q", t)
		}
		opt.types = append(opt.types, events.Type(t))
	}
	return opt, cli.OK, false
}

// setOf lists the flags of names that were set, in names' order.
func setOf(names []string, set map[string]bool) []string {
	var out []string
	for _, n := range names {
		if set[n] {
			out = append(out, n)
		}
	}
	return out
}

func isOrAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func publish(ctx context.Context, opt options, stdout io.Writer) error {
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	d := inject.FromStack(stack)
	if opt.v1 {
		e, err := inject.PlaceV1(ctx, d, opt.order)
		if err != nil {
			return err
		}
		copies := ""
		if opt.order.Copies > 1 {
			copies = fmt.Sprintf(" (%d copies)", opt.order.Copies)
		}
		fmt.Fprintf(stdout, "published OrderPlaced v1 %s of %s onto %s%s\n%s\nfollow it: make trace ORDER=%s\n", e.ID, e.OrderID, d.BusName, copies, e.Payload, e.OrderID)
		return nil
	}
	sent, err := inject.Duplicate(ctx, d, opt.dup, opt.types...)
	if err != nil {
		return err
	}
	for _, e := range sent {
		fmt.Fprintf(stdout, "re-published #%d %s %s (unchanged, same id)\n", e.Sequence, e.Type, e.ID)
	}
	fmt.Fprintf(stdout, "every consumer should ignore them: make trace ORDER=%s\n", opt.dup)
	return nil
}
