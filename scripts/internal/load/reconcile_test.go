package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

const prefix = "arn:aws:states:us-east-1:1:execution:fulfilment:"

func history(types ...string) []journey.Event {
	out := make([]journey.Event, len(types))
	for i, typ := range types {
		out[i] = journey.Event{ID: fmt.Sprintf("e%d", i+1), Type: typ, Sequence: i + 1, Time: at(100 * i)}
	}
	return out
}

var (
	approvedPath = []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"}
	declinedPath = []string{"OrderPlaced", "InventoryReserved", "PaymentDeclined", "InventoryReleased", "OrderCancelled"}
	refusedPath  = []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "PaymentRefunded", "InventoryReleased", "OrderCancelled"}
)

// clean is a run where every rule holds: two orders shipped, one declined, one out of stock,
// one refused by the carrier (charged, then refunded); analytics' totals moved by three orders
// charged (4,497 cents), three cancellations and one refund (1,499 cents).
func clean() Facts {
	order := func(id string, evs []journey.Event, pay *Payment) Order {
		return Order{ID: id, Customer: "load-01", SKU: "SKU-100", Token: "tok_visa", Acknowledged: true, TotalCents: 1499, Events: evs, Payment: pay,
			Claim: &Claim{ExecutionArn: prefix + "x-" + id}}
	}
	refused := order("ORD-5", history(refusedPath...), &Payment{Status: "REFUNDED", PaymentID: "p5", AmountCents: 1499, Attempts: 1})
	refused.SKU = "SKU-451"
	declined := order("ORD-3", history(declinedPath...), &Payment{Status: "DECLINED", PaymentID: "p3", AmountCents: 1499, Attempts: 1})
	declined.Token = "tok_declined"
	return Facts{
		Orders: []Order{
			order("ORD-1", history(approvedPath...), &Payment{Status: "APPROVED", PaymentID: "p1", AmountCents: 1499, Attempts: 1}),
			order("ORD-2", history(approvedPath...), &Payment{Status: "APPROVED", PaymentID: "p2", AmountCents: 1499, Attempts: 1}),
			declined,
			order("ORD-4", history("OrderPlaced", "OrderCancelled"), nil),
			refused,
		},
		UnitsPerOrder: 1, Stock: []Stock{{SKU: "SKU-100", Before: 14, After: 12}, {SKU: "SKU-451", Before: 11, After: 11}},
		DLQs:            []Queue{{Name: "PaymentsDlq"}, {Name: "ProjectorDlq", Before: 0, After: 0}},
		ExecutionPrefix: prefix,
		Sales: &Sales{
			Before: toolkit.Totals{Orders: 10, RevenueCents: 20000, Cancelled: 2, Refunds: 1, RefundedCents: 500},
			After:  toolkit.Totals{Orders: 13, RevenueCents: 24497, Cancelled: 5, Refunds: 2, RefundedCents: 1999},
		},
	}
}

