package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/dynamo"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics"
	"github.com/orderflow-dev/orderflow/functions/internal/metrics/metricstest"
	"github.com/orderflow-dev/orderflow/functions/internal/store"
)

// describe lists the metrics of the lines as "Name=value Unit {dimension=value,...} ...", one
// per metric with one {...} per dimension set, after checking each line against the EMF
// specification, the namespace and the clock.
func describe(t *testing.T, out []byte) []string {
	t.Helper()
	got := []string{}
	for _, r := range metricstest.Lines(t, out) {
		if !r.Timestamp.Equal(metricsClock) {
			t.Errorf("record at %v, want the metrics clock's %v", r.Timestamp, metricsClock)
		}
		for _, m := range r.Metrics() {
			if m.Namespace != metrics.Namespace {
				t.Errorf("namespace %q", m.Namespace)
			}
			vals := make([]string, 0, len(m.Values))
			for _, v := range m.Values {
				vals = append(vals, strconv.FormatFloat(v, 'f', -1, 64))
			}
			line := fmt.Sprintf("%s=%s %s", m.Name, strings.Join(vals, ","), m.Unit)
			for _, set := range m.Dimensions {
				var dims []string
				for _, k := range set {
					dims = append(dims, k+"="+r.Dimension(k))
				}
				line += " {" + strings.Join(dims, ",") + "}"
			}
			got = append(got, line)
		}
	}
	return got
}

func newStore() *fakeEventStore {
	return &fakeEventStore{stored: map[string]store.EventRecord{}, err: map[string]error{}}
}

