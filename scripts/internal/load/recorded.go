// What the services recorded about the run's orders: the orders the customers' lists showed,
// their payments and saga claims (DynamoDB, read in batches) and their journeys.

package load

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

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
		out = append(out, Order{ID: pl.OrderID, Customer: fmt.Sprintf("load-%02d", pl.Customer+1), SKU: pl.Choice.SKU, Token: pl.Choice.Token, Acknowledged: true, TotalCents: pl.TotalCents})
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

// unplaced lists the requests that placed no order of their own: those the API never answered
// 201 (after retries), and those answered with an order another request (another
// Idempotency-Key) was answered with first: two requests, one order.
func unplaced(placements []Placement) (notPlaced, shared []string) {
	first := map[string]Placement{}
	for _, pl := range placements {
		if pl.OrderID == "" {
			notPlaced = append(notPlaced, fmt.Sprintf("order #%d (customer %d, key %s) after %d tries: %s", pl.Index, pl.Customer, pl.Key, pl.Tries, pl.Err))
			continue
		}
		if other, seen := first[pl.OrderID]; seen {
			shared = append(shared, fmt.Sprintf("order #%d (key %s) was answered with %s, the order of #%d (key %s)", pl.Index, pl.Key, pl.OrderID, other.Index, other.Key))
			continue
		}
		first[pl.OrderID] = pl
	}
	return notPlaced, shared
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
			orders[i].Payment = new(Payment)
			if err := attributevalue.UnmarshalMap(it, orders[i].Payment); err != nil {
				return fmt.Errorf("payment of %s: %w", orders[i].ID, err)
			}
		}
		if it, ok := claims[orders[i].ID]; ok {
			orders[i].Claim = new(Claim)
			if err := attributevalue.UnmarshalMap(it, orders[i].Claim); err != nil {
				return fmt.Errorf("saga claim of %s: %w", orders[i].ID, err)
			}
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
					orders[i].ReadErr, notes[i] = err.Error(), []string{err.Error()}
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

// readStock sets each SKU's stock after the run, as the inventory table has it now.
func readStock(ctx context.Context, inventory *toolkit.Inventory, stock []Stock) error {
	now, err := inventory.Stock(ctx, skusOf(stock))
	if err != nil {
		return err
	}
	for i := range stock {
		stock[i].After = now[stock[i].SKU]
	}
	return nil
}

func skusOf(stock []Stock) []string {
	out := make([]string, len(stock))
	for i, s := range stock {
		out[i] = s.SKU
	}
	return out
}

// salesReader reads analytics' totals (its TOTALS item) on the stack.
func salesReader(db *dynamodb.Client, stack *deployed.Stack) func(context.Context) (toolkit.Totals, error) {
	return func(ctx context.Context) (toolkit.Totals, error) {
		return toolkit.SalesTotals(ctx, db, stack.Output("AnalyticsTable"))
	}
}

// awaitSales gives analytics, which reads the stream at its own pace, a minute to move its
// totals by what the orders' events say, and sets s.After to the last read.
func awaitSales(ctx context.Context, read func(context.Context) (toolkit.Totals, error), s *Sales, orders []Order, poll time.Duration) error {
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	after, err := waitSales(waitCtx, read, s.Before, expectedSales(orders), poll)
	if err == nil {
		s.After = after
	}
	return err
}

// Recount reads again what Run read once every execution had ended (the orders' events,
// payments and saga claims, the stock, the dead-letter queues, the executions still running,
// analytics' totals, given a minute to move by what the events now say) and reconciles again:
// for a caller that did more after the run, whose effects the checks must see (chaos's drain
// redrives dead letters, which can add an order's events, refund, release stock, count sales).
// The journeys, latencies and executions started stay the run's. Executions the caller's work
// started (a redriven event starts a saga or a rescue) are first given up to settleWithin to end.
func Recount(ctx context.Context, stack *deployed.Stack, r *Report, poll, settleWithin time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	db := dynamodb.NewFromConfig(stack.AWS)
	f := r.Facts
	before := map[string]int{}
	for _, d := range f.DLQs {
		before[d.Name] = d.Before
	}
	// The executions first, the dead-letter queues after, as Run reads them: an execution still
	// running can still dead-letter a message (a payment request its faulty consumer gives up on).
	settleCtx, cancel := context.WithTimeout(ctx, settleWithin)
	running, err := settle(settleCtx, sfn.NewFromConfig(stack.AWS), stack.Output("StateMachineArn"))
	cancel()
	if err != nil {
		return err
	}
	f.Running = running
	if f.DLQs, err = dlqAfter(ctx, sqs.NewFromConfig(stack.AWS), stack.Outputs, before); err != nil {
		return err
	}
	if err := readStock(ctx, toolkit.NewInventory(db, stack.Output("InventoryTable")), f.Stock); err != nil {
		return err
	}
	if err := readLedgers(ctx, db, stack, f.Orders); err != nil {
		return err
	}
	c := journey.NewCollector(stack)
	for i := range f.Orders {
		evs, err := c.Events(ctx, f.Orders[i].ID)
		if err != nil { // its events as the run read them stand: say so
			r.Notes = append(r.Notes, fmt.Sprintf("%s: events not read again after the run: %v", f.Orders[i].ID, err))
			continue
		}
		f.Orders[i].Events = evs
	}
	if f.Sales != nil {
		if err := awaitSales(ctx, salesReader(db, stack), f.Sales, f.Orders, poll); err != nil {
			f.Sales, f.SalesUnread = nil, "read again after the run: "+err.Error()
		}
	}
	if err := ctx.Err(); err != nil { // as in Run: what was not read again must not be judged
		return fmt.Errorf("stopped while reading again what the services recorded: %w", err)
	}
	r.DLQs, r.Running, r.Stock = f.DLQs, f.Running, f.Stock
	r.judge(f)
	return nil
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
				var id string
				if err := attributevalue.Unmarshal(it[key], &id); err != nil {
					return nil, fmt.Errorf("read %s: key %s: %w", table, key, err)
				}
				out[id] = it
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
