// Package load places many orders through a deployed stack's API, waits for every one to end,
// reconciles what the services recorded (no order lost, one terminal state each, charged once,
// stock conserved, no dead letters, no execution left running, analytics' totals moved by what
// the ledger says) and reports latencies, where the time goes per hop (measured on each order's
// journey, as the trace builds it) and, on a local MiniStack, the CPU the emulator and its
// functions used.
package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/catalogue"
	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// clockSlack allows for the clock that stamps placedAt (order-api's) being a little behind the
// client's: an order the client placed may look placed up to this much before the run began.
const clockSlack = 5 * time.Second

// Run places cfg.Orders orders and reports. An error means the run could not be made (no stack,
// no customers, no stock); what it found wrong with the system is in the report's checks.
func Run(ctx context.Context, stack *deployed.Stack, cfg Config) (*Report, error) {
	cfg = cfg.Defaults()
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.Log, "load: "+format+"\n", a...) }
	// What the orders buy: each SKU is stocked for all its orders plus the margin.
	mix, units := map[string]int{}, map[string]int{}
	for i := range cfg.Orders {
		c := cfg.Choose(i)
		mix[c.SKU+" "+c.Token]++
		units[c.SKU]++
	}
	skus := slices.Sorted(maps.Keys(units))
	for _, sku := range skus {
		if err := catalogue.Check(sku); err != nil {
			return nil, err
		}
	}
	r := &Report{Machine: ThisMachine(), Endpoint: cmp.Or(cfg.Endpoint, "AWS"), Orders: cfg.Orders, Concurrency: cfg.Concurrency,
		Customers: cfg.Customers, SKU: cfg.SKU, Token: cfg.Token, UnitsPerOrder: 1, CPUGoal: cfg.CPUGoal}
	if len(mix) > 1 {
		r.Mix = mix
	}
	db := dynamodb.NewFromConfig(stack.AWS)
	sf := sfn.NewFromConfig(stack.AWS)
	q := sqs.NewFromConfig(stack.AWS)
	machine := stack.Output("StateMachineArn")

	// Before: nothing in flight, the DLQs as they are, customers signed in, the SKU restocked,
	// analytics' totals as they stand.
	inFlight, err := running(ctx, sf, machine)
	if err != nil {
		return nil, err
	} else if inFlight > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d executions were RUNNING before the run: their stock moves count in the stock check", inFlight))
	}
	readSales := salesReader(db, stack)
	dlqs, err := dlqDepths(ctx, q, stack.Outputs)
	if err != nil {
		return nil, err
	}
	logf("signing in %d customers", cfg.Customers)
	shops, err := signIn(ctx, stack, cfg.Customers)
	if err != nil {
		return nil, err
	}
	inventory := toolkit.NewInventory(db, stack.Output("InventoryTable"))
	for _, sku := range skus {
		before := units[sku]*r.UnitsPerOrder + cfg.Margin
		if err := inventory.SetStock(ctx, sku, before); err != nil {
			return nil, err
		}
		r.Stock = append(r.Stock, Stock{SKU: sku, Before: before})
		logf("stock of %s set to %d", sku, before)
	}

	// Analytics' totals once they stand still: it may still be counting what came before.
	var sales *Sales
	var salesUnread string // why sales is nil
	quietCtx, cancelQuiet := context.WithTimeout(ctx, 30*time.Second)
	before, err := quietSales(quietCtx, readSales, 2*time.Second)
	cancelQuiet()
	if err != nil {
		salesUnread = "before the run: " + err.Error()
	} else {
		sales = &Sales{Before: before, InFlightBefore: inFlight}
	}

	pid, cpuErr := cfg.EmulatorPID, error(nil)
	if pid == 0 {
		pid, cpuErr = FindMiniStack(cfg.Dir, cfg.Endpoint)
	} else {
		cpuErr = IsMiniStack(pid)
	}
	var cpuBefore CPUSample
	if cpuErr == nil {
		r.Emulator = MiniStackName(MiniStackVersion(cfg.Dir), pid)
		cpuBefore, cpuErr = SampleCPU("/proc", pid, ProcessCPU)
	}
	if cpuErr == nil && cfg.Idle > 0 { // at rest: what the emulator's pollers cost, for comparison
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(cfg.Idle):
		}
		var rest CPUSample
		if rest, cpuErr = SampleCPU("/proc", pid, ProcessCPU); cpuErr == nil {
			idle := Between(pid, cpuBefore, rest, 0, cfg.CPUGoal)
			r.Idle, cpuBefore = &idle, rest
		}
	}
	selfBefore := ownCPU()

	// Place.
	tokens := make([]string, len(shops))
	for i, s := range shops {
		tokens[i] = s.Token
	}
	p, err := newPlacer(stack.HTTP, stack.APIURL(), tokens, cfg.Orders, cfg.Choose, cfg.MaxTries)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	since := time.Now()
	stopTending := func() {}
	if cfg.Tend != nil {
		tendCtx, cancelTend := context.WithCancel(ctx)
		tended := make(chan struct{})
		go func() {
			defer close(tended)
			cfg.Tend(tendCtx)
		}()
		stopTending = sync.OnceFunc(func() {
			cancelTend()
			<-tended
		})
		defer stopTending()
	}
	logf("placing %d orders (%s), %d at a time, for %d customers", cfg.Orders, r.What(), cfg.Concurrency, cfg.Customers)
	step := max(1, cfg.Orders/10)
	placements := p.placeAll(runCtx, cfg.Orders, cfg.Concurrency, func(done int) {
		if done%step == 0 || done == cfg.Orders {
			logf("placed %d/%d (%.0f s)", done, cfg.Orders, time.Since(since).Seconds())
		}
	})
	placedAll := time.Now()
	r.Requests = p.requests()

	// Wait for every order to end.
	w := &watcher{shops: shops, since: since, slack: clockSlack, known: map[string]int{}, listed: map[string]Listed{}}
	for _, pl := range placements {
		if pl.OrderID != "" {
			w.known[pl.OrderID] = pl.Customer
		}
	}
	last := time.Now()
	waitErr := w.wait(runCtx, cfg.Poll, func(ended, total int) {
		if time.Since(last) >= 10*time.Second || ended == total {
			// The watcher reads a customer's whole list only once its newest orders have ended:
			// the count of orders seen ended lags, the count of customers still waiting does not.
			logf("%d/%d orders seen ended, %d of %d customers with an order still open (%.0f s)",
				ended, total, len(w.openCustomers()), len(shops), time.Since(since).Seconds())
			last = time.Now()
		}
	})
	var late []string
	if waitErr != nil {
		late = w.late()
		r.Notes = append(r.Notes, fmt.Sprintf("stopped waiting after %s: %v", cfg.Timeout, waitErr))
		sweepCtx, cancelSweep := context.WithTimeout(ctx, time.Minute)
		if err := w.sweep(sweepCtx); err != nil {
			r.Notes = append(r.Notes, "reading every customer's orders after the timeout: "+err.Error())
		}
		cancelSweep()
	}
	r.Polls = w.polls

	// Settle: every execution ended; then the CPU, before the reads below add to it.
	settleCtx, cancelSettle := context.WithTimeout(ctx, cfg.Settle)
	r.Running, err = settle(settleCtx, sf, machine)
	cancelSettle()
	if err != nil { // not one count in the whole wait: "no execution left running" cannot be checked
		return nil, err
	}
	stopTending()
	if cpuErr == nil {
		var after CPUSample
		if after, cpuErr = SampleCPU("/proc", pid, ProcessCPU); cpuErr == nil {
			cpu := Between(pid, cpuBefore, after, len(w.known), cfg.CPUGoal)
			r.CPU = &cpu
		}
	}
	if cpuErr != nil {
		r.CPUNote = "not measured: " + cpuErr.Error()
	}
	r.LoadCPU = ownCPU() - selfBefore
	if c := r.CPU; c != nil { // read after the load generator's own CPU: these reads are not the run's
		counts, err := Invocations(ctx, cloudwatchlogs.NewFromConfig(stack.AWS), lambda.NewFromConfig(stack.AWS), FunctionNames(stack.Outputs), cpuBefore.At, cpuBefore.At.Add(c.Window))
		if err != nil {
			r.Notes = append(r.Notes, "the functions' invocations were not counted: "+err.Error())
		} else {
			c.Invoked(counts)
		}
		c.Named(stack.Outputs)
	}
	logf("every execution ended; reading what the services recorded")

	// What the services recorded.
	orders := ordersOf(placements, w)
	if r.DLQs, err = dlqAfter(ctx, q, stack.Outputs, dlqs); err != nil {
		return nil, err
	}
	if err := readStock(ctx, inventory, r.Stock); err != nil {
		return nil, err
	}
	if r.ExecutionsStarted, err = startedSince(ctx, sf, machine, since); err != nil {
		return nil, err
	}
	if err := readLedgers(ctx, db, stack, orders); err != nil {
		return nil, err
	}

	// Journeys: one collector for all, through the saga claims and one read of the stream.
	logf("collecting the journeys of %d orders (%d at a time)", len(orders), cfg.Collectors)
	start := time.Now()
	journeys, notes := collect(ctx, journey.NewCollector(stack, journey.ClaimedOnly(), journey.LocalRules(), journey.SharedStream()),
		orders, cfg.Collectors)
	r.Collection = Collection{Orders: len(orders), Took: ms(time.Since(start)), Collectors: cfg.Collectors, Notes: notes}
	logf("collected in %.1f s", time.Since(start).Seconds())

	// Analytics reads the stream at its own pace: give it a minute to move by what the orders'
	// events (read just above, by collect) say it should.
	if sales != nil {
		if err := awaitSales(ctx, readSales, sales, orders, cfg.Poll); err != nil {
			sales, salesUnread = nil, "after the run: "+err.Error()
		}
	}

	// Interrupted while reading: what was not read would be judged missing (an order "lost"), so
	// there is no report to give.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("stopped while reading what the services recorded (the orders carry on): %w", err)
	}

	// Reconcile and report.
	notPlaced, shared := unplaced(placements)
	r.judge(Facts{Orders: orders, NotPlaced: notPlaced, Shared: shared, Late: late, UnitsPerOrder: r.UnitsPerOrder, Stock: r.Stock,
		DLQs: r.DLQs, Running: r.Running, ExecutionPrefix: strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":", Sales: sales, SalesUnread: salesUnread})
	r.summarize(placements, orders, journeys, since, placedAll)
	return r, nil
}

// ownCPU is the CPU this process has used (user + system).
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// signIn provisions customers load-01 … load-NN (a fresh password each run) and signs them in.
func signIn(ctx context.Context, stack *deployed.Stack, n int) ([]*shop.Client, error) {
	pool := customers.New(stack)
	out := make([]*shop.Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := pool.Provision(ctx, fmt.Sprintf("load-%02d", i+1))
			errs[i] = err
			out[i] = &shop.Client{BaseURL: stack.APIURL(), HTTP: stack.HTTP, Token: c.AccessToken}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
