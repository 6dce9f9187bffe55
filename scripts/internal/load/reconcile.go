package load

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// Order is what the run knows of one order once it has ended, from the client and from the
// services' own stores: the facts reconciliation checks.
type Order struct {
	ID           string
	Customer     string
	SKU          string // what it bought (one unit, UnitsPerOrder), as placed or as listed
	Token        string // the payment token it was placed with ("": listed only, not known)
	Acknowledged bool   // a 201 named it; false: found in the customer's list only
	TotalCents   int64  // as the API priced it
	Events       []journey.Event
	ReadErr      string   // why its events and journey could not be read ("": read)
	Payment      *Payment // payments table item; nil: none
	Claim        *Claim   // sagas table item; nil: none
}

// Payment is an order's item in the payments table.
type Payment struct {
	Status      string `dynamodbav:"status"` // APPROVED, DECLINED, REFUNDED, VOIDED, PENDING
	PaymentID   string `dynamodbav:"paymentId"`
	AmountCents int64  `dynamodbav:"amountCents"`
	Attempts    int    `dynamodbav:"attempts"` // charge requests the payment function made under the one payment id
}

// Claim is an order's item in the sagas table: the execution that holds its saga.
type Claim = journey.Claim

// Queue is one dead-letter queue's depth (visible, in flight and delayed messages).
type Queue struct {
	Name   string `json:"name"`
	Before int    `json:"before"` // when the run started
	After  int    `json:"after"`  // once every order had ended
}

// Stock is one SKU's stock around the run.
type Stock struct {
	SKU    string `json:"sku"`
	Before int    `json:"before"` // set just before the run
	After  int    `json:"after"`  // once every execution had ended
}

// Facts is everything reconciliation looks at.
type Facts struct {
	Orders          []Order
	NotPlaced       []string // orders the client could not place (the last answer of each, after retries)
	Shared          []string // requests (each its own Idempotency-Key) answered with another request's order
	Late            []string // orders not seen ended when the wait for them timed out
	UnitsPerOrder   int
	Stock           []Stock // every SKU the run's orders bought
	DLQs            []Queue
	Running         int    // executions of the state machine still RUNNING
	ExecutionPrefix string // ARN prefix of the state machine's executions
	Sales           *Sales // analytics' totals around the run; nil: not read
	SalesUnread     string // why Sales is nil, for the check it leaves not made ("": not said)
}

// Check is one reconciliation rule and what broke it.
type Check struct {
	Name       string   `json:"name"`
	Rule       string   `json:"rule"`
	Violations []string `json:"violations"`
	Notes      []string `json:"notes,omitempty"` // worth knowing, not a violation
	// NotChecked says why the rule could not be checked ("": it was). A check not made broke
	// nothing, so it fails no run, but it passed nothing either: the reports say "not checked",
	// never "ok", for it.
	NotChecked string `json:"notChecked,omitempty"`
}

// OK reports whether nothing broke the rule (true, too, for a check not made: see Checked).
func (c Check) OK() bool { return len(c.Violations) == 0 }

// Checked reports whether the rule was checked.
func (c Check) Checked() bool { return c.NotChecked == "" }

// Result is the check's result as the reports give it: "ok", "not checked" or its violations.
func (c Check) Result() string {
	switch {
	case !c.OK():
		return cli.Plural(len(c.Violations), "violation")
	case !c.Checked():
		return "not checked"
	}
	return "ok"
}

// The events that end an order.
const (
	shipped   = string(events.TypeOrderShipped)
	cancelled = string(events.TypeOrderCancelled)
)

// Payment events that decide what the customer paid.
const (
	approved = string(events.TypePaymentApproved)
	refunded = string(events.TypePaymentRefunded)
)

// Outcome is an order's end as its events tell it: the status its first event that ends an
// order sets (the event registry's: SHIPPED, CANCELLED), or "" if none.
func Outcome(evs []journey.Event) string {
	for _, e := range evs {
		if info, _ := events.Lookup(events.Type(e.Type)); info.EndsOrder {
			return info.Status
		}
	}
	return ""
}

