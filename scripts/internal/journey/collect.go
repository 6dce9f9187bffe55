package journey

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// window is how far before the order's first event the trace looks for executions and records.
const window = time.Minute

// The narrow parts of the SDK clients the collector calls (the SDK clients fill them; tests fake them).
type (
	dynamoAPI interface {
		dynamodb.QueryAPIClient
		GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	}
	sfnAPI interface {
		sfn.ListExecutionsAPIClient
		sfn.GetExecutionHistoryAPIClient
		DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
		DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	}
	kinesisAPI interface {
		ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
		GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
		GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
	}
	eventsAPI interface {
		ListRules(ctx context.Context, in *eventbridge.ListRulesInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListRulesOutput, error)
		ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
		TestEventPattern(ctx context.Context, in *eventbridge.TestEventPatternInput, optFns ...func(*eventbridge.Options)) (*eventbridge.TestEventPatternOutput, error)
	}
)

var (
	_ dynamoAPI  = (*dynamodb.Client)(nil)
	_ sfnAPI     = (*sfn.Client)(nil)
	_ kinesisAPI = (*kinesis.Client)(nil)
	_ eventsAPI  = (*eventbridge.Client)(nil)
)

// Collect gathers the evidence for one order from the stack's APIs and builds its journey.
func Collect(ctx context.Context, s *deployed.Stack, orderID string) (Journey, error) {
	return NewCollector(s).Collect(ctx, orderID)
}

// Collector reads evidence from one deployed stack. It caches what does not change between two
// polls of --follow, or between two orders (rules, the state machine definition, execution
// inputs, finished histories, rule matches). One collector may gather several orders at once.
type Collector struct {
	db  dynamoAPI
	sf  sfnAPI
	kin kinesisAPI
	eb  eventsAPI
	res map[string]string
	reg string

	// Options (see Option).
	claimedOnly  bool // list the state machine's executions only for an order without a claim
	sharedStream bool // keep every record read, for the orders gathered next

	mu         sync.Mutex // guards what follows; never held across a call, except to read rules and match them
	rules      []Rule
	rulesRead  bool
	ruleCheck  string
	localRules bool                // TestEventPattern failed once, or LocalRules: match locally
	matches    map[string][]string // event id → matched rules
	definition *definition
	inputs     map[string]execInput // execution ARN → what started it (immutable)
	history    map[string]Execution // execution ARN → a finished execution (immutable)

	streamMu sync.Mutex             // one reader of the stream at a time (SharedStream)
	shards   map[string]*shardCache // shard id → what was read of it (SharedStream)
}

type execInput struct {
	orderID, eventID, busID string
	rescueOf                string // a rescue execution's input names the execution it rescues
	started                 time.Time
}

// Option tunes a collector for a use other than tracing one order.
type Option func(*Collector)

// ClaimedOnly finds an order's executions through its saga claim alone (the sagas table names
// the execution that holds the order and, after a rescue, the execution it rescued): one
// GetItem instead of listing the state machine's executions and describing each. The listing
// remains the fallback for an order that has no claim. What it no longer finds are duplicate
// executions (a second OrderPlaced delivery that found the order claimed and ended at Duplicate),
// which the trace shows and a measurement of many orders does not need.
func ClaimedOnly() Option { return func(c *Collector) { c.claimedOnly = true } }

// LocalRules evaluates the bus rules' patterns with MatchPattern instead of calling EventBridge's
// TestEventPattern for every event and rule.
func LocalRules() Option {
	return func(c *Collector) {
		c.localRules = true
		c.ruleCheck = "local pattern matcher (chosen by the caller, instead of TestEventPattern per event and rule)"
	}
}

// SharedStream reads each shard of the stream once for all the orders gathered: from the
// earliest time an order asks for, and after that only what arrived since the last read. Every
// record read is kept (memory grows with them), so it is for collecting many orders of one period.
func SharedStream() Option {
	return func(c *Collector) { c.sharedStream = true }
}

