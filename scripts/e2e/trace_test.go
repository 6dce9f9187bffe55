//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	view "github.com/orderflow-dev/orderflow/scripts/internal/render" // (render is taken in this package)
	"github.com/orderflow-dev/orderflow/scripts/internal/render/browsertest"
	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// skew is how far two services' clocks may disagree before a measured effect that precedes its
// cause counts as a broken causal order.
const skew = 50 * time.Millisecond

// The trace tests are not parallel: their orders take SKU-001, SKU-002 and SKU-042 stock, which
// parallel tests of e2e_test.go count. Go runs them one by one before any parallel test starts.

func TestTraceOfApprovedOrder(t *testing.T) {
	p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-001", Quantity: 1}))
	checkTrace(t, p, "SHIPPED", []string{"OrderPlaced", "InventoryReserved", "PaymentApproved", "OrderConfirmed", "OrderShipped"})
}

func TestTraceOfDeclinedOrder(t *testing.T) {
	p := place(t, shop.NewOrder("tok_declined", shop.Line{SKU: "SKU-002", Quantity: 1}))
	checkTrace(t, p, "CANCELLED", []string{"OrderPlaced", "InventoryReserved", "PaymentDeclined", "InventoryReleased", "OrderCancelled"})
}

// customerFacing are the events the notifications rule sends to SNS (infra/bus.go).
var customerFacing = []string{"OrderPlaced", "OrderConfirmed", "OrderShipped", "OrderCancelled", "PaymentRefunded"}

// complete says what the journey still lacks, once the order has ended: the execution's end,
// each event's record and event-store row, each customer-facing event's notification.
func complete(j journey.Journey, types []string) error {
	if j.Status == "" || j.Status == "RUNNING" {
		return fmt.Errorf("execution %q", j.Status)
	}
	if len(j.Events) != len(types) {
		return fmt.Errorf("%d events in the store, want %d", len(j.Events), len(types))
	}
	for _, e := range j.Events {
		has := func(match func(journey.Hop) bool) bool { return slices.ContainsFunc(j.Hops, match) }
		if !has(func(h journey.Hop) bool { return h.Service == journey.Kinesis && h.EventID == e.ID }) {
			return fmt.Errorf("no record of %s on the stream yet", e.Type)
		}
		if !has(func(h journey.Hop) bool { return h.Resource == journey.ResEventStore && h.EventID == e.ID }) {
			return fmt.Errorf("%s not in the event store yet", e.Type)
		}
		if slices.Contains(customerFacing, e.Type) &&
			!has(func(h journey.Hop) bool { return h.Resource == journey.ResNotifications && h.EventID == e.ID }) {
			return fmt.Errorf("no notification of %s yet", e.Type)
		}
	}
	return nil
}

