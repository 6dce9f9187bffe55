package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// A stack of recording fakes: the tables, the state machine's executions, one shard.

type item = map[string]dbtypes.AttributeValue

type fakeDB struct {
	mu     sync.Mutex
	tables map[string][]item
	calls  map[string]int // "GetItem <table>", "Query <table>"
}

func s(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }

// str is the fake's view of a string attribute ("" if absent or not a string).
func str(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (f *fakeDB) count(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[call]++
}

func (f *fakeDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.count("GetItem " + aws.ToString(in.TableName))
	for _, it := range f.tables[aws.ToString(in.TableName)] {
		match := true
		for k, v := range in.Key {
			if str(it, k) != v.(*dbtypes.AttributeValueMemberS).Value {
				match = false
			}
		}
		if match {
			return &dynamodb.GetItemOutput{Item: it}, nil
		}
	}
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fakeDB) Query(_ context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.count("Query " + aws.ToString(in.TableName))
	attr, _, _ := strings.Cut(aws.ToString(in.KeyConditionExpression), " ")
	want := in.ExpressionAttributeValues[":id"].(*dbtypes.AttributeValueMemberS).Value
	var out []item
	for _, it := range f.tables[aws.ToString(in.TableName)] {
		if str(it, attr) == want {
			out = append(out, it)
		}
	}
	return &dynamodb.QueryOutput{Items: out}, nil
}

type fakeExecution struct {
	arn, input string
	started    time.Time
}

type fakeSFN struct {
	mu         sync.Mutex
	executions []fakeExecution // listed in this order
	pageSize   int             // of ListExecutions (0: one page)
	calls      map[string]int  // "ListExecutions", "DescribeExecution <name>", "GetExecutionHistory <name>"
}

func (f *fakeSFN) count(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[call]++
}

func (f *fakeSFN) find(arn string) (fakeExecution, error) {
	for _, x := range f.executions {
		if x.arn == arn {
			return x, nil
		}
	}
	return fakeExecution{}, fmt.Errorf("ExecutionDoesNotExist: %s", arn)
}

func (f *fakeSFN) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	f.count("ListExecutions")
	out := &sfn.ListExecutionsOutput{}
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	to := len(f.executions)
	if f.pageSize > 0 && from+f.pageSize < to {
		to = from + f.pageSize
		out.NextToken = aws.String(strconv.Itoa(to))
	}
	for _, x := range f.executions[from:to] {
		out.Executions = append(out.Executions, sfntypes.ExecutionListItem{ExecutionArn: aws.String(x.arn), Name: aws.String(nameOf(x.arn)),
			StartDate: aws.Time(x.started), StateMachineArn: in.StateMachineArn, Status: sfntypes.ExecutionStatusSucceeded})
	}
	return out, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.count("DescribeExecution " + nameOf(aws.ToString(in.ExecutionArn)))
	x, err := f.find(aws.ToString(in.ExecutionArn))
	if err != nil {
		return nil, err
	}
	return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Input: aws.String(x.input), StartDate: aws.Time(x.started)}, nil
}

func (f *fakeSFN) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.count("GetExecutionHistory " + nameOf(aws.ToString(in.ExecutionArn)))
	x, err := f.find(aws.ToString(in.ExecutionArn))
	if err != nil {
		return nil, err
	}
	return &sfn.GetExecutionHistoryOutput{Events: []sfntypes.HistoryEvent{
		{Type: sfntypes.HistoryEventTypeExecutionStarted, Timestamp: aws.Time(x.started)},
		{Type: sfntypes.HistoryEventTypeExecutionSucceeded, Timestamp: aws.Time(x.started.Add(time.Second))},
	}}, nil
}

func (f *fakeSFN) DescribeStateMachine(context.Context, *sfn.DescribeStateMachineInput, ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	f.count("DescribeStateMachine")
	return &sfn.DescribeStateMachineOutput{Definition: aws.String(`{"States":{}}`)}, nil
}

// fakeKinesis is one shard holding every hash key. Iterators are "<position>".
type fakeKinesis struct {
	mu        sync.Mutex
	records   []kintypes.Record
	iterators []kintypes.ShardIteratorType
	served    int // records returned by GetRecords
	calls     int // GetRecords calls
}