// reconcile checks the facts against the rules of the flow; a rule with violations fails the run.
func reconcile(f Facts) []Check {
	placed := Check{Name: "every order placed", Rule: "each of the N POST /orders got a 201 (after retries)"}
	for _, why := range f.NotPlaced {
		placed.Violations = append(placed.Violations, "not placed: "+why)
	}
	for _, why := range f.Shared {
		placed.Violations = append(placed.Violations, "one order for two requests: "+why)
	}

	lost := Check{Name: "no order lost", Rule: "every order the API acknowledged is in the event store, from OrderPlaced to a terminal event, within the timeout"}
	for _, why := range f.Late {
		lost.Violations = append(lost.Violations, why)
	}
	terminal := Check{Name: "exactly one terminal state", Rule: "one OrderShipped or one OrderCancelled, never both, nothing after it; sequences 1…n without a gap"}
	unexpected := Check{Name: "no unexpected order", Rule: "the load's customers have no order of this run that no 201 named (a retry placing a second order)"}
	charged := Check{Name: "charged once", Rule: "a shipped order is APPROVED for its total under one payment id; a cancelled one is not charged (no payment, DECLINED, VOIDED or REFUNDED)"}
	refunds := Check{Name: "refunded once", Rule: "a cancelled order that was charged (PaymentApproved) is REFUNDED in the ledger with one PaymentRefunded event; " +
		"no order has two PaymentRefunded events, a shipped one none, and a REFUNDED ledger item has its event"}
	claims := Check{Name: "one saga per order", Rule: "the sagas table holds the order's claim, naming an execution of the state machine"}
	shippedUnits := map[string]int{}
	outcomes := map[string]string{}
	for _, o := range f.Orders {
		if !o.Acknowledged {
			unexpected.Violations = append(unexpected.Violations, fmt.Sprintf("%s (customer %s): in the customer's orders, but no 201 named it", o.ID, o.Customer))
		}
		outcome := checkEvents(o, &lost, &terminal)
		outcomes[o.ID] = outcome
		if outcome == "SHIPPED" || outcome == "BOTH" {
			shippedUnits[o.SKU] += f.UnitsPerOrder
		}
		checkPayment(o, outcome, &charged)
		checkRefund(o, outcome, &refunds)
		switch {
		case o.Claim == nil:
			claims.Violations = append(claims.Violations, o.ID+": no saga claim")
		case !strings.HasPrefix(o.Claim.ExecutionArn, f.ExecutionPrefix):
			claims.Violations = append(claims.Violations, fmt.Sprintf("%s: claimed by %q, not an execution of the state machine", o.ID, o.Claim.ExecutionArn))
		case o.Claim.RescuedFrom != "":
			claims.Notes = append(claims.Notes, fmt.Sprintf("%s: rescued from %s", o.ID, o.Claim.RescuedFrom))
		}
	}

	stock := Check{Name: "stock conserved", Rule: "for each SKU of the run, stock after = stock set before − units shipped"}
	for _, s := range f.Stock {
		if want := s.Before - shippedUnits[s.SKU]; s.After != want {
			stock.Violations = append(stock.Violations, fmt.Sprintf("%s: stock %d, want %d (set to %d, %d units shipped)", s.SKU, s.After, want, s.Before, shippedUnits[s.SKU]))
		}
	}

	dlqs := DLQCheck(f.DLQs)

	running := Check{Name: "no execution left running", Rule: "the state machine has no RUNNING execution once every order has ended"}
	if f.Running > 0 {
		running.Violations = append(running.Violations, fmt.Sprintf("%d executions still RUNNING", f.Running))
	}
	return []Check{placed, lost, terminal, unexpected, charged, refunds, chosenCheck(f.Orders, outcomes), stock, dlqs, running, claims, salesCheck(f.Sales, f.SalesUnread, expectedSales(f.Orders))}
}

// DLQCheckName names the check that every dead-letter queue ended empty.
const DLQCheckName = "dead-letter queues empty"

// DLQCheck checks that every dead-letter queue is empty.
func DLQCheck(queues []Queue) Check {
	dlqs := Check{Name: DLQCheckName, Rule: "every …DlqUrl queue holds no message (visible, in flight or delayed)"}
	for _, q := range queues {
		if q.After > 0 {
			dlqs.Violations = append(dlqs.Violations, fmt.Sprintf("%s holds %d messages (%d before the run)", q.Name, q.After, q.Before))
		}
	}
	return dlqs
}