// NewCollector returns a collector for the stack. Without options it finds everything the trace
// shows, duplicate executions included.
func NewCollector(s *deployed.Stack, opts ...Option) *Collector {
	res := map[string]string{}
	for name, out := range map[string]string{
		ResAPI: "ApiUrl", ResBus: "EventBusName", ResWorkflow: "StateMachineArn", ResStream: "StreamName",
		ResTopic: "NotificationsTopicArn", ResPaymentsQueue: "PaymentsQueueUrl", "email queue": "EmailQueueUrl",
		"sms queue": "SmsQueueUrl", ResEventStore: "EventStoreTable", ResInventory: "InventoryTable",
		ResPayments: "PaymentsTable", ResShipments: "ShipmentsTable", ResNotifications: "NotificationsTable",
		ResAnalytics: "AnalyticsTable", ResSagas: "SagasTable", "order-api": "OrderApiFunctionName", "inventory": "InventoryFunctionName",
		"payment": "PaymentFunctionName", "shipping": "ShippingFunctionName", "notifier": "NotifierFunctionName",
		"streamer": "StreamerFunctionName", "projector": "ProjectorFunctionName", "analytics": "AnalyticsFunctionName",
	} {
		if v := s.Outputs[out]; v != "" {
			res[name] = v
		}
	}
	return newCollector(clients{db: dynamodb.NewFromConfig(s.AWS), sf: sfn.NewFromConfig(s.AWS), kin: kinesis.NewFromConfig(s.AWS),
		eb: eventbridge.NewFromConfig(s.AWS)}, res, s.AWS.Region, opts...)
}

type clients struct {
	db  dynamoAPI
	sf  sfnAPI
	kin kinesisAPI
	eb  eventsAPI
}

func newCollector(cl clients, res map[string]string, region string, opts ...Option) *Collector {
	c := &Collector{db: cl.db, sf: cl.sf, kin: cl.kin, eb: cl.eb, res: res, reg: region,
		matches: map[string][]string{}, inputs: map[string]execInput{}, history: map[string]Execution{}, shards: map[string]*shardCache{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Collect gathers the evidence for one order and builds its journey. Only the event store is
// required (no event: ErrUnknownOrder); what another source cannot give becomes a note.
func (c *Collector) Collect(ctx context.Context, orderID string) (Journey, error) {
	ev, err := c.Gather(ctx, orderID)
	if err != nil {
		return Journey{OrderID: orderID}, err
	}
	return Build(ev), nil
}

// Gather reads the evidence for one order.
func (c *Collector) Gather(ctx context.Context, orderID string) (Evidence, error) {
	ev := Evidence{OrderID: orderID, Resources: c.res}
	var err error
	if ev.Events, err = c.eventStore(ctx, orderID); err != nil {
		return ev, err
	}
	if len(ev.Events) == 0 {
		return ev, fmt.Errorf("%s: %w: the event store (table %s) holds no event for it", orderID, ErrUnknownOrder, c.res[ResEventStore])
	}
	since := ev.Events[0].Time.Add(-window)
	until := ev.Events[len(ev.Events)-1].Time.Add(time.Hour)
	note := func(what string, err error) {
		if err != nil && ctx.Err() == nil {
			ev.Notes = append(ev.Notes, fmt.Sprintf("%s: %v", what, err))
		}
	}
	var e error
	ev.Executions, e = c.executions(ctx, orderID, since, until)
	note("Step Functions", e)
	if len(ev.Executions) == 0 && e == nil {
		ev.Notes = append(ev.Notes, "no workflow execution for this order yet")
	}
	ev.Records, e = c.stream(ctx, orderID, since)
	note("Kinesis", e)
	ev.Rules, e = c.readRules(ctx)
	note("EventBridge rules", e)
	if e == nil {
		ev.Matches, ev.RuleCheck = c.match(ctx, ev.Events, ev.Records, ev.Rules)
	}
	note("consumer tables", c.consumers(ctx, &ev))
	return ev, nil
}

// eventStore reads the order's events: the facts, in sequence.
func (c *Collector) eventStore(ctx context.Context, orderID string) ([]Event, error) {
	p := dynamodb.NewQueryPaginator(c.db, &dynamodb.QueryInput{
		TableName:                 aws.String(c.res[ResEventStore]),
		KeyConditionExpression:    aws.String("orderId = :id"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: orderID}},
		ConsistentRead:            aws.Bool(true),
	})
	var evs []Event
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query event store %s: %w", c.res[ResEventStore], err)
		}
		for _, it := range out.Items {
			evs = append(evs, Event{
				ID: str(it, "eventId"), Type: str(it, "type"), Version: num(it, "version"), Source: str(it, "source"),
				Sequence: num(it, "sequence"), CorrelationID: str(it, "correlationId"), CausationID: str(it, "causationId"),
				Time: when(it, "time"), RecordedAt: when(it, "recordedAt"), KinesisSeq: str(it, "kinesisSequenceNumber"),
				Detail: str(it, "envelope"),
			})
		}
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].Sequence < evs[b].Sequence })
	return evs, nil
}