func handle(t *testing.T, h *testHandler, evs ...events.Envelope) lambdaevents.KinesisEventResponse {
	t.Helper()
	var recs []lambdaevents.KinesisEventRecord
	for i, e := range evs {
		recs = append(recs, kinesisRecord(strconv.Itoa(i), fixture.EventBridge(t, e)))
	}
	resp, err := h.Handle(context.Background(), lambdaevents.KinesisEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Each event type's metrics, as CloudWatch will extract them. The fixture's events happen at
// Now + sequence seconds: an OrderPlaced at +1s, so a terminal event at sequence n took n-1 seconds.
func TestBusinessMetricsPerEvent(t *testing.T) {
	id := fixture.OrderID(10)
	placed := fixture.Placed(t, id, "tok_visa")
	cancelled := func(seq int, reason string) events.Envelope {
		return fixture.Event(t, events.TypeOrderCancelled, id, seq, events.OrderCancelled{OrderID: id, Reason: reason})
	}
	shipped := fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"})
	refunded := fixture.Event(t, events.TypePaymentRefunded, id, 5, events.PaymentRefunded{OrderID: id, PaymentID: "3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93", AmountCents: 4999, Reason: events.ReasonFulfilmentFailed})
	late := func(e events.Envelope) events.Envelope {
		e.Time = e.Time.Add(time.Hour)
		return e
	}
	for _, tc := range []struct {
		name      string
		stored    []events.Envelope // in the event store before
		placedErr error
		e         events.Envelope
		want      []string
		wantReads int
		wantLog   string
	}{
		{name: "placed", e: placed, want: []string{"OrdersPlaced=1 Count {}"}},
		{name: "shipped", stored: []events.Envelope{placed}, e: shipped, wantReads: 1,
			want: []string{"OrdersShipped=1 Count {}", "PlacedToTerminal=4000 Milliseconds {} {Outcome=shipped}"}},
		{name: "cancelled: out of stock", stored: []events.Envelope{placed}, e: cancelled(2, events.ReasonOutOfStock), wantReads: 1,
			want: []string{"OrdersCancelled=1 Count {} {Reason=out-of-stock}", "PlacedToTerminal=1000 Milliseconds {} {Outcome=cancelled}"}},
		{name: "cancelled: payment declined", stored: []events.Envelope{placed}, e: cancelled(4, events.ReasonPaymentDeclined), wantReads: 1,
			want: []string{"OrdersCancelled=1 Count {} {Reason=payment-declined}", "PlacedToTerminal=3000 Milliseconds {} {Outcome=cancelled}"}},
		{name: "cancelled: fulfilment failed", stored: []events.Envelope{placed}, e: cancelled(7, events.ReasonFulfilmentFailed), wantReads: 1,
			want: []string{"OrdersCancelled=1 Count {} {Reason=fulfilment-failed}", "PlacedToTerminal=6000 Milliseconds {} {Outcome=cancelled}"}},
		{name: "refunded", stored: []events.Envelope{placed}, e: refunded,
			want: []string{"Refunds=1 Count {}", "RefundedCents=4999 Count {}"}},
		{name: "shipped before its OrderPlaced arrived: the count, no latency", e: shipped, wantReads: 1,
			want: []string{"OrdersShipped=1 Count {}"}, wantLog: `"level":"DEBUG","msg":"OrderPlaced not in the event store yet: PlacedToTerminal not measured"`},
		{name: "cancelled, the event store unreadable: the count, no latency", stored: []events.Envelope{placed}, placedErr: errors.New("ProvisionedThroughputExceededException"),
			e: cancelled(2, events.ReasonOutOfStock), wantReads: 1,
			want: []string{"OrdersCancelled=1 Count {} {Reason=out-of-stock}"}, wantLog: `"level":"WARN","msg":"PlacedToTerminal not measured"`},
		{name: "shipped before its OrderPlaced's time (clocks apart): the count, no latency", stored: []events.Envelope{late(placed)}, e: shipped, wantReads: 1,
			want: []string{"OrdersShipped=1 Count {}"}, wantLog: `"level":"WARN","msg":"PlacedToTerminal not measured: the event is older than its OrderPlaced"`},
		{name: "confirmed counts nothing", stored: []events.Envelope{placed}, e: fixture.Event(t, events.TypeOrderConfirmed, id, 4, events.OrderConfirmed{OrderID: id, TotalCents: 4999})},
		{name: "reserved counts nothing", stored: []events.Envelope{placed}, e: fixture.Event(t, events.TypeInventoryReserved, id, 2, events.InventoryReserved{OrderID: id, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}})},
		{name: "declined counts nothing", stored: []events.Envelope{placed}, e: fixture.Event(t, events.TypePaymentDeclined, id, 3, events.PaymentDeclined{OrderID: id, PaymentID: "3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93", Reason: "card-declined"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newStore()
			for _, e := range tc.stored {
				f.stored[fmt.Sprintf("%s/%d", e.OrderID, e.Sequence)] = store.EventRecord{Envelope: e}
			}
			f.placedErr = tc.placedErr
			h := newTestHandler(t, f, &fixture.DLQ{})
			if ids := failedIDs(handle(t, h, tc.e)); len(ids) != 0 {
				t.Fatalf("failed %v", ids)
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := describe(t, h.metrics.Bytes()); !reflect.DeepEqual(got, want) {
				t.Errorf("metrics\n got %q\nwant %q", got, want)
			}
			if lines := bytes.Count(h.metrics.Bytes(), []byte("\n")); lines != min(len(want), 1) {
				t.Errorf("%d lines, want one record for an event that counts, none otherwise", lines)
			}
			if f.reads != tc.wantReads {
				t.Errorf("%d reads of the OrderPlaced time, want %d", f.reads, tc.wantReads)
			}
			if !strings.Contains(h.logs.String(), tc.wantLog) {
				t.Errorf("logs lack %s:\n%s", tc.wantLog, h.logs.String())
			}
		})
	}
}

// Three whole orders, every record twice and shuffled: each event counts exactly once, and a
// terminal event measures its latency exactly when its order's OrderPlaced was stored before it.
func TestBusinessMetricsOncePerEvent(t *testing.T) {
	a, b, c := fixture.OrderID(11), fixture.OrderID(12), fixture.OrderID(13)
	payment := "3d0f6a2c-5b1e-4c8d-9a7f-2e6b4c1d8f93"
	evs := append(history(t, a), // placed ... shipped at sequence 5
		fixture.Placed(t, b, "tok_visa"),
		fixture.Event(t, events.TypeOrderCancelled, b, 2, events.OrderCancelled{OrderID: b, Reason: events.ReasonOutOfStock}),
		fixture.Placed(t, c, "tok_visa"),
		fixture.Event(t, events.TypeInventoryReserved, c, 2, events.InventoryReserved{OrderID: c, Items: []events.StockLine{{SKU: "SKU-001", Quantity: 1}}}),
		fixture.Event(t, events.TypePaymentApproved, c, 3, events.PaymentApproved{OrderID: c, PaymentID: payment, AmountCents: 4999}),
		fixture.Event(t, events.TypePaymentRefunded, c, 4, events.PaymentRefunded{OrderID: c, PaymentID: payment, AmountCents: 4999, Reason: events.ReasonFulfilmentFailed}),
		fixture.Event(t, events.TypeOrderCancelled, c, 5, events.OrderCancelled{OrderID: c, Reason: events.ReasonFulfilmentFailed}),
	)
	var batch []lambdaevents.KinesisEventRecord
	for i, e := range evs {
		batch = append(batch, kinesisRecord(strconv.Itoa(i), fixture.EventBridge(t, e)))
	}
	measured, unmeasured := 0, 0 // terminal events with and without a latency, over the seeds
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			records := fixture.TwiceShuffled(seed, batch)
			// The first arrival of each event is the one appended; the later copy is a duplicate.
			first := map[string]int{}
			for i, r := range records {
				if _, ok := first[r.Kinesis.SequenceNumber]; !ok {
					first[r.Kinesis.SequenceNumber] = i
				}
			}
			placedFirst := func(orderIdx, terminalIdx int) bool {
				return first[strconv.Itoa(orderIdx)] < first[strconv.Itoa(terminalIdx)]
			}
			want := []string{
				"OrdersPlaced=1 Count {}", "OrdersPlaced=1 Count {}", "OrdersPlaced=1 Count {}",
				"OrdersShipped=1 Count {}",
				"OrdersCancelled=1 Count {} {Reason=out-of-stock}", "OrdersCancelled=1 Count {} {Reason=fulfilment-failed}",
				"Refunds=1 Count {}", "RefundedCents=4999 Count {}",
			}
			// Indexes in evs: a's OrderPlaced 0, its OrderShipped 4; b's 5 and 6; c's 7 and 11.
			if placedFirst(0, 4) {
				want = append(want, "PlacedToTerminal=4000 Milliseconds {} {Outcome=shipped}")
			}
			if placedFirst(5, 6) {
				want = append(want, "PlacedToTerminal=1000 Milliseconds {} {Outcome=cancelled}")
			}
			if placedFirst(7, 11) {
				want = append(want, "PlacedToTerminal=4000 Milliseconds {} {Outcome=cancelled}")
			}
			measured += len(want) - 8
			unmeasured += 3 - (len(want) - 8)
			f := newStore()
			h := newTestHandler(t, f, &fixture.DLQ{})
			resp, err := h.Handle(context.Background(), lambdaevents.KinesisEvent{Records: records})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("failures %v, %v", resp.BatchItemFailures, err)
			}
			got := describe(t, h.metrics.Bytes())
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("metrics\n got %q\nwant %q", got, want)
			}
			if f.reads != 3 {
				t.Errorf("%d reads of an OrderPlaced time, want 3: one per terminal event, none for its duplicate", f.reads)
			}
			if lines := bytes.Count(h.metrics.Bytes(), []byte("\n")); lines != 7 {
				t.Errorf("%d lines, want 7: one per event that counts (3 placed, 1 shipped, 2 cancelled, 1 refunded)", lines)
			}
		})
	}
	if measured == 0 || unmeasured == 0 {
		t.Errorf("the seeds gave %d measured and %d unmeasured latencies: want both cases", measured, unmeasured)
	}
}

