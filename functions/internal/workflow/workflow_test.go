package workflow_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

const bus = "orders"

var now = time.Date(2026, 3, 14, 9, 27, 0, 0, time.UTC)

func parseSample(t *testing.T, typ events.Type, v int) events.Envelope {
	t.Helper()
	e, err := events.Parse(events.Sample(typ, v))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestStart(t *testing.T) {
	for _, v := range []int{1, 2} {
		t.Run(fmt.Sprintf("OrderPlaced v%d", v), func(t *testing.T) {
			e := parseSample(t, events.TypeOrderPlaced, v)
			s, err := workflow.Start(e)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			if s.Sequence != 1 || s.CorrelationID != e.ID || s.LastEventID != e.ID || s.Order.OrderID != e.OrderID {
				t.Errorf("state = %+v", s)
			}
			if s.Order.Currency != "USD" {
				t.Errorf("Order.Currency = %q, want USD (upcast)", s.Order.Currency)
			}
			if s.Entries == nil || len(s.Entries) != 0 {
				t.Errorf("Entries = %#v, want empty (JSON [])", s.Entries)
			}
		})
	}
}

func TestStartRejects(t *testing.T) {
	placed := parseSample(t, events.TypeOrderPlaced, 2)
	broken := placed
	broken.Payload = json.RawMessage(`{"orderId":1}`)
	second := placed
	second.Sequence = 2
	cases := []struct {
		name string
		e    events.Envelope
	}{
		{"not OrderPlaced", parseSample(t, events.TypeInventoryReserved, 1)},
		{"not sequence 1", second},
		{"undecodable payload", broken},
		{"unknown version", func() events.Envelope { e := placed; e.Version = 3; return e }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := workflow.Start(tc.e)
			var inv *workflow.InvalidInputError
			if !errors.As(err, &inv) || s != nil {
				t.Errorf("Start = %v, %v; want nil, *InvalidInputError", s, err)
			}
		})
	}
}

type emit struct {
	t       events.Type
	payload func(s *workflow.State) any
}