func (f *fakeKinesis) put(key string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq := fmt.Sprintf("%06d", len(f.records)+1)
	data, _ := json.Marshal(map[string]any{"id": "b" + seq, "detail-type": "X", "detail": map[string]string{"id": "e" + seq}})
	f.records = append(f.records, kintypes.Record{SequenceNumber: aws.String(seq), PartitionKey: aws.String(key),
		ApproximateArrivalTimestamp: aws.Time(at), Data: data})
}

func (f *fakeKinesis) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	top := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	return &kinesis.ListShardsOutput{Shards: []kintypes.Shard{{ShardId: aws.String("shard-0"),
		HashKeyRange: &kintypes.HashKeyRange{StartingHashKey: aws.String("0"), EndingHashKey: aws.String(top.String())}}}}, nil
}

func (f *fakeKinesis) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.iterators = append(f.iterators, in.ShardIteratorType)
	pos := len(f.records)
	for i, r := range f.records {
		switch in.ShardIteratorType {
		case kintypes.ShardIteratorTypeAtTimestamp:
			if !r.ApproximateArrivalTimestamp.Before(*in.Timestamp) && i < pos {
				pos = i
			}
		case kintypes.ShardIteratorTypeAfterSequenceNumber:
			if aws.ToString(r.SequenceNumber) == aws.ToString(in.StartingSequenceNumber) {
				pos = i + 1
			}
		case kintypes.ShardIteratorTypeTrimHorizon:
			pos = 0
		}
	}
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(strconv.Itoa(pos))}, nil
}

func (f *fakeKinesis) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	pos, _ := strconv.Atoi(aws.ToString(in.ShardIterator))
	end := min(pos+2, len(f.records)) // small batches: several calls per read
	f.served += end - pos
	behind := int64(len(f.records) - end)
	return &kinesis.GetRecordsOutput{Records: f.records[pos:end], NextShardIterator: aws.String(strconv.Itoa(end)), MillisBehindLatest: &behind}, nil
}

type fakeRules struct{}

func (fakeRules) ListRules(context.Context, *eventbridge.ListRulesInput, ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error) {
	return &eventbridge.ListRulesOutput{}, nil
}

func (fakeRules) ListTargetsByRule(context.Context, *eventbridge.ListTargetsByRuleInput, ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error) {
	return &eventbridge.ListTargetsByRuleOutput{}, nil
}

func (fakeRules) TestEventPattern(context.Context, *eventbridge.TestEventPatternInput, ...func(*eventbridge.Options)) (*eventbridge.TestEventPatternOutput, error) {
	return &eventbridge.TestEventPatternOutput{}, nil
}

const machine = "arn:aws:states:us-east-1:1:stateMachine:fulfilment"

func execArn(name string) string {
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
}

func orderInput(orderID string) string {
	return fmt.Sprintf(`{"id":"bus-%s","detail":{"id":"placed-%s","orderId":%q}}`, orderID, orderID, orderID)
}

type fakeStack struct {
	db  *fakeDB
	sf  *fakeSFN
	kin *fakeKinesis
}

// newFakeStack holds orders ORD-1 … ORD-n, each placed at t0 + i s, its saga execution "x<i>"
// claiming it, and one record of it on the stream; ORD-1 also has a duplicate execution "dup1".
func newFakeStack(n int) *fakeStack {
	f := &fakeStack{db: &fakeDB{tables: map[string][]item{}, calls: map[string]int{}}, sf: &fakeSFN{calls: map[string]int{}}, kin: &fakeKinesis{}}
	for i := 1; i <= n; i++ {
		id, at := fmt.Sprintf("ORD-%d", i), t0.Add(time.Duration(i)*time.Second)
		f.db.tables["events"] = append(f.db.tables["events"], item{"orderId": s(id), "eventId": s("placed-" + id), "type": s("OrderPlaced"),
			"sequence": &dbtypes.AttributeValueMemberN{Value: "1"}, "time": s(at.Format(time.RFC3339Nano))})
		f.sf.executions = append(f.sf.executions, fakeExecution{arn: execArn(fmt.Sprintf("x%d", i)), input: orderInput(id), started: at.Add(10 * time.Millisecond)})
		f.db.tables["sagas"] = append(f.db.tables["sagas"], item{"orderId": s(id), "executionArn": s(execArn(fmt.Sprintf("x%d", i)))})
		f.kin.put(id, at.Add(50*time.Millisecond))
	}
	f.sf.executions = append(f.sf.executions, fakeExecution{arn: execArn("dup1"), input: orderInput("ORD-1"), started: t0.Add(1100 * time.Millisecond)})
	return f
}