// executions finds the workflow executions of the order and reads their histories. The saga
// claim names the execution that holds the order (and, after a rescue, the one it rescued): it
// is read first, with one GetItem. Unless ClaimedOnly (or when there is no claim), the state
// machine's executions are listed too, to find the others: duplicates, started by a second
// delivery of OrderPlaced. The listing looks only at executions started between since and until
// (from just before the order's first event to an hour after its last), so that tracing an old
// order on a busy account does not describe every execution since.
func (c *Collector) executions(ctx context.Context, orderID string, since, until time.Time) ([]Execution, error) {
	machine := c.res[ResWorkflow]
	if machine == "" {
		return nil, errors.New("the stack has no StateMachineArn output")
	}
	if _, err := c.stateMachine(ctx, machine); err != nil {
		return nil, err
	}
	var out []Execution
	seen := map[string]bool{}
	claimed, claimErr := c.claimed(ctx, orderID)
	for _, arn := range claimed {
		if seen[arn] {
			continue
		}
		in, err := c.input(ctx, arn)
		if err != nil {
			return out, err
		}
		x, err := c.execution(ctx, arn, nameOf(arn), in)
		if err != nil {
			return out, err
		}
		seen[arn] = true
		out = append(out, x)
	}
	if !c.claimedOnly || len(claimed) == 0 {
		listed, err := c.listed(ctx, machine, orderID, since, until, seen)
		out = append(out, listed...)
		if err != nil {
			return sortByStart(out), errors.Join(claimErr, err)
		}
	}
	return sortByStart(out), claimErr
}

func sortByStart(xs []Execution) []Execution {
	sort.SliceStable(xs, func(a, b int) bool { return xs[a].Started.Before(xs[b].Started) })
	return xs
}

// nameOf is an execution's name: the last segment of its ARN.
func nameOf(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// claimed reads the order's saga claim (sagas table, key orderId): the execution that holds the
// order, and the one a rescue took it from, if any. An order no execution has claimed yet has none.
func (c *Collector) claimed(ctx context.Context, orderID string) ([]string, error) {
	table := c.res[ResSagas]
	if table == "" {
		return nil, nil
	}
	out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]dbtypes.AttributeValue{"orderId": &dbtypes.AttributeValueMemberS{Value: orderID}}})
	if err != nil {
		return nil, fmt.Errorf("read the saga claim: %w", err)
	}
	var arns []string
	for _, k := range []string{"rescuedFrom", "executionArn"} {
		if v := str(out.Item, k); v != "" {
			arns = append(arns, v)
		}
	}
	return arns, nil
}

// listed lists the state machine's executions started in the window and returns those of the
// order that are not in seen.
func (c *Collector) listed(ctx context.Context, machine, orderID string, since, until time.Time, seen map[string]bool) ([]Execution, error) {
	var out []Execution
	p := sfn.NewListExecutionsPaginator(c.sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for pages := 0; p.HasMorePages() && pages < 10; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			arn := aws.ToString(ex.ExecutionArn)
			if seen[arn] || (ex.StartDate != nil && (ex.StartDate.Before(since) || ex.StartDate.After(until))) {
				continue
			}
			in, err := c.input(ctx, arn)
			if err != nil {
				return out, err
			}
			if in.orderID != orderID {
				continue
			}
			x, err := c.execution(ctx, arn, aws.ToString(ex.Name), in)
			if err != nil {
				return out, err
			}
			seen[arn] = true
			out = append(out, x)
		}
	}
	return out, nil
}

// input describes an execution once: what started it, and when.
func (c *Collector) input(ctx context.Context, arn string) (execInput, error) {
	c.mu.Lock()
	in, ok := c.inputs[arn]
	c.mu.Unlock()
	if ok {
		return in, nil
	}
	d, err := c.sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		return execInput{}, fmt.Errorf("describe execution %s: %w", nameOf(arn), err)
	}
	in = parseInput(aws.ToString(d.Input))
	in.started = aws.ToTime(d.StartDate)
	c.mu.Lock()
	c.inputs[arn] = in
	c.mu.Unlock()
	return in, nil
}

