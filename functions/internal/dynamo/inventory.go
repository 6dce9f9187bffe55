package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// InventoryAPI is the part of the DynamoDB client the inventory ledger uses.
type InventoryAPI interface {
	transactWriter
	getter
	putter
	updater
	batchGetter
}

// Inventory is the stock ledger, one table with partition key "pk" (S):
//   - "SKU#<sku>" {stock N}: units left. The table starts empty; a missing item (or a missing
//     stock attribute) means the catalogue's initial stock, so no seeding step is needed.
//   - "RES#<orderId>" {status, items, updatedAt}: the one reservation decision for an order
//     (RESERVED, then maybe RELEASED; or OUT_OF_STOCK), with the lines it took; or a
//     TOMBSTONE without lines, left by a Release that came first (see Release).
//
// Reserve and Release are transactions: the reservation record and every stock line change
// together or not at all, and the reservation's condition makes a retry a no-op.
type Inventory struct {
	client InventoryAPI
	table  string
	now    func() time.Time
}

// NewInventory returns the ledger kept in table.
func NewInventory(client InventoryAPI, table string) *Inventory {
	return &Inventory{client: client, table: table, now: time.Now}
}

func skuKey(sku string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("SKU#" + sku)}
}

func resKey(orderID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str("RES#" + orderID)}
}