func checkTrace(t *testing.T, p shop.Placed, status string, types []string) {
	t.Helper()
	if o := waitTerminal(t, p.OrderID); o.Status != status {
		t.Fatalf("order %s is %s, want %s", p.OrderID, o.Status, status)
	}
	c := journey.NewCollector(stack)
	var j journey.Journey
	eventually(t, 2*time.Minute, "the trace of "+p.OrderID+" is complete", func(ctx context.Context) (err error) {
		if j, err = c.Collect(ctx, p.OrderID); err != nil {
			return err
		}
		return complete(j, types)
	})
	var got []string
	for _, e := range j.Events {
		got = append(got, e.Type)
	}
	if !slices.Equal(got, types) {
		t.Fatalf("events %v, want %v", got, types)
	}

	// Every service of the lesson is on the path, and the trace names each one.
	for _, svc := range []string{journey.APIGateway, journey.EventBridge, journey.StepFunctions, journey.SQS, journey.SNS,
		journey.Kinesis, journey.Lambda, journey.DynamoDB} {
		if !slices.Contains(j.Services(), svc) {
			t.Errorf("the trace does not cross %s: %v", svc, j.Services())
		}
	}
	for _, fn := range []string{"order-api", "inventory", "payment", "streamer", "projector", "notifier"} {
		if !slices.ContainsFunc(j.Hops, func(h journey.Hop) bool { return h.Service == journey.Lambda && h.Actor == fn }) {
			t.Errorf("no hop of the %s function", fn)
		}
	}
	if len(j.Notes) > 0 {
		t.Errorf("the trace could not read everything: %v", j.Notes)
	}

	// Correlation and causation tie the events together.
	placed := j.Events[0]
	if placed.Type != "OrderPlaced" || placed.ID != p.CorrelationID {
		t.Errorf("first event %s %s, want OrderPlaced with the id POST answered as correlationId (%s)", placed.Type, placed.ID, p.CorrelationID)
	}
	for i, e := range j.Events {
		if e.CorrelationID != placed.ID {
			t.Errorf("%s has correlationId %s, want %s", e.Type, e.CorrelationID, placed.ID)
		}
		if i > 0 && e.CausationID != j.Events[i-1].ID {
			t.Errorf("%s was caused by %s, want the event before it (%s)", e.Type, e.CausationID, j.Events[i-1].ID)
		}
	}

	// Causal order: by position in the trace and, where both instants are measured, by clock.
	pos := map[string]int{}
	for i, h := range j.Hops {
		pos[h.Key] = i
	}
	before := func(what string, a, b int) {
		t.Helper()
		ha, hb := j.Hops[a], j.Hops[b]
		if a >= b {
			t.Errorf("%s: hop %d (%s) should precede hop %d (%s)", what, a+1, ha.Key, b+1, hb.Key)
		}
		if !ha.Approx && !hb.Approx && hb.Time.Before(ha.Time.Add(-skew)) {
			t.Errorf("%s: %s at %s, yet %s at %s", what, ha.Key, ha.Time.Format("15:04:05.000"), hb.Key, hb.Time.Format("15:04:05.000"))
		}
	}
	find := func(what string, match func(journey.Hop) bool) int {
		t.Helper()
		i := slices.IndexFunc(j.Hops, match)
		if i < 0 {
			t.Fatalf("no hop: %s", what)
		}
		return i
	}
	bus := map[string]int{}
	for _, e := range j.Events {
		b := find(e.Type+" on the bus", func(h journey.Hop) bool { return h.Service == journey.EventBridge && h.EventID == e.ID })
		bus[e.ID] = b
		before(e.Type+": bus before stream", b, find(e.Type+" on the stream", func(h journey.Hop) bool {
			return h.Service == journey.Kinesis && h.EventID == e.ID
		}))
		before(e.Type+": bus before event store", b, find(e.Type+" in the event store", func(h journey.Hop) bool {
			return h.Resource == journey.ResEventStore && h.EventID == e.ID
		}))
		if e.CausationID != "" {
			before(e.Type+" after the event that caused it", bus[e.CausationID], b)
		}
		if slices.Contains(customerFacing, e.Type) {
			before(e.Type+": bus before notification", b, find(e.Type+" notified", func(h journey.Hop) bool {
				return h.Resource == journey.ResNotifications && h.EventID == e.ID
			}))
		}
	}
	start := find("execution started", func(h journey.Hop) bool { return h.Action == "StartExecution" })
	before("execution start after OrderPlaced", bus[placed.ID], start)
	before("payment message after the execution started", start, find("payments message", func(h journey.Hop) bool {
		return h.Service == journey.SQS && h.Resource == journey.ResPaymentsQueue
	}))
	for i, h := range j.Hops {
		if c, ok := pos[h.Cause]; ok && h.Cause != "" {
			before("hop "+h.Key+" after its cause", c, i)
		}
	}

	// The router: each event's rules, as the endpoint's TestEventPattern evaluated them.
	if j.RuleCheck != journey.RuleCheckAPI {
		t.Errorf("rules checked with %q, want %q", j.RuleCheck, journey.RuleCheckAPI)
	}
	for _, e := range j.Events {
		h := j.Hops[bus[e.ID]]
		want := []string{"OrderEventsToStream"}
		if e.Type == "OrderPlaced" {
			want = append(want, "OrderPlacedToWorkflow")
		}
		if slices.Contains(customerFacing, e.Type) {
			want = append(want, "CustomerFacingToNotifications")
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(h.Rules))
		if !slices.Equal(got, want) {
			t.Errorf("%s matched %v, want %v", e.Type, got, want)
		}
	}

	// The picture: every hop in the page Chromium renders.
	t.Run("html in chromium", func(t *testing.T) {
		var page bytes.Buffer
		if err := view.HTML(&page, j); err != nil {
			t.Fatal(err)
		}
		browsertest.ShowsJourney(t, page.Bytes(), j, 2*time.Minute)
	})
}