var (
	reserved = emit{events.TypeInventoryReserved, func(s *workflow.State) any {
		return events.InventoryReserved{OrderID: s.Order.OrderID, Items: lines(s)}
	}}
	released = emit{events.TypeInventoryReleased, func(s *workflow.State) any {
		return events.InventoryReleased{OrderID: s.Order.OrderID, Items: lines(s), Reason: events.ReasonPaymentDeclined}
	}}
	approved = emit{events.TypePaymentApproved, func(s *workflow.State) any {
		return events.PaymentApproved{OrderID: s.Order.OrderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", AmountCents: s.Order.TotalCents}
	}}
	declined = emit{events.TypePaymentDeclined, func(s *workflow.State) any {
		return events.PaymentDeclined{OrderID: s.Order.OrderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", Reason: "card-declined"}
	}}
	refunded = emit{events.TypePaymentRefunded, func(s *workflow.State) any {
		return events.PaymentRefunded{OrderID: s.Order.OrderID, PaymentID: "3f2a8a6e-5c1b-5d7e-9a0f-1b2c3d4e5f60", AmountCents: s.Order.TotalCents, Reason: events.ReasonFulfilmentFailed}
	}}
	confirmed = emit{events.TypeOrderConfirmed, func(s *workflow.State) any {
		return events.OrderConfirmed{OrderID: s.Order.OrderID, TotalCents: s.Order.TotalCents}
	}}
	shipped = emit{events.TypeOrderShipped, func(s *workflow.State) any {
		return events.OrderShipped{OrderID: s.Order.OrderID, ShipmentID: "9b1d2c3e-4f5a-5b6c-8d7e-0f1a2b3c4d5e", Carrier: "ACME Parcel"}
	}}
)

func cancelled(reason string) emit {
	return emit{events.TypeOrderCancelled, func(s *workflow.State) any {
		return events.OrderCancelled{OrderID: s.Order.OrderID, Reason: reason}
	}}
}

func lines(s *workflow.State) []events.StockLine {
	var out []events.StockLine
	for _, it := range s.Order.Items {
		out = append(out, events.StockLine{SKU: it.SKU, Quantity: it.Quantity})
	}
	return out
}

// The spec's paths emit contiguous sequences with a causation chain and one correlation;
// every entry is a valid event as EventBridge will deliver it.
func TestEmitPaths(t *testing.T) {
	cases := []struct {
		name  string
		tasks [][]emit // one slice per task: its entries replace the previous task's
	}{
		{"approved", [][]emit{{reserved}, {approved, confirmed}, {shipped}}},
		{"declined", [][]emit{{reserved}, {declined}, {released, cancelled(events.ReasonPaymentDeclined)}}},
		{"out of stock", [][]emit{{cancelled(events.ReasonOutOfStock)}}},
		{"compensate after reserve", [][]emit{{reserved}, {released, cancelled(events.ReasonFulfilmentFailed)}}},
		{"refund and compensate after shipping failed", [][]emit{{reserved}, {approved, confirmed}, {refunded}, {released, cancelled(events.ReasonFulfilmentFailed)}}},
		{"charge found only by the refund (payment timed out)", [][]emit{{reserved}, {approved, refunded}, {released, cancelled(events.ReasonFulfilmentFailed)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := parseSample(t, events.TypeOrderPlaced, 2)
			s, err := workflow.Start(start)
			if err != nil {
				t.Fatal(err)
			}
			seq, prev := 1, start.ID
			for _, task := range tc.tasks {
				s.ClearEntries()
				for _, em := range task {
					if err := s.Emit(bus, em.t, em.payload(s), now); err != nil {
						t.Fatalf("Emit %s: %v", em.t, err)
					}
				}
				if len(s.Entries) != len(task) {
					t.Fatalf("%d entries after the task, want %d", len(s.Entries), len(task))
				}
				for i, entry := range s.Entries {
					seq++
					e, err := events.Parse([]byte(entry.Detail))
					if err != nil {
						t.Fatalf("entry %d: %v", i, err)
					}
					if e.Type != task[i].t || entry.DetailType != string(task[i].t) || entry.EventBusName != bus || entry.Source != events.SourceOf(task[i].t) {
						t.Errorf("entry %d = %+v", i, entry)
					}
					if e.Sequence != seq || e.ID != events.ID(start.OrderID, seq) || e.CausationID != prev || e.CorrelationID != start.ID {
						t.Errorf("%s: sequence %d id %s causation %s correlation %s; want %d, %s, %s, %s",
							e.Type, e.Sequence, e.ID, e.CausationID, e.CorrelationID, seq, events.ID(start.OrderID, seq), prev, start.ID)
					}
					prev = e.ID
				}
			}
			if s.Sequence != seq || s.LastEventID != prev {
				t.Errorf("state sequence %d last %s; want %d, %s", s.Sequence, s.LastEventID, seq, prev)
			}
		})
	}
}

// A retried task gets the same input state and so emits identical events.
func TestEmitIsDeterministic(t *testing.T) {
	s, err := workflow.Start(parseSample(t, events.TypeOrderPlaced, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Emit(bus, reserved.t, reserved.payload(s), now); err != nil {
		t.Fatal(err)
	}
	input, err := json.Marshal(workflow.Doc{State: s})
	if err != nil {
		t.Fatal(err)
	}
	run := func() []events.Entry {
		var d workflow.Doc
		if err := json.Unmarshal(input, &d); err != nil {
			t.Fatal(err)
		}
		d.State.ClearEntries()
		for _, em := range []emit{approved, confirmed} {
			if err := d.State.Emit(bus, em.t, em.payload(d.State), now); err != nil {
				t.Fatal(err)
			}
		}
		return d.State.Entries
	}
	if first, retry := run(), run(); !reflect.DeepEqual(first, retry) {
		t.Errorf("retry emitted different entries:\n%v\n%v", first, retry)
	}
}

func TestEmitRejectsLeavesStateUnchanged(t *testing.T) {
	cases := []struct {
		name    string
		t       events.Type
		payload any
	}{
		{"invalid payload", events.TypeOrderShipped, events.OrderShipped{OrderID: "ORD-x"}},
		{"unknown type", events.Type("OrderLost"), events.OrderCancelled{}},
		{"OrderPlaced again", events.TypeOrderPlaced, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := workflow.Start(parseSample(t, events.TypeOrderPlaced, 2))
			if err != nil {
				t.Fatal(err)
			}
			if tc.payload == nil {
				tc.payload = shipped.payload(s)
			}
			before := *s
			err = s.Emit(bus, tc.t, tc.payload, now)
			var inv *workflow.InvalidInputError
			if !errors.As(err, &inv) {
				t.Fatalf("Emit error = %v, want *InvalidInputError", err)
			}
			var ve *events.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("Emit error %v does not wrap the *events.ValidationError", err)
			}
			if !reflect.DeepEqual(*s, before) {
				t.Errorf("state changed on error: %+v", s)
			}
		})
	}
}

func TestDocJSON(t *testing.T) {
	// What a Catch produces: the input plus $.error, with a null state before the first task.
	in := `{"event":` + string(events.Sample(events.TypeOrderPlaced, 2)) + `,"state":null,"error":{"Error":"TransientError","Cause":"{\"errorMessage\":\"throttled\"}"}}`
	var d workflow.Doc
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.State != nil || d.Error == nil || d.Error.Error != "TransientError" || d.Error.Cause == "" {
		t.Errorf("Doc = %+v", d)
	}
	if _, err := events.Parse(d.Event); err != nil {
		t.Errorf("Doc.Event: %v", err)
	}
	s, err := workflow.Start(parseSample(t, events.TypeOrderPlaced, 2))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(workflow.Doc{Event: d.Event, State: s})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["error"]; ok {
		t.Error(`"error" present without an error`)
	}
	st := m["state"].(map[string]any)
	for _, k := range []string{"order", "correlationId", "lastEventId", "sequence", "entries"} {
		if _, ok := st[k]; !ok {
			t.Errorf("state JSON lacks %q: %s", k, b)
		}
	}
	if entries, ok := st["entries"].([]any); !ok || len(entries) != 0 {
		t.Errorf(`state.entries = %v, want [] (a Publish state needs an array)`, st["entries"])
	}
}

// Encode writes what json.Marshal writes.
func TestDocEncode(t *testing.T) {
	s, err := workflow.Start(parseSample(t, events.TypeOrderPlaced, 2))
	if err != nil {
		t.Fatal(err)
	}
	var event bytes.Buffer
	if err := json.Compact(&event, events.Sample(events.TypeOrderPlaced, 2)); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]workflow.Doc{
		"event and state":    {Event: event.Bytes(), State: s},
		"with an error":      {Event: event.Bytes(), State: s, Error: &workflow.TaskError{Error: "States.Timeout", Cause: `"quoted" <&>`}},
		"no state":           {Event: event.Bytes(), Error: &workflow.TaskError{Error: "TransientError"}},
		"no event, no state": {},
	} {
		t.Run(name, func(t *testing.T) {
			fixture.EncodesAsMarshal(t, d, func() ([]byte, error) { s, err := d.Encode(); return []byte(s), err })
		})
	}
}

type plainErr struct{}

func (plainErr) Error() string { return "boom" }

// LambdaError picks the error whose type name becomes the Lambda errorType the state
// machine's Retry and Catch match.
func TestLambdaError(t *testing.T) {
	inv := &workflow.InvalidInputError{Err: errors.New("bad state")}
	tr := &workflow.TransientError{Err: errors.New("throttled")}
	_, verr := events.Parse([]byte(`{}`))
	cases := []struct {
		name     string
		err      error
		wantType string
		same     error // the very value, when it is already right
	}{
		{"plain error is retried", errors.New("dynamodb: timeout"), "TransientError", nil},
		{"custom error is retried", plainErr{}, "TransientError", nil},
		{"transient as is", tr, "TransientError", tr},
		{"wrapped transient", fmt.Errorf("reserve: %w", tr), "TransientError", nil},
		{"invalid input as is", inv, "InvalidInputError", inv},
		{"wrapped invalid input", fmt.Errorf("release: %w", inv), "InvalidInputError", nil},
		{"validation error", verr, "InvalidInputError", nil},
		{"wrapped validation error", fmt.Errorf("start: %w", verr), "InvalidInputError", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := workflow.LambdaError(tc.err)
			// aws-lambda-go reports reflect.TypeOf(err).Elem().Name() for a pointer.
			if name := reflect.TypeOf(got).Elem().Name(); name != tc.wantType {
				t.Errorf("errorType = %s, want %s", name, tc.wantType)
			}
			if tc.same != nil && got != tc.same {
				t.Errorf("LambdaError wrapped an already-typed error: %v", got)
			}
			if got.Error() != tc.err.Error() {
				t.Errorf("message %q lost the context of %q", got.Error(), tc.err.Error())
			}
			if !errors.Is(got, tc.err) {
				t.Error("LambdaError does not wrap the original error")
			}
		})
	}
	if workflow.LambdaError(nil) != nil {
		t.Error("LambdaError(nil) != nil")
	}
}

// KeepUnpublished drops entries a Publish state has sent and keeps the others: all of them when
// its PutEvents failed some (which ones is not recorded). Either way no Publish has sent what
// the state then holds.
func TestKeepUnpublished(t *testing.T) {
	for _, tc := range []struct {
		name      string
		published *workflow.PublishResult
		want      int
	}{
		{"published: a fresh start", &workflow.PublishResult{}, 0},
		{"not published: carried", nil, 1},
		{"published with a failed entry: carried", &workflow.PublishResult{FailedEntryCount: 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &workflow.State{Entries: []events.Entry{{Source: events.SourceInventory, DetailType: "InventoryReserved", Detail: "{}"}}, Published: tc.published}
			st.KeepUnpublished()
			if len(st.Entries) != tc.want {
				t.Errorf("entries %d, want %d", len(st.Entries), tc.want)
			}
			if st.Published != nil { // whatever stays has yet to go out
				t.Errorf("Published %+v after KeepUnpublished", st.Published)
			}
		})
	}
}

// A failing task's log line names the order: from its state, or before the first task from the
// OrderPlaced envelope; a document that names nothing gives empty values, not an error.
func TestLogIDs(t *testing.T) {
	id := fixture.OrderID(9)
	placed := fixture.Placed(t, id, "tok_visa")
	st, err := workflow.Start(placed)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		doc  workflow.Doc
		want []any
	}{
		"state":                {workflow.Doc{State: st}, []any{"orderId", id, "correlationId", st.CorrelationID}},
		"event only":           {workflow.Doc{Event: fixture.JSON(t, placed)}, []any{"orderId", id, "correlationId", placed.CorrelationID}},
		"neither a JSON event": {workflow.Doc{Event: json.RawMessage(`"teleport"`)}, []any{"orderId", "", "correlationId", ""}},
	} {
		if got := tc.doc.LogIDs(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: LogIDs = %v, want %v", name, got, tc.want)
		}
	}
	if placed.CorrelationID == "" {
		t.Fatal("the fixture's OrderPlaced has no correlation id: the test proves nothing")
	}
}
