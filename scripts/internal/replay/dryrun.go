package replay

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// dryRun is a DynamoDB client for -dry-run: it answers reads from the tables and simulates the
// conditional writes the adapters make (a Put guarded by attribute_not_exists, and analytics'
// transaction of such a Put and an ADD update) against what the tables hold plus what this run
// would have written. The adapters' own logic therefore decides what a replay would do, and
// nothing is written.
type dryRun struct {
	DB
	keys map[string][]string // table -> key attribute names

	mu      sync.Mutex
	written map[string]map[string]map[string]types.AttributeValue // table -> key -> item
	added   map[string]map[string]map[string]int64                // table -> key -> attribute -> increment
}

func newDryRun(db DB, keys map[string][]string) *dryRun {
	return &dryRun{DB: db, keys: keys, written: map[string]map[string]map[string]types.AttributeValue{}, added: map[string]map[string]map[string]int64{}}
}

func (d *dryRun) key(table string, item map[string]types.AttributeValue) (string, map[string]types.AttributeValue, error) {
	names, ok := d.keys[table]
	if !ok {
		return "", nil, fmt.Errorf("dry run: unknown table %s", table)
	}
	var parts []string
	key := map[string]types.AttributeValue{}
	for _, n := range names {
		switch v := item[n].(type) {
		case *types.AttributeValueMemberS:
			parts = append(parts, "S:"+v.Value)
		case *types.AttributeValueMemberN:
			parts = append(parts, "N:"+v.Value)
		default:
			return "", nil, fmt.Errorf("dry run: %s item without key attribute %s", table, n)
		}
		key[n] = item[n]
	}
	return strings.Join(parts, "\x00"), key, nil
}

// existing is the item at the key: one this run would have written, else the table's.
func (d *dryRun) existing(ctx context.Context, table string, item map[string]types.AttributeValue) (string, map[string]types.AttributeValue, error) {
	k, key, err := d.key(table, item)
	if err != nil {
		return "", nil, err
	}
	d.mu.Lock()
	w, ok := d.written[table][k]
	d.mu.Unlock()
	if ok {
		return k, w, nil
	}
	out, err := d.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", nil, err
	}
	return k, out.Item, nil
}

func (d *dryRun) write(table, k string, item map[string]types.AttributeValue) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.written[table] == nil {
		d.written[table] = map[string]map[string]types.AttributeValue{}
	}
	d.written[table][k] = item
}

// PutItem simulates a put guarded by attribute_not_exists: a ConditionalCheckFailedException
// carrying the item in the way, or a write remembered for the rest of the run.
func (d *dryRun) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	table := aws.ToString(in.TableName)
	k, old, err := d.existing(ctx, table, in.Item)
	if err != nil {
		return nil, err
	}
	if len(old) > 0 && in.ConditionExpression != nil {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("dry run: the item exists"), Item: old}
	}
	d.write(table, k, in.Item)
	return &dynamodb.PutItemOutput{}, nil
}

// GetItem reads what this run would have written, else the table.
func (d *dryRun) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	table := aws.ToString(in.TableName)
	if k, _, err := d.key(table, in.Key); err == nil {
		d.mu.Lock()
		w, ok := d.written[table][k]
		d.mu.Unlock()
		if ok {
			return &dynamodb.GetItemOutput{Item: w}, nil
		}
	}
	return d.DB.GetItem(ctx, in, optFns...)
}

// TransactWriteItems simulates a transaction of guarded Puts and ADD updates: cancelled as a
// whole if a guarded item exists, else remembered (Puts) and summed (ADDs).
func (d *dryRun) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	reasons := make([]types.CancellationReason, len(in.TransactItems))
	cancelled := false
	puts := map[int]string{}
	for i, it := range in.TransactItems {
		reasons[i] = types.CancellationReason{Code: aws.String("None")}
		switch {
		case it.Put != nil:
			k, old, err := d.existing(ctx, aws.ToString(it.Put.TableName), it.Put.Item)
			if err != nil {
				return nil, err
			}
			if len(old) > 0 && it.Put.ConditionExpression != nil {
				reasons[i].Code, cancelled = aws.String("ConditionalCheckFailed"), true
			}
			puts[i] = k
		case it.Update != nil:
			if _, err := addExpression(it.Update); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("dry run: transaction item %d is neither a Put nor an Update", i)
		}
	}
	if cancelled {
		return nil, &types.TransactionCanceledException{Message: aws.String("dry run: a condition failed"), CancellationReasons: reasons}
	}
	for i, it := range in.TransactItems {
		if it.Put != nil {
			d.write(aws.ToString(it.Put.TableName), puts[i], it.Put.Item)
			continue
		}
		table := aws.ToString(it.Update.TableName)
		k, _, err := d.key(table, it.Update.Key)
		if err != nil {
			return nil, err
		}
		adds, _ := addExpression(it.Update)
		d.mu.Lock()
		if d.added[table] == nil {
			d.added[table] = map[string]map[string]int64{}
		}
		if d.added[table][k] == nil {
			d.added[table][k] = map[string]int64{}
		}
		for attr, v := range adds {
			d.added[table][k][attr] += v
		}
		d.mu.Unlock()
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// added returns the increments this run would have made to the item with key in table.
func (d *dryRun) increments(table string, key map[string]types.AttributeValue) map[string]int64 {
	k, _, err := d.key(table, key)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.added[table][k]
}

// addExpression parses an update of the form "ADD #a :a, #b :b" into attribute -> increment.
func addExpression(u *types.Update) (map[string]int64, error) {
	expr := strings.TrimSpace(aws.ToString(u.UpdateExpression))
	if !strings.HasPrefix(expr, "ADD ") {
		return nil, fmt.Errorf("dry run: cannot simulate update %q", expr)
	}
	out := map[string]int64{}
	for _, clause := range strings.Split(strings.TrimPrefix(expr, "ADD "), ",") {
		f := strings.Fields(clause)
		if len(f) != 2 {
			return nil, fmt.Errorf("dry run: cannot simulate update clause %q", clause)
		}
		name := f[0]
		if n, ok := u.ExpressionAttributeNames[name]; ok {
			name = n
		}
		v, ok := u.ExpressionAttributeValues[f[1]].(*types.AttributeValueMemberN)
		if !ok {
			return nil, fmt.Errorf("dry run: update value %s is not a number", f[1])
		}
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dry run: update value %s: %w", f[1], err)
		}
		out[name] += n
	}
	return out, nil
}
