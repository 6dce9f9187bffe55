//go:build e2e

package e2e

// Safe to deploy: who may call the API, what each customer sees, and what no request can do.
// Every test here signs in customers of its own.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/inject"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// signIn makes a new customer and returns an API client acting as them.
func signIn(t *testing.T) (*shop.Client, customers.Customer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := customers.New(stack).Provision(ctx, "e2e-"+uuid.NewString()[:8])
	if err != nil {
		t.Fatal(err)
	}
	return api.As(c.AccessToken), c
}

// call sends a request and returns the status and the decoded JSON body.
func call(t *testing.T, c *shop.Client, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	code, b, err := c.Do(context.Background(), method, path, ct, []byte(body), headers...)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: HTTP %d with a body that is not a JSON object: %s", method, path, code, b)
	}
	return code, m
}

// mug is the SKU these tests order: no test compares its stock (SKU-001, -002, -042 and -451 are
// compared by the flow tests; SKU-003 by TestLastUnitsGoToExactlyAsManyOrders).
const mug = "SKU-100"

const oneUnit = `{"items":[{"sku":"SKU-100","quantity":1}],"payment":{"token":"tok_visa"}}`

func TestNoValidTokenIs401(t *testing.T) {
	t.Parallel()
	_, c := signIn(t)
	anon := api.As("")
	parts := strings.Split(c.AccessToken, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])

	// The same header and claims, signed with a key the pool never had.
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(header, claims []byte) string {
		input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
		sum := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, other, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	var m map[string]any
	_ = json.Unmarshal(claims, &m)
	m["sub"] = uuid.NewString() // someone else
	otherSub, _ := json.Marshal(m)

	forged := map[string]string{
		"signed by another key":          signed(header, claims),
		"claims changed, signature kept": parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherSub) + "." + parts[2],
		"alg none":                       base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"not a JWT":                      "let-me-in",
	}
	for _, route := range []struct{ method, path, body string }{
		{http.MethodPost, "/orders", oneUnit},
		{http.MethodGet, "/orders", ""},
		{http.MethodGet, "/orders/" + toolkit.NewOrderID(), ""},
	} {
		if code, body := call(t, anon, route.method, route.path, route.body); code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: HTTP %d %v, want 401 with a JSON error", route.method, route.path, code, body)
		}
		for name, token := range forged {
			if code, body := call(t, anon.As(token), route.method, route.path, route.body); code != http.StatusUnauthorized {
				t.Errorf("%s %s, token %s: HTTP %d %v, want 401", route.method, route.path, name, code, body)
			}
		}
	}
	if code, _, err := anon.Do(context.Background(), http.MethodGet, "/products", "", nil); err != nil || code != http.StatusOK {
		t.Errorf("GET /products without a token: %d %v, want 200 (the catalogue is public)", code, err)
	}
	if code, body := call(t, api.As(c.AccessToken), http.MethodGet, "/orders", ""); code != http.StatusOK {
		t.Errorf("the genuine token: HTTP %d %v", code, body)
	}
	if code, body := call(t, api.As(c.IDToken), http.MethodGet, "/orders", ""); code != http.StatusOK {
		t.Errorf("the genuine ID token: HTTP %d %v", code, body)
	}
}

