package render

import (
	"bytes"
	"context"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
	"github.com/orderflow-dev/orderflow/scripts/internal/render/browsertest"
)

var t0 = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// sample is a small journey made by hand: the API call, OrderPlaced on the bus, the execution,
// a record, the event store, a duplicate, a hop whose clock runs behind its cause's.
func sample() journey.Journey {
	return journey.Journey{
		OrderID: "ORD-1", CorrelationID: "e1000000-aaaa", Status: "SUCCEEDED", ExecutionArn: "arn:aws:states:r:1:execution:sm:x1",
		RuleCheck: journey.RuleCheckAPI,
		Events: []journey.Event{
			{ID: "e1000000-aaaa", Type: "OrderPlaced", Version: 2, Source: "orderflow.orders", Sequence: 1, CorrelationID: "e1000000-aaaa",
				Time: at(0), RecordedAt: at(300), Detail: `{"id":"e1000000-aaaa","type":"OrderPlaced"}`},
			{ID: "e2000000-bbbb", Type: "InventoryReserved", Version: 1, Source: "orderflow.inventory", Sequence: 2, CorrelationID: "e1000000-aaaa",
				CausationID: "e1000000-aaaa", Time: at(200), RecordedAt: at(420)},
		},
		Rules:     []journey.Rule{{Name: "Stack-RouterOrdersOrderPlacedToWorkflowABCDEF12", Short: "OrderPlacedToWorkflow", Pattern: `{"detail-type":["OrderPlaced"]}`, Targets: []string{"arn:sm"}}},
		Resources: map[string]string{journey.ResBus: "OrdersBus123"},
		Notes:     []string{"something could not be read"},
		Hops: []journey.Hop{
			{Key: "api", Time: at(0), Approx: true, From: journey.Client, Service: journey.APIGateway, Resource: journey.ResAPI, Action: "POST /orders", What: "the client's request", EventType: "OrderPlaced", EventID: "e1000000-aaaa", Sequence: 1},
			{Key: "bus/e1", Cause: "api", Time: at(0), From: journey.Lambda, Service: journey.EventBridge, Resource: journey.ResBus, Action: "PutEvents OrderPlaced", What: "order-api put OrderPlaced on the bus", EventType: "OrderPlaced", EventID: "e1000000-aaaa", Sequence: 1, Rules: []string{"OrderPlacedToWorkflow"}},
			{Key: "sfn/start", Cause: "bus/e1", Time: at(12), From: journey.EventBridge, Service: journey.StepFunctions, Resource: journey.ResWorkflow, Action: "StartExecution", What: "rule OrderPlacedToWorkflow started execution x1 <script>alert(1)</script>"},
			{Key: "sfn/0", Cause: "sfn/start", Time: at(13), From: journey.StepFunctions, Service: journey.StepFunctions, Resource: journey.ResWorkflow, Action: "ReserveInventory", What: "Task state ReserveInventory"},
			{Key: "kinesis/1", Cause: "bus/e1", Time: at(1500), From: journey.Lambda, Service: journey.Kinesis, Resource: journey.ResStream, Action: "PutRecord", What: "streamer appended record", EventType: "OrderPlaced", EventID: "e1000000-aaaa", Sequence: 1},
			{Key: "ddb/events/1", Cause: "kinesis/1", Time: at(1490), From: journey.Lambda, Service: journey.DynamoDB, Resource: journey.ResEventStore, Action: "PutItem #1", What: "projector appended event #1", EventType: "OrderPlaced", EventID: "e1000000-aaaa", Sequence: 1},
			{Key: "kinesis/2", Cause: "bus/e1", Time: at(1600), From: journey.Lambda, Service: journey.Kinesis, Resource: journey.ResStream, Action: "PutRecord", What: "a second record of the same event", EventType: "OrderPlaced", EventID: "e1000000-aaaa", Sequence: 1, Duplicate: true},
		},
	}
}

