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
