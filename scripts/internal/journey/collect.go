package journey

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

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

// resourceOutputs names the stack's output (infra/stack.go) that gives each resource and function
// the journey draws; a function's key is the Actor of its hops.
var resourceOutputs = map[string]string{
	ResAPI: "ApiUrl", ResBus: "EventBusName", ResWorkflow: "StateMachineArn", ResStream: "StreamName",
	ResTopic: "NotificationsTopicArn", ResPaymentsQueue: "PaymentsQueueUrl", "email queue": "EmailQueueUrl",
	"sms queue": "SmsQueueUrl", ResEventStore: "EventStoreTable", ResInventory: "InventoryTable",
	ResPayments: "PaymentsTable", ResShipments: "ShipmentsTable", ResNotifications: "NotificationsTable",
	ResAnalytics: "AnalyticsTable", ResSagas: "SagasTable", "order-api": "OrderApiFunctionName", "inventory": "InventoryFunctionName",
	"payment": "PaymentFunctionName", "shipping": "ShippingFunctionName", "notifier": "NotifierFunctionName",
	"streamer": "StreamerFunctionName", "projector": "ProjectorFunctionName", "analytics": "AnalyticsFunctionName",
	"rescuer": "RescuerFunctionName",
}

// NewCollector returns a collector for the stack. Without options it finds everything the trace
// shows, duplicate executions included.
func NewCollector(s *deployed.Stack, opts ...Option) *Collector {
	res := map[string]string{}
	for name, out := range resourceOutputs {
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
	if ev.Events, err = c.Events(ctx, orderID); err != nil {
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
	if err := ctx.Err(); err != nil { // the reads cut short say nothing of their own: say it here
		ev.Notes = append(ev.Notes, fmt.Sprintf("stopped before every source was read (%v): hops may be missing", err))
	}
	return ev, nil
}
