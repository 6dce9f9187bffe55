package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/events/eventstest"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// memDB is an in-memory DynamoDB for the calls the adapters and a replay make.
type memDB struct {
	keys  map[string][]string
	items map[string]map[string]map[string]types.AttributeValue // table -> key -> item
	puts  int
	// beforeQuery, when set, runs once, before the first Query it finds set (live traffic).
	beforeQuery func()
}

func newMemDB() *memDB {
	return &memDB{keys: map[string][]string{"es": {"orderId", "sequence"}, "an": {"pk"}}, items: map[string]map[string]map[string]types.AttributeValue{"es": {}, "an": {}}}
}

func (m *memDB) key(table string, item map[string]types.AttributeValue) string {
	var parts []string
	for _, k := range m.keys[table] {
		switch v := item[k].(type) {
		case *types.AttributeValueMemberS:
			parts = append(parts, v.Value)
		case *types.AttributeValueMemberN:
			parts = append(parts, v.Value)
		}
	}
	return strings.Join(parts, "|")
}

func (m *memDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	t, k := *in.TableName, m.key(*in.TableName, in.Item)
	if _, ok := m.items[t][k]; ok && in.ConditionExpression != nil {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("exists")} // no item: the adapter reads it
	}
	m.puts++
	m.items[t][k] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: m.items[*in.TableName][m.key(*in.TableName, in.Key)]}, nil
}

func (m *memDB) sorted(table string, keep func(map[string]types.AttributeValue) bool) []map[string]types.AttributeValue {
	var out []map[string]types.AttributeValue
	for _, it := range m.items[table] {
		if keep(it) {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool { return m.key(table, out[i]) < m.key(table, out[j]) })
	return out
}

func (m *memDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if f := m.beforeQuery; f != nil {
		m.beforeQuery = nil
		f()
	}
	id := in.ExpressionAttributeValues[":id"].(*types.AttributeValueMemberS).Value
	return &dynamodb.QueryOutput{Items: m.sorted(*in.TableName, func(it map[string]types.AttributeValue) bool {
		s, _ := it["orderId"].(*types.AttributeValueMemberS)
		return s != nil && s.Value == id
	})}, nil
}

func (m *memDB) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return &dynamodb.ScanOutput{Items: m.sorted(*in.TableName, func(map[string]types.AttributeValue) bool { return true })}, nil
}

func (m *memDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if p := it.Put; p != nil && m.items[*p.TableName][m.key(*p.TableName, p.Item)] != nil {
			return nil, &types.TransactionCanceledException{CancellationReasons: []types.CancellationReason{{Code: aws.String("ConditionalCheckFailed")}, {Code: aws.String("None")}}}
		}
	}
	for _, it := range in.TransactItems {
		if p := it.Put; p != nil {
			m.items[*p.TableName][m.key(*p.TableName, p.Item)] = p.Item
			continue
		}
		adds, err := addExpression(it.Update)
		if err != nil {
			return nil, err
		}
		t, k := *it.Update.TableName, m.key(*it.Update.TableName, it.Update.Key)
		item := m.items[t][k]
		if item == nil {
			item = map[string]types.AttributeValue{"pk": it.Update.Key["pk"]}
		}
		for attr, v := range adds {
			var cur int64 // absent: 0
			if err := attributevalue.Unmarshal(item[attr], &cur); item[attr] != nil && err != nil {
				return nil, err
			}
			item[attr] = &types.AttributeValueMemberN{Value: fmt.Sprint(cur + v)}
		}
		m.items[t][k] = item
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// oneShard is a stream of one shard, served in one page.
type oneShard struct{ data [][]byte }

func (s *oneShard) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []ktypes.Shard{{ShardId: aws.String("shard-0")}}}, nil
}

func (s *oneShard) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	from := 0
	if in.ShardIteratorType == ktypes.ShardIteratorTypeAfterSequenceNumber {
		fmt.Sscan(*in.StartingSequenceNumber, &from)
		from++
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprint(from))}, nil
}

