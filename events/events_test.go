package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/schemas"
)

// Every known type and version has a schema and a sample, every schema and sample belongs to
// a known type and version, and every sample is valid.
func TestEverySampleValidates(t *testing.T) {
	want := map[string]bool{}
	for _, typ := range events.Types() {
		if !typ.Known() || events.LatestVersion(typ) < 1 || events.SourceOf(typ) == "" {
			t.Fatalf("%s is not registered", typ)
		}
		for v := 1; v <= events.LatestVersion(typ); v++ {
			want[fmt.Sprintf("%s.v%d", typ, v)] = true
		}
	}
	samples := events.Samples()
	if len(samples) != len(want) {
		t.Errorf("%d samples, want %d (one per type and version)", len(samples), len(want))
	}
	for key := range want {
		t.Run(key, func(t *testing.T) {
			b, ok := samples[key]
			if !ok {
				t.Fatalf("no events/samples/%s.json", key)
			}
			if _, err := fs.Stat(schemas.FS, key+".schema.json"); err != nil {
				t.Fatalf("no schemas/%s.schema.json: %v", key, err)
			}
			e, err := events.Parse(b)
			if err != nil {
				t.Fatalf("sample %s is invalid: %v", key, err)
			}
			if got := fmt.Sprintf("%s.v%d", e.Type, e.Version); got != key {
				t.Errorf("sample %s holds a %s event", key, got)
			}
		})
	}
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		key := strings.TrimSuffix(f, ".schema.json")
		if key != "envelope" && !want[key] {
			t.Errorf("schema %s belongs to no known type and version", f)
		}
	}
}

