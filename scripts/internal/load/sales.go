// Analytics' totals around the run: what the orders should have moved them by, waiting for
// them to move, and the check.

package load

import (
	"context"
	"fmt"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
)

// Sales is analytics' totals (its TOTALS item) around the run.
type Sales struct {
	Before toolkit.Totals `json:"before"` // before the first POST
	After  toolkit.Totals `json:"after"`  // once they matched the run, or the wait for it ended
	// InFlightBefore is how many executions were running before the run: their orders move
	// the totals too, so a difference then leaves the check not made, not violated.
	InFlightBefore int `json:"inFlightBefore,omitempty"`
	// Want is what the run's orders alone should have moved the totals by (the ledger's and the
	// orders' ends' account), set when the checks are made.
	Want toolkit.Totals `json:"want"`
}

// salesOf is what an order adds to analytics' totals, from the ledger and its end, not from
// the events analytics counts: an order and its amount for a payment charged (APPROVED, or
// REFUNDED: charged, then given back), a refund and its amount for REFUNDED, a cancellation
// for a cancelled order. The money kept, revenue less refunds, is then what was charged and
// not given back.
func salesOf(o Order, outcome string) toolkit.Totals {
	var t toolkit.Totals
	if outcome == "CANCELLED" || outcome == "BOTH" {
		t.Cancelled = 1
	}
	if p := o.Payment; p != nil && (p.Status == "APPROVED" || p.Status == "REFUNDED") {
		t.Orders, t.RevenueCents = 1, p.AmountCents
		if p.Status == "REFUNDED" {
			t.Refunds, t.RefundedCents = 1, p.AmountCents
		}
	}
	return t
}

// expectedSales is what the orders should add to analytics' totals, by salesOf.
func expectedSales(orders []Order) toolkit.Totals {
	var t toolkit.Totals
	for _, o := range orders {
		t = toolkit.SumTotals(t, salesOf(o, Outcome(o.Events)))
	}
	return t
}

// moved is what the totals moved by from before to after.
func moved(before, after toolkit.Totals) toolkit.Totals {
	return toolkit.Totals{Orders: after.Orders - before.Orders, RevenueCents: after.RevenueCents - before.RevenueCents,
		Cancelled: after.Cancelled - before.Cancelled, Refunds: after.Refunds - before.Refunds, RefundedCents: after.RefundedCents - before.RefundedCents}
}

// waitSales reads the totals every poll until they have moved by want since before, or ctx
// ends; it returns the last read (an error only when none succeeded).
func waitSales(ctx context.Context, read func(context.Context) (toolkit.Totals, error), before, want toolkit.Totals, poll time.Duration) (toolkit.Totals, error) {
	var last toolkit.Totals
	var lastErr error
	read1 := false
	for {
		t, err := read(ctx)
		if err == nil {
			last, read1 = t, true
			if moved(before, t) == want {
				return t, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if !read1 {
				return last, lastErr
			}
			return last, nil
		case <-time.After(poll):
		}
	}
}

// quietSales reads the totals until two reads gap apart agree, or ctx ends; it returns the
// last read (an error only when none succeeded).
func quietSales(ctx context.Context, read func(context.Context) (toolkit.Totals, error), gap time.Duration) (toolkit.Totals, error) {
	last, err := read(ctx)
	for {
		select {
		case <-ctx.Done():
			return last, err
		case <-time.After(gap):
		}
		t, readErr := read(ctx)
		switch {
		case readErr != nil && err != nil:
			err = readErr
		case readErr != nil: // keep the last good read
		case err == nil && t == last:
			return t, nil
		default:
			last, err = t, nil
		}
	}
}

// salesCheck compares what the totals moved by with want. Totals that were not read leave the
// check not made; so does a difference while executions that were running before the run may
// have moved the totals too (theirs may be the difference, or hide one).
func salesCheck(s *Sales, unread string, want toolkit.Totals) Check {
	c := Check{Name: "sales totals", Rule: "analytics' totals moved by what the payments ledger and the orders' ends say: per order charged, an order and its amount; " +
		"per refund, a refund and its amount; per cancelled order, a cancellation (so the money kept moved by what was charged and not given back)"}
	if s == nil {
		c.NotChecked = "analytics' totals not read"
		if unread != "" {
			c.NotChecked += ": " + unread
		}
		return c
	}
	got := moved(s.Before, s.After)
	if got == want {
		return c
	}
	why := fmt.Sprintf("moved by %+v, want %+v", got, want)
	if s.InFlightBefore > 0 {
		c.NotChecked = "the orders of " + cli.Plural(s.InFlightBefore, "execution") + " running before the run move the totals too"
		c.Notes = append(c.Notes, why)
		return c
	}
	c.Violations = append(c.Violations, why)
	return c
}
