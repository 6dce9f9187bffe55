package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics/metricstest"
	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// fakeEventStore has the adapter's semantics: one event per (order, sequence); the same
// event again is ErrDuplicate, a different one ErrConflict.
type fakeEventStore struct {
	stored    map[string]store.EventRecord // "orderId/sequence"
	err       map[string]error             // per event id
	placedErr error                        // PlacedAt's answer, when set
	reads     int                          // PlacedAt calls
}

func (f *fakeEventStore) Append(_ context.Context, rec store.EventRecord) error {
	e := rec.Envelope
	if err := f.err[e.ID]; err != nil {
		return err
	}
	key := fmt.Sprintf("%s/%d", e.OrderID, e.Sequence)
	if old, ok := f.stored[key]; ok {
		if old.Envelope.ID == e.ID && bytes.Equal(old.Envelope.Payload, e.Payload) {
			return store.ErrDuplicate
		}
		return fmt.Errorf("slot %s: %w", key, store.ErrConflict)
	}
	f.stored[key] = rec
	return nil
}

// PlacedAt is the time of the stored OrderPlaced (sequence 1), as dynamo.EventStore reads it.
func (f *fakeEventStore) PlacedAt(_ context.Context, orderID string) (time.Time, error) {
	f.reads++
	if f.placedErr != nil {
		return time.Time{}, f.placedErr
	}
	rec, ok := f.stored[orderID+"/1"]
	if !ok {
		return time.Time{}, fmt.Errorf("placed at %s: %w", orderID, store.ErrNotFound)
	}
	return rec.Envelope.Time, nil
}

func (f *fakeEventStore) envelopes() []events.Envelope {
	var out []events.Envelope
	for _, rec := range f.stored {
		out = append(out, rec.Envelope)
	}
	return out
}

// metricsClock is the business metrics' clock in the tests.
var metricsClock = fixture.Now.Add(2 * time.Hour)

// testHandler is a Handler whose business metrics and logs (debug and up) the test reads.
type testHandler struct {
	*Handler
	metrics bytes.Buffer
	logs    bytes.Buffer
}

func newTestHandler(t *testing.T, s eventStore, d *fixture.DLQ) *testHandler {
	t.Helper()
	th := &testHandler{}
	m, err := metrics.New(&th.metrics, metrics.Orderflow(), func() time.Time { return metricsClock })
	if err != nil {
		t.Fatal(err)
	}
	th.Handler = newHandler(s, d, m, slog.New(slog.NewJSONHandler(&th.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	th.now = func() time.Time { return fixture.Now.Add(time.Hour) }
	return th
}

func kinesisRecord(seq string, data []byte) lambdaevents.KinesisEventRecord {
	var r lambdaevents.KinesisEventRecord
	r.EventSourceArn = "arn:aws:kinesis:us-east-1:000000000000:stream/order-events"
	r.Kinesis.SequenceNumber = seq
	r.Kinesis.Data = data
	r.Kinesis.ApproximateArrivalTimestamp = lambdaevents.SecondsEpochTime{Time: fixture.Now.Add(time.Minute)}
	return r
}

var failedIDs = fixture.KinesisFailures

func history(t *testing.T, id string) []events.Envelope {
	t.Helper()
	return []events.Envelope{
		fixture.Placed(t, id, "tok_visa"),
		fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypePaymentApproved, id, 3, events.PaymentApproved{OrderID: id, PaymentID: "3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93", AmountCents: 4999}),
		fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 4999}),
		fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
	}
}

// Every record twice, shuffled: each event stored once, and the fold sees the whole order.
func TestProjectsEachEventOnce(t *testing.T) {
	id := fixture.OrderID(1)
	evs := history(t, id)
	var batch []lambdaevents.KinesisEventRecord
	for i, e := range evs {
		batch = append(batch, kinesisRecord(fmt.Sprintf("4959%02d", i), fixture.EventBridge(t, e)))
	}
	f, d := &fakeEventStore{stored: map[string]store.EventRecord{}}, &fixture.DLQ{}
	resp, err := newTestHandler(t, f, d).Handle(context.Background(), lambdaevents.KinesisEvent{Records: fixture.TwiceShuffled(5, batch)})
	fixture.NothingFailed(t, resp, err)
	if len(d.Reasons()) != 0 {
		t.Fatalf("parked %v", d.Reasons())
	}
	if len(f.stored) != len(evs) {
		t.Fatalf("stored %d events, want %d", len(f.stored), len(evs))
	}
	for i, e := range evs {
		rec := f.stored[fmt.Sprintf("%s/%d", id, e.Sequence)]
		if rec.KinesisSequenceNumber != fmt.Sprintf("4959%02d", i) || !rec.KinesisArrival.Equal(fixture.Now.Add(time.Minute)) || !rec.RecordedAt.Equal(fixture.Now.Add(time.Hour)) {
			t.Errorf("record %d = %+v", i, rec)
		}
		back, err := events.Parse(rec.Detail)
		if err != nil || back.ID != e.ID || !json.Valid(rec.Detail) {
			t.Errorf("stored detail does not parse back: %v", err)
		}
	}
	o, err := order.Fold(f.envelopes())
	if err != nil || o.Status != order.StatusShipped || len(o.Events) != 5 {
		t.Errorf("fold = %+v, %v", o, err)
	}
}