// traceCommand builds scripts/trace once per test that needs it.
func traceCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trace")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/orderflow-dev/orderflow/scripts/trace").CombinedOutput()
	if err != nil {
		t.Fatalf("build scripts/trace: %v\n%s", err, out)
	}
	return bin
}

func TestTraceCommand(t *testing.T) {
	bin := traceCommand(t)
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("trace %v: %v\n%s", args, err, out)
		return "", -1
	}

	t.Run("unknown order", func(t *testing.T) {
		out, code := run("ORD-00000000-0000-0000-0000-000000000000")
		if code != 1 || !strings.Contains(out, "no order ORD-00000000-0000-0000-0000-000000000000 on this stack") {
			t.Errorf("exit %d:\n%s\nwant exit 1 and a clear message", code, out)
		}
	})
	t.Run("not an order id", func(t *testing.T) {
		if out, code := run("12345"); code != 2 || !strings.Contains(out, "not an order id") {
			t.Errorf("exit %d:\n%s\nwant exit 2 (usage)", code, out)
		}
	})
	t.Run("follow a moving order", func(t *testing.T) {
		p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-042", Quantity: 1}))
		page := filepath.Join(t.TempDir(), "follow.html")
		out, code := run("-follow", "-timeout", "2m", "-html", page, p.OrderID)
		if code != 0 || !strings.Contains(out, "Done: OrderShipped after 5 events") {
			t.Fatalf("exit %d:\n%s\nwant it to follow the order until it shipped", code, out)
		}
		// Each hop is printed once: as many hop lines as the final journey (in the page) has hops.
		lines := regexp.MustCompile(`(?m)^ *\d+  \d\d:\d\d:\d\d\.\d{3}`).FindAllString(out, -1)
		html, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		hops := regexp.MustCompile(`<g class="hop[ "]`).FindAll(html, -1)
		if len(lines) != len(hops) || len(hops) < 30 {
			t.Errorf("printed %d hop lines, the journey has %d hops", len(lines), len(hops))
		}
		for i, l := range lines { // numbered in the order they were printed
			if n := strings.Fields(l)[0]; n != fmt.Sprint(i+1) {
				t.Errorf("hop line %d is numbered %s", i+1, n)
				break
			}
		}
	})
	t.Run("text and html", func(t *testing.T) {
		p := place(t, shop.NewOrder("tok_visa", shop.Line{SKU: "SKU-001", Quantity: 1}))
		waitTerminal(t, p.OrderID)
		page := filepath.Join(t.TempDir(), "trace.html")
		out, code := run(p.OrderID, "-html", page)
		for _, want := range []string{"Trace of " + p.OrderID, "correlationId  " + p.CorrelationID, "TestEventPattern",
			"OrderPlaced", "started execution", "order-events stream", "event store", "Services crossed:", "Wrote " + page} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if code != 0 {
			t.Errorf("exit %d:\n%s", code, out)
		}
		if b, err := os.ReadFile(page); err != nil || !bytes.Contains(b, []byte(p.OrderID)) {
			t.Errorf("page: %v", err)
		}
	})
}
