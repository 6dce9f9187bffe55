// Package load places many orders through a deployed stack's API, waits for every one to end,
// reconciles what the services recorded (no order lost, one terminal state each, charged once,
// stock conserved, no dead letters, no execution left running) and reports latencies, where
// the time goes per hop (measured on each order's journey, as the trace builds it) and, on a
// local MiniStack, the CPU the emulator and its functions used.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
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
// of 3 minutes plus half a second per order.
func (c Config) Defaults() Config {
	if c.Customers <= 0 {
		c.Customers = min(c.Concurrency, 20)
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
		if _, ok := toolkit.LookupProduct(sku); !ok {
			return nil, fmt.Errorf("%s is not in the catalogue", sku)
		}
	}
	r := &Report{Machine: ThisMachine(), Endpoint: orDefault(cfg.Endpoint, "AWS"), Orders: cfg.Orders, Concurrency: cfg.Concurrency,
		Customers: cfg.Customers, SKU: cfg.SKU, Token: cfg.Token, UnitsPerOrder: 1, CPUGoal: cfg.CPUGoal}
	if len(mix) > 1 {
		r.Mix = mix
	}
	db := dynamodb.NewFromConfig(stack.AWS)
	sf := sfn.NewFromConfig(stack.AWS)
	q := sqs.NewFromConfig(stack.AWS)
	machine := stack.Output("StateMachineArn")

	// Before: nothing in flight, the DLQs as they are, customers signed in, the SKU restocked.
	if n, err := running(ctx, sf, machine); err != nil {
		return nil, err
	} else if n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d executions were RUNNING before the run: their stock moves count in the stock check", n))
	}
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

	pid, cpuErr := cfg.EmulatorPID, error(nil)
	if pid == 0 {
		pid, cpuErr = FindMiniStack(cfg.Dir, cfg.Endpoint)
	} else {
		cpuErr = IsMiniStack(pid)
	}
	var cpuBefore CPUSample
	if cpuErr == nil {
		r.Emulator = strings.TrimSpace(fmt.Sprintf("MiniStack %s (pid %d)", MiniStackVersion(cfg.Dir), pid))
		cpuBefore, cpuErr = SampleCPU("/proc", pid)
	}
	if cpuErr == nil && cfg.Idle > 0 { // at rest: what the emulator's pollers cost, for comparison
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(cfg.Idle):
		}
		var rest CPUSample
		if rest, cpuErr = SampleCPU("/proc", pid); cpuErr == nil {
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
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	stopTending()
	if cpuErr == nil {
		var after CPUSample
		if after, cpuErr = SampleCPU("/proc", pid); cpuErr == nil {
			cpu := Between(pid, cpuBefore, after, len(w.known), cfg.CPUGoal)
			r.CPU = &cpu
		}
	}
	if cpuErr != nil {
		r.CPUNote = "not measured: " + cpuErr.Error()
	}
	r.LoadCPU = ownCPU() - selfBefore
	logf("every execution ended; reading what the services recorded")

	// What the services recorded.
	orders := ordersOf(placements, w)
	if r.DLQs, err = dlqAfter(ctx, q, stack.Outputs, dlqs); err != nil {
		return nil, err
	}
	stock, err := inventory.Stock(ctx, skus)
	if err != nil {
		return nil, err
	}
	for i := range r.Stock {
		r.Stock[i].After = stock[r.Stock[i].SKU]
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

	// Reconcile and report.
	var notPlaced []string
	for _, pl := range placements {
		if pl.OrderID == "" {
			notPlaced = append(notPlaced, fmt.Sprintf("order #%d (customer %d, key %s) after %d tries: %s", pl.Index, pl.Customer, pl.Key, pl.Tries, pl.Err))
		}
	}
	r.Facts = Facts{Orders: orders, NotPlaced: notPlaced, Late: late, UnitsPerOrder: r.UnitsPerOrder, Stock: r.Stock,
		DLQs: r.DLQs, Running: r.Running, ExecutionPrefix: strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":"}
	r.Checks = Reconcile(r.Facts)
	r.summarize(placements, orders, journeys, since, placedAll)
	return r, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
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

// ordersOf lists the run's orders: those placed, then any other of the run the customers' lists
// showed, in the order they were placed.
func ordersOf(placements []Placement, w *watcher) []Order {
	var out []Order
	known := map[string]bool{}
	for _, pl := range placements {
		if pl.OrderID == "" || known[pl.OrderID] {
			continue
		}
		known[pl.OrderID] = true
		out = append(out, Order{ID: pl.OrderID, Customer: fmt.Sprintf("load-%02d", pl.Customer+1), SKU: pl.Choice.SKU, Acknowledged: true, TotalCents: pl.TotalCents})
	}
	var extra []string
	for id := range w.listed {
		if !known[id] {
			extra = append(extra, id)
		}
	}
	sort.Slice(extra, func(a, b int) bool { return w.listed[extra[a]].PlacedAt.Before(w.listed[extra[b]].PlacedAt) })
	for _, id := range extra {
		l := w.listed[id]
		out = append(out, Order{ID: id, Customer: fmt.Sprintf("load-%02d", l.Customer+1), SKU: l.SKU, TotalCents: l.TotalCents})
	}
	return out
}

// readLedgers reads each order's payment (payments table) and saga claim (sagas table), 100
// orders a request.
func readLedgers(ctx context.Context, db *dynamodb.Client, stack *deployed.Stack, orders []Order) error {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	pays, err := batchGet(ctx, db, stack.Output("PaymentsTable"), "orderId", ids)
	if err != nil {
		return err
	}
	claims, err := batchGet(ctx, db, stack.Output("SagasTable"), "orderId", ids)
	if err != nil {
		return err
	}
	for i := range orders {
		if it, ok := pays[orders[i].ID]; ok {
			orders[i].Payment = &Payment{Status: str(it, "status"), PaymentID: str(it, "paymentId"),
				AmountCents: int64(num(it, "amountCents")), Attempts: num(it, "attempts")}
		}
		if it, ok := claims[orders[i].ID]; ok {
			orders[i].Claim = &Claim{ExecutionArn: str(it, "executionArn"), RescuedFrom: str(it, "rescuedFrom")}
		}
	}
	return nil
}

// collect gathers every order's evidence (keeping its events for the reconciliation) and
// builds its journey, several orders at a time.
func collect(ctx context.Context, c *journey.Collector, orders []Order, workers int) ([]journey.Journey, []string) {
	journeys := make([]journey.Journey, len(orders))
	notes := make([][]string, len(orders))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				ev, err := c.Gather(ctx, orders[i].ID)
				if err != nil {
					notes[i] = []string{err.Error()}
					continue
				}
				orders[i].Events = ev.Events
				journeys[i] = journey.Build(ev)
				for _, n := range ev.Notes {
					notes[i] = append(notes[i], orders[i].ID+": "+n)
				}
			}
		})
	}
	for i := range orders {
		next <- i
	}
	close(next)
	wg.Wait()
	return journeys, slices.Concat(notes...)
}

