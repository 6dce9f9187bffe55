// What a run does: its Config and the defaults for what is left unset.

package load

import (
	"context"
	"io"
	"time"
)

// Config is one run.
type Config struct {
	Orders      int           // N
	Concurrency int           // C: requests in flight
	SKU         string        // one unit of it per order, unless Choose says otherwise
	Token       string        // payment token, unless Choose says otherwise
	Customers   int           // signed-in customers the orders are spread over
	Margin      int           // units stocked beyond one per order
	Timeout     time.Duration // for every order to end, from the first POST
	Poll        time.Duration // between two polls of the customers' lists
	Settle      time.Duration // for the executions to end once every order has
	Idle        time.Duration // how long to measure the emulator's CPU at rest before the run (0: not)
	Collectors  int           // journeys gathered at once
	MaxTries    int           // per POST
	EmulatorPID int           // MiniStack's pid; 0: from its pid file, found from the endpoint under Dir
	Dir         string        // the project directory (holds .emulator/)
	Endpoint    string        // AWS_ENDPOINT_URL, "" on AWS
	CPUGoal     float64       // the functions' CPU may be at most this share of the emulator's
	Log         io.Writer     // progress
	// Choose picks what order i (0 ≤ i < Orders) buys and how it pays (nil: SKU and Token for
	// all). A mix of outcomes (declines, refunds) exercises more of the flow than approvals do.
	Choose func(index int) Choice
	// Tend, if set, runs alongside the run from the first POST until every execution has ended
	// (or the wait for them gave up), then its ctx is cancelled and Run waits for it to return
	// before it reads what the services recorded: a chaos run redrives dead letters there.
	Tend func(ctx context.Context)
}

// Defaults fills what is unset: min(C, 20) customers, a margin of 10 % (at least 10), a timeout
// of 3 minutes plus half a second per order. It signs in no more customers than there are
// orders, asked for or not: one without an order would be provisioned and signed in for nothing,
// and the report would spread the orders over customers who placed none.
func (c Config) Defaults() Config {
	if c.Customers <= 0 {
		c.Customers = min(c.Concurrency, 20)
	}
	if c.Orders > 0 {
		c.Customers = min(c.Customers, c.Orders)
	}
	if c.Margin <= 0 {
		c.Margin = max(10, c.Orders/10)
	}
	if c.Timeout <= 0 {
		c.Timeout = 3*time.Minute + time.Duration(c.Orders)*500*time.Millisecond
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Settle <= 0 {
		c.Settle = 2 * time.Minute
	}
	if c.Collectors <= 0 {
		c.Collectors = 4
	}
	if c.MaxTries <= 0 {
		c.MaxTries = 8
	}
	if c.CPUGoal <= 0 {
		c.CPUGoal = 0.25
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Choose == nil {
		c.Choose = Only(Choice{SKU: c.SKU, Token: c.Token})
	}
	return c
}