func (s *oneShard) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	var from int
	fmt.Sscan(*in.ShardIterator, &from)
	out := &kinesis.GetRecordsOutput{MillisBehindLatest: aws.Int64(0), NextShardIterator: aws.String(fmt.Sprint(len(s.data)))}
	for i := from; i < len(s.data); i++ {
		out.Records = append(out.Records, ktypes.Record{SequenceNumber: aws.String(fmt.Sprint(i)), PartitionKey: aws.String("pk"), Data: s.data[i], ApproximateArrivalTimestamp: aws.Time(now)})
	}
	return out, nil
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	orderA = "ORD-1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	orderB = "ORD-2c5f39cb-3fb2-42e3-994f-1127e4ddb538"
)

func event(t *testing.T, typ events.Type, orderID string, seq int, payload any) events.Envelope {
	t.Helper()
	return eventstest.Event(t, typ, orderID, seq, payload, now)
}

func placed(t *testing.T, orderID string) events.Envelope {
	return event(t, events.TypeOrderPlaced, orderID, 1, events.OrderPlaced{
		OrderID: orderID, CustomerID: "cust-1", Currency: "USD", PaymentIntentID: "pi_0123456789abcdef0123456789abcdef", TotalCents: 4999,
		Items: []events.Item{{SKU: "SKU-001", Name: "Trail running shoes", Quantity: 1, UnitPriceCents: 4999}},
	})
}

func record(t *testing.T, e events.Envelope) []byte {
	t.Helper()
	entry, err := e.Entry("bus")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"detail-type": entry.DetailType, "source": entry.Source, "detail": json.RawMessage(entry.Detail)})
	return b
}

// A stream of two orders: A paid and confirmed (its payment delivered twice), B cancelled; plus a
// record that is not an event.
func stream(t *testing.T) (*oneShard, []events.Envelope) {
	a := []events.Envelope{
		placed(t, orderA),
		event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999}),
		event(t, events.TypeOrderConfirmed, orderA, 3, events.OrderConfirmed{OrderID: orderA, TotalCents: 4999}),
		placed(t, orderB),
		event(t, events.TypeOrderCancelled, orderB, 2, events.OrderCancelled{OrderID: orderB, Reason: events.ReasonOutOfStock}),
	}
	s := &oneShard{}
	for _, e := range a {
		s.data = append(s.data, record(t, e))
	}
	s.data = append(s.data, record(t, a[1]), []byte("not an event"))
	return s, a
}

func deps(s *oneShard, db *memDB) Deps {
	return Deps{Stream: s, StreamName: "s", DB: db, EventStoreTable: "es", AnalyticsTable: "an"}
}

func opts(o Options) Options {
	o.Now, o.Rounds, o.Pause = func() time.Time { return now }, 1, time.Millisecond
	return o
}