// stateMachine reads the state machine's definition once.
func (c *Collector) stateMachine(ctx context.Context, machine string) (*definition, error) {
	c.mu.Lock()
	d := c.definition
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := c.readDefinition(ctx, machine)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.definition = d
	c.mu.Unlock()
	return d, nil
}

func parseInput(input string) execInput {
	var in struct {
		ID     string `json:"id"`
		Detail struct {
			ID      string `json:"id"`
			OrderID string `json:"orderId"`
		} `json:"detail"`
		// A rescue execution's input: the OrderPlaced envelope and the execution it rescues.
		Event struct {
			ID      string `json:"id"`
			OrderID string `json:"orderId"`
		} `json:"event"`
		Rescue struct {
			Execution string `json:"execution"`
		} `json:"rescue"`
	}
	_ = json.Unmarshal([]byte(input), &in) // an input that is not an order event matches no order
	if in.Rescue.Execution != "" {
		return execInput{orderID: in.Event.OrderID, eventID: in.Event.ID, rescueOf: in.Rescue.Execution}
	}
	return execInput{orderID: in.Detail.OrderID, eventID: in.Detail.ID, busID: in.ID}
}

func (c *Collector) execution(ctx context.Context, arn, name string, in execInput) (Execution, error) {
	c.mu.Lock()
	x, ok := c.history[arn]
	def := c.definition
	c.mu.Unlock()
	if ok {
		return x, nil
	}
	h := sfn.NewGetExecutionHistoryPaginator(c.sf, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)})
	var hist []HistoryEvent
	for h.HasMorePages() {
		page, err := h.NextPage(ctx)
		if err != nil {
			return Execution{}, fmt.Errorf("execution history of %s: %w", name, err)
		}
		for _, e := range page.Events {
			hist = append(hist, historyEvent(e))
		}
	}
	x = ParseHistory(hist, def)
	x.Arn, x.Name, x.EventID, x.BusID, x.RescueOf = arn, name, in.eventID, in.busID, in.rescueOf
	if x.Started.IsZero() {
		x.Started = in.started
	}
	if x.Status != "RUNNING" {
		c.mu.Lock()
		c.history[arn] = x
		c.mu.Unlock()
	}
	return x, nil
}

// readDefinition reads, per Task state, the function or queue it calls and where its
// events:putEvents entries come from.
func (c *Collector) readDefinition(ctx context.Context, machine string) (*definition, error) {
	out, err := c.sf.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		return nil, fmt.Errorf("describe state machine: %w", err)
	}
	return parseDefinition(aws.ToString(out.Definition), c.res)
}

// stream reads the order's records: only the shard its partition key hashes to (as Kinesis
// routes it), from a little before the order's first event to the tip. If that shard holds none
// (an endpoint that routes differently), it reads every shard.
func (c *Collector) stream(ctx context.Context, orderID string, since time.Time) ([]Record, error) {
	name := c.res[ResStream]
	var shards []kintypes.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(name)}
	for pages := 0; pages < 100; pages++ {
		page, err := c.kin.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", name, err)
		}
		shards = append(shards, page.Shards...)
		if page.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: page.NextToken} // with a token, no stream name
	}
	var mine, others []kintypes.Shard
	for _, sh := range shards {
		if sh.HashKeyRange != nil && ShardHolds(aws.ToString(sh.HashKeyRange.StartingHashKey), aws.ToString(sh.HashKeyRange.EndingHashKey), orderID) {
			mine = append(mine, sh)
		} else {
			others = append(others, sh)
		}
	}
	read := c.readShards
	if c.sharedStream {
		read = c.readShared
	}
	recs, err := read(ctx, name, mine, orderID, since)
	if err != nil || len(recs) > 0 {
		return recs, err
	}
	return read(ctx, name, others, orderID, since)
}

// ShardHolds reports whether a partition key hashes into a shard's range: Kinesis routes a
// record to the shard whose range holds the MD5 of its partition key, read as a 128-bit number.
func ShardHolds(start, end, partitionKey string) bool {
	lo, ok1 := new(big.Int).SetString(start, 10)
	hi, ok2 := new(big.Int).SetString(end, 10)
	if !ok1 || !ok2 {
		return false
	}
	sum := md5.Sum([]byte(partitionKey))
	h := new(big.Int).SetBytes(sum[:])
	return lo.Cmp(h) <= 0 && h.Cmp(hi) <= 0
}