// A record that is not appended now counts nothing: a redelivery, a replay, a conflict, a
// poison record, a failed append. Its retry, once appended, counts once.
func TestNoMetricsUnlessAppended(t *testing.T) {
	id := fixture.OrderID(14)
	placed := fixture.Placed(t, id, "tok_visa")
	shipped := fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"})
	f, d := newStore(), &fixture.DLQ{}
	h := newTestHandler(t, f, d)

	handle(t, h, placed, shipped)
	if got := describe(t, h.metrics.Bytes()); len(got) != 3 {
		t.Fatalf("first delivery: %q", got)
	}
	h.metrics.Reset()
	f.reads = 0

	handle(t, h, placed, shipped, placed) // redelivered, then replayed
	rival := fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "Other Parcel"})
	handle(t, h, rival) // a different fact at a taken sequence: parked
	poison := fixture.EventBridge(t, fixture.Placed(t, fixture.OrderID(15), "tok_visa"))
	poison = bytes.Replace(poison, []byte(`"quantity":1`), []byte(`"quantity":0`), 1)
	if _, err := h.Handle(context.Background(), lambdaevents.KinesisEvent{Records: []lambdaevents.KinesisEventRecord{kinesisRecord("p", poison)}}); err != nil {
		t.Fatal(err)
	}
	if len(d.Reasons()) != 2 {
		t.Fatalf("parked %v, want the conflict and the poison record", d.Reasons())
	}
	other := fixture.Placed(t, fixture.OrderID(16), "tok_visa")
	f.err[other.ID] = errors.New("ProvisionedThroughputExceededException")
	if ids := failedIDs(handle(t, h, other)); len(ids) != 1 {
		t.Fatalf("the throttled append was not retried: failed %v", ids)
	}
	if h.metrics.Len() != 0 || f.reads != 0 {
		t.Fatalf("metrics for records not appended now (%d reads):\n%s", f.reads, h.metrics.String())
	}

	delete(f.err, other.ID) // the retry goes through
	handle(t, h, other)
	if got := describe(t, h.metrics.Bytes()); !reflect.DeepEqual(got, []string{"OrdersPlaced=1 Count {}"}) {
		t.Errorf("the retried record's metrics: %q", got)
	}
}