// Schema ids are URNs, no web hosts; the file name, $id, title and pinned type/version agree.
func TestSchemaIDs(t *testing.T) {
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^([A-Za-z]+)\.v([0-9]+)\.schema\.json$`)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			doc := loadSchema(t, f)
			id, _ := doc["$id"].(string)
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
			}
			m := name.FindStringSubmatch(f)
			if m == nil {
				if f != "envelope.schema.json" || id != "urn:orderflow:schema:envelope" {
					t.Fatalf("unexpected schema %s with $id %q", f, id)
				}
				return
			}
			if want := "urn:orderflow:schema:" + m[1] + ":v" + m[2]; id != want {
				t.Errorf("$id = %q, want %q", id, want)
			}
			props := doc["properties"].(map[string]any)
			if got := props["type"].(map[string]any)["const"]; got != m[1] {
				t.Errorf("type const = %v, want %s", got, m[1])
			}
			if got := fmt.Sprint(props["version"].(map[string]any)["const"]); got != m[2] {
				t.Errorf("version const = %v, want %s", got, m[2])
			}
			if got := props["source"].(map[string]any)["const"]; got != events.SourceOf(events.Type(m[1])) {
				t.Errorf("source const = %v, want SourceOf = %s", got, events.SourceOf(events.Type(m[1])))
			}
		})
	}
	// Only the $schema dialect URI may name a web host.
	for _, f := range files {
		b, err := schemas.FS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), `"https://json-schema.org/draft/2020-12/schema"`, "")
		if strings.Contains(s, "http://") || strings.Contains(s, "https://") {
			t.Errorf("%s names a web host", f)
		}
	}
}

// Every Go payload value New accepts marshals to an event Parse accepts; variations
// (optional fields absent, each cancellation reason) included.
func TestMarshalledValuesValidate(t *testing.T) {
	cases := []golden{}
	cases = append(cases, goldenEvents()...)
	cases = append(cases,
		goldenOf(events.TypeOrderPlaced, 2, orderA, 1, "", events.OrderPlacedV2{
			OrderID: orderA, CustomerID: "alice@example.org", PaymentToken: "tok_visa", TotalCents: 0,
			Items: []events.Item{{SKU: "SKU-042", Quantity: 100, UnitPriceCents: 0}},
		}, t0),
	)
	for _, reason := range []string{events.ReasonOutOfStock, events.ReasonPaymentDeclined, events.ReasonFulfilmentFailed} {
		cases = append(cases, goldenOf(events.TypeOrderCancelled, 1, orderA, 2, events.ID(orderA, 1), events.OrderCancelled{OrderID: orderA, Reason: reason}, t0))
	}
	for _, g := range cases {
		t.Run(fmt.Sprintf("%s.v%d/seq%d", g.t, g.version, g.seq), func(t *testing.T) {
			e := g.build(t)
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := events.Parse(b); err != nil {
				t.Fatalf("Parse(marshalled): %v", err)
			}
			entry, err := e.Entry("orders")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := events.Parse([]byte(entry.Detail)); err != nil {
				t.Fatalf("Parse(entry.Detail): %v", err)
			}
		})
	}
}

// mutate returns the sample of t/v with f applied to its decoded JSON.
func mutate(t *testing.T, typ events.Type, v int, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(events.Sample(typ, v), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edited is an input: sample typ v with f applied to its JSON object (mutate).
func edited(typ events.Type, v int, f func(m map[string]any)) func(*testing.T) []byte {
	return func(t *testing.T) []byte { return mutate(t, typ, v, f) }
}

func payload(m map[string]any) map[string]any { return m["payload"].(map[string]any) }

func firstItem(m map[string]any) map[string]any {
	return payload(m)["items"].([]any)[0].(map[string]any)
}

func TestParseRejects(t *testing.T) {
	placed, reserved, cancelled := events.TypeOrderPlaced, events.TypeInventoryReserved, events.TypeOrderCancelled
	cases := []struct {
		name     string
		input    func(t *testing.T) []byte
		wantPath string
		wantMsg  string
	}{
		{"missing payload orderId", edited(placed, 2, func(m map[string]any) { delete(payload(m), "orderId") }), "/payload/orderId", "missing property 'orderId'"},
		{"missing envelope orderId", edited(placed, 2, func(m map[string]any) { delete(m, "orderId") }), "/orderId", "missing property 'orderId'"},
		{"wrong type: quantity as string", edited(placed, 2, func(m map[string]any) { firstItem(m)["quantity"] = "2" }), "/payload/items/0/quantity", "got string, want integer"},
		{"wrong type: fractional cents", edited(placed, 2, func(m map[string]any) { payload(m)["totalCents"] = 112.97 }), "/payload/totalCents", "want integer"},
		{"negative quantity", edited(placed, 2, func(m map[string]any) { firstItem(m)["quantity"] = -1 }), "/payload/items/0/quantity", "minimum"},
		{"negative price", edited(placed, 1, func(m map[string]any) { firstItem(m)["unitPriceCents"] = -5 }), "/payload/items/0/unitPriceCents", "minimum"},
		{"no items", edited(reserved, 1, func(m map[string]any) { payload(m)["items"] = []any{} }), "/payload/items", "minItems"},
		{"bad sku", edited(reserved, 1, func(m map[string]any) { firstItem(m)["sku"] = "shoes" }), "/payload/items/0/sku", "does not match pattern"},
		{"unknown type", edited(placed, 2, func(m map[string]any) { m["type"] = "OrderTeleported" }), "/type", `unknown event type "OrderTeleported"`},
		{"missing type", edited(placed, 2, func(m map[string]any) { delete(m, "type") }), "/type", "missing"},
		{"unknown version", edited(placed, 3, func(m map[string]any) { m["version"] = 4 }), "/version", "unknown version 4 of OrderPlaced"},
		{"payment token in a v3 OrderPlaced", edited(placed, 3, func(m map[string]any) { payload(m)["paymentToken"] = "tok_visa" }), "/payload/paymentToken", "not allowed"},
		// The message names the field, not its value: the token of a legacy event is a secret,
		// and this text reaches logs, DLQ reasons and the workflow's history.
		{"legacy payment token that breaks its pattern", edited(placed, 1, func(m map[string]any) { payload(m)["paymentToken"] = "tok_secret.9f3a" }), "/payload/paymentToken", "the value does not match pattern"},
		{"malformed payment intent", edited(placed, 3, func(m map[string]any) { payload(m)["paymentIntentId"] = "tok_visa" }), "/payload/paymentIntentId", "does not match pattern"},
		{"version zero", edited(reserved, 1, func(m map[string]any) { m["version"] = 0 }), "/version", "unknown version 0"},
		{"extra payload property", edited(placed, 2, func(m map[string]any) { payload(m)["discountCents"] = 100 }), "/payload/discountCents", "additional properties 'discountCents' not allowed"},
		{"extra envelope property", edited(reserved, 1, func(m map[string]any) { m["traceId"] = "x" }), "/traceId", "additional properties 'traceId' not allowed"},
		{"v2 field in a v1 event", edited(placed, 1, func(m map[string]any) { payload(m)["currency"] = "USD" }), "/payload/currency", "not allowed"},
		{"wrong source for type", edited(reserved, 1, func(m map[string]any) { m["source"] = events.SourcePayments }), "/source", "orderflow.inventory"},
		{"time not a date-time", edited(reserved, 1, func(m map[string]any) { m["time"] = "yesterday" }), "/time", "date-time"},
		{"OrderPlaced not first", edited(placed, 2, func(m map[string]any) { m["sequence"] = 2 }), "/sequence", "value must be 1"},
		{"follow-up event at sequence 1", edited(reserved, 1, func(m map[string]any) { m["sequence"] = 1 }), "/sequence", "minimum"},
		{"follow-up event without causation", edited(reserved, 1, func(m map[string]any) { delete(m, "causationId") }), "/causationId", "missing property"},
		{"cancellation reason outside the enum", edited(cancelled, 1, func(m map[string]any) { payload(m)["reason"] = "changed-my-mind" }), "/payload/reason", "value must be one of"},
		{"refund with a negative amount", edited(events.TypePaymentRefunded, 1, func(m map[string]any) { payload(m)["amountCents"] = -899 }), "/payload/amountCents", "minimum"},
		{"refund without a reason", edited(events.TypePaymentRefunded, 1, func(m map[string]any) { delete(payload(m), "reason") }), "/payload/reason", "missing property 'reason'"},
		{"refund from the wrong source", edited(events.TypePaymentRefunded, 1, func(m map[string]any) { m["source"] = events.SourceFulfilment }), "/source", "orderflow.payments"},
		{"payload orderId differs", edited(reserved, 1, func(m map[string]any) { payload(m)["orderId"] = orderB }), "/payload/orderId", "differs from the envelope's orderId"},
		{"id not deterministic", edited(reserved, 1, func(m map[string]any) { m["id"] = uuid.NewString() }), "/id", "not the deterministic id"},
		{"OrderPlaced not its own correlation", edited(placed, 2, func(m map[string]any) { m["correlationId"] = events.ID(orderB, 1) }), "/correlationId", "its own correlation"},
		{"not JSON", func(*testing.T) []byte { return []byte(`{"type":`) }, "", "not JSON"},
		{"not an object", func(*testing.T) []byte { return []byte(`[1,2]`) }, "", "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.Parse(tc.input(t))
			var ve *events.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v (%T), want *events.ValidationError", err, err)
			}
			found := false
			for _, p := range ve.Problems {
				found = found || (p.Path == tc.wantPath && strings.Contains(p.Message, tc.wantMsg))
			}
			if !found {
				t.Errorf("problems %+v\nwant one at %q containing %q", ve.Problems, tc.wantPath, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), tc.wantPath) {
				t.Errorf("Error() = %q does not name %q", err, tc.wantPath)
			}
			if strings.Contains(err.Error(), "tok_secret") {
				t.Errorf("Error() = %q quotes the payment token", err)
			}
		})
	}
}

func TestNewRejectsInvalidPayload(t *testing.T) {
	cases := []struct {
		name    string
		payload any
		source  string
		want    string
	}{
		{"zero quantity", events.InventoryReserved{OrderID: orderA, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 0}}}, events.SourceInventory, "/payload/items/0/quantity"},
		{"nil items", events.InventoryReserved{OrderID: orderA}, events.SourceInventory, "/payload/items"},
		{"wrong payload struct", events.OrderCancelled{OrderID: orderA, Reason: events.ReasonOutOfStock}, events.SourceInventory, "/payload"},
		{"wrong source", events.InventoryReserved{OrderID: orderA, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}, events.SourceOrders, "/source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := events.New(events.Spec{Type: events.TypeInventoryReserved, Version: 1, Source: tc.source, OrderID: orderA, Sequence: 2, CorrelationID: events.ID(orderA, 1), CausationID: events.ID(orderA, 1), Payload: tc.payload, Time: t0})
			var ve *events.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("New error = %v, want *events.ValidationError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
	if _, err := events.New(events.Spec{Type: events.TypeOrderShipped, Version: 1, Source: events.SourceShipping, OrderID: orderA, Sequence: 5, CorrelationID: events.ID(orderA, 1), CausationID: events.ID(orderA, 4), Payload: make(chan int), Time: t0}); err == nil {
		t.Error("New with an unmarshallable payload succeeded")
	}
}

func TestNewSetsEnvelope(t *testing.T) {
	now := time.Date(2026, 3, 14, 11, 26, 53, 589_999_999, time.FixedZone("CET", 3600))
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 2, Source: events.SourceOrders, OrderID: orderA, Sequence: 1, Payload: json.RawMessage(events.Sample(events.TypeOrderPlaced, 2)[0:0]), Time: now})
	if err == nil {
		t.Fatalf("New with an empty raw payload succeeded: %+v", e)
	}
	p := events.OrderCancelled{OrderID: orderA, Reason: events.ReasonOutOfStock}
	e, err = events.New(events.Spec{Type: events.TypeOrderCancelled, Version: 1, Source: events.SourceFulfilment, OrderID: orderA, Sequence: 2, CorrelationID: events.ID(orderA, 1), CausationID: events.ID(orderA, 1), Payload: p, Time: now})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != events.ID(orderA, 2) || e.Sequence != 2 || e.CorrelationID != events.ID(orderA, 1) || e.CausationID != events.ID(orderA, 1) {
		t.Errorf("ids: %+v", e)
	}
	if want := time.Date(2026, 3, 14, 10, 26, 53, 589_000_000, time.UTC); !e.Time.Equal(want) || e.Time.Location() != time.UTC {
		t.Errorf("Time = %v, want %v (UTC, ms)", e.Time, want)
	}
	if string(e.Payload) != `{"orderId":"`+orderA+`","reason":"out-of-stock"}` {
		t.Errorf("Payload = %s", e.Payload)
	}
}

func TestID(t *testing.T) {
	// Pinned: ids are stored, so the namespace and the name format must never change.
	if got, want := events.ID(orderA, 1), "997fa3dc-9879-58dd-81c1-9135c3aab2d0"; got != want {
		t.Errorf("ID(orderA, 1) = %s, want %s", got, want)
	}
	seen := map[string]bool{}
	for _, o := range []string{orderA, orderB} {
		for seq := 1; seq <= 20; seq++ {
			id := events.ID(o, seq)
			if id != events.ID(o, seq) {
				t.Fatal("ID is not deterministic")
			}
			u, err := uuid.Parse(id)
			if err != nil || u.Version() != 5 {
				t.Errorf("ID(%s, %d) = %s is not a UUID v5", o, seq, id)
			}
			if seen[id] {
				t.Errorf("ID(%s, %d) = %s collides", o, seq, id)
			}
			seen[id] = true
		}
	}
	// "ORD-1" + "1" must not equal "ORD-11" + "": the separator keeps names apart.
	if events.ID("ORD-1", 11) == events.ID("ORD-11", 1) {
		t.Error("ID does not separate orderId and sequence")
	}
}

func eventBridge(t *testing.T, detailType, source string, detail []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "0d7e3bc1-8e3a-4c5b-b8b0-7e2f1f9c3a11", "detail-type": detailType, "source": source,
		"account": "000000000000", "time": "2026-03-14T09:26:53Z", "region": "us-east-1", "resources": []string{},
		"detail": json.RawMessage(detail),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromEventBridge(t *testing.T) {
	sample := events.Sample(events.TypeOrderShipped, 1)
	badDetail := mutate(t, events.TypeOrderShipped, 1, func(m map[string]any) { payload(m)["carrier"] = "" })
	cases := []struct {
		name     string
		raw      []byte
		wantPath string // "" = valid
	}{
		{"valid", eventBridge(t, "OrderShipped", events.SourceShipping, sample), ""},
		{"detail-type differs", eventBridge(t, "OrderPlaced", events.SourceShipping, sample), "/detail-type"},
		{"source differs", eventBridge(t, "OrderShipped", events.SourceOrders, sample), "/source"},
		{"invalid detail", eventBridge(t, "OrderShipped", events.SourceShipping, badDetail), "/detail/payload/carrier"},
		{"no detail", []byte(`{"detail-type":"OrderShipped","source":"orderflow.shipping"}`), "/detail"},
		{"not JSON", []byte(`nope`), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := events.FromEventBridge(tc.raw)
			if tc.name == "valid" {
				if err != nil {
					t.Fatalf("FromEventBridge: %v", err)
				}
				if e.Type != events.TypeOrderShipped || e.OrderID != orderA {
					t.Errorf("got %+v", e)
				}
				return
			}
			var ve *events.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *events.ValidationError", err)
			}
			if ve.Problems[0].Path != tc.wantPath {
				t.Errorf("path = %q, want %q (%v)", ve.Problems[0].Path, tc.wantPath, err)
			}
		})
	}
}

func TestUpcast(t *testing.T) {
	cases := []struct {
		version int
		want    events.OrderPlacedV3
	}{
		{1, events.OrderPlacedV3{ // v1 -> v2 -> v3: currency USD, the token dropped
			OrderID: orderB, CustomerID: "cust-2002", TotalCents: 3499, Currency: "USD",
			Items: []events.Item{{SKU: "SKU-003", Quantity: 1, UnitPriceCents: 3499}},
		}},
		{2, events.OrderPlacedV3{ // v2 -> v3: the token dropped, names kept
			OrderID: orderC, CustomerID: "cust-3003", TotalCents: 899, Currency: "USD",
			Items: []events.Item{{SKU: "SKU-451", Name: "Camping gas canister", Quantity: 1, UnitPriceCents: 899}},
		}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("v%d", tc.version), func(t *testing.T) {
			sample := events.Sample(events.TypeOrderPlaced, tc.version)
			old, err := events.Parse(sample)
			if err != nil {
				t.Fatal(err)
			}
			up, err := old.Upcast()
			if err != nil {
				t.Fatalf("Upcast: %v", err)
			}
			if up.Version != 3 || up.ID != old.ID || up.Sequence != 1 || !up.Time.Equal(old.Time) || up.CorrelationID != old.CorrelationID {
				t.Errorf("upcast envelope = %+v", up)
			}
			got, err := events.DecodePayload[events.OrderPlaced](up)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Errorf("upcast payload = %+v\nwant %+v", got, tc.want)
			}
			b, err := json.Marshal(up)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := events.Parse(b); err != nil {
				t.Errorf("upcast event is not a valid v3: %v", err)
			}
			if strings.Contains(string(b), "tok_") {
				t.Errorf("upcast event still carries the payment token: %s", b)
			}
			if token, ok := events.LegacyPaymentToken(old); !ok || !strings.HasPrefix(token, "tok_") {
				t.Errorf("LegacyPaymentToken(v%d) = %q, %v; want the token the event carried", tc.version, token, ok)
			}
			if _, ok := events.LegacyPaymentToken(up); ok {
				t.Error("LegacyPaymentToken(v3) found a token")
			}
		})
	}

	for key, sample := range events.Samples() {
		if strings.HasPrefix(key, "OrderPlaced.v1") || strings.HasPrefix(key, "OrderPlaced.v2") {
			continue
		}
		e, err := events.Parse(sample)
		if err != nil {
			t.Fatal(err)
		}
		same, err := e.Upcast()
		if err != nil || fmt.Sprint(same) != fmt.Sprint(e) {
			t.Errorf("Upcast(%s) = %v, %v; want it unchanged", key, same, err)
		}
	}

	v1, err := events.Parse(events.Sample(events.TypeOrderPlaced, 1))
	if err != nil {
		t.Fatal(err)
	}
	future := v1
	future.Version = 7
	var ve *events.ValidationError
	if _, err := future.Upcast(); !errors.As(err, &ve) {
		t.Errorf("Upcast of an unknown version: err = %v, want *ValidationError", err)
	}
}

func TestDecodePayloadRejects(t *testing.T) {
	e, err := events.Parse(events.Sample(events.TypeOrderPlaced, 2))
	if err != nil {
		t.Fatal(err)
	}
	var ve *events.ValidationError
	if _, err := events.DecodePayload[events.OrderPlacedV1](e); !errors.As(err, &ve) || !strings.Contains(err.Error(), "name") {
		t.Errorf("decoding v2 into OrderPlacedV1: err = %v, want a *ValidationError naming the unknown field", err)
	}
	if _, err := events.DecodePayload[events.OrderConfirmed](e); !errors.As(err, &ve) {
		t.Errorf("decoding OrderPlaced into OrderConfirmed: err = %v, want *ValidationError", err)
	}
}

func TestEntry(t *testing.T) {
	e, err := events.Parse(events.Sample(events.TypePaymentApproved, 1))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := e.Entry("orders")
	if err != nil {
		t.Fatal(err)
	}
	if entry.Source != events.SourcePayments || entry.DetailType != "PaymentApproved" || entry.EventBusName != "orders" {
		t.Errorf("entry = %+v", entry)
	}
	back, err := events.FromEventBridge(eventBridge(t, entry.DetailType, entry.Source, []byte(entry.Detail)))
	if err != nil || back.ID != e.ID {
		t.Errorf("entry does not round-trip through an EventBridge event: %v", err)
	}
	b, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]string
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Source", "DetailType", "Detail", "EventBusName"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("entry JSON %s lacks %q (the PutEvents field name)", b, k)
		}
	}
}

// The schemas compile once, lazily; concurrent first use is safe (run with -race).
func TestConcurrentParse(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range events.Samples() {
				if _, err := events.Parse(b); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSampleUnknown(t *testing.T) {
	if b := events.Sample(events.TypeOrderPlaced, 9); b != nil {
		t.Errorf("Sample(OrderPlaced, 9) = %s, want nil", b)
	}
	if events.Type("Nope").Known() || events.LatestVersion("Nope") != 0 || events.SourceOf("Nope") != "" {
		t.Error("an unknown type is registered")
	}
}

// TestRegistryIsConsistent: the registry's flags agree with each other, as every place that
// derives from them (the bus rules, the SMS filter, the fold, the notifier, the trace) assumes.
func TestRegistryIsConsistent(t *testing.T) {
	reg := events.Registry()
	if len(reg) == 0 || reg[0].Type != events.TypeOrderPlaced || reg[0].Status != events.StatusPlaced {
		t.Fatalf("the registry must start with OrderPlaced, which sets PLACED: %+v", reg)
	}
	seen := map[events.Type]bool{}
	ends := 0
	for _, info := range reg {
		if seen[info.Type] {
			t.Errorf("%s registered twice", info.Type)
		}
		seen[info.Type] = true
		if got, ok := events.Lookup(info.Type); !ok || got != info {
			t.Errorf("Lookup(%s) = %+v, %v; want its entry", info.Type, got, ok)
		}
		if info.SMS && !info.CustomerFacing {
			t.Errorf("%s is sent by SMS but is not customer-facing", info.Type)
		}
		if info.EndsOrder {
			ends++
			if info.Status == "" || !events.FinalStatus(info.Status) || !events.EndsOrder(info.Type) {
				t.Errorf("%s ends an order but sets no final status (%q)", info.Type, info.Status)
			}
		} else if events.FinalStatus(info.Status) {
			t.Errorf("%s does not end an order but sets the final status %s", info.Type, info.Status)
		}
		if !slices.Contains(events.Sources(), info.Source()) {
			t.Errorf("%s's source %s is not among Sources() %v", info.Type, info.Source(), events.Sources())
		}
	}
	if ends == 0 || len(events.SMSTypes()) == 0 || len(events.CustomerFacing()) == 0 {
		t.Errorf("the registry names %d ending types, %d SMS types, %d customer-facing ones; want some of each", ends, len(events.SMSTypes()), len(events.CustomerFacing()))
	}
	if events.FinalStatus(events.StatusPlaced) || events.FinalStatus("") || events.EndsOrder("Nope") {
		t.Error("PLACED, an empty status or an unknown type must not be final")
	}
}

// Every event after an order's first is correlated by its OrderPlaced and caused by the event
// before it, as the workflow writes them: one that says otherwise is refused, on publish and
// on receipt, at the id it gets wrong.
func TestCorrelationAndCausationAreTheOrders(t *testing.T) {
	payload := events.InventoryReserved{OrderID: orderA, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}
	spec := func(correlation, causation string) events.Spec {
		return events.Spec{Type: events.TypeInventoryReserved, Version: 1, OrderID: orderA, Sequence: 2,
			CorrelationID: correlation, CausationID: causation, Payload: payload, Time: t0}
	}
	good, err := events.New(spec(events.ID(orderA, 1), events.ID(orderA, 1)))
	if err != nil {
		t.Fatal(err)
	}
	other := "ORD-" + uuid.NewString()
	for name, tc := range map[string]struct {
		spec events.Spec
		path string
	}{
		"another order's correlation": {spec(events.ID(other, 1), events.ID(orderA, 1)), "/correlationId"},
		"caused by itself":            {spec(events.ID(orderA, 1), events.ID(orderA, 2)), "/causationId"},
		"caused by another order":     {spec(events.ID(orderA, 1), events.ID(other, 1)), "/causationId"},
	} {
		_, err := events.New(tc.spec)
		var ve *events.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != tc.path {
			t.Errorf("%s: New: %v, want it refused at %s", name, err, tc.path)
		}
		// The same, received: the good event's JSON with the id changed.
		b, _ := json.Marshal(good)
		wrong := strings.Replace(string(b), `"correlationId":"`+good.CorrelationID+`"`, `"correlationId":"`+tc.spec.CorrelationID+`"`, 1)
		wrong = strings.Replace(wrong, `"causationId":"`+good.CausationID+`"`, `"causationId":"`+tc.spec.CausationID+`"`, 1)
		if _, err := events.Parse([]byte(wrong)); !errors.As(err, &ve) || ve.Problems[0].Path != tc.path {
			t.Errorf("%s: Parse: %v, want it refused at %s", name, err, tc.path)
		}
	}
}
