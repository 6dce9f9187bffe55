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
// On AWS the bus's resource policy refuses orderflow.* events from anyone but the stack's own
// producers, so these work against the local emulator only (which does not evaluate it).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/inject"
)

func main() {
	dup := flag.String("duplicate", "", "re-publish stored events of this order (ORD-...) unchanged")
	typ := flag.String("type", "", "with -duplicate: only events of these types, comma-separated (default: every stored event)")
	v1 := flag.Bool("v1", false, "place an order by publishing an OrderPlaced v1 event onto the bus")
	var o inject.V1Order
	flag.StringVar(&o.Token, "token", "tok_visa", "with -v1: payment token (tok_visa approves; the sample's tok_declined declines)")
	flag.StringVar(&o.SKU, "sku", "", "with -v1: the SKU ordered (default: the sample's)")
	flag.IntVar(&o.Quantity, "qty", 0, "with -v1: the quantity (default: the sample's)")
	flag.StringVar(&o.CustomerID, "customer", "", "with -v1: the customer id, a Cognito sub (default: the sample's, which no one can sign in as: GET /orders/{id} answers 404; use the trace)")
	flag.IntVar(&o.Copies, "copies", 1, "with -v1: put the event on the bus this many times at once, to watch one saga run and the others stop at Duplicate")
	flag.Parse()
	if flag.NArg() > 0 || (*dup == "") == !*v1 {
		fmt.Fprintln(os.Stderr, "inject: give either -duplicate ORD-... or -v1")
		flag.Usage()
		os.Exit(2)
	}
	if o.Copies < 1 {
		fmt.Fprintln(os.Stderr, "inject: -copies must be 1 or more")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, *dup, *typ, *v1, o); err != nil {
		fmt.Fprintln(os.Stderr, "inject:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dup, typ string, v1 bool, o inject.V1Order) error {
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	d := inject.FromStack(stack)
	if v1 {
		e, err := inject.PlaceV1(ctx, d, o)
		if err != nil {
			return err
		}
		fmt.Printf("published OrderPlaced v1 %s of %s onto %s\n%s\nfollow it: make trace ORDER=%s\n", e.ID, e.OrderID, d.BusName, e.Payload, e.OrderID)
		return nil
	}
	var types []events.Type
	for _, t := range strings.Split(typ, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !events.Type(t).Known() {
			return fmt.Errorf("unknown event type %q", t)
		}
		types = append(types, events.Type(t))
	}
	sent, err := inject.Duplicate(ctx, d, dup, types...)
	if err != nil {
		return err
	}
	for _, e := range sent {
		fmt.Printf("re-published #%d %s %s (unchanged, same id)\n", e.Sequence, e.Type, e.ID)
	}
	fmt.Printf("every consumer should ignore them: make trace ORDER=%s\n", dup)
	return nil
}
