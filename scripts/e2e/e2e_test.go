//go:build e2e

// Package e2e runs orders through a deployed stack (`make test-e2e` deploys one to the local
// emulator first) and checks, through the services' own APIs, where they went.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/fnlogs"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

var (
	stack *deployed.Stack
	api   *shop.Client       // signed in as one customer of the run, me; the identity tests each sign in their own
	me    customers.Customer // whose orders api places; events put on the bus straight name it too
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s, err := deployed.Load(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	c, err := customers.New(s).Provision(ctx, "e2e-"+uuid.NewString()[:8])
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: sign in:", err)
		os.Exit(1)
	}
	stack, me, api = s, c, &shop.Client{BaseURL: s.APIURL(), HTTP: s.HTTP, Token: c.AccessToken}
	if err := enableRescueRule(); err != nil { // a run cut short may have left it disabled (TestLostStatusChangeIsRescuedByMakeRescue)
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := noExecutionLeftRunning(2 * time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		code = 1
	}
	os.Exit(code)
}

// noExecutionLeftRunning checks, once every test is done, that every execution of the saga has
// ended: Catch on every task means none may hang.
func noExecutionLeftRunning(within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		out, err := sfn.NewFromConfig(stack.AWS).ListExecutions(ctx, &sfn.ListExecutionsInput{
			StateMachineArn: aws.String(stack.Output("StateMachineArn")), StatusFilter: "RUNNING",
		})
		if err == nil && len(out.Executions) == 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d executions still RUNNING", len(out.Executions))
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
	}
}

// eventually polls check every 500 ms until it returns nil or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, check func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var err error
	for {
		if err = check(ctx); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s: %v", what, within, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func stock(t *testing.T, sku string) int {
	t.Helper()
	ps, err := api.Products(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.SKU == sku {
			return p.Stock
		}
	}
	t.Fatalf("GET /products has no %s", sku)
	return 0
}