func TestPoisonAndFailures(t *testing.T) {
	id := fixture.OrderID(2)
	evs := history(t, id)
	// A different OrderPlaced for the same order: same deterministic id, another payload.
	rival := fixture.Placed(t, id, "tok_declined")
	good := fixture.EventBridge(t, evs[1])
	tests := []struct {
		name       string
		records    []lambdaevents.KinesisEventRecord
		setup      func(*fakeEventStore, *fixture.DLQ)
		wantFailed []string
		wantParked []string // reason substrings, in order
		wantStored int
		wantLines  int // business metrics lines: only the events appended
	}{
		{name: "sequence conflict parked", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", fixture.EventBridge(t, evs[0])), kinesisRecord("2", fixture.EventBridge(t, rival))},
			wantParked: []string{"sequence conflict"}, wantStored: 1, wantLines: 1},
		{name: "not json parked", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", []byte{0xff, 0x00})}, wantParked: []string{"not an EventBridge event"}},
		{name: "schema break parked", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", bytes.Replace(good, []byte(`"quantity":1`), []byte(`"quantity":0`), 1))},
			wantParked: []string{"quantity"}},
		{name: "unknown type parked", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", bytes.ReplaceAll(good, []byte(`InventoryReserved`), []byte(`InventoryCounted`)))},
			wantParked: []string{"InventoryCounted"}},
		// Lambda retries from the throttled record: the one after it waits for that retry, so that
		// an order's events are stored in their order.
		{name: "the throttled record is retried, and the records after it with it", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", fixture.EventBridge(t, evs[0])), kinesisRecord("2", good), kinesisRecord("3", fixture.EventBridge(t, evs[2]))},
			setup: func(f *fakeEventStore, _ *fixture.DLQ) {
				f.err[evs[1].ID] = errors.New("ProvisionedThroughputExceededException")
			}, wantFailed: []string{"2"}, wantStored: 1, wantLines: 1}, // OrderPlaced's
		{name: "dead-letter queue down: retried", records: []lambdaevents.KinesisEventRecord{kinesisRecord("1", []byte("{"))},
			setup: func(_ *fakeEventStore, d *fixture.DLQ) { d.Err = errors.New("down") }, wantFailed: []string{"1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, d := &fakeEventStore{stored: map[string]store.EventRecord{}, err: map[string]error{}}, &fixture.DLQ{}
			if tc.setup != nil {
				tc.setup(f, d)
			}
			h := newTestHandler(t, f, d)
			resp, _ := h.Handle(context.Background(), lambdaevents.KinesisEvent{Records: tc.records})
			want := tc.wantFailed
			if want == nil {
				want = []string{}
			}
			if got := failedIDs(resp); !reflect.DeepEqual(got, want) {
				t.Errorf("failed = %v, want %v", got, want)
			}
			if len(d.Reasons()) != len(tc.wantParked) {
				t.Fatalf("parked %v, want %v", d.Reasons(), tc.wantParked)
			}
			for i, w := range tc.wantParked {
				if !strings.Contains(d.Reasons()[i], w) {
					t.Errorf("reason %q lacks %q", d.Reasons()[i], w)
				}
			}
			if len(f.stored) != tc.wantStored {
				t.Errorf("stored %d, want %d", len(f.stored), tc.wantStored)
			}
			if lines := metricstest.Lines(t, h.metrics.Bytes()); len(lines) != tc.wantLines {
				t.Errorf("%d metrics lines, want %d:\n%s", len(lines), tc.wantLines, h.metrics.String())
			}
		})
	}
}