// running counts the state machine's RUNNING executions.
func running(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
	n := 0
	p := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), StatusFilter: sfntypes.ExecutionStatusRunning})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list running executions: %w", err)
		}
		n += len(page.Executions)
	}
	return n, nil
}

// settle waits until no execution runs, or ctx ends; it returns how many still run.
func settle(ctx context.Context, sf *sfn.Client, machine string) (int, error) {
	for {
		n, err := running(ctx, sf, machine)
		if err != nil || n == 0 {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, nil
		case <-time.After(time.Second):
		}
	}
}

// startedSince counts the executions started since t (the sagas and their duplicates). AWS
// lists the newest first: once a page, in that order, ends before t, the rest is older.
func startedSince(ctx context.Context, sf *sfn.Client, machine string, t time.Time) (int, error) {
	n := 0
	p := sfn.NewListExecutionsPaginator(sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list executions: %w", err)
		}
		newestFirst := true
		for i, x := range page.Executions {
			if !aws.ToTime(x.StartDate).Before(t) {
				n++
			}
			if i > 0 && aws.ToTime(x.StartDate).After(aws.ToTime(page.Executions[i-1].StartDate)) {
				newestFirst = false
			}
		}
		if k := len(page.Executions); k > 0 && newestFirst && aws.ToTime(page.Executions[k-1].StartDate).Before(t) {
			break
		}
	}
	return n, nil
}

// dlqDepths reads every dead-letter queue of the stack (outputs …DlqUrl).
func dlqDepths(ctx context.Context, q *sqs.Client, outputs map[string]string) (map[string]int, error) {
	return Depths(ctx, q, outputs, "DlqUrl")
}

// Depths reads the depth (visible, in flight and delayed messages) of every queue whose stack
// output's name ends in suffix, by that name less "Url".
func Depths(ctx context.Context, q *sqs.Client, outputs map[string]string, suffix string) (map[string]int, error) {
	out := map[string]int{}
	for name, url := range outputs {
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			return nil, fmt.Errorf("depth of %s: %w", name, err)
		}
		n := 0
		for _, v := range a.Attributes {
			var k int
			_, _ = fmt.Sscan(v, &k)
			n += k
		}
		out[strings.TrimSuffix(name, "Url")] = n
	}
	return out, nil
}

func dlqAfter(ctx context.Context, q *sqs.Client, outputs map[string]string, before map[string]int) ([]Queue, error) {
	after, err := dlqDepths(ctx, q, outputs)
	if err != nil {
		return nil, err
	}
	return Queues(before, after), nil
}

// Queues pairs the depths of the same queues before and after, by name.
func Queues(before, after map[string]int) []Queue {
	var out []Queue
	for name, n := range after {
		out = append(out, Queue{Name: name, Before: before[name], After: n})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// batchGet reads the items of table whose string key attribute key is one of ids, 100 at a time.
func batchGet(ctx context.Context, db *dynamodb.Client, table, key string, ids []string) (map[string]map[string]dbtypes.AttributeValue, error) {
	out := map[string]map[string]dbtypes.AttributeValue{}
	for chunk := range slices.Chunk(ids, 100) {
		keys := make([]map[string]dbtypes.AttributeValue, len(chunk))
		for i, id := range chunk {
			keys[i] = map[string]dbtypes.AttributeValue{key: &dbtypes.AttributeValueMemberS{Value: id}}
		}
		req := map[string]dbtypes.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt == 8 {
				return nil, fmt.Errorf("read %s: keys left unprocessed after %d attempts", table, attempt)
			}
			res, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", table, err)
			}
			for _, it := range res.Responses[table] {
				out[str(it, key)] = it
			}
			if req = res.UnprocessedKeys; len(req) > 0 {
				select { // throttled: back off before the rest
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
				}
			}
		}
	}
	return out, nil
}

func str(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(it map[string]dbtypes.AttributeValue, k string) int {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberN); ok {
		var n float64
		_, _ = fmt.Sscan(v.Value, &n)
		return int(n)
	}
	return 0
}
