package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// InventoryAPI is the part of the DynamoDB client the inventory ledger uses.
type InventoryAPI interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

// Inventory is the stock ledger, one table with partition key "pk" (S):
//   - "SKU#<sku>" {stock N}: units left. The table starts empty; a missing item (or a missing
//     stock attribute) means the catalogue's initial stock, so no seeding step is needed.
//   - "RES#<orderId>" {status, items}: the one reservation decision for an order.
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
// same order returns the decision already taken.
func (inv *Inventory) Reserve(ctx context.Context, orderID string, lines []store.Line) (store.ReservationStatus, error) {
	lines = merge(lines)
	now := inv.now()
	ops := []types.TransactWriteItem{{Put: &types.Put{
		TableName: aws.String(inv.table),
		Item: map[string]types.AttributeValue{
			"pk": str("RES#" + orderID), "status": str(string(store.Reserved)),
			"items": lineList(lines), "updatedAt": ts(now),
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
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
	_, err := inv.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	if err == nil {
		return store.Reserved, nil
	}
	if _, ok := cancelledByConditions(err); !ok {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	// Either the reservation exists (a retry) or a line is short of stock.
	status, err := inv.reservation(ctx, orderID)
	if err != nil {
		return "", fmt.Errorf("reserve %s: %w", orderID, err)
	}
	switch status {
	case store.Reserved, store.OutOfStock:
		return status, nil
	case store.Released:
		return "", fmt.Errorf("reserve %s: reservation already released: %w", orderID, store.ErrConflict)
	}
	// No reservation: out of stock. Record the decision, unless a concurrent attempt just did.
	_, err = inv.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(inv.table),
		Item: map[string]types.AttributeValue{
			"pk": str("RES#" + orderID), "status": str(string(store.OutOfStock)),
			"items": lineList(lines), "updatedAt": ts(now),
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if _, failed := isConditionFailed(err); failed {
		if status, err = inv.reservation(ctx, orderID); err != nil {
			return "", fmt.Errorf("reserve %s: %w", orderID, err)
		}
		return status, nil
	}
	if err != nil {
		return "", fmt.Errorf("reserve %s: record out of stock: %w", orderID, err)
	}
	return store.OutOfStock, nil
}

// Release puts the order's reserved lines back in stock and returns store.Released (now or
// by an earlier call: idempotent), or the status that left nothing to release:
// store.NoReservation or store.OutOfStock.
func (inv *Inventory) Release(ctx context.Context, orderID string, lines []store.Line) (store.ReservationStatus, error) {
	lines = merge(lines)
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
		return store.Released, nil
	}
	if _, ok := cancelledByConditions(err); !ok {
		return "", fmt.Errorf("release %s: %w", orderID, err)
	}
	status, err := inv.reservation(ctx, orderID)
	if err != nil {
		return "", fmt.Errorf("release %s: %w", orderID, err)
	}
	if status == store.Reserved { // the condition held after all: the transaction lost a race
		return "", fmt.Errorf("release %s: transaction cancelled while still reserved", orderID)
	}
	return status, nil
}

// Stock returns the units left for the skus that have a stock item; a sku without one still
// has its initial stock (the caller knows it from the catalogue).
func (inv *Inventory) Stock(ctx context.Context, skus []string) (map[string]int, error) {
	stock := make(map[string]int, len(skus))
	if len(skus) == 0 {
		return stock, nil
	}
	keys := make([]map[string]types.AttributeValue, 0, len(skus))
	for _, sku := range skus {
		keys = append(keys, skuKey(sku))
	}
	request := map[string]types.KeysAndAttributes{inv.table: {Keys: keys, ProjectionExpression: aws.String("pk, stock")}}
	for attempt := 0; len(request) > 0; attempt++ {
		if attempt == 5 {
			return nil, errors.New("stock: keys left unprocessed after 5 attempts")
		}
		out, err := inv.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
		if err != nil {
			return nil, fmt.Errorf("stock: %w", err)
		}
		for _, item := range out.Responses[inv.table] {
			if _, ok := item["stock"]; !ok {
				continue
			}
			v, err := getN(item, "stock")
			if err != nil {
				return nil, fmt.Errorf("stock of %s: %w", getS(item, "pk"), err)
			}
			stock[getS(item, "pk")[len("SKU#"):]] = int(v)
		}
		request = out.UnprocessedKeys
	}
	return stock, nil
}

// reservation reads the order's reservation status, consistently; store.NoReservation if none.
func (inv *Inventory) reservation(ctx context.Context, orderID string) (store.ReservationStatus, error) {
	out, err := inv.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(inv.table),
		Key:                      resKey(orderID),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#status"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
	})
	if err != nil {
		return "", fmt.Errorf("read reservation: %w", err)
	}
	if len(out.Item) == 0 {
		return store.NoReservation, nil
	}
	switch st := store.ReservationStatus(getS(out.Item, "status")); st {
	case store.Reserved, store.Released, store.OutOfStock:
		return st, nil
	default:
		return "", fmt.Errorf("read reservation: unknown status %q", st)
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

func lineList(lines []store.Line) types.AttributeValue {
	l := make([]types.AttributeValue, 0, len(lines))
	for _, line := range lines {
		l = append(l, &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"sku": str(line.SKU), "quantity": num(line.Quantity),
		}})
	}
	return &types.AttributeValueMemberL{Value: l}
}