func (f *fakeStack) collector(opts ...Option) *Collector {
	res := map[string]string{ResWorkflow: machine, ResEventStore: "events", ResSagas: "sagas", ResStream: "stream", ResBus: "orders"}
	return newCollector(clients{db: f.db, sf: f.sf, kin: f.kin, eb: fakeRules{}}, res, "us-east-1", opts...)
}

func names(xs []Execution) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.Name
	}
	return out
}

func TestCollectorFindsExecutionsThroughTheClaim(t *testing.T) {
	ctx := context.Background()
	t.Run("ClaimedOnly: one GetItem, no listing", func(t *testing.T) {
		f := newFakeStack(50)
		ev, err := f.collector(ClaimedOnly()).Gather(ctx, "ORD-7")
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ev.Executions); !slices.Equal(got, []string{"x7"}) || ev.Executions[0].EventID != "placed-ORD-7" || ev.Executions[0].BusID != "bus-ORD-7" {
			t.Errorf("executions %v (%+v), want x7 with its input's ids", got, ev.Executions)
		}
		if n := f.sf.calls["ListExecutions"]; n != 0 {
			t.Errorf("%d ListExecutions calls, want none", n)
		}
		if d := describes(f.sf); d != 1 {
			t.Errorf("%d DescribeExecution calls, want 1 (the claimed execution only)", d)
		}
	})
	t.Run("by default the listing adds duplicates, the claimed one is described once", func(t *testing.T) {
		f := newFakeStack(3)
		ev, err := f.collector().Gather(ctx, "ORD-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ev.Executions); !slices.Equal(got, []string{"x1", "dup1"}) {
			t.Errorf("executions %v, want the saga, then its duplicate", got)
		}
		if n := f.sf.calls["DescribeExecution x1"] + f.sf.calls["GetExecutionHistory x1"]; n != 2 {
			t.Errorf("x1 described and read %d times, want once each", n)
		}
		j := Build(ev)
		if j.ExecutionArn != execArn("x1") {
			t.Errorf("the journey's execution is %s, want x1", j.ExecutionArn)
		}
	})
	t.Run("a rescue: the claim names the rescue and the execution it rescued", func(t *testing.T) {
		f := newFakeStack(2)
		rescueInput := fmt.Sprintf(`{"rescue":{"execution":%q,"status":"ABORTED"},"event":{"id":"placed-ORD-2","orderId":"ORD-2"},"state":null}`, execArn("x2"))
		f.sf.executions = append(f.sf.executions, fakeExecution{arn: execArn("rescue-x2"), input: rescueInput, started: t0.Add(5 * time.Second)})
		f.db.tables["sagas"][1] = item{"orderId": s("ORD-2"), "executionArn": s(execArn("rescue-x2")), "rescuedFrom": s(execArn("x2"))}
		for _, tc := range []struct {
			name string
			opts []Option
		}{{"ClaimedOnly", []Option{ClaimedOnly()}}, {"with the listing", nil}} {
			ev, err := f.collector(tc.opts...).Gather(ctx, "ORD-2")
			if err != nil {
				t.Fatal(err)
			}
			if got := names(ev.Executions); !slices.Equal(got, []string{"x2", "rescue-x2"}) {
				t.Fatalf("%s: executions %v, want x2 and its rescue", tc.name, got)
			}
			if r := ev.Executions[1]; r.RescueOf != execArn("x2") || r.EventID != "placed-ORD-2" {
				t.Errorf("%s: rescue %+v, want it to name x2 and OrderPlaced", tc.name, r)
			}
		}
	})
	t.Run("ClaimedOnly without a claim falls back to the listing", func(t *testing.T) {
		f := newFakeStack(3)
		f.db.tables["sagas"] = f.db.tables["sagas"][1:] // ORD-1 unclaimed
		ev, err := f.collector(ClaimedOnly()).Gather(ctx, "ORD-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ev.Executions); !slices.Equal(got, []string{"x1", "dup1"}) || f.sf.calls["ListExecutions"] != 1 {
			t.Errorf("executions %v after %d listings, want x1 and dup1 from one listing", got, f.sf.calls["ListExecutions"])
		}
	})
}