func place(t *testing.T, req shop.OrderRequest) shop.Placed {
	t.Helper()
	p, err := api.PlaceOrder(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != "PLACED" || !strings.HasPrefix(p.OrderID, "ORD-") {
		t.Fatalf("POST /orders = %+v, want a PLACED ORD-…", p)
	}
	return p
}

func waitTerminal(t *testing.T, id string) shop.Order {
	t.Helper()
	return waitTerminalAs(t, api, id)
}

// waitTerminalAs waits, as the customer c signs in as, until the order is shipped or cancelled.
func waitTerminalAs(t *testing.T, c *shop.Client, id string) shop.Order {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, err := c.WaitUntil(ctx, id, 500*time.Millisecond, func(o shop.Order) bool { return shop.Terminal(o.Status) })
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func eventTypes(o shop.Order) []string {
	out := make([]string, len(o.Events))
	for i, e := range o.Events {
		out[i] = e.Type
	}
	return out
}

// executionFor waits for the workflow execution of an order to finish and returns its status.
func executionFor(t *testing.T, id string) journey.Journey {
	t.Helper()
	var j journey.Journey
	eventually(t, 2*time.Minute, "execution of "+id+" finishes", func(ctx context.Context) (err error) {
		if j, err = journey.Collect(ctx, stack, id); err != nil {
			return err
		}
		if j.ExecutionArn == "" || j.Status == "RUNNING" {
			return fmt.Errorf("execution %q status %q", j.ExecutionArn, j.Status)
		}
		return nil
	})
	return j
}

func item(t *testing.T, table string, key map[string]string) map[string]dbtypes.AttributeValue {
	t.Helper()
	k := map[string]dbtypes.AttributeValue{}
	for n, v := range key {
		k[n] = &dbtypes.AttributeValueMemberS{Value: v}
	}
	out, err := dynamodb.NewFromConfig(stack.AWS).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(stack.Output(table)), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func s(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func TestApprovedOrderCrossesEveryService(t *testing.T) {
	t.Parallel()
	before := stock(t, "SKU-001")
	p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-001", Quantity: 2}))
	if p.TotalCents != 2*4999 {
		t.Errorf("total %d cents, want the catalogue price 2 x 4999", p.TotalCents)
	}
	o := waitTerminal(t, p.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}
	if o.Status != "SHIPPED" || !slices.Equal(eventTypes(o), want) {
		t.Fatalf("order %s %s with events %v, want SHIPPED with %v", o.OrderID, o.Status, eventTypes(o), want)
	}
	if got := stock(t, "SKU-001"); got != before-2 {
		t.Errorf("SKU-001 stock %d → %d, want 2 taken", before, got)
	}

	// Step Functions: the saga finished.
	j := executionFor(t, p.OrderID)
	if j.Status != "SUCCEEDED" {
		t.Errorf("execution %s", j.Status)
	}
	// SQS → payment (Lambda) → DynamoDB: one approved charge.
	if pay := item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID}); s(pay, "status") != "APPROVED" {
		t.Errorf("payment record %v, want APPROVED", pay)
	}
	// SNS → SQS → notifier: email hears every customer-facing event, sms only the shipment.
	ids := map[string]string{}
	for _, e := range o.Events {
		ids[e.Type] = e.ID
	}
	eventually(t, time.Minute, "notifications", func(context.Context) error {
		for _, n := range []struct{ typ, channel string }{
			{"OrderPlaced", "email"}, {"OrderConfirmed", "email"}, {"OrderShipped", "email"}, {"OrderShipped", "sms"},
		} {
			if item(t, "NotificationsTable", map[string]string{"eventId": ids[n.typ], "channel": n.channel}) == nil {
				return fmt.Errorf("no %s notification for %s", n.channel, n.typ)
			}
		}
		return nil
	})
	if item(t, "NotificationsTable", map[string]string{"eventId": ids["OrderConfirmed"], "channel": "sms"}) != nil {
		t.Error("sms notified OrderConfirmed: the filter policy lets only OrderShipped through")
	}
	// Kinesis: every event of the order is on the stream under its orderId; the journey saw them all.
	j = executionFor(t, p.OrderID)
	crossed := j.Services()
	for _, svc := range []string{journey.APIGateway, journey.EventBridge, journey.StepFunctions, journey.SQS, journey.SNS, journey.Kinesis, journey.Lambda, journey.DynamoDB} {
		if !slices.Contains(crossed, svc) {
			t.Errorf("journey did not cross %s: %v", svc, crossed)
		}
	}
	// Every event is on the stream exactly once as a first record; a second record of the same
	// event (a producer retry: delivery is at-least-once) must be marked a duplicate, and nothing
	// else of the order may be there.
	firsts := map[string]int{}
	for _, h := range j.Hops {
		if h.Service != journey.Kinesis {
			continue
		}
		if !slices.Contains(slices.Collect(maps.Values(ids)), h.EventID) {
			t.Errorf("stream record %q is not an event of the order", h.EventID)
		}
		if !h.Duplicate {
			firsts[h.EventID]++
		}
	}
	for typ, id := range ids {
		if firsts[id] != 1 {
			t.Errorf("%s: %d first records on the stream, want 1 (later copies marked duplicate)", typ, firsts[id])
		}
	}
}

func TestDeclinedPaymentIsCompensated(t *testing.T) {
	t.Parallel()
	before := stock(t, "SKU-002")
	p := place(t, shop.NewOrder("tok_declined", shop.Line{SKU: "SKU-002", Quantity: 3}))
	o := waitTerminal(t, p.OrderID)
	want := []string{"OrderPlaced", "InventoryReserved", "PaymentDeclined", "InventoryReleased", "OrderCancelled"}
	if o.Status != "CANCELLED" || o.Reason != "payment-declined" || !slices.Equal(eventTypes(o), want) {
		t.Fatalf("order %s %s (%s) with %v, want CANCELLED (payment-declined) with %v", o.OrderID, o.Status, o.Reason, eventTypes(o), want)
	}
	if got := stock(t, "SKU-002"); got != before {
		t.Errorf("SKU-002 stock %d → %d, want the reservation released", before, got)
	}
	if j := executionFor(t, p.OrderID); j.Status != "SUCCEEDED" {
		t.Errorf("execution %s, want SUCCEEDED (a decline is a business outcome)", j.Status)
	}
}

func TestOutOfStockTakesNothing(t *testing.T) {
	t.Parallel()
	before := stock(t, "SKU-042")
	if stock(t, "SKU-404") != 0 {
		t.Fatal("SKU-404 should be sold out in the demo catalogue")
	}
	p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-042", Quantity: 1}, shop.Line{SKU: "SKU-404", Quantity: 1}))
	o := waitTerminal(t, p.OrderID)
	if o.Status != "CANCELLED" || o.Reason != "out-of-stock" || !slices.Equal(eventTypes(o), []string{"OrderPlaced", "OrderCancelled"}) {
		t.Fatalf("order %s %s (%s) with %v, want CANCELLED (out-of-stock) after OrderPlaced", o.OrderID, o.Status, o.Reason, eventTypes(o))
	}
	if got := stock(t, "SKU-042"); got != before {
		t.Errorf("SKU-042 stock %d → %d: an order that cannot be filled must take no stock", before, got)
	}
	if item(t, "PaymentsTable", map[string]string{"orderId": p.OrderID}) != nil {
		t.Error("an out-of-stock order was charged")
	}
}

func TestBadInputIsRejected(t *testing.T) {
	t.Parallel()
	valid := `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"}}`
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"malformed JSON", `{"items":`, 400},
		{"wrong type", `{"items":[{"sku":"SKU-001","quantity":"two"}],"payment":{"token":"tok_visa"}}`, 400},
		{"a customerId in the body", `{"customerId":"someone-else","items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"}}`, 400},
		{"duplicate key", `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa","token":"tok_declined"}}`, 400},
		{"byte order mark", "\uFEFF" + valid, 400},
		{"missing payment", `{"items":[{"sku":"SKU-001","quantity":1}]}`, 400},
		{"empty items", `{"items":[],"payment":{"token":"tok_visa"}}`, 400},
		{"quantity 0", strings.Replace(valid, `"quantity":1`, `"quantity":0`, 1), 400},
		{"quantity above the line limit", strings.Replace(valid, `"quantity":1`, `"quantity":11`, 1), 400},
		{"unknown SKU", strings.Replace(valid, "SKU-001", "SKU-999", 1), 400},
		{"duplicate lines", `{"items":[{"sku":"SKU-001","quantity":1},{"sku":"SKU-001","quantity":2}],"payment":{"token":"tok_visa"}}`, 400},
		{"oversized body", `{"items":"` + strings.Repeat("x", 20000) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := api.Do(context.Background(), http.MethodPost, "/orders", "application/json", []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			if code != tc.want || json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Errorf("HTTP %d %s, want %d with a JSON error", code, body, tc.want)
			}
		})
	}
	code, body, err := api.Do(context.Background(), http.MethodPost, "/orders", "application/x-www-form-urlencoded", []byte(valid))
	if err != nil || code != http.StatusUnsupportedMediaType || !strings.Contains(string(body), "application/json") {
		t.Errorf("a valid order sent as a form: HTTP %d %s %v, want 415 naming application/json", code, body, err)
	}
	code, body, err = api.Do(context.Background(), http.MethodGet, "/orders/ORD-00000000-0000-0000-0000-000000000000", "", nil)
	if err != nil || code != 404 {
		t.Errorf("unknown order: HTTP %d %s %v, want 404", code, body, err)
	}
}

