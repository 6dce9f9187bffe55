package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
)

// placedBy is an OrderPlaced of customer, placed at `at`.
func placedBy(t *testing.T, id, customer string, at time.Time) events.Envelope {
	t.Helper()
	p := events.OrderPlaced{
		OrderID: id, CustomerID: customer, Currency: "USD", TotalCents: 4999, PaymentIntentID: fixture.IntentID(id, "tok_visa"),
		Items: []events.Item{{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 1, UnitPriceCents: 4999}},
	}
	e, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Source: events.SourceOrders, OrderID: id, Sequence: 1, Payload: p, Time: at})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGetOrder(t *testing.T) {
	id := fixture.OrderID(7)
	placedEv := fixture.Placed(t, id, "tok_declined")
	history := []events.Envelope{
		placedEv,
		fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypePaymentDeclined, id, 3, events.PaymentDeclined{OrderID: id, PaymentID: "0b7e3f52-94c1-4d6a-8e25-3c9f1a6d7b40", Reason: "card-declined"}),
		fixture.Event(t, events.TypeInventoryReleased, id, 4, events.InventoryReleased{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}, Reason: "payment-declined"}),
		fixture.Event(t, events.TypeOrderCancelled, id, 5, events.OrderCancelled{OrderID: id, Reason: events.ReasonPaymentDeclined}),
	}
	owner := fixture.Customer
	// Two different facts at sequence 2: a history that does not fold (order.ErrConflict).
	conflicting := []events.Envelope{placedEv, history[1],
		fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 2}}})}
	// The same, its OrderPlaced written in version 1 (it carried the payment token then).
	legacy, err := events.New(events.Spec{Type: events.TypeOrderPlaced, Version: 1, OrderID: id, Sequence: 1, Time: fixture.Now,
		Payload: events.OrderPlacedV1{OrderID: id, CustomerID: owner, Items: []events.ItemV1{{SKU: "SKU-001", Quantity: 1, UnitPriceCents: 4999}}, TotalCents: 4999, PaymentToken: "tok_visa"}})
	if err != nil {
		t.Fatal(err)
	}
	legacyConflicting := append([]events.Envelope{legacy}, conflicting[1:]...)
	tests := []struct {
		name       string
		customer   string
		id         string
		stored     []events.Envelope
		storeErr   error
		unreadable int // the sequence of a stored event that does not read
		wantCode   int
		wantStatus order.Status
		wantEvents int
	}{
		{name: "cancelled order, history shuffled and duplicated", customer: owner, id: id, stored: fixture.TwiceShuffled(1, history), wantCode: 200, wantStatus: order.StatusCancelled, wantEvents: 5},
		{name: "only placed so far", customer: owner, id: id, stored: history[:1], wantCode: 200, wantStatus: order.StatusPlaced, wantEvents: 1},
		{name: "gap: later events wait", customer: owner, id: id, stored: []events.Envelope{history[0], history[2]}, wantCode: 200, wantStatus: order.StatusPlaced, wantEvents: 1},
		{name: "another customer's order: as unknown", customer: bob, id: id, stored: history, wantCode: 404},
		{name: "unknown order", customer: owner, id: fixture.OrderID(8), wantCode: 404},
		{name: "OrderPlaced not projected yet", customer: owner, id: id, stored: history[1:2], wantCode: 404},
		{name: "malformed id", customer: owner, id: "nope", wantCode: 400},
		{name: "malformed id, 5,000 characters: quoted cut", customer: owner, id: strings.Repeat("x", 5000), wantCode: 400},
		{name: "store fails", customer: owner, id: id, storeErr: errors.New("throttled"), wantCode: 500},
		{name: "a history that does not fold: its owner is told", customer: owner, id: id, stored: conflicting, wantCode: 500},
		{name: "a history that does not fold, of another customer's order: as unknown", customer: bob, id: id, stored: conflicting, wantCode: 404},
		{name: "a history that does not fold, placed in an old version: its owner is told", customer: owner, id: id, stored: legacyConflicting, wantCode: 500},
		{name: "a history that does not fold, placed in an old version, of another customer's order: as unknown", customer: bob, id: id, stored: legacyConflicting, wantCode: 404},
		{name: "an event that does not read: its owner is told", customer: owner, id: id, stored: history, unreadable: 3, wantCode: 500},
		{name: "an event that does not read, of another customer's order: as unknown", customer: bob, id: id, stored: history, unreadable: 3, wantCode: 404},
		{name: "an OrderPlaced that does not read: whose it is cannot be told", customer: owner, id: id, stored: history, unreadable: 1, wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.events.events[id] = tc.stored
			f.events.err = tc.storeErr
			if tc.unreadable != 0 {
				f.events.unreadable = map[string]int{id: tc.unreadable}
			}
			resp := f.do(t, getOrder(tc.customer, tc.id))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status = %d, want %d (body %s)", resp.StatusCode, tc.wantCode, resp.Body)
			}
			switch tc.wantCode {
			case 200:
				got := decode[order.Order](t, resp)
				if got.OrderID != id || got.Status != tc.wantStatus || len(got.Events) != tc.wantEvents || got.TotalCents != 4999 || got.CustomerID != owner {
					t.Errorf("order = %+v", got)
				}
				if tc.wantStatus == order.StatusCancelled && got.Reason != events.ReasonPaymentDeclined {
					t.Errorf("reason = %q", got.Reason)
				}
				if resp.Headers["Cache-Control"] != "no-store" {
					t.Errorf("headers = %v", resp.Headers)
				}
			case 400:
				if got := decode[errorBody](t, resp); got.Field != "orderId" || len(got.Error) > 120 || !strings.HasPrefix(got.Error, order.Quote(tc.id)) {
					t.Errorf("error = %+v, want the id quoted (cut after 64 characters)", got)
				}
			case 404:
				// The same answer for someone else's order as for no order at all.
				if got := decode[errorBody](t, resp); got.Error != fmt.Sprintf("order %s not found", tc.id) {
					t.Errorf("error = %q", got.Error)
				}
				// Not yet projected is a 404 that becomes a 200: no cache may keep it.
				if resp.Headers["Cache-Control"] != "no-store" {
					t.Errorf("headers = %v", resp.Headers)
				}
			}
		})
	}
}

