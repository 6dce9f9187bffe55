//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// capacityDoc is the document whose per-order counts the cost and the ceilings are computed from.
const capacityDoc = "../../docs/CAPACITY.md"

// docCounts reads the rows between <!-- counts:begin --> and <!-- counts:end --> of the
// document: "| name | count | ... |".
func docCounts(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Clean(capacityDoc))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^\|\s*([^|]+?)\s*\|\s*(\d+)\s*\|`)
	out := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "<!-- counts:begin -->"):
			in = true
		case strings.Contains(line, "<!-- counts:end -->"):
			in = false
		case in:
			if m := row.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[2])
				out[m[1]] = n
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no counts table", capacityDoc)
	}
	return out
}

// The per-order counts docs/CAPACITY.md computes the cost and the ceilings from are what one
// order really does: an approved order of one SKU, placed with an Idempotency-Key, counted
// through the services' own records. A change to the flow that adds a state, an event, a write
// or a message fails this test until the document says so.
func TestCapacityCountsMatchTheCode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, customer := signIn(t)
	key := uuid.NewString()
	p, err := c.PlaceOrder(ctx, shop.NewOrder(shop.TokenApprove, shop.Line{SKU: mug, Quantity: 1}), key)
	if err != nil {
		t.Fatal(err)
	}
	o := waitTerminalAs(t, c, p.OrderID)
	if o.Status != "SHIPPED" {
		t.Fatalf("order %s %s", o.OrderID, o.Status)
	}
	ids := map[string]string{}
	for _, e := range o.Events {
		ids[e.Type] = e.ID
	}
	var ev journey.Evidence
	eventually(t, time.Minute, "every consumer is done with the order", func(ctx context.Context) (err error) {
		if ev, err = journey.NewCollector(stack).Gather(ctx, p.OrderID); err != nil {
			return err
		}
		if len(ev.Executions) != 1 || ev.Executions[0].Status != "SUCCEEDED" {
			return fmt.Errorf("executions %d", len(ev.Executions))
		}
		if len(ev.Notifications) < 4 || len(ev.Counted) < 1 {
			return fmt.Errorf("%d notifications, %d counted", len(ev.Notifications), len(ev.Counted))
		}
		return nil
	})
	x := ev.Executions[0]
	attempts := func(state string) int {
		n := 0
		for _, s := range x.States {
			if s.Name == state {
				n += len(s.Attempts)
			}
		}
		return n
	}
	putEventsCalls, entries := 1, 1 // order-api's PutEvents of OrderPlaced
	for _, s := range x.States {
		for _, a := range s.Attempts {
			if strings.Contains(a.Resource, "putEvents") {
				putEventsCalls++
				entries += len(a.Published)
			}
		}
	}
	customerFacing := 0
	for _, typ := range []string{"OrderPlaced", "OrderConfirmed", "PaymentRefunded", "OrderShipped", "OrderCancelled"} {
		if ids[typ] != "" {
			customerFacing++
		}
	}
	records := 0
	r := &streamlog.Reader{Client: kinesis.NewFromConfig(stack.AWS), Stream: stack.Output("StreamName")}
	seen := map[string]bool{}
	if _, err := r.ReadFrom(ctx, nil, func(rec streamlog.Record) error {
		if rec.PartitionKey == p.OrderID && !seen[string(rec.Data)] {
			seen[string(rec.Data)] = true
			records++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	count := func(table, key, value string) int {
		out, err := dynamodb.NewFromConfig(stack.AWS).Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(stack.Output(table)), KeyConditionExpression: aws.String("#k = :v"),
			ExpressionAttributeNames:  map[string]string{"#k": key},
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":v": &dbtypes.AttributeValueMemberS{Value: value}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return int(out.Count)
	}
	present := func(table string, key map[string]string) int {
		if item(t, table, key) != nil {
			return 1
		}
		return 0
	}
	notifications := 0
	for _, id := range ids {
		notifications += count("NotificationsTable", "eventId", id)
	}
	markers := 0
	for _, id := range ids {
		markers += present("AnalyticsTable", map[string]string{"pk": "EVT#" + id})
	}
	pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID})

	measured := map[string]int{
		"HTTP API requests (POST /orders)":                  1,
		"Lambda invocations: order-api":                     1,
		"Lambda invocations: inventory":                     attempts("ReserveInventory"),
		"Lambda invocations: shipping":                      attempts("ShipOrder"),
		"Lambda invocations: streamer":                      records,
		"Lambda messages: payment":                          attempts("RequestPayment"),
		"Lambda records: projector":                         len(o.Events),
		"Lambda records: analytics":                         len(o.Events),
		"Lambda messages: notifier":                         notifications,
		"Step Functions state transitions":                  len(x.States),
		"EventBridge PutEvents calls":                       putEventsCalls,
		"EventBridge events put":                            entries,
		"SNS messages published":                            customerFacing,
		"SQS messages sent: payments":                       attempts("RequestPayment"),
		"SQS messages sent: notifications":                  notifications,
		"Kinesis records":                                   records,
		"DynamoDB items: event store":                       count("EventStoreTable", "orderId", p.OrderID),
		"DynamoDB items: event store index":                 1, // the OrderPlaced item only (sparse): checked below
		"DynamoDB items: idempotency keys":                  present("IdempotencyTable", map[string]string{"customerId": customer.Sub, "key": key}),
		"DynamoDB items: payment intents":                   1, // the one OrderPlaced names: checked below
		"DynamoDB items: sagas":                             present("SagasTable", map[string]string{"orderId": p.OrderID}),
		"DynamoDB items: inventory (reservation)":           present("InventoryTable", map[string]string{"pk": "RES#" + p.OrderID}),
		"DynamoDB items: payments":                          present("PaymentsTable", map[string]string{"orderId": p.OrderID}),
		"DynamoDB item updates: payments (claim, decision)": 2 * int(n(pay, "attempts")),
		"DynamoDB items: shipments":                         present("ShipmentsTable", map[string]string{"orderId": p.OrderID}),
		"DynamoDB items: notifications":                     notifications,
		"DynamoDB items: analytics markers":                 markers,
	}
	if in := item(t, "PaymentIntentsTable", map[string]string{"intentId": paymentIntentOf(t, p.OrderID)}); in == nil {
		measured["DynamoDB items: payment intents"] = 0
	}
	placedRows := 0
	for _, row := range queryAll(t, "EventStoreTable", "orderId", p.OrderID) {
		if s(row, "customerId") != "" {
			placedRows++
		}
	}
	measured["DynamoDB items: event store index"] = placedRows

	doc := docCounts(t)
	names := make([]string, 0, len(measured))
	for name := range measured {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		want, ok := doc[name]
		switch {
		case !ok:
			t.Errorf("docs/CAPACITY.md has no row %q (measured %d)", name, measured[name])
		case want != measured[name]:
			t.Errorf("%s: the document says %d, one order did %d", name, want, measured[name])
		}
	}
	for name := range doc {
		if _, ok := measured[name]; !ok {
			t.Errorf("docs/CAPACITY.md counts %q, which this test does not measure", name)
		}
	}
}
