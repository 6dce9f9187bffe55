package order_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
)

const validBody = `{"items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-002","quantity":1}],"payment":{"token":"tok_visa"}}`

// customer is a Cognito sub, as order-api passes the signed-in customer.
const customer = "5b3c1f2e-8d4a-4c6b-9e7f-1a2b3c4d5e6f"

func TestParsePlaceOrderValid(t *testing.T) {
	got, err := order.ParsePlaceOrder([]byte(" \n" + validBody + "\n"))
	if err != nil {
		t.Fatalf("ParsePlaceOrder: %v", err)
	}
	want := order.PlaceOrderRequest{
		Items:   []order.Line{{SKU: "SKU-001", Quantity: 2}, {SKU: "SKU-002", Quantity: 1}},
		Payment: order.Payment{Token: "tok_visa"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// The JSON tags are the API's field names.
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != validBody {
		t.Errorf("marshalled request = %s, want %s", b, validBody)
	}
}

// body builds a request from validBody with f applied to its decoded JSON.
func body(t *testing.T, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(validBody), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func items(m map[string]any) []any                { return m["items"].([]any) }
func item(m map[string]any, i int) map[string]any { return items(m)[i].(map[string]any) }

func TestParsePlaceOrderRejects(t *testing.T) {
	lines := func(n int) []any {
		out := []any{}
		for i := range n {
			out = append(out, map[string]any{"sku": fmt.Sprintf("SKU-%03d", i), "quantity": 1})
		}
		return out
	}
	cases := []struct {
		name      string
		body      func(t *testing.T) string
		wantField string
		wantMsg   string
	}{
		{"empty body", func(*testing.T) string { return "" }, "", "request body is required"},
		{"blank body", func(*testing.T) string { return " \n\t" }, "", "request body is required"},
		{"not JSON", func(*testing.T) string { return `{"items":` }, "", "not valid JSON"},
		{"array body", func(*testing.T) string { return `[` + validBody + `]` }, "", "must be a JSON object, got an array"},
		{"null body", func(*testing.T) string { return `null` }, "", "must be a JSON object, got null"},
		{"text body", func(*testing.T) string { return `hello` }, "", "request body is not valid JSON: invalid character 'h'"},
		{"form body", func(*testing.T) string { return `items=1&x=2` }, "", "request body is not valid JSON: invalid character 'i'"},
		{"truncated literal", func(*testing.T) string { return `tru` }, "", "request body is not valid JSON"},
		{"two objects", func(*testing.T) string { return validBody + validBody }, "", "single JSON object"},
		{"unknown field", func(t *testing.T) string { return body(t, func(m map[string]any) { m["totalCents"] = 1 }) }, "totalCents", `unknown field "totalCents"`},
		{"unknown item field", func(t *testing.T) string {
			return body(t, func(m map[string]any) { item(m, 1)["unitPriceCents"] = 1 })
		}, "items[1].unitPriceCents", "unknown field"},
		{"unknown payment field", func(t *testing.T) string {
			return body(t, func(m map[string]any) { m["payment"].(map[string]any)["cvv"] = "123" })
		}, "payment.cvv", "unknown field"},
		{"customerId in the body", func(t *testing.T) string { return body(t, func(m map[string]any) { m["customerId"] = "someone-else" }) }, "customerId", "the customer is the signed-in user"},
		{"null customerId in the body", func(t *testing.T) string { return body(t, func(m map[string]any) { m["customerId"] = nil }) }, "customerId", "customerId is not accepted"},
		{"byte order mark", func(*testing.T) string { return "\uFEFF" + validBody }, "", "byte order mark"},
		{"invalid UTF-8", func(*testing.T) string {
			return "{\"items\":[{\"sku\":\"SKU-001\",\"quantity\":1}],\"payment\":{\"token\":\"tok_\xff\"}}"
		}, "", "not valid UTF-8"},
		{"duplicate top-level key", func(*testing.T) string {
			return `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"},"items":[{"sku":"SKU-002","quantity":9}]}`
		}, "items", `duplicate key "items" in request body`},
		{"duplicate key in a line", func(*testing.T) string {
			return `{"items":[{"sku":"SKU-001","quantity":1},{"sku":"SKU-002","quantity":1,"quantity":9}],"payment":{"token":"tok_visa"}}`
		}, "items[1].quantity", `duplicate key "quantity" in items[1]`},
		{"duplicate payment token", func(*testing.T) string {
			return `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa","token":"tok_declined"}}`
		}, "payment.token", `duplicate key "token" in payment`},
		{"duplicate key in an unknown object", func(*testing.T) string {
			return `{"items":[{"sku":"SKU-001","quantity":1}],"payment":{"token":"tok_visa"},"x":{"a":[{"b":1,"b":2}]}}`
		}, "x.a[0].b", `duplicate key "b"`},
		{"missing items", func(t *testing.T) string { return body(t, func(m map[string]any) { delete(m, "items") }) }, "items", "items is required"},
		{"null items", func(t *testing.T) string { return body(t, func(m map[string]any) { m["items"] = nil }) }, "items", "items is required"},
		{"items not an array", func(t *testing.T) string { return body(t, func(m map[string]any) { m["items"] = "SKU-001" }) }, "items", "items must be an array, got a string"},
		{"empty items", func(t *testing.T) string { return body(t, func(m map[string]any) { m["items"] = []any{} }) }, "items", "items must not be empty"},
		{"too many lines", func(t *testing.T) string {
			return body(t, func(m map[string]any) { m["items"] = lines(order.MaxLines + 1) })
		}, "items", "at most 10 lines per order, got 11"},
		{"line not an object", func(t *testing.T) string { return body(t, func(m map[string]any) { items(m)[0] = "SKU-001" }) }, "items[0]", "items[0] must be a JSON object, got a string"},
		{"missing sku", func(t *testing.T) string { return body(t, func(m map[string]any) { delete(item(m, 1), "sku") }) }, "items[1].sku", "items[1].sku is required"},
		{"sku not a string", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 0)["sku"] = 1 }) }, "items[0].sku", "must be a string, got a number"},
		{"unknown sku", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 1)["sku"] = "SKU-999" }) }, "items[1].sku", `unknown SKU "SKU-999"`},
		{"duplicate sku", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 1)["sku"] = "SKU-001" }) }, "items[1].sku", `duplicate SKU "SKU-001"`},
		{"missing quantity", func(t *testing.T) string { return body(t, func(m map[string]any) { delete(item(m, 0), "quantity") }) }, "items[0].quantity", "items[0].quantity is required"},
		{"quantity as string", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 0)["quantity"] = "2" }) }, "items[0].quantity", "must be an integer, got a string"},
		{"fractional quantity", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 0)["quantity"] = 1.5 }) }, "items[0].quantity", "must be an integer, got 1.5"},
		{"huge quantity", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 0)["quantity"] = 1e12 }) }, "items[0].quantity", "items[0].quantity is out of range, got 1000000000000"},
		{"quantity below int32", func(t *testing.T) string {
			return strings.Replace(validBody, `"quantity":2`, `"quantity":-99999999999`, 1)
		}, "items[0].quantity", "is out of range, got -99999999999"},
		{"zero quantity", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 0)["quantity"] = 0 }) }, "items[0].quantity", "between 1 and 10, got 0"},
		{"negative quantity", func(t *testing.T) string { return body(t, func(m map[string]any) { item(m, 1)["quantity"] = -3 }) }, "items[1].quantity", "between 1 and 10, got -3"},
		{"quantity over the line limit", func(t *testing.T) string {
			return body(t, func(m map[string]any) { item(m, 0)["quantity"] = order.MaxQuantityPerLine + 1 })
		}, "items[0].quantity", "between 1 and 10, got 11"},
		{"missing payment", func(t *testing.T) string { return body(t, func(m map[string]any) { delete(m, "payment") }) }, "payment.token", "payment.token is required"},
		{"payment not an object", func(t *testing.T) string { return body(t, func(m map[string]any) { m["payment"] = "tok_visa" }) }, "payment", "payment must be a JSON object, got a string"},
		{"missing payment token", func(t *testing.T) string { return body(t, func(m map[string]any) { m["payment"] = map[string]any{} }) }, "payment.token", "payment.token is required"},
		{"token not a string", func(t *testing.T) string {
			return body(t, func(m map[string]any) { m["payment"] = map[string]any{"token": true} })
		}, "payment.token", "payment.token must be a string, got a boolean"},
		{"token with bad characters", func(t *testing.T) string {
			return body(t, func(m map[string]any) { m["payment"] = map[string]any{"token": "tok visa"} })
		}, "payment.token", "payment.token must be 1-128 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := order.ParsePlaceOrder([]byte(tc.body(t)))
			var ie *order.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error = %v (%T), want *order.InputError", err, err)
			}
			if ie.Field != tc.wantField || !strings.Contains(ie.Message, tc.wantMsg) {
				t.Errorf("InputError{Field: %q, Message: %q}; want field %q, message containing %q", ie.Field, ie.Message, tc.wantField, tc.wantMsg)
			}
		})
	}
}