// A method or path the API has no route for gets the API's JSON error through its $default route:
// 405 naming the methods to use on one of its resources, 404 elsewhere; without a token, 401.
func TestUnmatchedRequestsGetAJSONError(t *testing.T) {
	t.Parallel()
	c, _ := signIn(t)
	for _, tc := range []struct {
		method, path string
		want         int
		use          string
	}{
		{http.MethodDelete, "/orders/" + toolkit.NewOrderID(), http.StatusMethodNotAllowed, "GET"},
		{http.MethodPut, "/orders", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/admin", http.StatusNotFound, ""},
	} {
		code, body := call(t, c, tc.method, tc.path, "")
		if e, _ := body["error"].(string); code != tc.want || e == "" || !strings.Contains(e, tc.use) {
			t.Errorf("%s %s: HTTP %d %v, want %d with a JSON error that says to use %q", tc.method, tc.path, code, body, tc.want, tc.use)
		}
	}
	if code, body := call(t, api.As(""), http.MethodGet, "/admin", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /admin without a token: HTTP %d %v, want 401 (the catch-all keeps the authorizer)", code, body)
	}
}

// An expired token is refused. The app client's tokens live an hour; this test shortens them to
// seconds for one sign-in (the emulator allows it, AWS's minimum is five minutes) and puts the
// client back. It runs on its own, before the parallel tests sign anyone in.
func TestExpiredTokenIs401(t *testing.T) {
	ctx := context.Background()
	pool := customers.New(stack)
	desc, err := pool.Client.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{UserPoolId: aws.String(pool.PoolID), ClientId: aws.String(pool.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	cl := desc.UserPoolClient
	update := func(validity int32, unit ciptypes.TimeUnitsType) error {
		_, err := pool.Client.UpdateUserPoolClient(ctx, &cip.UpdateUserPoolClientInput{
			UserPoolId: cl.UserPoolId, ClientId: cl.ClientId, ClientName: cl.ClientName,
			ExplicitAuthFlows: cl.ExplicitAuthFlows, PreventUserExistenceErrors: cl.PreventUserExistenceErrors,
			EnableTokenRevocation: cl.EnableTokenRevocation, RefreshTokenValidity: cl.RefreshTokenValidity, IdTokenValidity: cl.IdTokenValidity,
			AccessTokenValidity: aws.Int32(validity),
			TokenValidityUnits:  &ciptypes.TokenValidityUnitsType{AccessToken: unit, IdToken: tokenUnit(cl, "id"), RefreshToken: tokenUnit(cl, "refresh")},
		})
		return err
	}
	if err := update(5, ciptypes.TimeUnitsTypeSeconds); err != nil {
		t.Fatal(err)
	}
	var c customers.Customer
	c, err = pool.Provision(ctx, "e2e-expiry-"+uuid.NewString()[:8])
	// Put the client back first, whatever happened.
	if rerr := update(aws.ToInt32(cl.AccessTokenValidity), tokenUnit(cl, "access")); rerr != nil {
		t.Fatalf("restore the app client: %v", rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	claims, err := customers.Claims(c.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if time.Until(exp) > 10*time.Second {
		t.Fatalf("the token expires at %s: the short validity did not apply", exp)
	}
	client := api.As(c.AccessToken)
	if time.Now().Before(exp.Add(-time.Second)) {
		if code, body := call(t, client, http.MethodGet, "/orders", ""); code != http.StatusOK {
			t.Errorf("before it expires: HTTP %d %v", code, body)
		}
	}
	eventually(t, 30*time.Second, "the expired token is refused", func(context.Context) error {
		if code, body := call(t, client, http.MethodGet, "/orders", ""); code != http.StatusUnauthorized {
			return fmt.Errorf("HTTP %d %v at %s (expiry %s)", code, body, time.Now().Format(time.TimeOnly), exp.Format(time.TimeOnly))
		}
		if time.Now().Before(exp) {
			t.Errorf("refused before its expiry %s: for another reason", exp)
		}
		return nil
	})
}

func tokenUnit(cl *ciptypes.UserPoolClientType, kind string) ciptypes.TimeUnitsType {
	def := ciptypes.TimeUnitsTypeHours
	if kind == "refresh" {
		def = ciptypes.TimeUnitsTypeDays
	}
	if cl.TokenValidityUnits == nil {
		return def
	}
	u := map[string]ciptypes.TimeUnitsType{"access": cl.TokenValidityUnits.AccessToken, "id": cl.TokenValidityUnits.IdToken, "refresh": cl.TokenValidityUnits.RefreshToken}[kind]
	if u == "" {
		return def
	}
	return u
}

func TestCustomersSeeOnlyTheirOwnOrders(t *testing.T) {
	t.Parallel()
	alice, a := signIn(t)
	bob, _ := signIn(t)
	ctx := context.Background()
	first, err := alice.PlaceOrder(ctx, shop.NewOrder("tok_visa", shop.Line{SKU: mug, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	second, err := alice.PlaceOrder(ctx, shop.NewOrder("tok_declined", shop.Line{SKU: mug, Quantity: 2}))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{first.OrderID, second.OrderID} {
		o, err := alice.WaitUntil(ctx, id, 500*time.Millisecond, func(o shop.Order) bool { return shop.Terminal(o.Status) })
		if err != nil {
			t.Fatal(err)
		}
		if o.CustomerID != a.Sub {
			t.Errorf("order %s belongs to %q, want alice (%s): the customer is the token's sub", id, o.CustomerID, a.Sub)
		}
	}

	// Bob: someone else's order is as unknown as no order at all.
	codeOther, other := call(t, bob, http.MethodGet, "/orders/"+first.OrderID, "")
	unknownID := toolkit.NewOrderID()
	codeNone, none := call(t, bob, http.MethodGet, "/orders/"+unknownID, "")
	if codeOther != http.StatusNotFound || codeNone != http.StatusNotFound ||
		strings.Replace(fmt.Sprint(other["error"]), first.OrderID, unknownID, 1) != fmt.Sprint(none["error"]) {
		t.Errorf("bob reads alice's order: %d %v; an unknown one: %d %v; want the same 404", codeOther, other, codeNone, none)
	}
	if page, err := bob.ListOrders(ctx, 0, ""); err != nil || len(page.Orders) != 0 {
		t.Errorf("bob's orders: %+v, %v; want none", page, err)
	}

	// Alice: both, newest first, one page at a time.
	eventually(t, time.Minute, "alice's list", func(ctx context.Context) error {
		p1, err := alice.ListOrders(ctx, 1, "")
		if err != nil {
			return err
		}
		if len(p1.Orders) != 1 || p1.Orders[0].OrderID != second.OrderID || p1.NextCursor == "" {
			return fmt.Errorf("first page %+v, want the newer order %s and a cursor", p1, second.OrderID)
		}
		p2, err := alice.ListOrders(ctx, 1, p1.NextCursor)
		if err != nil {
			return err
		}
		if len(p2.Orders) != 1 || p2.Orders[0].OrderID != first.OrderID {
			return fmt.Errorf("second page %+v, want %s", p2, first.OrderID)
		}
		if p2.NextCursor != "" {
			if p3, err := alice.ListOrders(ctx, 1, p2.NextCursor); err != nil || len(p3.Orders) != 0 {
				return fmt.Errorf("third page %+v, %v; want empty", p3, err)
			}
		}
		if p2.Orders[0].Status != "SHIPPED" || p1.Orders[0].Status != "CANCELLED" {
			return fmt.Errorf("statuses %s, %s; want CANCELLED (declined) then SHIPPED", p1.Orders[0].Status, p2.Orders[0].Status)
		}
		return nil
	})
	// Bob cannot page into alice's list with her cursor: the list is always the caller's.
	p1, err := alice.ListOrders(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if page, err := bob.ListOrders(ctx, 1, p1.NextCursor); err != nil || len(page.Orders) != 0 {
		t.Errorf("bob with alice's cursor: %+v, %v; want nothing", page, err)
	}
}

func TestIdempotencyKeyGivesOneOrder(t *testing.T) {
	t.Parallel()
	c, _ := signIn(t)
	key := uuid.NewString()
	body := oneUnit
	respaced := `{ "payment": {"token": "tok_visa"}, "items": [ {"quantity": 1, "sku": "SKU-100"} ] }`
	code1, first := call(t, c, http.MethodPost, "/orders", body, "Idempotency-Key", `"`+key+`"`)
	code2, again := call(t, c, http.MethodPost, "/orders", respaced, "Idempotency-Key", `"`+key+`"`)
	if code1 != http.StatusCreated || code2 != http.StatusCreated || first["orderId"] != again["orderId"] {
		t.Fatalf("same key, same request: %d %v then %d %v; want the same 201", code1, first, code2, again)
	}
	id := first["orderId"].(string)
	if code, body := call(t, c, http.MethodPost, "/orders", strings.Replace(body, `"quantity":1`, `"quantity":2`, 1), "Idempotency-Key", `"`+key+`"`); code != http.StatusUnprocessableEntity {
		t.Errorf("same key, another request: HTTP %d %v, want 422", code, body)
	}
	o := waitTerminalAs(t, c, id)
	if o.Status != "SHIPPED" || len(o.Events) != 5 {
		t.Errorf("order %s %s with %d events", id, o.Status, len(o.Events))
	}
	// One OrderPlaced on the bus, so one execution.
	executionFor(t, id)
	ev, err := journey.NewCollector(stack).Gather(context.Background(), id)
	if err != nil || len(ev.Executions) != 1 {
		t.Errorf("%d executions for the order (%v), want 1", len(ev.Executions), err)
	}
	if page, err := c.ListOrders(context.Background(), 0, ""); err != nil || len(page.Orders) != 1 {
		t.Errorf("the customer's orders: %+v, %v; want exactly one", page, err)
	}
}

func TestIdempotencyKeyRaceGivesOneOrder(t *testing.T) {
	t.Parallel()
	c, _ := signIn(t)
	key := uuid.NewString()
	bodies := []string{
		oneUnit,
		strings.Replace(oneUnit, `"quantity":1`, `"quantity":2`, 1),
		strings.Replace(oneUnit, "tok_visa", "tok_declined", 1),
		strings.Replace(oneUnit, `"quantity":1`, `"quantity":3`, 1),
	}
	codes := make([]int, len(bodies))
	answers := make([]map[string]any, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], answers[i] = call(t, c, http.MethodPost, "/orders", b, "Idempotency-Key", `"`+key+`"`)
		}()
	}
	wg.Wait()
	var placed []string
	for i, code := range codes {
		switch code {
		case http.StatusCreated:
			placed = append(placed, answers[i]["orderId"].(string))
		case http.StatusConflict, http.StatusUnprocessableEntity:
			if answers[i]["error"] == nil {
				t.Errorf("HTTP %d without a JSON error: %v", code, answers[i])
			}
		default:
			t.Errorf("HTTP %d %v, want 201, 409 or 422", code, answers[i])
		}
	}
	if len(placed) != 1 {
		t.Fatalf("%d orders placed (%v), want exactly one (codes %v)", len(placed), placed, codes)
	}
	waitTerminalAs(t, c, placed[0])
	if page, err := c.ListOrders(context.Background(), 0, ""); err != nil || len(page.Orders) != 1 || page.Orders[0].OrderID != placed[0] {
		t.Errorf("the customer's orders: %+v, %v; want only %s", page, err, placed[0])
	}
}

// oneSaga waits until the order has at least executions executions, none running, and checks that
// one of them ran the saga and every other found the order claimed and ended at Duplicate,
// having done nothing. It returns what it read.
func oneSaga(t *testing.T, orderID string, executions int) journey.Evidence {
	t.Helper()
	var ev journey.Evidence
	eventually(t, 2*time.Minute, "the order's executions end", func(ctx context.Context) (err error) {
		if ev, err = journey.NewCollector(stack).Gather(ctx, orderID); err != nil {
			return err
		}
		if len(ev.Executions) < executions {
			return fmt.Errorf("%d executions, want %d", len(ev.Executions), executions)
		}
		for _, x := range ev.Executions {
			if x.Status == "RUNNING" {
				return fmt.Errorf("%s still running", x.Name)
			}
		}
		return nil
	})
	sagas, duplicates := 0, 0
	for _, x := range ev.Executions {
		names := []string{}
		for _, s := range x.States {
			names = append(names, s.Name)
		}
		switch {
		case slices.Contains(names, "ReserveInventory"):
			sagas++
		case x.Status == "SUCCEEDED" && slices.Equal(names, []string{"Rescue?", "ClaimSaga", "Duplicate"}):
			duplicates++
		default:
			t.Errorf("execution %s %s went through %v", x.Name, x.Status, names)
		}
	}
	if sagas != 1 || duplicates != len(ev.Executions)-1 {
		t.Errorf("%d sagas and %d duplicates out of %d executions; want 1 saga, the rest Duplicate", sagas, duplicates, len(ev.Executions))
	}
	return ev
}

// OrderPlaced delivered twice at the same moment starts two executions; one claims the order and
// runs the saga, the other finds it claimed and ends at Duplicate having done nothing.
func TestConcurrentDuplicateOrderPlacedRunsOneSaga(t *testing.T) {
	t.Parallel()
	e, err := inject.PlaceV1(context.Background(), inject.FromStack(stack), inject.V1Order{CustomerID: me.Sub, Token: "tok_visa", SKU: mug, Quantity: 1, Copies: 2})
	if err != nil {
		t.Fatal(err)
	}
	o := waitTerminal(t, e.OrderID)
	if o.Status != "SHIPPED" || len(o.Events) != 5 {
		t.Fatalf("order %s %s with %v", o.OrderID, o.Status, eventTypes(o))
	}
	ev := oneSaga(t, e.OrderID, 2)
	if pay := item(t, "PaymentsTable", map[string]string{"orderId": e.OrderID}); s(pay, "status") != "APPROVED" || n(pay, "attempts") != 1 {
		t.Errorf("payment %v, want APPROVED after one attempt", pay)
	}
	claim := item(t, "SagasTable", map[string]string{"orderId": e.OrderID})
	if !strings.HasSuffix(s(claim, "executionArn"), ":"+executionOf(ev, "ReserveInventory")) {
		t.Errorf("the claim %v names another execution than the one that ran the saga", claim)
	}
}

func executionOf(ev journey.Evidence, state string) string {
	for _, x := range ev.Executions {
		for _, s := range x.States {
			if s.Name == state {
				return x.Name
			}
		}
	}
	return "(none)"
}

// The last units of a SKU go to exactly as many orders, whatever the race.
func TestLastUnitsGoToExactlyAsManyOrders(t *testing.T) {
	t.Parallel()
	const sku, units, orders = "SKU-003", 5, 12 // SKU-003: no other test orders it
	ctx := context.Background()
	inventory := toolkit.NewInventory(dynamodb.NewFromConfig(stack.AWS), stack.Output("InventoryTable"))
	if err := inventory.SetStock(ctx, sku, units); err != nil {
		t.Fatal(err)
	}
	c, _ := signIn(t)

	// Watch the raw stock while the orders race: it must never go below zero.
	watchCtx, stopWatching := context.WithCancel(ctx)
	lowest := make(chan int, 1)
	go func() {
		low := units
		for watchCtx.Err() == nil {
			if got, err := rawStock(watchCtx, sku); err == nil {
				low = min(low, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
		lowest <- low
	}()

	ids := make([]string, orders)
	errs := make([]error, orders)
	var wg sync.WaitGroup
	for i := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.PlaceOrder(ctx, shop.NewOrder("tok_visa", shop.Line{SKU: sku, Quantity: 1}))
			ids[i], errs[i] = p.OrderID, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	shipped, outOfStock := 0, 0
	for _, id := range ids {
		o := waitTerminalAs(t, c, id)
		switch {
		case o.Status == "SHIPPED":
			shipped++
		case o.Status == "CANCELLED" && o.Reason == "out-of-stock":
			outOfStock++
		default:
			t.Errorf("order %s %s (%s)", id, o.Status, o.Reason)
		}
	}
	stopWatching()
	if shipped != units || outOfStock != orders-units {
		t.Errorf("%d shipped and %d cancelled out of stock, want %d and %d", shipped, outOfStock, units, orders-units)
	}
	if got, err := rawStock(ctx, sku); err != nil || got != 0 {
		t.Errorf("stock of %s = %d (%v), want 0", sku, got, err)
	}
	if low := <-lowest; low < 0 {
		t.Errorf("stock of %s went down to %d", sku, low)
	}
}

// rawStock reads a SKU's stock item as the inventory table holds it (GET /products clamps at 0).
func rawStock(ctx context.Context, sku string) (int, error) {
	out, err := dynamodb.NewFromConfig(stack.AWS).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(stack.Output("InventoryTable")), Key: map[string]dbtypes.AttributeValue{"pk": &dbtypes.AttributeValueMemberS{Value: "SKU#" + sku}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, err
	}
	v, ok := out.Item["stock"].(*dbtypes.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("no stock item for %s", sku)
	}
	var n int
	_, err = fmt.Sscan(v.Value, &n)
	return n, err
}

// The payment token goes to the payment intent and nowhere else: not in the order's events
// (event store, stream), not in its execution's history, not in any dead-letter queue.
func TestPaymentTokenTravelsNowhere(t *testing.T) {
	t.Parallel()
	c, _ := signIn(t)
	const token = "tok_visa"
	p, err := c.PlaceOrder(context.Background(), shop.NewOrder(token, shop.Line{SKU: mug, Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	o := waitTerminalAs(t, c, p.OrderID)
	if o.Status != "SHIPPED" {
		t.Fatalf("order %s %s", o.OrderID, o.Status)
	}
	j := executionFor(t, p.OrderID)
	leaks := func(where, text string) {
		if strings.Contains(text, token) || strings.Contains(text, "paymentToken") {
			t.Errorf("the payment token is in %s: %s", where, text)
		}
	}
	for _, row := range queryAll(t, "EventStoreTable", "orderId", p.OrderID) {
		leaks("the event store", fmt.Sprint(row))
	}
	r := &streamlog.Reader{Client: kinesis.NewFromConfig(stack.AWS), Stream: stack.Output("StreamName")}
	records := 0
	if _, err := r.ReadFrom(context.Background(), nil, func(rec streamlog.Record) error {
		if rec.PartitionKey == p.OrderID {
			records++
			leaks("the stream", string(rec.Data))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if records < len(o.Events) {
		t.Errorf("%d stream records of the order, want at least %d: the check read too little", records, len(o.Events))
	}
	hist, err := sfn.NewFromConfig(stack.AWS).GetExecutionHistory(context.Background(), &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(j.ExecutionArn)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(hist.Events)
	if !strings.Contains(string(b), p.OrderID) {
		t.Fatalf("the execution history does not mention the order: the check would prove nothing")
	}
	leaks("the execution history", string(b))
	for _, q := range []string{"PaymentsDlqUrl", "EmailDlqUrl", "SmsDlqUrl", "WorkflowRuleDlqUrl", "StreamRuleDlqUrl", "NotifyRuleDlqUrl", "ProjectorDlqUrl", "AnalyticsDlqUrl", "StreamerDlqUrl"} {
		if m, found, err := dlqMessage(context.Background(), stack.Output(q), p.OrderID); err != nil || found {
			t.Errorf("%s holds a message of the order (%v): %v", q, err, aws.ToString(m.Body))
		}
	}
	in := item(t, "PaymentIntentsTable", map[string]string{"intentId": paymentIntentOf(t, p.OrderID)})
	if s(in, "token") != token || s(in, "orderId") != p.OrderID {
		t.Errorf("payment intent %v, want the token kept for order %s", in, p.OrderID)
	}
}

// paymentIntentOf reads the intent id OrderPlaced names.
func paymentIntentOf(t *testing.T, orderID string) string {
	t.Helper()
	for _, row := range queryAll(t, "EventStoreTable", "orderId", orderID) {
		if s(row, "type") != "OrderPlaced" {
			continue
		}
		var env struct {
			Payload struct {
				PaymentIntentID string `json:"paymentIntentId"`
			} `json:"payload"`
		}
		if err := json.Unmarshal([]byte(s(row, "envelope")), &env); err != nil || env.Payload.PaymentIntentID == "" {
			t.Fatalf("OrderPlaced of %s names no payment intent: %v", orderID, err)
		}
		return env.Payload.PaymentIntentID
	}
	t.Fatalf("no OrderPlaced for %s", orderID)
	return ""
}