func TestLatency(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0ms",
		1499 * time.Microsecond: "1ms",
		1500 * time.Microsecond: "2ms",
		999 * time.Millisecond:  "999ms",
		1234 * time.Millisecond: "1.234s",
		-10 * time.Millisecond:  "-10ms",
		90 * time.Second:        "1m30s",
	} {
		if got := Latency(d); got != want {
			t.Errorf("Latency(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHopLine(t *testing.T) {
	steps := sample().Timeline()
	for _, tc := range []struct {
		step int
		want []string
	}{
		{0, []string{"  1  10:30:00.000≈", "       -  API Gateway", "HTTP API", "#1 OrderPlaced", "the client's request"}},
		{1, []string{"  2  10:30:00.000 ", "    +0ms  EventBridge", "orders bus", "order-api put OrderPlaced on the bus"}},
		{2, []string{"  3  10:30:00.012 ", "   +12ms  Step Functions", "order-fulfilment", " -  "}},
		{5, []string{"  6  10:30:01.490 ", "   -10ms  DynamoDB", "#1 OrderPlaced"}},
		{6, []string{"+110ms  Kinesis", "DUPLICATE: a second record"}},
	} {
		got := HopLine(steps[tc.step])
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("hop %d: %q lacks %q", tc.step+1, got, w)
			}
		}
	}
	conflict := steps[6]
	conflict.Conflict = true
	if got := HopLine(conflict); !strings.Contains(got, "CONFLICT: a second record") || strings.Contains(got, "DUPLICATE") {
		t.Errorf("a conflicting delivery: %q, want it tagged CONFLICT, not DUPLICATE", got)
	}
	revised := steps[6]
	revised.Revised = true
	if got := HopLine(revised); !strings.Contains(got, "UPDATED: DUPLICATE: a second record") {
		t.Errorf("a hop printed again by -follow: %q, want it marked UPDATED", got)
	}
	// Columns line up under the header.
	header := HopHeader
	line := HopLine(steps[2])
	for _, col := range []string{"SERVICE", "RESOURCE", "EVENT"} {
		i := strings.Index(header, col)
		if i < 0 || len([]rune(line)) <= i {
			t.Fatalf("no column %s", col)
		}
	}
	if i, j := strings.Index(header, "SERVICE"), strings.Index(line, "Step Functions"); i != j {
		t.Errorf("SERVICE at %d, the service at %d", i, j)
	}
}

// HopSays is the hop's line after its times, as printed: what -follow compares.
func TestHopSaysWhatTheLineShows(t *testing.T) {
	for _, s := range sample().Timeline() {
		if line, says := HopLine(s), HopSays(s.Hop); !strings.HasSuffix(line, "  "+says) {
			t.Errorf("line %q does not end with %q", line, says)
		}
	}
}

func TestText(t *testing.T) {
	j := sample()
	var out bytes.Buffer
	if err := Text(&out, j); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Trace of ORD-1",
		"correlationId  e1000000-aaaa",
		"execution      x1 SUCCEEDED",
		"InventoryReserved after 2 events, 1.600s from the first hop to the last",
		"matched with EventBridge TestEventPattern",
		"2   InventoryReserved   v1   e2000000   e1000000 (#1)", // causation, tied to the event it names
		"1   OrderPlaced         v2   e1000000   - (the first fact)",
		"Services crossed: API Gateway → Lambda → EventBridge → Step Functions → Kinesis → DynamoDB",
		"orders bus                 OrdersBus123",
		"Note: something could not be read",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q:\n%s", want, s)
		}
	}
	for _, h := range j.Hops {
		if !strings.Contains(s, h.What) {
			t.Errorf("text lacks hop %s", h.Key)
		}
	}
	if n := strings.Count(s, "\n  "); n < len(j.Hops) {
		t.Errorf("only %d indented lines for %d hops", n, len(j.Hops))
	}
}

// An ended order is timed to its end, not to a duplicate put on the bus minutes later, in the
// text and on the page alike; without a stored time for its end, the words say what was timed.
func TestOutcomeOfAnEndedOrder(t *testing.T) {
	ended := func(recorded time.Time) journey.Journey {
		j := sample()
		j.Events = append(j.Events, journey.Event{ID: "e3", Type: "OrderShipped", Sequence: 3, RecordedAt: recorded})
		j.Hops = append(j.Hops, journey.Hop{Key: "late", Time: at(13 * 60 * 1000), Duplicate: true})
		return j
	}
	for _, tc := range []struct {
		name string
		j    journey.Journey
		want string
	}{
		{"ended", ended(at(900)), "OrderShipped after 3 events, 900ms from the first hop to OrderShipped in the event store"},
		{"ended, its end's time unknown", ended(time.Time{}),
			"OrderShipped after 3 events, 13m0s from the first hop to the last (the event store holds no time for OrderShipped)"},
		{"not ended", sample(), "InventoryReserved after 2 events, 1.600s from the first hop to the last"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Outcome(tc.j); got != tc.want {
				t.Errorf("Outcome = %q, want %q", got, tc.want)
			}
			timing := tc.want[strings.Index(tc.want, ", ")+2:]
			page := string(renderHTML(t, tc.j))
			if heading := "in the order they happened; " + html.EscapeString(timing) + "</small>"; !strings.Contains(page, heading) || strings.Contains(page, "end to end") {
				t.Errorf("the page's diagram heading does not say %q", heading)
			}
		})
	}
}