func TestListOrders(t *testing.T) {
	f := newFixture()
	t0 := fixture.Now
	var aliceIDs []string // newest first
	for i := 11; i >= 0; i-- {
		id := fixture.OrderID(100 + i)
		f.events.events[id] = []events.Envelope{placedBy(t, id, alice, t0.Add(time.Duration(i)*time.Minute))}
		aliceIDs = append(aliceIDs, id)
	}
	shipped := aliceIDs[0]
	f.events.events[shipped] = append(f.events.events[shipped],
		fixture.Event(t, events.TypeInventoryReserved, shipped, 2, events.InventoryReserved{OrderID: shipped, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypeOrderCancelled, shipped, 3, events.OrderCancelled{OrderID: shipped, Reason: events.ReasonOutOfStock}))
	bobs := fixture.OrderID(500)
	f.events.events[bobs] = []events.Envelope{placedBy(t, bobs, bob, t0.Add(time.Hour))}

	list := func(customer string, query map[string]string) (int, orderPage) {
		req := request(routeList, customer, "")
		req.QueryStringParameters = query
		resp := f.do(t, req)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, orderPage{}
		}
		if resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("headers = %v", resp.Headers)
		}
		return resp.StatusCode, decode[orderPage](t, resp)
	}

	// Page through alice's orders, 5 at a time.
	var got []string
	cursor := ""
	for pages := 1; ; pages++ {
		q := map[string]string{"limit": "5"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		code, page := list(alice, q)
		if code != 200 {
			t.Fatalf("page %d: status %d", pages, code)
		}
		for _, o := range page.Orders {
			got = append(got, o.OrderID)
			if o.OrderID == shipped && (o.Status != order.StatusCancelled || o.Reason != events.ReasonOutOfStock) {
				t.Errorf("summary of %s = %+v", shipped, o)
			}
			if o.TotalCents != 4999 || o.Currency != "USD" || len(o.Items) != 1 || o.PlacedAt.IsZero() {
				t.Errorf("summary = %+v", o)
			}
		}
		if page.NextCursor == "" {
			if pages != 3 {
				t.Errorf("%d pages, want 3", pages)
			}
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(aliceIDs) {
		t.Errorf("alice's orders = %v\nwant newest first %v", got, aliceIDs)
	}

	if code, page := list(bob, nil); code != 200 || len(page.Orders) != 1 || page.Orders[0].OrderID != bobs || page.NextCursor != "" {
		t.Errorf("bob's orders: %d %+v", code, page)
	}
	if code, page := list(alice, nil); code != 200 || len(page.Orders) != 12 {
		t.Errorf("default page: %d, %d orders", code, len(page.Orders))
	}
	if code, page := list("7d1f0c6a-0000-4000-8000-000000000000", nil); code != 200 || page.Orders == nil || len(page.Orders) != 0 {
		t.Errorf("a customer with no orders: %d %+v, want an empty list", code, page)
	}

	for _, q := range []map[string]string{
		{"limit": "0"}, {"limit": "51"}, {"limit": "ten"}, {"limit": "+5"}, {"limit": "05"}, {"limit": "-0"}, {"limit": ""},
		{"cursor": "not-base64!"}, {"cursor": "e30"}, // {} : no order in it
	} {
		req := request(routeList, alice, "")
		req.QueryStringParameters = q
		if resp := f.do(t, req); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("query %v: status %d, want 400", q, resp.StatusCode)
		}
	}
	f.events.err = errors.New("throttled")
	if code, _ := list(alice, map[string]string{"limit": strconv.Itoa(maxPageSize)}); code != http.StatusInternalServerError {
		t.Errorf("store fails: %d, want 500", code)
	}
}

// One order whose history does not fold does not take the caller's list down: it is named under
// unavailable, in its place, and the others are listed. One whose events name another customer
// than the index does is shown to neither.
func TestListOrdersAroundABrokenOne(t *testing.T) {
	f := newFixture()
	t0 := fixture.Now
	good, broken, disputed := fixture.OrderID(201), fixture.OrderID(202), fixture.OrderID(203)
	f.events.events[good] = []events.Envelope{placedBy(t, good, alice, t0)}
	placed := placedBy(t, broken, alice, t0.Add(time.Minute))
	f.events.events[broken] = []events.Envelope{placed, // two different facts at sequence 2: order.ErrConflict
		fixture.Event(t, events.TypeInventoryReserved, broken, 2, events.InventoryReserved{OrderID: broken, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypeInventoryReserved, broken, 2, events.InventoryReserved{OrderID: broken, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 2}}})}
	// Two OrderPlaced at sequence 1, alice's and bob's: the index lists it for both.
	f.events.events[disputed] = []events.Envelope{placedBy(t, disputed, alice, t0.Add(2*time.Minute)), placedBy(t, disputed, bob, t0.Add(2*time.Minute))}
	// Events that no longer read (written by a newer version, say): a later one, and an OrderPlaced.
	laterUnread, placedUnread := fixture.OrderID(204), fixture.OrderID(205)
	placedAt := map[string]time.Time{broken: t0.Add(time.Minute), laterUnread: t0.Add(3 * time.Minute), placedUnread: t0.Add(4 * time.Minute)}
	f.events.events[laterUnread] = []events.Envelope{placedBy(t, laterUnread, alice, placedAt[laterUnread]),
		fixture.Event(t, events.TypeInventoryReserved, laterUnread, 2, events.InventoryReserved{OrderID: laterUnread, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}})}
	f.events.events[placedUnread] = []events.Envelope{placedBy(t, placedUnread, alice, placedAt[placedUnread])}
	f.events.unreadable = map[string]int{laterUnread: 2, placedUnread: 1}

	for _, tc := range []struct {
		customer        string
		wantOrders      []string
		wantUnavailable []string
	}{
		{alice, []string{good}, []string{placedUnread, laterUnread, broken}},
		{bob, []string{}, nil},
	} {
		resp := f.do(t, request(routeList, tc.customer, ""))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d (%s), want 200", tc.customer, resp.StatusCode, resp.Body)
		}
		page := decode[orderPage](t, resp)
		var orders, unavailable []string
		orders = []string{}
		for _, o := range page.Orders {
			orders = append(orders, o.OrderID)
		}
		for _, u := range page.Unavailable {
			unavailable = append(unavailable, u.OrderID)
			if !u.PlacedAt.Equal(placedAt[u.OrderID]) || u.Error == "" {
				t.Errorf("%s: unavailable %+v, want its placedAt %v and a reason", tc.customer, u, placedAt[u.OrderID])
			}
		}
		if !slices.Equal(orders, tc.wantOrders) || !slices.Equal(unavailable, tc.wantUnavailable) {
			t.Errorf("%s: orders %v, unavailable %v; want %v and %v", tc.customer, orders, unavailable, tc.wantOrders, tc.wantUnavailable)
		}
		if strings.Contains(resp.Body, disputed) {
			t.Errorf("%s: the disputed order %s is in the page: %s", tc.customer, disputed, resp.Body)
		}
	}
}