// maxBatches bounds the GetRecords calls of one read of one shard.
const maxBatches = 200

func (c *Collector) readShards(ctx context.Context, stream string, shards []kintypes.Shard, orderID string, since time.Time) ([]Record, error) {
	var recs []Record
	for _, sh := range shards {
		iter, _, err := c.iterator(ctx, stream, aws.ToString(sh.ShardId), since, "")
		if err != nil {
			return recs, err
		}
		_, err = c.drain(ctx, aws.ToString(sh.ShardId), iter, func(r kintypes.Record) {
			if aws.ToString(r.PartitionKey) == orderID {
				recs = append(recs, parseRecord(aws.ToString(sh.ShardId), r))
			}
		})
		if err != nil {
			return recs, err
		}
	}
	return recs, nil
}

// iterator starts a read of a shard: after the record numbered after, if given; otherwise at
// since or, where the endpoint does not know AT_TIMESTAMP, from the shard's start (then exact is
// false: the read holds records from before since).
func (c *Collector) iterator(ctx context.Context, stream, shard string, since time.Time, after string) (iter *string, exact bool, err error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard),
		ShardIteratorType: kintypes.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(since)}
	if after != "" {
		in.ShardIteratorType, in.Timestamp, in.StartingSequenceNumber = kintypes.ShardIteratorTypeAfterSequenceNumber, nil, aws.String(after)
	}
	it, err := c.kin.GetShardIterator(ctx, in)
	if err == nil {
		return it.ShardIterator, true, nil
	}
	if after != "" {
		return nil, false, fmt.Errorf("shard iterator of %s after %s: %w", shard, Tail(after), err)
	}
	// Not every endpoint knows AT_TIMESTAMP: read the shard from its start.
	it, err = c.kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, false, fmt.Errorf("shard iterator of %s: %w", shard, err)
	}
	return it.ShardIterator, false, nil
}

// drain reads a shard from iter up to its tip (at most maxBatches calls), handing each record to
// keep, and returns the sequence number of the last record read ("" if none).
func (c *Collector) drain(ctx context.Context, shard string, iter *string, keep func(kintypes.Record)) (string, error) {
	last := ""
	for i := 0; iter != nil && i < maxBatches; i++ {
		out, err := c.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
		if err != nil {
			return last, fmt.Errorf("get records of %s: %w", shard, err)
		}
		for _, r := range out.Records {
			keep(r)
			last = aws.ToString(r.SequenceNumber)
		}
		behind := out.MillisBehindLatest
		if (behind != nil && *behind == 0) || (behind == nil && len(out.Records) == 0) {
			break
		}
		iter = out.NextShardIterator
	}
	return last, nil
}

// shardCache is what SharedStream read of one shard: every record from a time on, by partition key.
type shardCache struct {
	from  time.Time // records read from then on (zero: from the shard's start)
	last  string    // sequence number of the last record read: the next read starts after it
	byKey map[string][]Record
}

// readShared reads the shards through the collector's cache: a shard is read once from a window
// before the earliest since asked for (orders gathered a little out of order read nothing twice),
// then only from where the last read stopped.
func (c *Collector) readShared(ctx context.Context, stream string, shards []kintypes.Shard, orderID string, since time.Time) ([]Record, error) {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	var recs []Record
	for _, sh := range shards {
		id := aws.ToString(sh.ShardId)
		sc := c.shards[id]
		if sc != nil && sc.from.After(since) {
			sc = nil // asked for earlier records than were read: read again from there
		}
		var iter *string
		var err error
		if sc == nil {
			var exact bool
			from := since.Add(-window)
			if iter, exact, err = c.iterator(ctx, stream, id, from, ""); err != nil {
				return recs, err
			}
			sc = &shardCache{from: from, byKey: map[string][]Record{}}
			if !exact {
				sc.from = time.Time{}
			}
			c.shards[id] = sc
		} else if iter, _, err = c.iterator(ctx, stream, id, sc.from, sc.last); err != nil {
			return recs, err
		}
		last, err := c.drain(ctx, id, iter, func(r kintypes.Record) {
			k := aws.ToString(r.PartitionKey)
			sc.byKey[k] = append(sc.byKey[k], parseRecord(id, r))
		})
		if last != "" {
			sc.last = last
		}
		if err != nil {
			return recs, err
		}
		recs = append(recs, sc.byKey[orderID]...)
	}
	return recs, nil
}

