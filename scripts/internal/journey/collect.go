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

// Collect gathers the evidence for one order from the stack's APIs and builds its journey.
func Collect(ctx context.Context, s *deployed.Stack, orderID string) (Journey, error) {
	return NewCollector(s).Collect(ctx, orderID)
}

// Collector reads evidence from one deployed stack. It caches what does not change between two
// polls of --follow (rules, the state machine definition, execution inputs, rule matches).
type Collector struct {
	db  *dynamodb.Client
	sf  *sfn.Client
	kin *kinesis.Client
	eb  *eventbridge.Client
	res map[string]string
	reg string

	mu         sync.Mutex
	rules      []Rule
	rulesRead  bool
	ruleCheck  string
	localRules bool                // TestEventPattern failed once: match locally from then on
	matches    map[string][]string // event id → matched rules
	definition *definition
	inputs     map[string]execInput // execution ARN → what started it (immutable)
	history    map[string]Execution // execution ARN → a finished execution (immutable)
}

type execInput struct {
	orderID, eventID, busID string
	started                 time.Time
}

// NewCollector returns a collector for the stack.
func NewCollector(s *deployed.Stack) *Collector {
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
	return &Collector{
		db: dynamodb.NewFromConfig(s.AWS), sf: sfn.NewFromConfig(s.AWS), kin: kinesis.NewFromConfig(s.AWS),
		eb: eventbridge.NewFromConfig(s.AWS), res: res, reg: s.AWS.Region,
		matches: map[string][]string{}, inputs: map[string]execInput{}, history: map[string]Execution{},
	}
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
	c.mu.Lock()
	defer c.mu.Unlock()
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
		ev.Matches = c.match(ctx, ev.Events, ev.Records, ev.Rules)
		ev.RuleCheck = c.ruleCheck
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

// executions finds the workflow executions started by one of the order's events (their input is
// the EventBridge event) and reads their histories. It looks only at executions started between
// since and until (from just before the order's first event to an hour after its last), so that
// tracing an old order on a busy account does not describe every execution since.
func (c *Collector) executions(ctx context.Context, orderID string, since, until time.Time) ([]Execution, error) {
	machine := c.res[ResWorkflow]
	if machine == "" {
		return nil, errors.New("the stack has no StateMachineArn output")
	}
	if c.definition == nil {
		d, err := c.readDefinition(ctx, machine)
		if err != nil {
			return nil, err
		}
		c.definition = d
	}
	var out []Execution
	p := sfn.NewListExecutionsPaginator(c.sf, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for pages := 0; p.HasMorePages() && pages < 10; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			arn := aws.ToString(ex.ExecutionArn)
			if ex.StartDate != nil && (ex.StartDate.Before(since) || ex.StartDate.After(until)) {
				continue
			}
			in, ok := c.inputs[arn]
			if !ok {
				d, err := c.sf.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
				if err != nil {
					return out, fmt.Errorf("describe execution: %w", err)
				}
				in = parseInput(aws.ToString(d.Input))
				in.started = aws.ToTime(d.StartDate)
				c.inputs[arn] = in
			}
			if in.orderID != orderID {
				continue
			}
			x, err := c.execution(ctx, arn, aws.ToString(ex.Name), in)
			if err != nil {
				return out, err
			}
			out = append(out, x)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Started.Before(out[b].Started) })
	return out, nil
}

func parseInput(input string) execInput {
	var in struct {
		ID     string `json:"id"`
		Detail struct {
			ID      string `json:"id"`
			OrderID string `json:"orderId"`
		} `json:"detail"`
	}
	_ = json.Unmarshal([]byte(input), &in) // an input that is not an order event matches no order
	return execInput{orderID: in.Detail.OrderID, eventID: in.Detail.ID, busID: in.ID}
}

func (c *Collector) execution(ctx context.Context, arn, name string, in execInput) (Execution, error) {
	if x, ok := c.history[arn]; ok {
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
	x := ParseHistory(hist, c.definition)
	x.Arn, x.Name, x.EventID, x.BusID = arn, name, in.eventID, in.busID
	if x.Started.IsZero() {
		x.Started = in.started
	}
	if x.Status != "RUNNING" {
		c.history[arn] = x
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
	recs, err := c.readShards(ctx, name, mine, orderID, since)
	if err != nil || len(recs) > 0 {
		return recs, err
	}
	return c.readShards(ctx, name, others, orderID, since)
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

func (c *Collector) readShards(ctx context.Context, stream string, shards []kintypes.Shard, orderID string, since time.Time) ([]Record, error) {
	var recs []Record
	for _, sh := range shards {
		it, err := c.kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId,
			ShardIteratorType: kintypes.ShardIteratorTypeAtTimestamp, Timestamp: aws.Time(since),
		})
		if err != nil { // not every endpoint knows AT_TIMESTAMP: read the shard from its start
			it, err = c.kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
				StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
			})
		}
		if err != nil {
			return recs, fmt.Errorf("shard iterator of %s: %w", aws.ToString(sh.ShardId), err)
		}
		iter := it.ShardIterator
		for i := 0; iter != nil && i < 200; i++ {
			out, err := c.kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return recs, fmt.Errorf("get records of %s: %w", aws.ToString(sh.ShardId), err)
			}
			for _, r := range out.Records {
				if aws.ToString(r.PartitionKey) == orderID {
					recs = append(recs, parseRecord(aws.ToString(sh.ShardId), r))
				}
			}
			behind := out.MillisBehindLatest
			if (behind != nil && *behind == 0) || (behind == nil && len(out.Records) == 0) {
				break
			}
			iter = out.NextShardIterator
		}
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