func violated(checks []Check) []string {
	var out []string
	for _, c := range checks {
		if !c.OK() {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestReconcileACleanRun(t *testing.T) {
	checks := reconcile(clean())
	if v := violated(checks); len(v) > 0 {
		t.Fatalf("violations in a clean run: %v", checks)
	}
	if len(checks) != 12 {
		t.Errorf("%d checks, want 12", len(checks))
	}
}

func TestReconcileFindsEachViolation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		breaks func(f *Facts)
		want   []string // the checks that fail
		says   string   // in a violation
	}{
		{"a POST never answered 201", func(f *Facts) { f.NotPlaced = []string{"order #7 after 8 tries: HTTP 503"} },
			[]string{"every order placed"}, "HTTP 503"},
		{"two requests answered with one order", func(f *Facts) { _, f.Shared = unplaced(sharedPlacements) },
			[]string{"every order placed"}, "#2 (key k2) was answered with ORD-1, the order of #1 (key k1)"},
		{"an acknowledged order is not in the event store", func(f *Facts) { f.Orders[0].Events, f.Stock[0].Before = nil, 13 },
			[]string{"no order lost"}, "no OrderPlaced"},
		{"an order whose events could not be read", func(f *Facts) {
			f.Orders[0].Events, f.Orders[0].ReadErr, f.Stock[0].Before = nil, "query the event store: throttled", 13
		}, []string{"no order lost"}, "could not be read: query the event store: throttled"},
		{"an order never ended", func(f *Facts) { f.Orders[0].Events, f.Stock[0].Before = history(approvedPath[:4]...), 13 },
			[]string{"no order lost"}, "never ended"},
		{"an order not ended within the timeout", func(f *Facts) { f.Late = []string{"ORD-2: still PLACED when the wait stopped"} },
			[]string{"no order lost"}, "still PLACED"},
		{"an order both shipped and cancelled", func(f *Facts) { f.Orders[0].Events = history(append(approvedPath, "OrderCancelled")...) },
			[]string{"exactly one terminal state", "charged once"}, "2 terminal events"},
		{"an event after the terminal one", func(f *Facts) {
			f.Orders[2].Events = history("OrderPlaced", "OrderCancelled", "InventoryReleased")
		}, []string{"exactly one terminal state"}, "InventoryReleased after OrderCancelled"},
		{"a gap in the sequences", func(f *Facts) { f.Orders[1].Events[2].Sequence = 4 },
			[]string{"exactly one terminal state"}, "event #4 where #3"},
		{"an order no 201 named", func(f *Facts) {
			o := f.Orders[0]
			o.ID, o.Acknowledged, o.Claim = "ORD-9", false, &Claim{ExecutionArn: prefix + "x-9"}
			f.Orders = append(f.Orders, o)
			f.Stock[0].Before++
		}, []string{"no unexpected order"}, "ORD-9"},
		{"shipped without a payment", func(f *Facts) { f.Orders[0].Payment = nil }, []string{"charged once"}, "shipped without a payment"},
		{"shipped but declined", func(f *Facts) { f.Orders[0].Payment.Status = "DECLINED" }, []string{"charged once"}, "payment DECLINED"},
		{"approved without a payment id", func(f *Facts) { f.Orders[0].Payment.PaymentID = "" }, []string{"charged once"}, "without a payment id"},
		{"charged another amount", func(f *Facts) { f.Orders[1].Payment.AmountCents = 2998 }, []string{"charged once"}, "charged 2998 cents"},
		{"cancelled but approved", func(f *Facts) { f.Orders[2].Payment.Status = "APPROVED" }, []string{"charged once", "outcome as chosen"}, "cancelled, payment APPROVED"},
		{"cancelled while a charge is pending", func(f *Facts) { f.Orders[3].Payment = &Payment{Status: "PENDING"} }, []string{"charged once"}, "PENDING"},
		{"stock not conserved", func(f *Facts) { f.Stock[0].After = 11 }, []string{"stock conserved"}, "SKU-100: stock 11, want 12"},
		{"a refused order's stock not released", func(f *Facts) { f.Stock[1].After = 10 }, []string{"stock conserved"}, "SKU-451: stock 10, want 11"},
		{"refunded twice", func(f *Facts) {
			f.Orders[4].Events = history(append(refusedPath[:5:5], "PaymentRefunded", "InventoryReleased", "OrderCancelled")...)
		},
			[]string{"refunded once"}, "2 PaymentRefunded events"},
		{"charged, cancelled, never refunded", func(f *Facts) {
			f.Orders[4].Events = history("OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "InventoryReleased", "OrderCancelled")
			f.Orders[4].Payment.Status = "VOIDED"
		}, []string{"refunded once"}, "0 PaymentRefunded and payment VOIDED"},
		{"refund announced, ledger not refunded", func(f *Facts) { f.Orders[4].Payment.Status = "APPROVED" },
			[]string{"charged once", "refunded once"}, "1 PaymentRefunded and payment APPROVED"},
		{"ledger refunded without its event", func(f *Facts) { f.Orders[2].Payment.Status = "REFUNDED" },
			[]string{"refunded once", "outcome as chosen"}, "ORD-3: payment REFUNDED but no PaymentRefunded"},
		{"shipped and refunded", func(f *Facts) {
			f.Orders[1].Events = history("OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "PaymentRefunded", "OrderShipped")
		}, []string{"refunded once"}, "shipped, yet refunded"},
		{"a declined token shipped", func(f *Facts) {
			f.Orders[0].Token = "tok_declined"
		}, []string{"outcome as chosen"}, "ORD-1: paid with tok_declined, and shipped"},
		{"a declined token charged", func(f *Facts) { f.Orders[2].Payment.Status = "REFUNDED"; f.Orders[2].Events = history(refusedPath...) },
			[]string{"outcome as chosen"}, "ORD-3: paid with tok_declined, and charged"},
		{"the refused SKU shipped", func(f *Facts) {
			f.Orders[4].Events, f.Orders[4].Payment.Status = history(approvedPath...), "APPROVED"
			f.Stock[1].After = 10
		}, []string{"outcome as chosen"}, "ORD-5: SKU-451 shipped"},
		{"a dead letter", func(f *Facts) { f.DLQs[1].After = 2 }, []string{"dead-letter queues empty"}, "ProjectorDlq holds 2"},
		{"an execution left running", func(f *Facts) { f.Running = 1 }, []string{"no execution left running"}, "1 executions"},
		{"an order without a claim", func(f *Facts) { f.Orders[3].Claim = nil }, []string{"one saga per order"}, "ORD-4: no saga claim"},
		{"a claim naming something else", func(f *Facts) { f.Orders[3].Claim.ExecutionArn = "arn:aws:states:us-east-1:1:execution:other:x" },
			[]string{"one saga per order"}, "not an execution of the state machine"},
		// Analytics' totals against the ledger (the cases above change the ledger alone, so
		// they run with the totals unread).
		{"a refund of a charge never counted", func(f *Facts) {
			f.Sales.After.Orders, f.Sales.After.RevenueCents = 12, 22998 // the refunded order's charge left out, its refund not
		}, []string{"sales totals"}, "RevenueCents:2998 "},
		{"an event counted twice", func(f *Facts) { f.Sales.After.Cancelled++ }, []string{"sales totals"}, "Cancelled:4 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := clean()
			if !strings.HasPrefix(tc.want[0], "sales") {
				f.Sales = nil
			}
			tc.breaks(&f)
			checks := reconcile(f)
			if got := violated(checks); !slices.Equal(got, tc.want) {
				t.Fatalf("violated %v, want %v: %+v", got, tc.want, checks)
			}
			var all []string
			for _, c := range checks {
				all = append(all, c.Violations...)
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.says) {
				t.Errorf("violations %q do not say %q", all, tc.says)
			}
		})
	}
}

func TestReconcileNotesWhatIsNoViolation(t *testing.T) {
	f := clean()
	f.Orders[0].Payment.Attempts = 2                     // a redelivered charge request: same payment id
	f.Orders[2].Payment.Status = "VOIDED"                // declined, then closed
	f.Orders[3].Claim.RescuedFrom = prefix + "stalled"   // rescued
	f.DLQs[0].Before = 0                                 // nothing new
	f.Sales.InFlightBefore, f.Sales.After.Orders = 1, 14 // an order of an execution running before the run
	checks := reconcile(f)
	if v := violated(checks); len(v) > 0 {
		t.Fatalf("violations %v: %+v", v, checks)
	}
	var notes []string
	for _, c := range checks {
		notes = append(notes, c.Notes...)
	}
	if len(notes) != 3 || !strings.Contains(notes[0], "2 charge requests") || !strings.Contains(notes[1], "rescued from") ||
		!strings.Contains(notes[2], "moved by {Orders:4") {
		t.Errorf("notes %q, want the redelivered charge, the rescue and how the totals moved", notes)
	}
	if sales := checks[len(checks)-1]; sales.Checked() || sales.NotChecked != "the orders of 1 execution running before the run move the totals too" {
		t.Errorf("sales check %+v, want it not checked, saying why", sales)
	}
}

// A check that could not be made is not reported as passed: not "ok" in its row, not "all
// checks passed" in the title, and named in the JSON; the run still has no violation (exit 0).
func TestReportsSayACheckNotMadeWasNotChecked(t *testing.T) {
	for name, f := range map[string]Facts{
		"in flight before": func() Facts {
			f := clean()
			f.Sales.InFlightBefore, f.Sales.After.Orders = 1, 14
			return f
		}(),
		"not read": func() Facts {
			f := clean()
			f.Sales, f.SalesUnread = nil, "after the run: AccessDenied"
			return f
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			r := &Report{Orders: len(f.Orders), Concurrency: 1}
			r.judge(f)
			if r.Violations() != 0 || !slices.Equal(r.NotChecked(), []string{"sales totals"}) {
				t.Fatalf("%d violations, not checked %q; want 0 and the sales totals", r.Violations(), r.NotChecked())
			}
			var md, js bytes.Buffer
			if err := r.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(md.String(), "all checks passed") || !strings.Contains(md.String(), "no violation, but 1 check not made (sales totals)") ||
				strings.Contains(md.String(), "| sales totals | ok |") || !strings.Contains(md.String(), "| sales totals | not checked: ") {
				t.Errorf("the Markdown calls the check passed:\n%s", md.String())
			}
			var got struct {
				Violations int
				NotChecked []string
				Checks     []Check
			}
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if sales := got.Checks[len(got.Checks)-1]; got.Violations != 0 || !slices.Equal(got.NotChecked, []string{"sales totals"}) || sales.Checked() {
				t.Errorf("JSON: %d violations, not checked %q, sales check %+v", got.Violations, got.NotChecked, sales)
			}
		})
	}
}

// With executions of an earlier run in flight, the summary line does not pass the totals they
// moved off as the run's, nor claims to know those executions made the difference: they may be
// in it, and the run's own orders should account for the rest.
func TestSalesLineSaysWhatTheRunAccountsFor(t *testing.T) {
	f := clean()
	f.Sales.InFlightBefore, f.Sales.After.Orders = 1, f.Sales.After.Orders+1
	r := &Report{Orders: len(f.Orders), Concurrency: 1}
	r.judge(f)
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("That may include the orders of the 1 execution running before the run; this run's orders should account for %d orders charged", r.Sales.Want.Orders)
	if !strings.Contains(md.String(), want) || strings.Contains(md.String(), "That counts") {
		t.Errorf("the Markdown lacks %q:\n%s", want, md.String())
	}
}

// sharedPlacements are three requests, each with its own key: the second was answered with the
// first one's order, the third with none.
var sharedPlacements = []Placement{{Index: 1, Key: "k1", OrderID: "ORD-1"}, {Index: 2, Key: "k2", OrderID: "ORD-1"}, {Index: 3, Key: "k3", Tries: 8, Err: "HTTP 503"}}

func TestUnplaced(t *testing.T) {
	notPlaced, shared := unplaced(sharedPlacements)
	if len(notPlaced) != 1 || !strings.Contains(notPlaced[0], "#3") || len(shared) != 1 || !strings.Contains(shared[0], "#2") {
		t.Errorf("not placed %q, shared %q", notPlaced, shared)
	}
	if notPlaced, shared := unplaced(sharedPlacements[:1]); len(notPlaced)+len(shared) != 0 {
		t.Errorf("one request, one order: not placed %q, shared %q", notPlaced, shared)
	}
}

func TestOutcome(t *testing.T) {
	for _, tc := range []struct {
		types []string
		want  string
	}{
		{approvedPath, "SHIPPED"},
		{declinedPath, "CANCELLED"},
		{[]string{"OrderPlaced"}, ""},
		{nil, ""},
	} {
		if got := Outcome(history(tc.types...)); got != tc.want {
			t.Errorf("Outcome(%v) = %q, want %q", tc.types, got, tc.want)
		}
	}
}

// waitSales reads until analytics has caught up with the run, and gives the last read when it
// never does.
func TestWaitSales(t *testing.T) {
	before := toolkit.Totals{Orders: 1}
	want := toolkit.Totals{Orders: 2, RevenueCents: 100}
	type result struct {
		t   toolkit.Totals
		err error
	}
	script := []result{{t: before}, {t: toolkit.Totals{Orders: 2, RevenueCents: 50}}, {err: errors.New("throttled")}, // a failed read is read again
		{t: toolkit.Totals{Orders: 3, RevenueCents: 100}}, {t: toolkit.Totals{Orders: 3, RevenueCents: 100, Cancelled: 1}}}
	n := 0
	read := func(context.Context) (toolkit.Totals, error) {
		r := script[min(n, len(script)-1)]
		n++
		return r.t, r.err
	}
	got, err := waitSales(context.Background(), read, before, want, time.Millisecond)
	if err != nil || got != script[3].t || n != 4 {
		t.Errorf("waitSales = %+v, %v after %d reads; want %+v after 4", got, err, n, script[3].t)
	}

	n = 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if got, err := waitSales(ctx, read, before, toolkit.Totals{Orders: 9}, time.Millisecond); err != nil || got != script[4].t {
		t.Errorf("never caught up: %+v, %v; want the last read %+v", got, err, script[4].t)
	}
	if _, err := waitSales(ctx, func(context.Context) (toolkit.Totals, error) { return toolkit.Totals{}, errors.New("no table") }, before, want, time.Millisecond); err == nil {
		t.Error("no read succeeded, and no error")
	}
}

// quietSales waits until analytics stops counting what came before the run.
func TestQuietSales(t *testing.T) {
	type result struct {
		t   toolkit.Totals
		err error
	}
	script := []result{{t: toolkit.Totals{Orders: 1}}, {err: errors.New("throttled")}, {t: toolkit.Totals{Orders: 2}}, {t: toolkit.Totals{Orders: 2}}, {t: toolkit.Totals{Orders: 3}}}
	n := 0
	read := func(context.Context) (toolkit.Totals, error) {
		r := script[min(n, len(script)-1)]
		n++
		return r.t, r.err
	}
	if got, err := quietSales(context.Background(), read, time.Millisecond); err != nil || got != script[3].t || n != 4 {
		t.Errorf("quietSales = %+v, %v after %d reads; want %+v after 4 (two agreeing reads)", got, err, n, script[3].t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := quietSales(ctx, func(context.Context) (toolkit.Totals, error) { return toolkit.Totals{}, errors.New("no table") }, time.Millisecond); err == nil {
		t.Error("no read succeeded, and no error")
	}
}