func parseRecord(shard string, r kintypes.Record) Record {
	var ev struct {
		ID         string `json:"id"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			ID string `json:"id"`
		} `json:"detail"`
	}
	_ = json.Unmarshal(r.Data, &ev) // a record that is not an event still shows, without an event
	return Record{Shard: shard, Seq: aws.ToString(r.SequenceNumber), PartitionKey: aws.ToString(r.PartitionKey),
		Arrival: aws.ToTime(r.ApproximateArrivalTimestamp), BusID: ev.ID, EventID: ev.Detail.ID, Type: ev.DetailType, Raw: r.Data}
}

// consumers reads what the workflow's functions and the notifier and analytics wrote for the order.
func (c *Collector) consumers(ctx context.Context, ev *Evidence) error {
	get := func(table string, key map[string]string) (map[string]dbtypes.AttributeValue, error) {
		if c.res[table] == "" {
			return nil, nil
		}
		k := map[string]dbtypes.AttributeValue{}
		for n, v := range key {
			k[n] = &dbtypes.AttributeValueMemberS{Value: v}
		}
		out, err := c.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(c.res[table]), Key: k, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		return out.Item, nil
	}
	id := ev.OrderID
	it, err := get(ResInventory, map[string]string{"pk": "RES#" + id})
	if err != nil {
		return err
	}
	if it != nil {
		ev.Reservation = &Write{Item: "RES#" + id, Status: str(it, "status"), At: when(it, "updatedAt")}
	}
	if it, err = get(ResPayments, map[string]string{"orderId": id}); err != nil {
		return err
	}
	if it != nil {
		ev.Payment, ev.Refund = payment(it)
	}
	if it, err = get(ResShipments, map[string]string{"orderId": id}); err != nil {
		return err
	}
	if it != nil {
		ev.Shipment = &Write{Item: "shipment " + short(str(it, "shipmentId")), Status: str(it, "carrier"), At: when(it, "createdAt")}
	}
	for _, e := range ev.Events {
		if table := c.res[ResNotifications]; table != "" {
			out, err := c.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String(table),
				KeyConditionExpression:    aws.String("eventId = :id"),
				ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: e.ID}},
				ConsistentRead:            aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("read %s: %w", ResNotifications, err)
			}
			for _, it := range out.Items {
				ev.Notifications = append(ev.Notifications, Notification{EventID: e.ID, Channel: str(it, "channel"), SentAt: when(it, "sentAt")})
			}
		}
		it, err := get(ResAnalytics, map[string]string{"pk": "EVT#" + e.ID})
		if err != nil {
			return err
		}
		if exp := num(it, "expiresAt"); it != nil && exp > 0 {
			// The marker expires MarkerRetention after analytics counted the event.
			ev.Counted = append(ev.Counted, Counted{EventID: e.ID, At: time.Unix(int64(exp), 0).Add(-toolkit.MarkerRetention)})
		}
	}
	return nil
}

// payment reads the payments ledger's item: the decision (status, createdAt) and, if it was
// given back, the refund (refundedAt). A charge that needed several deliveries counts them.
func payment(it map[string]dbtypes.AttributeValue) (decision, refund *Write) {
	item := "payment " + short(str(it, "paymentId"))
	status := str(it, "status")
	note := ""
	if n := num(it, "attempts"); n > 1 {
		note = fmt.Sprintf("after %d deliveries of the message (the queue redelivered it)", n)
	}
	if r := when(it, "refundedAt"); !r.IsZero() {
		refund = &Write{Item: item, Status: status, At: r}
		status = "APPROVED" // only an approved payment is refunded (a void had no decision)
		if refund.Status != "REFUNDED" {
			return nil, refund
		}
	}
	if c := when(it, "createdAt"); !c.IsZero() {
		if r := str(it, "reason"); r != "" {
			status += " (" + r + ")"
		}
		decision = &Write{Item: item, Status: status, Note: note, At: c}
	}
	return decision, refund
}

func str(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(it map[string]dbtypes.AttributeValue, k string) int {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberN); ok {
		n, _ := strconv.ParseFloat(v.Value, 64)
		return int(n)
	}
	return 0
}

func when(it map[string]dbtypes.AttributeValue, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(it, k))
	return t
}