func TestArrow(t *testing.T) {
	for _, tc := range []struct {
		x1, x2     int
		path, head string
	}{
		{100, 300, "M103 50 H289", "297,50 289,46 289,54"},
		{300, 100, "M297 50 H111", "103,50 111,46 111,54"},
		{100, 100, "M103 43 H122 V54 H111", "103,54 111,50 111,58"},
	} {
		path, head := arrow(tc.x1, tc.x2, 50)
		if path != tc.path || head != tc.head {
			t.Errorf("arrow(%d → %d) = %q %q, want %q %q", tc.x1, tc.x2, path, head, tc.path, tc.head)
		}
	}
}

func renderHTML(t *testing.T, j journey.Journey) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := HTML(&out, j); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestHTMLIsSelfContained(t *testing.T) {
	page := renderHTML(t, sample())
	for _, re := range []string{`(?i)<link\b`, `(?i)\bsrc=`, `(?i)\bhref=`, `(?i)url\(`, `(?i)@import`, `(?i)fetch\(`, `(?i)XMLHttpRequest`} {
		if m := regexp.MustCompile(re).Find(page); m != nil {
			t.Errorf("the page loads something: %s", m)
		}
	}
	for _, m := range regexp.MustCompile(`https?://[^"' <]+`).FindAll(page, -1) {
		if string(m) != "http://www.w3.org/2000/svg" { // a namespace name, never fetched
			t.Errorf("the page names a URL: %s", m)
		}
	}
}

func TestHTMLDrawsEveryHop(t *testing.T) {
	j := sample()
	page := renderHTML(t, j)
	// Before any script runs, everything but the script's mark must be there already.
	missing := browsertest.CheckDOM(page, j)
	if len(missing) != 1 || !strings.Contains(missing[0], "script wired") {
		t.Errorf("static page: %v, want only the script's mark missing", missing)
	}
	if bytes.Contains(page, []byte("<script>alert(1)")) || !bytes.Contains(page, []byte("&lt;script&gt;alert(1)")) {
		t.Error("a hop's text is not escaped")
	}
	for _, lane := range []string{journey.Client, journey.APIGateway, journey.Lambda, journey.EventBridge, journey.StepFunctions, journey.Kinesis, journey.DynamoDB} {
		if c := bytes.Count(page, []byte(`data-lane="`+lane+`"`)); c != 1 {
			t.Errorf("%d lanes for %s, want 1", c, lane)
		}
	}
	for _, absent := range []string{journey.SQS, journey.SNS} {
		if bytes.Contains(page, []byte(`data-lane="`+absent+`"`)) {
			t.Errorf("a lane for %s, which no hop crosses", absent)
		}
	}
	// CheckDOM itself must notice a missing hop.
	j.Hops = append(j.Hops, journey.Hop{Key: "not-drawn", Service: journey.SQS, What: "never rendered"})
	if missing := browsertest.CheckDOM(page, j); len(missing) < 3 {
		t.Errorf("CheckDOM with an extra hop found only %v", missing)
	}
}

// TestHTMLInChromium renders the page in headless Chromium, as a reader's browser would, and
// checks that every hop is in the DOM it built and that the page's script ran.
func TestHTMLInChromium(t *testing.T) {
	j := sample()
	bin, path := browsertest.ShowsJourney(t, renderHTML(t, j), j, 90*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	png := filepath.Join(t.TempDir(), "trace.png")
	if err := browsertest.Screenshot(ctx, bin, path, png, 1200, 800); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("screenshot: %v, %d bytes", err, len(b))
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"OrderShipped", 20, "OrderShipped"},
		{"OrderShipped", 6, "Order…"},
		{"OrderShipped", 1, "…"},
		{"OrderShipped", 0, ""}, // a label wider than its column: nothing, not a panic
		{"OrderShipped", -3, ""},
	} {
		if got := clip(tc.s, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