func TestParsePlaceOrderTooLarge(t *testing.T) {
	pad := strings.Repeat(" ", order.MaxBodyBytes-len(validBody))
	if _, err := order.ParsePlaceOrder([]byte(validBody + pad)); err != nil {
		t.Errorf("a body of exactly MaxBodyBytes: %v", err)
	}
	_, err := order.ParsePlaceOrder([]byte(validBody + pad + " "))
	if !errors.Is(err, order.ErrTooLarge) {
		t.Errorf("a body of MaxBodyBytes+1: err = %v, want ErrTooLarge", err)
	}
	var ie *order.InputError
	if errors.As(err, &ie) {
		t.Error("ErrTooLarge must not be an InputError (413, not 400)")
	}
}

func TestPrice(t *testing.T) {
	req, err := order.ParsePlaceOrder([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	got, err := order.Price(req, customer)
	if err != nil {
		t.Fatal(err)
	}
	want := events.OrderPlaced{
		CustomerID: customer, Currency: "USD", TotalCents: 2*4999 + 1299,
		Items: []events.Item{
			{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 2, UnitPriceCents: 4999},
			{SKU: "SKU-002", Name: "Merino socks", Quantity: 1, UnitPriceCents: 1299},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Price = %+v\nwant %+v", got, want)
	}
	if _, err := order.Price(order.PlaceOrderRequest{Items: []order.Line{{SKU: "SKU-999", Quantity: 1}}, Payment: order.Payment{Token: "t"}}, customer); err == nil {
		t.Error("Price of an invalid request succeeded")
	}
	if _, err := order.Price(req, "Jane Doe"); err == nil {
		t.Error("Price for a customer id no event may carry succeeded")
	}
}

// Every request Validate accepts prices into a valid OrderPlaced event: the request rules
// are at least as strict as the schema.
func TestValidRequestsMakeValidEvents(t *testing.T) {
	all := []order.Line{}
	for _, p := range catalogue.All() {
		all = append(all, order.Line{SKU: p.SKU, Quantity: order.MaxQuantityPerLine})
	}
	reqs := []order.PlaceOrderRequest{
		{Items: all, Payment: order.Payment{Token: "tok_visa"}},
		{Items: []order.Line{{SKU: "SKU-404", Quantity: 1}}, Payment: order.Payment{Token: "tok_declined"}},
		{Items: []order.Line{{SKU: "SKU-003", Quantity: 1}}, Payment: order.Payment{Token: strings.Repeat("t", 128)}},
	}
	for i, req := range reqs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if err := req.Validate(); err != nil {
				t.Fatal(err)
			}
			p, err := order.Price(req, customer)
			if err != nil {
				t.Fatal(err)
			}
			p.OrderID, p.PaymentIntentID = order.NewID(), order.NewPaymentIntentID()
			e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Source: events.SourceOrders, OrderID: p.OrderID, Sequence: 1, Payload: p, Time: time.Now()})
			if err != nil {
				t.Fatalf("valid request made an invalid event: %v", err)
			}
			if strings.Contains(string(e.Payload), req.Payment.Token) {
				t.Errorf("the event carries the payment token: %s", e.Payload)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	parse := func(body string) order.PlaceOrderRequest {
		t.Helper()
		req, err := order.ParsePlaceOrder([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	base := order.Fingerprint(parse(validBody))
	if len(base) != 64 {
		t.Fatalf("Fingerprint = %q, want 64 hex digits", base)
	}
	same := `{ "payment": {"token": "tok_visa"},
	  "items": [ {"quantity": 2, "sku": "SKU-001"}, {"sku": "SKU-002", "quantity": 1} ] }`
	if got := order.Fingerprint(parse(same)); got != base {
		t.Errorf("the same request spaced and ordered differently: %s, want %s", got, base)
	}
	for name, other := range map[string]string{
		"another quantity": `{"items":[{"sku":"SKU-001","quantity":3},{"sku":"SKU-002","quantity":1}],"payment":{"token":"tok_visa"}}`,
		"another token":    `{"items":[{"sku":"SKU-001","quantity":2},{"sku":"SKU-002","quantity":1}],"payment":{"token":"tok_declined"}}`,
		"lines swapped":    `{"items":[{"sku":"SKU-002","quantity":1},{"sku":"SKU-001","quantity":2}],"payment":{"token":"tok_visa"}}`,
		"a line fewer":     `{"items":[{"sku":"SKU-001","quantity":2}],"payment":{"token":"tok_visa"}}`,
	} {
		if order.Fingerprint(parse(other)) == base {
			t.Errorf("%s: same fingerprint", name)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id, intent := order.NewID(), order.NewPaymentIntentID()
		if seen[id] || seen[intent] {
			t.Fatalf("an id repeats: %s %s", id, intent)
		}
		seen[id], seen[intent] = true, true
	}
	id, intent := order.NewID(), order.NewPaymentIntentID()
	p := events.OrderPlaced{
		OrderID: id, CustomerID: customer, Currency: "USD", TotalCents: 4999, PaymentIntentID: intent,
		Items: []events.Item{{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}},
	}
	if _, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Source: events.SourceOrders, OrderID: id, Sequence: 1, Payload: p, Time: time.Now()}); err != nil {
		t.Errorf("ids %s, %s are not valid in an event: %v", id, intent, err)
	}
}

// An error quotes what the client sent to point at it, not whole: a 7,000-character SKU, key,
// nested key or number comes back cut, in the message and in the field's path.
func TestErrorsQuoteLongValuesCut(t *testing.T) {
	long := strings.Repeat("A", 7000)
	if got, want := order.Quote("SKU-001"), `"SKU-001"`; got != want {
		t.Errorf("Quote(SKU-001) = %s, want %s", got, want)
	}
	if got, want := order.Quote(strings.Repeat("é", 65)), `"`+strings.Repeat("é", 64)+`"…`; got != want {
		t.Errorf("Quote(65 × é) = %s, want %s (cut by characters, not bytes)", got, want)
	}
	line := `{"sku":"SKU-001","quantity":1}`
	for name, body := range map[string]string{
		"unknown SKU":                `{"items":[{"sku":"` + long + `","quantity":1}],"payment":{"token":"tok_visa"}}`,
		"unknown field":              `{"items":[` + line + `],"payment":{"token":"tok_visa"},"` + long + `":1}`,
		"duplicate key":              `{"items":[` + line + `],"payment":{"token":"tok_visa"},"` + long + `":1,"` + long + `":2}`,
		"duplicate key under long":   `{"items":[` + line + `],"payment":{"token":"tok_visa"},"` + long + `":{"a":1,"a":2}}`,
		"a 7,000-digit quantity":     `{"items":[{"sku":"SKU-001","quantity":` + strings.Repeat("9", 7000) + `}],"payment":{"token":"tok_visa"}}`,
		"a 7,000-digit, not integer": `{"items":[{"sku":"SKU-001","quantity":` + strings.Repeat("9", 7000) + `.5}],"payment":{"token":"tok_visa"}}`,
	} {
		_, err := order.ParsePlaceOrder([]byte(body))
		var ie *order.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: %v, want an *order.InputError", name, err)
		}
		if len(ie.Message) > 1000 || len(ie.Field) > 300 {
			t.Errorf("%s: message of %d bytes %.100q…, field of %d %.100q…, want both cut", name, len(ie.Message), ie.Message, len(ie.Field), ie.Field)
		}
	}
}