type brokenEmitter struct{ calls int }

func (b *brokenEmitter) Emit(map[string]string, ...metrics.Value) error {
	b.calls++
	return errors.New("metrics: write: broken pipe")
}

// A metric that cannot be written is logged; the record is still done: stored, not retried,
// not parked.
func TestMetricsFailureDoesNotFailTheRecord(t *testing.T) {
	id := fixture.OrderID(17)
	f, d := newStore(), &fixture.DLQ{}
	var logs bytes.Buffer
	broken := &brokenEmitter{}
	h := newHandler(f, d, broken, slog.New(slog.NewJSONHandler(&logs, nil)))
	resp, err := h.Handle(context.Background(), lambdaevents.KinesisEvent{Records: []lambdaevents.KinesisEventRecord{
		kinesisRecord("1", fixture.EventBridge(t, fixture.Placed(t, id, "tok_visa"))),
		kinesisRecord("2", fixture.EventBridge(t, fixture.Event(t, events.TypeOrderCancelled, id, 2, events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock}))),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 || len(d.Reasons()) != 0 || len(f.stored) != 2 {
		t.Fatalf("failures %v, parked %v, stored %d, %v", resp.BatchItemFailures, d.Reasons(), len(f.stored), err)
	}
	if broken.calls != 2 {
		t.Errorf("%d emits, want 2: one record per event", broken.calls)
	}
	for _, want := range []string{`"level":"WARN","msg":"business metrics not emitted"`, `"metrics":["OrdersPlaced"],"error":"metrics: write: broken pipe"`,
		`"metrics":["OrdersCancelled","PlacedToTerminal"],"error":"metrics: write: broken pipe"`, `"msg":"message done"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}

// fakeDynamo is the part of DynamoDB the event store adapter calls, holding items by key, with
// the conditional put's semantics. It records the GetItem requests.
type fakeDynamo struct {
	items map[string]map[string]types.AttributeValue
	gets  []*dynamodb.GetItemInput
}

func itemKey(key map[string]types.AttributeValue) string {
	id, _ := key["orderId"].(*types.AttributeValueMemberS)
	seq, _ := key["sequence"].(*types.AttributeValueMemberN)
	if id == nil || seq == nil {
		return ""
	}
	return id.Value + "/" + seq.Value
}

func (f *fakeDynamo) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	k := itemKey(in.Item)
	if old, ok := f.items[k]; ok && aws.ToString(in.ConditionExpression) == "attribute_not_exists(orderId)" {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("taken"), Item: old}
	}
	f.items[k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeDynamo) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.gets = append(f.gets, in)
	return &dynamodb.GetItemOutput{Item: f.items[itemKey(in.Key)]}, nil
}

func (f *fakeDynamo) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errors.New("the projector does not query (its role has no dynamodb:Query)")
}

// Through the real adapter: the latency comes from one consistent GetItem of the order's
// first item, and an order without one measures nothing.
func TestLatencyThroughTheEventStoreAdapter(t *testing.T) {
	id, orphan := fixture.OrderID(18), fixture.OrderID(19)
	db := &fakeDynamo{items: map[string]map[string]types.AttributeValue{}}
	h := newTestHandler(t, dynamo.NewEventStore(db, "event-store"), &fixture.DLQ{})
	handle(t, h,
		fixture.Placed(t, id, "tok_visa"),
		fixture.Event(t, events.TypeOrderShipped, id, 5, events.OrderShipped{OrderID: id, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME Parcel"}),
		fixture.Event(t, events.TypeOrderCancelled, orphan, 3, events.OrderCancelled{OrderID: orphan, Reason: events.ReasonPaymentDeclined}),
	)
	want := []string{
		"OrdersPlaced=1 Count {}",
		"OrdersShipped=1 Count {}", "PlacedToTerminal=4000 Milliseconds {} {Outcome=shipped}",
		"OrdersCancelled=1 Count {} {Reason=payment-declined}",
	}
	if got := describe(t, h.metrics.Bytes()); !reflect.DeepEqual(got, want) {
		t.Errorf("metrics\n got %q\nwant %q", got, want)
	}
	if len(db.gets) != 2 {
		t.Fatalf("%d GetItems, want 2", len(db.gets))
	}
	for i, in := range db.gets {
		wantKey := []string{id + "/1", orphan + "/1"}[i]
		if itemKey(in.Key) != wantKey || !aws.ToBool(in.ConsistentRead) || aws.ToString(in.TableName) != "event-store" || aws.ToString(in.ProjectionExpression) == "" {
			t.Errorf("GetItem %d: key %s, consistent %v, table %s, projection %q; want %s, consistent, projected",
				i, itemKey(in.Key), aws.ToBool(in.ConsistentRead), aws.ToString(in.TableName), aws.ToString(in.ProjectionExpression), wantKey)
		}
	}
	// An item at sequence 1 that is not an OrderPlaced is an error, not a latency.
	es := dynamo.NewEventStore(db, "event-store")
	db.items[orphan+"/1"] = map[string]types.AttributeValue{"type": &types.AttributeValueMemberS{Value: "OrderShipped"}, "time": &types.AttributeValueMemberS{Value: fixture.Now.Format(time.RFC3339Nano)}}
	if _, err := es.PlacedAt(context.Background(), orphan); err == nil || errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "not an OrderPlaced") {
		t.Errorf("PlacedAt over a non-OrderPlaced item: %v", err)
	}
	if _, err := es.PlacedAt(context.Background(), fixture.OrderID(20)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PlacedAt of an unknown order: %v, want store.ErrNotFound", err)
	}
}