func rangeN(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func describes(f *fakeSFN) int {
	n := 0
	for call, c := range f.calls {
		if strings.HasPrefix(call, "DescribeExecution ") {
			n += c
		}
	}
	return n
}

// The listing of executions (without ClaimedOnly) stops at the first page, newest first, that
// ends before the order's window, and past ten pages it stops and says so.
func TestListingStops(t *testing.T) {
	ctx := context.Background()
	newestFirst := func(f *fakeStack) {
		slices.SortFunc(f.sf.executions, func(a, b fakeExecution) int { return b.started.Compare(a.started) })
	}
	t.Run("at a page older than the window", func(t *testing.T) {
		f := newFakeStack(1)
		for i := range 6 {
			f.sf.executions = append(f.sf.executions, fakeExecution{arn: execArn(fmt.Sprintf("old%d", i)), input: orderInput("ORD-0"), started: t0.Add(-window - time.Duration(i+1)*time.Hour)})
		}
		newestFirst(f)
		f.sf.pageSize = 2
		ev, err := f.collector().Gather(ctx, "ORD-1")
		if err != nil {
			t.Fatal(err)
		}
		if got := names(ev.Executions); !slices.Equal(got, []string{"x1", "dup1"}) || len(ev.Notes) != 0 {
			t.Errorf("executions %v, notes %q; want x1 and dup1, no note", got, ev.Notes)
		}
		if n := f.sf.calls["ListExecutions"]; n != 2 {
			t.Errorf("%d pages listed, want 2 (the second ends before the window)", n)
		}
	})
	t.Run("after ten pages, with a note", func(t *testing.T) {
		f := newFakeStack(1)
		for i := range 1000 {
			f.sf.executions = append(f.sf.executions, fakeExecution{arn: execArn(fmt.Sprintf("other%d", i)), input: orderInput("ORD-0"), started: t0.Add(time.Hour + time.Duration(i)*time.Millisecond)})
		}
		newestFirst(f)
		f.sf.pageSize = 100
		ev, err := f.collector().Gather(ctx, "ORD-1")
		if err != nil {
			t.Fatal(err)
		}
		if n := f.sf.calls["ListExecutions"]; n != maxListedPages {
			t.Errorf("%d pages listed, want %d", n, maxListedPages)
		}
		if got := names(ev.Executions); !slices.Equal(got, []string{"x1"}) || !strings.Contains(strings.Join(ev.Notes, "\n"), "may be missing") {
			t.Errorf("executions %v, notes %q; want the claimed x1 and a note that dup1 may be missing", got, ev.Notes)
		}
	})
}

func TestSharedStreamReadsEachRecordOnce(t *testing.T) {
	ctx := context.Background()
	const orders = 20
	f := newFakeStack(orders)
	c := f.collector(ClaimedOnly(), LocalRules(), SharedStream())
	for _, i := range append([]int{2}, rangeN(1, orders)...) { // ORD-2 first: ORD-1, a second earlier, is read already
		id := fmt.Sprintf("ORD-%d", i)
		ev, err := c.Gather(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) != 1 || ev.Records[0].PartitionKey != id {
			t.Fatalf("%s: records %+v, want its one record", id, ev.Records)
		}
	}
	if f.kin.served != orders {
		t.Errorf("%d records served for %d orders of one record each, want each read once", f.kin.served, orders)
	}
	if f.kin.iterators[0] != kintypes.ShardIteratorTypeAtTimestamp || slices.Contains(f.kin.iterators[1:], kintypes.ShardIteratorTypeAtTimestamp) {
		t.Errorf("iterators %v, want AT_TIMESTAMP once, then AFTER_SEQUENCE_NUMBER", f.kin.iterators)
	}
	// A record that arrives later is found by the next read, which starts where the last stopped.
	f.kin.put("ORD-3", t0.Add(time.Minute))
	ev, err := c.Gather(ctx, "ORD-3")
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 2 || f.kin.served != orders+1 {
		t.Errorf("ORD-3 has %d records after %d served, want 2 after %d", len(ev.Records), f.kin.served, orders+1)
	}
	// An order from well before what was read is read again from its own time.
	before := len(f.kin.iterators)
	f.db.tables["events"] = append(f.db.tables["events"], item{"orderId": s("ORD-0"), "eventId": s("placed-ORD-0"), "type": s("OrderPlaced"),
		"sequence": &dbtypes.AttributeValueMemberN{Value: "1"}, "time": s(t0.Add(-time.Hour).Format(time.RFC3339Nano))})
	if _, err := c.Gather(ctx, "ORD-0"); err != nil {
		t.Fatal(err)
	}
	if got := f.kin.iterators[before]; got != kintypes.ShardIteratorTypeAtTimestamp {
		t.Errorf("an earlier order read with %s, want AT_TIMESTAMP from its time", got)
	}
}

func TestWithoutSharedStreamEachOrderReadsFromItsTime(t *testing.T) {
	f := newFakeStack(10)
	c := f.collector()
	for _, id := range []string{"ORD-1", "ORD-2"} {
		if _, err := c.Gather(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	// ORD-1 reads from 1 s - 1 min (all 10 records), ORD-2 likewise: the trace's own reads, unchanged.
	if f.kin.served != 20 {
		t.Errorf("%d records served, want 20 (each order reads to the tip)", f.kin.served)
	}
}

func TestOneCollectorGathersOrdersConcurrently(t *testing.T) {
	const orders = 40
	f := newFakeStack(orders)
	c := f.collector(ClaimedOnly(), LocalRules(), SharedStream())
	var wg sync.WaitGroup
	errs := make([]error, orders)
	got := make([]Evidence, orders)
	for i := range orders {
		wg.Go(func() {
			got[i], errs[i] = c.Gather(context.Background(), fmt.Sprintf("ORD-%d", i+1))
		})
	}
	wg.Wait()
	for i, ev := range got {
		id := fmt.Sprintf("ORD-%d", i+1)
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if len(ev.Executions) != 1 || ev.Executions[0].Name != fmt.Sprintf("x%d", i+1) || len(ev.Records) != 1 || ev.Records[0].PartitionKey != id {
			t.Errorf("%s: executions %v, %d records", id, names(ev.Executions), len(ev.Records))
		}
	}
	if n := f.sf.calls["DescribeStateMachine"]; n < 1 {
		t.Errorf("the definition was never read")
	}
}

// cancelAtStepFunctions is the fake state machine, where Ctrl-C (or trace's own time limit) lands
// on the first Step Functions call.
type cancelAtStepFunctions struct {
	*fakeSFN
	cancel context.CancelFunc
}

func (c cancelAtStepFunctions) DescribeStateMachine(ctx context.Context, _ *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	c.cancel()
	<-ctx.Done()
	return nil, ctx.Err()
}

// Reads cut short by the context say so: the journey gathered has a note that hops may be
// missing, not the look of a complete journey with no execution.
func TestGatherCutShortSaysSo(t *testing.T) {
	f := newFakeStack(3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := map[string]string{ResWorkflow: machine, ResEventStore: "events", ResSagas: "sagas", ResStream: "stream", ResBus: "orders"}
	c := newCollector(clients{db: f.db, sf: cancelAtStepFunctions{f.sf, cancel}, kin: f.kin, eb: fakeRules{}}, res, "us-east-1")
	ev, err := c.Gather(ctx, "ORD-2")
	if err != nil || len(ev.Events) == 0 {
		t.Fatalf("Gather = %d events, %v; want the event store's, read before the cut", len(ev.Events), err)
	}
	if len(ev.Notes) != 1 || !strings.Contains(ev.Notes[0], "hops may be missing") {
		t.Errorf("notes %q; want one saying the reads stopped and hops may be missing", ev.Notes)
	}
}

// A shard still behind its tip after maxBatches reads says so (a note), and the order's records
// read by then are kept, in either reading mode: a busy stream does not make a journey look whole.
func TestAShardReadCutAtItsLimitSaysSo(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared %v", shared), func(t *testing.T) {
			f := newFakeStack(2) // ORD-1 and ORD-2, a record each, at the stream's start
			for i := range 2 * maxBatches {
				f.kin.put(fmt.Sprintf("other-%d", i), t0.Add(time.Second)) // two a GetRecords: more than maxBatches calls
			}
			var opts []Option
			if shared {
				opts = append(opts, SharedStream())
			}
			ev, err := f.collector(opts...).Gather(context.Background(), "ORD-2")
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.Records) != 1 || !slices.ContainsFunc(ev.Notes, func(n string) bool { return strings.Contains(n, "still behind its tip") }) {
				t.Errorf("records %d, notes %q; want ORD-2's record and a note that the shard was not read to its tip", len(ev.Records), ev.Notes)
			}
			if f.kin.calls != maxBatches {
				t.Errorf("%d GetRecords calls, want %d", f.kin.calls, maxBatches)
			}
		})
	}
}