func TestReplayRebuildsAndIsIdempotent(t *testing.T) {
	s, _ := stream(t)
	db := newMemDB()
	r, err := Run(context.Background(), deps(s, db), opts(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Records != 7 || r.Events != 6 || len(r.Invalid) != 1 || r.Orders != 2 {
		t.Fatalf("report %+v, want OK: 7 records, 6 events of 2 orders, 1 invalid", r)
	}
	if want := (Tally{Applied: 5, AlreadyPresent: 1}); r.EventStore != want {
		t.Errorf("event store %+v, want %+v", r.EventStore, want)
	}
	if want := (Tally{Applied: 2, AlreadyPresent: 1, NotCounted: 3}); r.Analytics != want {
		t.Errorf("analytics %+v, want %+v", r.Analytics, want)
	}
	if want := (toolkit.Totals{Orders: 1, RevenueCents: 4999, Cancelled: 1}); !r.TotalsChecked || r.Recomputed != want || r.Table != want {
		t.Errorf("totals recomputed %+v, table %+v, want both %+v", r.Recomputed, r.Table, want)
	}
	again, err := Run(context.Background(), deps(s, db), opts(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !again.OK() || again.EventStore.Applied != 0 || again.EventStore.AlreadyPresent != 6 || again.Analytics.Applied != 0 || again.Table != r.Table {
		t.Errorf("second replay %+v, want nothing new", again)
	}
	one, err := Run(context.Background(), deps(s, db), opts(Options{OrderID: orderA, From: FromEventStore}))
	if err != nil {
		t.Fatal(err)
	}
	if !one.OK() || one.Events != 3 || one.CountedMarked != 1 || one.TotalsChecked {
		t.Errorf("replay of %s from the event store %+v, want its 3 events, its payment counted", orderA, one)
	}
}

func TestDryRunWritesNothingAndSaysWhat(t *testing.T) {
	s, _ := stream(t)
	db := newMemDB()
	r, err := Run(context.Background(), deps(s, db), opts(Options{DryRun: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.EventStore.Applied != 5 || r.EventStore.AlreadyPresent != 1 || r.Analytics.Applied != 2 || r.Table != r.Recomputed {
		t.Errorf("dry run %+v, want what a replay would do, and its check passing", r)
	}
	if db.puts != 0 || len(db.items["es"]) != 0 || len(db.items["an"]) != 0 {
		t.Errorf("a dry run wrote %d items: %v", db.puts, db.items)
	}
}

func TestReplayReportsWhatDiffers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, db *memDB, evs []events.Envelope)
		want    string
	}{
		{"a different event holds a slot", func(t *testing.T, db *memDB, evs []events.Envelope) {
			other := event(t, events.TypeOrderCancelled, orderA, 2, events.OrderCancelled{OrderID: orderA, Reason: events.ReasonFulfilmentFailed})
			put(t, db, other)
		}, "CANCELLED"},
		{"the event store is ahead of the stream", func(t *testing.T, db *memDB, evs []events.Envelope) {
			put(t, db, event(t, events.TypeOrderShipped, orderA, 4, events.OrderShipped{OrderID: orderA, ShipmentID: "9a4e7c21-6d3b-4f58-8b0e-1c7d5a2f4e69", Carrier: "ACME"}))
		}, "SHIPPED after 4 events"},
		{"the totals were counted elsewhere", func(t *testing.T, db *memDB, evs []events.Envelope) {
			db.items["an"]["TOTALS"] = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TOTALS"}, "orders": &types.AttributeValueMemberN{Value: "7"}}
		}, "analytics totals"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, evs := stream(t)
			db := newMemDB()
			tc.prepare(t, db, evs)
			r, err := Run(context.Background(), deps(s, db), opts(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !strings.Contains(strings.Join(append(r.Mismatches, r.Conflicts...), "\n"), tc.want) {
				t.Errorf("report %+v: want a failure mentioning %q", r, tc.want)
			}
		})
	}
}

func put(t *testing.T, db *memDB, e events.Envelope) {
	t.Helper()
	rec, err := toolkit.EventRecord(e, "x", now, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := toolkit.NewEventStore(db, "es").Append(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

// An order paid longer ago than analytics keeps its markers: counted when it was new, its
// marker may be gone, so a replay from the event store must not count it again; it still
// counts in the totals recomputed, and they agree with the table.
func TestReplayDoesNotCountAgainWhatIsOlderThanTheMarkers(t *testing.T) {
	db := newMemDB()
	put(t, db, placed(t, orderA))
	put(t, db, event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999}))
	db.items["an"]["TOTALS"] = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TOTALS"},
		"orders": &types.AttributeValueMemberN{Value: "1"}, "revenueCents": &types.AttributeValueMemberN{Value: "4999"}}
	o := opts(Options{From: FromEventStore})
	o.Now = func() time.Time { return now.Add(toolkit.MarkerRetention + 24*time.Hour) }
	r, err := Run(context.Background(), deps(&oneShard{}, db), o)
	if err != nil {
		t.Fatal(err)
	}
	if want := (toolkit.Totals{Orders: 1, RevenueCents: 4999}); r.Table != want || r.Recomputed != want || !r.OK() {
		t.Errorf("table %+v, recomputed %+v, OK %v: want both %+v, nothing counted twice", r.Table, r.Recomputed, r.OK(), want)
	}
	if r.Analytics.Applied != 0 || r.Analytics.TooOld != 1 || r.Analytics.NotCounted != 1 {
		t.Errorf("analytics %+v, want nothing counted: the payment too old, OrderPlaced not a counting type", r.Analytics)
	}
	// The same order alone (-order): its markers are not looked for either.
	o.OrderID = orderA
	r, err = Run(context.Background(), deps(&oneShard{}, db), o)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Analytics.Applied != 0 {
		t.Errorf("-order: OK %v, mismatches %q, analytics %+v: want OK, nothing counted", r.OK(), r.Mismatches, r.Analytics)
	}
}

// When the totals still differ after a round, the next starts over, but the report keeps what
// the first one wrote: here, the payment counted in round 1 (the totals differ for good, counted
// elsewhere).
func TestReplayReportKeepsWhatEarlierRoundsWrote(t *testing.T) {
	db := newMemDB()
	put(t, db, placed(t, orderA))
	put(t, db, event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999}))
	db.items["an"]["TOTALS"] = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TOTALS"}, "orders": &types.AttributeValueMemberN{Value: "7"}}
	o := opts(Options{From: FromEventStore})
	o.Rounds = 2
	r, err := Run(context.Background(), deps(&oneShard{}, db), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, marked := db.items["an"]["EVT#"+events.ID(orderA, 2)]; !marked {
		t.Fatal("the payment was not counted")
	}
	if r.Analytics.Applied != 1 || r.OK() {
		t.Errorf("analytics %+v, OK %v: want the one count of round 1 reported, and the difference", r.Analytics, r.OK())
	}
}

// The stream keeps 7 days; the event store and the analytics table keep every order. Order A
// was placed before the stream's window and paid within it (its payment reached analytics but
// not the event store); order B left the stream whole. A replay from the stream appends A's
// payment, calls A's fold partial rather than wrong, and holds the table to the event store's
// totals, A's and B's: nothing differs. In a dry run too.
func TestReplayFromAStreamThatNoLongerHoldsEveryOrder(t *testing.T) {
	paid := func(id string) events.Envelope {
		return event(t, events.TypePaymentApproved, id, 2, events.PaymentApproved{OrderID: id, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999})
	}
	for _, dry := range []bool{true, false} {
		db := newMemDB()
		put(t, db, placed(t, orderA))
		put(t, db, placed(t, orderB))
		put(t, db, paid(orderB))
		for _, id := range []string{orderA, orderB} {
			db.items["an"]["EVT#"+events.ID(id, 2)] = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EVT#" + events.ID(id, 2)}}
		}
		db.items["an"]["TOTALS"] = map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "TOTALS"},
			"orders": &types.AttributeValueMemberN{Value: "2"}, "revenueCents": &types.AttributeValueMemberN{Value: "9998"}}
		s := &oneShard{data: [][]byte{record(t, paid(orderA))}}
		r, err := Run(context.Background(), deps(s, db), opts(Options{DryRun: dry}))
		if err != nil {
			t.Fatal(err)
		}
		want := toolkit.Totals{Orders: 2, RevenueCents: 9998}
		if !r.OK() || fmt.Sprint(r.Partial) != "["+orderA+"]" || r.EventStore.Applied != 1 || r.Analytics.AlreadyPresent != 1 || r.Recomputed != want || r.Table != want {
			t.Errorf("dry run %v: OK %v, mismatches %q, partial %v, event store %+v, analytics %+v, totals %+v / table %+v; want OK, A partial, its payment appended and already counted, both %+v",
				dry, r.OK(), r.Mismatches, r.Partial, r.EventStore, r.Analytics, r.Recomputed, r.Table, want)
		}
	}
}

// An event that reaches the stream and the event store while the replay checks what it read
// (live traffic) makes that check differ; the catch-up read takes it, and the verdict is the
// check after it, not the one before, even on the last round.
func TestReplayFromTheStreamChecksAfterItsLastCatchUp(t *testing.T) {
	db := newMemDB()
	s := &oneShard{data: [][]byte{record(t, placed(t, orderA))}}
	db.beforeQuery = func() { // the order is paid while the replay checks it
		paid := event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 4999})
		s.data = append(s.data, record(t, paid))
		put(t, db, paid)
	}
	r, err := Run(context.Background(), deps(s, db), opts(Options{})) // one round
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Records != 2 || r.Events != 2 {
		t.Errorf("OK %v, mismatches %q, %d records, %d events: want OK, both records and events", r.OK(), r.Mismatches, r.Records, r.Events)
	}
}