// linesOf runs line on each log line matching pattern (a CloudWatch Logs filter pattern) that the
// function a stack output names wrote since a moment (less five seconds of clock slack); group is
// the function's log group.
func linesOf(ctx context.Context, fnOutput, pattern string, since time.Time, line func(string)) (group string, err error) {
	if group, err = fnlogs.Group(ctx, lambda.NewFromConfig(stack.AWS), stack.Output(fnOutput)); err != nil {
		return "", err
	}
	return group, fnlogs.Each(ctx, cloudwatchlogs.NewFromConfig(stack.AWS), group, pattern, since.Add(-5*time.Second), time.Time{}, line)
}

// emitted finds an EMF record of metric, for consumer, that the function a stack output names
// wrote since a moment.
func emitted(ctx context.Context, fnOutput string, since time.Time, metric, consumer string) error {
	found := false
	group, err := linesOf(ctx, fnOutput, `"`+metric+`"`, since, func(line string) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["_aws"] != nil && rec["Consumer"] == consumer && rec[metric] != nil {
			found = true
		}
	})
	if err == nil && !found {
		err = fmt.Errorf("no EMF record of %s for %s in %s since %s", metric, consumer, group, since.Format(time.RFC3339))
	}
	return err
}

// logged counts the lines the function a stack output names logged about orderID since a moment
// whose message is msg and whose attributes hold attrs (key, value, …). A function's lines are
// slog's JSON (Lambda's JSON log format) or, where the format is not passed on to the function
// (MiniStack), slog's text.
func logged(ctx context.Context, fnOutput string, since time.Time, orderID, msg string, attrs ...string) (int, error) {
	attrs = append([]string{"orderId", orderID}, attrs...)
	n := 0
	_, err := linesOf(ctx, fnOutput, `"`+orderID+`"`, since, func(line string) {
		if fnlogs.Says(line, msg, attrs...) {
			n++
		}
	})
	return n, err
}
