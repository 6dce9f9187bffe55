// Command demo signs in the demo customer, places one order on the deployed stack, waits until
// it is shipped or cancelled, and prints its journey through every service.
//
//	go run ./scripts/demo [-token tok_visa|tok_declined] [-sku SKU-001] [-qty 2]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/render"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

func main() {
	os.Exit(parseAndRun(os.Args[1:], os.Stderr))
}

// parseAndRun reads demo's flags and runs it: exit 0 once the order has ended and its journey is
// printed, 1 if it failed, 2 on a bad call (stderr says why).
func parseAndRun(args []string, stderr io.Writer) int {
	fs := cli.Flags("demo", "go run ./scripts/demo [-token tok_visa|tok_declined] [-sku SKU-001] [-qty 2] [-timeout 3m]", stderr)
	token := fs.String("token", "tok_visa", "payment token: tok_visa approves, tok_declined declines")
	sku := fs.String("sku", "SKU-001", "SKU to order")
	qty := fs.Int("qty", 2, "quantity")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait for the order to finish")
	if code, done := cli.ParseFlags(fs, args); done {
		return code
	}
	if err := run(*token, *sku, *qty, *timeout); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return cli.Failed
	}
	return cli.OK
}

func run(token, sku string, qty int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	customer, err := customers.New(stack).Provision(ctx, "demo")
	if err != nil {
		return err
	}
	fmt.Printf("signed in as demo (customer %s) with Cognito: every request carries its access token\n", customer.Sub)
	api := &shop.Client{BaseURL: stack.APIURL(), HTTP: stack.HTTP, Token: customer.AccessToken}

	req := shop.NewOrder(token, shop.Line{SKU: sku, Quantity: qty})
	fmt.Printf("POST %s/orders  %s x%d, payment %s\n", api.BaseURL, sku, qty, token)
	placed, err := api.PlaceOrder(ctx, req)
	if err != nil {
		return err
	}
	postedAt := time.Now()
	fmt.Printf("→ 201 %s %s (total %d cents)\n", placed.OrderID, placed.Status, placed.TotalCents)

	// Eventual consistency, made visible: the read side (GET folds the event store, which the
	// projector fills from the stream) does not know the order the write side just accepted.
	switch _, err := api.GetOrder(ctx, placed.OrderID); {
	case errors.Is(err, shop.ErrNotFound):
		fmt.Printf("GET /orders/%s at once → 404: the event store has not caught up yet (eventual consistency)\n", placed.OrderID)
	case err == nil:
		fmt.Println("GET at once → 200: this time the projector was quicker than the GET")
	default:
		return err
	}
	fmt.Print("\nwaiting for the order to be shipped or cancelled")
	readable := false
	order, err := api.WaitUntil(ctx, placed.OrderID, 100*time.Millisecond, func(o shop.Order) bool {
		if !readable {
			readable = true
			fmt.Printf("\n→ GET answers 200 %s %s after the 201: the two views agree again\n", o.Status, time.Since(postedAt).Round(time.Millisecond))
		}
		fmt.Print(".")
		return shop.Terminal(o.Status)
	})
	fmt.Println()
	if err != nil {
		return err
	}
	fmt.Printf("→ %s %s after %d events\n\n", order.OrderID, order.Status+reason(order.Reason), len(order.Events))

	// The order's status comes from the event store; the consumers (notifier, analytics) and the
	// execution's end may still be catching up: wait until the journey stops growing.
	var j journey.Journey
	c := journey.NewCollector(stack)
	for prev := -1; ; prev = len(j.Hops) {
		if j, err = c.Collect(ctx, placed.OrderID); err != nil {
			return err
		}
		if len(j.Hops) == prev && j.Status != "RUNNING" {
			break
		}
		select {
		case <-ctx.Done():
			if err := render.Text(os.Stdout, j); err != nil {
				return err
			}
			return fmt.Errorf("the journey above may be incomplete: it was still growing when the demo's time ran out (%w); "+
				"see it whole later with make trace ORDER=%s", ctx.Err(), placed.OrderID)
		case <-time.After(time.Second):
		}
	}
	if err := render.Text(os.Stdout, j); err != nil {
		return err
	}
	fmt.Printf("\nSee it as a sequence diagram: make trace ORDER=%s ARGS=\"-html trace.html\"\n", placed.OrderID)
	return nil
}

func reason(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}