// Reserve takes every line out of stock for the order, all or nothing, and returns
// store.Reserved, or store.OutOfStock when a line has too few units (the decision is recorded,
// so a retry gets the same answer even if stock came back meanwhile). Calling it again for the
// same order returns the decision already taken. An order whose reservation was released, or
// whose Release came first (a tombstone), takes nothing: store.ErrConflict.
func (inv *Inventory) Reserve(ctx context.Context, orderID string, lines []store.Line) (store.ReservationStatus, error) {
	lines = merge(lines)
	now := inv.now()
	item, err := attributevalue.MarshalMap(newReservation(orderID, store.Reserved, lines, now))
	if err != nil {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	ops := []types.TransactWriteItem{{Put: &types.Put{
		TableName:           aws.String(inv.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"), // also keeps out a tombstone
	}}}
	for _, l := range lines {
		cond := "stock >= :qty"
		if l.Quantity <= l.InitialStock {
			cond = "attribute_not_exists(stock) OR stock >= :qty"
		}
		ops = append(ops, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(inv.table),
			Key:                       skuKey(l.SKU),
			UpdateExpression:          aws.String("SET stock = if_not_exists(stock, :initial) - :qty"),
			ConditionExpression:       aws.String(cond),
			ExpressionAttributeValues: map[string]types.AttributeValue{":qty": num(l.Quantity), ":initial": num(l.InitialStock)},
		}})
	}
	_, err = inv.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	if err == nil {
		return store.Reserved, nil
	}
	if _, ok := cancelledByConditions(err); !ok {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	// Either the reservation item exists (a retry, a release, a tombstone) or a line is short of stock.
	res, err := inv.reservation(ctx, orderID)
	if err != nil {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	if res.Status != store.NoReservation {
		return decided(orderID, res.Status)
	}
	// No reservation: out of stock. Record the decision, unless a concurrent attempt (or a
	// Release's tombstone) just wrote the item: the condition never overwrites one.
	if item, err = attributevalue.MarshalMap(newReservation(orderID, store.OutOfStock, lines, now)); err != nil {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	_, err = inv.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(inv.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if _, failed := isConditionFailed(err); failed {
		if res, err = inv.reservation(ctx, orderID); err != nil {
			return "", fmt.Errorf("reserve %s: %w", orderID, err)
		}
		return decided(orderID, res.Status)
	}
	if err != nil {
		return "", fmt.Errorf("reserve %s: record out of stock: %w", orderID, err)
	}
	return store.OutOfStock, nil
}

// decided is Reserve's answer when the order's reservation item already exists.
func decided(orderID string, status store.ReservationStatus) (store.ReservationStatus, error) {
	switch status {
	case store.Reserved, store.OutOfStock:
		return status, nil
	case store.Released:
		return "", fmt.Errorf("reserve %s: reservation already released: %w", orderID, store.ErrConflict)
	case store.Tombstone:
		return "", fmt.Errorf("reserve %s: released before it was reserved (tombstone): %w", orderID, store.ErrConflict)
	default: // the item vanished between two reads: nothing deletes one
		return "", fmt.Errorf("reserve %s: unexpected reservation status %q", orderID, status)
	}
}

// releaseAttempts bounds Release's read-then-write loop; each turn follows a concurrent
// write to the reservation item, of which an order has very few (one Reserve, one Release).
const releaseAttempts = 5

// Release puts back in stock the lines the order's reservation holds (what Reserve took,
// whatever the caller now believes the order to be) and returns store.Released with those
// lines, now or by an earlier call (idempotent: same lines). Otherwise nothing is released
// and the lines are nil: store.OutOfStock (nothing was taken), or store.NoReservation. A
// Release that finds no reservation at all leaves a tombstone (store.Tombstone), so that a
// Reserve of the order arriving late (a retried or timed-out first task) cannot take stock
// that no one would give back; if such a Reserve wins the race, Release gives back what it took.
func (inv *Inventory) Release(ctx context.Context, orderID string) (store.ReservationStatus, []store.Line, error) {
	for range releaseAttempts {
		res, err := inv.reservation(ctx, orderID)
		if err != nil {
			return "", nil, fmt.Errorf("release %s: %w", orderID, err)
		}
		switch res.Status {
		case store.Released:
			return store.Released, res.lines(), nil
		case store.OutOfStock:
			return store.OutOfStock, nil, nil
		case store.Tombstone:
			return store.NoReservation, nil, nil
		case store.NoReservation:
			done, err := inv.tombstone(ctx, orderID)
			if err != nil {
				return "", nil, fmt.Errorf("release %s: %w", orderID, err)
			}
			if done {
				return store.NoReservation, nil, nil
			}
		case store.Reserved:
			done, err := inv.giveBack(ctx, orderID, res.lines())
			if err != nil {
				return "", nil, fmt.Errorf("release %s: %w", orderID, err)
			}
			if done {
				return store.Released, res.lines(), nil
			}
		}
		// A concurrent write changed the reservation item: read it again.
	}
	return "", nil, fmt.Errorf("release %s: reservation still changing after %d attempts", orderID, releaseAttempts)
}

// giveBack turns the reservation from RESERVED to RELEASED and adds its lines back to stock,
// in one transaction; false if the reservation was no longer RESERVED (a concurrent Release).
// The lines are the ones read from the reservation: Reserve writes them once, and the status
// condition makes sure they are still the ones held.
func (inv *Inventory) giveBack(ctx context.Context, orderID string, lines []store.Line) (bool, error) {
	ops := []types.TransactWriteItem{{Update: &types.Update{
		TableName:           aws.String(inv.table),
		Key:                 resKey(orderID),
		UpdateExpression:    aws.String("SET #status = :released, updatedAt = :now"),
		ConditionExpression: aws.String("#status = :reserved"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":released": str(string(store.Released)), ":reserved": str(string(store.Reserved)), ":now": ts(inv.now()),
		},
	}}}
	for _, l := range lines {
		ops = append(ops, types.TransactWriteItem{Update: &types.Update{
			TableName:                 aws.String(inv.table),
			Key:                       skuKey(l.SKU),
			UpdateExpression:          aws.String("ADD stock :qty"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":qty": num(l.Quantity)},
		}})
	}
	_, err := inv.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	if err == nil {
		return true, nil
	}
	if _, ok := cancelledByConditions(err); ok {
		return false, nil
	}
	return false, err
}

// tombstone records that the order was released before any reservation; false if a
// reservation item appeared meanwhile (a concurrent Reserve).
func (inv *Inventory) tombstone(ctx context.Context, orderID string) (bool, error) {
	item, err := attributevalue.MarshalMap(newReservation(orderID, store.Tombstone, nil, inv.now()))
	if err != nil {
		return false, err
	}
	_, err = inv.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(inv.table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if _, failed := isConditionFailed(err); failed {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("write tombstone: %w", err)
	}
	return true, nil
}

// SetStock sets the units left of sku, whatever they were (an operator's restock, or a test's
// starting point). Reservations already taken stay taken; releasing one later adds its units
// back on top of units.
func (inv *Inventory) SetStock(ctx context.Context, sku string, units int) error {
	if sku == "" {
		return errors.New("set stock: no sku")
	}
	if units < 0 {
		return fmt.Errorf("set stock of %s: %d units, want 0 or more", sku, units)
	}
	_, err := inv.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(inv.table),
		Key:                       skuKey(sku),
		UpdateExpression:          aws.String("SET stock = :units"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":units": num(units)},
	})
	if err != nil {
		return fmt.Errorf("set stock of %s: %w", sku, err)
	}
	return nil
}

// Stock returns the units left for the skus that have a stock item; a sku without one still
// has its initial stock (the caller knows it from the catalogue). The read is strongly
// consistent: a reconciliation after a run (make load) must see the last reservation, and the
// catalogue a customer reads right after ordering the stock that order left.
func (inv *Inventory) Stock(ctx context.Context, skus []string) (map[string]int, error) {
	stock := make(map[string]int, len(skus))
	if len(skus) == 0 {
		return stock, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(skus))
	for _, sku := range skus {
		keys = append(keys, skuKey(sku))
	}
	request := map[string]types.KeysAndAttributes{inv.table: {Keys: keys, ProjectionExpression: aws.String("pk, stock"), ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(request) > 0; attempt++ {
		if attempt == 5 {
			return nil, errors.New("stock: keys left unprocessed after 5 attempts")
		}
		out, err := inv.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("stock: %w", err)
		}
		var items []struct {
			PK    string `dynamodbav:"pk"` // "SKU#<sku>"
			Stock *int   `dynamodbav:"stock"`
		}
		if err := attributevalue.UnmarshalListOfMaps(out.Responses[inv.table], &items); err != nil {
			return nil, fmt.Errorf("stock: %w", err)
		}
		for _, it := range items {
			if it.Stock != nil {
				stock[strings.TrimPrefix(it.PK, "SKU#")] = *it.Stock
			}
		}
		request = out.UnprocessedKeys
	}
	return stock, nil
}

// reservationItem is the "RES#<orderId>" item: the one reservation decision of an order,
// or a tombstone. Items are the lines Reserve merged (by SKU, sorted) and wrote once.
type reservationItem struct {
	PK        string                  `dynamodbav:"pk"`
	Status    store.ReservationStatus `dynamodbav:"status"`
	Items     []reservedLine          `dynamodbav:"items,omitempty"`
	UpdatedAt time.Time               `dynamodbav:"updatedAt"`
}

type reservedLine struct {
	SKU      string `dynamodbav:"sku"`
	Quantity int    `dynamodbav:"quantity"`
}

func newReservation(orderID string, status store.ReservationStatus, lines []store.Line, now time.Time) reservationItem {
	r := reservationItem{PK: "RES#" + orderID, Status: status, UpdatedAt: now.UTC()}
	for _, l := range lines {
		r.Items = append(r.Items, reservedLine{SKU: l.SKU, Quantity: l.Quantity})
	}
	return r
}

// lines are the reservation's stored lines (no InitialStock: the SKU items exist by then).
func (r reservationItem) lines() []store.Line {
	out := make([]store.Line, 0, len(r.Items))
	for _, it := range r.Items {
		out = append(out, store.Line{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

// reservation reads the order's reservation item, consistently; status store.NoReservation
// if there is none.
func (inv *Inventory) reservation(ctx context.Context, orderID string) (reservationItem, error) {
	out, err := inv.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(inv.table),
		Key:            resKey(orderID),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return reservationItem{}, fmt.Errorf("read reservation: %w", err)
	}
	var r reservationItem
	if len(out.Item) == 0 {
		return r, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return reservationItem{}, fmt.Errorf("read reservation: %w", err)
	}
	switch r.Status {
	case store.Reserved, store.Released, store.OutOfStock, store.Tombstone:
		return r, nil
	default:
		return reservationItem{}, fmt.Errorf("read reservation: unknown status %q", r.Status)
	}
}

// merge adds up lines of the same SKU (a transaction may touch an item only once) and sorts
// them, so that a retry builds the very same transaction.
func merge(lines []store.Line) []store.Line {
	bySKU := make(map[string]store.Line, len(lines))
	for _, l := range lines {
		m := bySKU[l.SKU]
		m.SKU, m.InitialStock = l.SKU, l.InitialStock
		m.Quantity += l.Quantity
		bySKU[l.SKU] = m
	}
	out := make([]store.Line, 0, len(bySKU))
	for _, l := range bySKU {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SKU < out[j].SKU })
	return out
}