// checkEvents checks one order's events and returns its outcome ("" if it has not ended).
func checkEvents(o Order, lost, terminal *Check) string {
	if !slices.ContainsFunc(o.Events, func(e journey.Event) bool { return e.Type == string(events.TypeOrderPlaced) }) {
		if o.ReadErr != "" { // not known lost: not known at all
			lost.Violations = append(lost.Violations, o.ID+": its events could not be read: "+o.ReadErr)
			return ""
		}
		lost.Violations = append(lost.Violations, o.ID+": no OrderPlaced in the event store")
		return ""
	}
	var ends []string
	last, gap := 0, false
	for i, e := range o.Events {
		if e.Sequence != i+1 && !gap {
			terminal.Violations = append(terminal.Violations, fmt.Sprintf("%s: event #%d where #%d was expected (a gap or a repeat)", o.ID, e.Sequence, i+1))
			gap = true
		}
		if events.EndsOrder(events.Type(e.Type)) {
			ends = append(ends, e.Type)
			last = i
		}
	}
	switch {
	case len(ends) == 0:
		lost.Violations = append(lost.Violations, fmt.Sprintf("%s: never ended (%d events, the last %s)", o.ID, len(o.Events), o.Events[len(o.Events)-1].Type))
		return ""
	case len(ends) > 1:
		terminal.Violations = append(terminal.Violations, fmt.Sprintf("%s: %d terminal events (%s)", o.ID, len(ends), strings.Join(ends, ", ")))
	case last != len(o.Events)-1:
		terminal.Violations = append(terminal.Violations, fmt.Sprintf("%s: %s after %s", o.ID, o.Events[last+1].Type, ends[0]))
	}
	if slices.Contains(ends, shipped) && slices.Contains(ends, cancelled) {
		return "BOTH"
	}
	out := Outcome(o.Events)
	if out != "" && out != events.StatusCancelled && slices.ContainsFunc(o.Events, func(e journey.Event) bool { return e.Type == shipped }) {
		// it ended after shipping (today OrderShipped ends it; a later event, e.g. a delivery,
		// may): the payment and stock rules of a shipped order hold
		return events.StatusShipped
	}
	return out
}

func checkPayment(o Order, outcome string, charged *Check) {
	p := o.Payment
	switch outcome {
	case "SHIPPED":
		switch {
		case p == nil:
			charged.Violations = append(charged.Violations, o.ID+": shipped without a payment")
		case p.Status != "APPROVED":
			charged.Violations = append(charged.Violations, fmt.Sprintf("%s: shipped, payment %s", o.ID, p.Status))
		case p.PaymentID == "":
			charged.Violations = append(charged.Violations, o.ID+": approved without a payment id")
		case o.TotalCents > 0 && p.AmountCents != o.TotalCents:
			charged.Violations = append(charged.Violations, fmt.Sprintf("%s: charged %d cents for a total of %d", o.ID, p.AmountCents, o.TotalCents))
		case p.Attempts > 1:
			charged.Notes = append(charged.Notes, fmt.Sprintf("%s: %d charge requests under payment id %s (a redelivery; the provider takes one charge per id)",
				o.ID, p.Attempts, p.PaymentID))
		}
	case "CANCELLED":
		if p != nil && (p.Status == "APPROVED" || p.Status == "PENDING") {
			charged.Violations = append(charged.Violations, fmt.Sprintf("%s: cancelled, payment %s", o.ID, p.Status))
		}
	case "BOTH":
		charged.Violations = append(charged.Violations, o.ID+": both shipped and cancelled, payment "+paymentStatus(p))
	}
}

// checkRefund checks that a charge taken back was taken back once, and that one that had to be
// was: the events tell what the saga decided (a PaymentApproved, then a PaymentRefunded per
// refund it announced), the ledger what the payment function did (REFUNDED, once: Refund is a
// conditional update from APPROVED).
func checkRefund(o Order, outcome string, refunds *Check) {
	charges, backs := 0, 0
	for _, e := range o.Events {
		switch e.Type {
		case approved:
			charges++
		case refunded:
			backs++
		}
	}
	status := paymentStatus(o.Payment)
	switch {
	case backs > 1:
		refunds.Violations = append(refunds.Violations, fmt.Sprintf("%s: %d PaymentRefunded events (a second refund)", o.ID, backs))
	case outcome == "SHIPPED" && (backs > 0 || status == "REFUNDED"):
		refunds.Violations = append(refunds.Violations, fmt.Sprintf("%s: shipped, yet refunded (%d PaymentRefunded, payment %s)", o.ID, backs, status))
	case outcome == "CANCELLED" && charges > 0 && (backs != 1 || status != "REFUNDED"):
		refunds.Violations = append(refunds.Violations, fmt.Sprintf("%s: charged then cancelled, but %d PaymentRefunded and payment %s (want 1 and REFUNDED)", o.ID, backs, status))
	case status == "REFUNDED" && backs == 0 && outcome != "":
		refunds.Violations = append(refunds.Violations, fmt.Sprintf("%s: payment REFUNDED but no PaymentRefunded event", o.ID))
	case backs == 1 && status != "REFUNDED":
		refunds.Violations = append(refunds.Violations, fmt.Sprintf("%s: a PaymentRefunded event, but payment %s", o.ID, status))
	}
}

func paymentStatus(p *Payment) string {
	if p == nil {
		return "none"
	}
	return p.Status
}
