// Package journey reconstructs the path of one order through the deployed services, from their
// own APIs (DynamoDB, Step Functions, Kinesis), never from log text.
package journey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// Services an order crosses, as hops name them.
const (
	APIGateway    = "API Gateway"
	EventBridge   = "EventBridge"
	StepFunctions = "Step Functions"
	SQS           = "SQS"
	SNS           = "SNS"
	Kinesis       = "Kinesis"
	Lambda        = "Lambda"
	DynamoDB      = "DynamoDB"
)

// Hop is one thing that happened to the order in one service.
type Hop struct {
	Time        time.Time
	Service     string
	Resource    string
	What        string
	EventType   string // the order event this hop carried or produced, if any
	EventID     string
	CausationID string
}

// Journey is an order's hops in time order.
type Journey struct {
	OrderID       string
	CorrelationID string
	Status        string // from the execution: RUNNING, SUCCEEDED, FAILED...
	ExecutionArn  string
	Hops          []Hop
}

// ErrUnknownOrder means the event store holds no event for the order.
var ErrUnknownOrder = errors.New("unknown order")

// Services lists the distinct services the journey crossed, in first-crossed order.
func (j Journey) Services() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range j.Hops {
		if !seen[h.Service] {
			seen[h.Service] = true
			out = append(out, h.Service)
		}
	}
	return out
}

// Collect gathers the order's hops from the event store, the workflow's execution history, the
// stream and the consumers' tables.
func Collect(ctx context.Context, s *deployed.Stack, orderID string) (Journey, error) {
	j := Journey{OrderID: orderID}
	db := dynamodb.NewFromConfig(s.AWS)
	stored, err := eventStore(ctx, db, s, orderID)
	if err != nil {
		return j, err
	}
	if len(stored) == 0 {
		return j, fmt.Errorf("%s: %w (no event in table %s)", orderID, ErrUnknownOrder, s.Output("EventStoreTable"))
	}
	bus := s.Output("EventBusName")
	for _, e := range stored {
		j.CorrelationID = e.CorrelationID
		if e.Type == "OrderPlaced" {
			j.add(Hop{Time: e.Time, Service: APIGateway, Resource: "POST /orders", What: "order-api (Lambda) validated and priced the order", EventType: e.Type, EventID: e.ID})
		}
		j.add(Hop{Time: e.Time, Service: EventBridge, Resource: bus, What: "PutEvents from " + e.Source, EventType: e.Type, EventID: e.ID, CausationID: e.CausationID})
		if !e.RecordedAt.IsZero() {
			j.add(Hop{Time: e.RecordedAt, Service: DynamoDB, Resource: s.Output("EventStoreTable"),
				What: fmt.Sprintf("projector (Lambda) appended event #%d to the event store", e.Sequence), EventType: e.Type, EventID: e.ID})
		}
	}
	if err := j.workflow(ctx, sfn.NewFromConfig(s.AWS), s.Output("StateMachineArn")); err != nil {
		return j, err
	}
	if err := j.stream(ctx, kinesis.NewFromConfig(s.AWS), s.Output("StreamName")); err != nil {
		return j, err
	}
	if err := j.consumers(ctx, db, s, stored); err != nil {
		return j, err
	}
	sort.SliceStable(j.Hops, func(a, b int) bool { return j.Hops[a].Time.Before(j.Hops[b].Time) })
	return j, nil
}

func (j *Journey) add(h Hop) { j.Hops = append(j.Hops, h) }

type storedEvent struct {
	ID, Type, Source, CorrelationID, CausationID string
	Sequence                                     int
	Time, RecordedAt                             time.Time
}

func eventStore(ctx context.Context, db *dynamodb.Client, s *deployed.Stack, orderID string) ([]storedEvent, error) {
	out, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.Output("EventStoreTable")),
		KeyConditionExpression:    aws.String("orderId = :id"),
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: orderID}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("query event store: %w", err)
	}
	evs := make([]storedEvent, 0, len(out.Items))
	for _, it := range out.Items {
		evs = append(evs, storedEvent{
			ID: str(it, "eventId"), Type: str(it, "type"), Source: str(it, "source"),
			CorrelationID: str(it, "correlationId"), CausationID: str(it, "causationId"),
			Sequence: num(it, "sequence"), Time: when(it, "time"), RecordedAt: when(it, "recordedAt"),
		})
	}
	return evs, nil
}

// workflow finds the execution that handled the order (its input is the OrderPlaced event) and
// adds one hop per state entered, plus the payment message it sent to SQS.
func (j *Journey) workflow(ctx context.Context, c *sfn.Client, machine string) error {
	p := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	for pages := 0; p.HasMorePages() && pages < 20 && j.ExecutionArn == ""; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list executions: %w", err)
		}
		for _, ex := range page.Executions {
			d, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				return fmt.Errorf("describe execution: %w", err)
			}
			if strings.Contains(aws.ToString(d.Input), `"`+j.OrderID+`"`) {
				j.ExecutionArn, j.Status = aws.ToString(ex.ExecutionArn), string(d.Status)
				break
			}
		}
	}
	if j.ExecutionArn == "" {
		return nil // not started yet: eventual consistency
	}
	h := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(j.ExecutionArn)})
	name := machine[strings.LastIndex(machine, ":")+1:]
	for h.HasMorePages() {
		page, err := h.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("execution history: %w", err)
		}
		for _, ev := range page.Events {
			switch ev.Type {
			case sfntypes.HistoryEventTypeExecutionStarted:
				j.add(Hop{Time: aws.ToTime(ev.Timestamp), Service: StepFunctions, Resource: name, What: "execution started by the OrderPlaced rule", EventType: "OrderPlaced"})
			case sfntypes.HistoryEventTypeTaskScheduled:
				// AWS reports resourceType "sqs"; some emulators report the whole integration ARN.
				if d := ev.TaskScheduledEventDetails; d != nil && (aws.ToString(d.ResourceType) == "sqs" || strings.Contains(aws.ToString(d.Resource), "sqs:sendMessage")) {
					j.add(Hop{Time: aws.ToTime(ev.Timestamp), Service: SQS, Resource: "payments", What: "payment request sent with a task token (sqs:sendMessage.waitForTaskToken)"})
				}
			case sfntypes.HistoryEventTypeTaskSucceeded, sfntypes.HistoryEventTypeTaskFailed, sfntypes.HistoryEventTypeTaskTimedOut:
				// the state-entered hops below carry the story
			case sfntypes.HistoryEventTypeExecutionSucceeded, sfntypes.HistoryEventTypeExecutionFailed, sfntypes.HistoryEventTypeExecutionTimedOut, sfntypes.HistoryEventTypeExecutionAborted:
				j.add(Hop{Time: aws.ToTime(ev.Timestamp), Service: StepFunctions, Resource: name, What: "execution " + strings.TrimPrefix(string(ev.Type), "Execution")})
			}
			if d := ev.StateEnteredEventDetails; d != nil {
				j.add(Hop{Time: aws.ToTime(ev.Timestamp), Service: StepFunctions, Resource: name, What: "state " + aws.ToString(d.Name)})
			}
		}
	}
	return nil
}

// stream reads the order's records from every shard of the stream, from the start.
func (j *Journey) stream(ctx context.Context, c *kinesis.Client, stream string) error {
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return fmt.Errorf("list shards: %w", err)
	}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return fmt.Errorf("shard iterator: %w", err)
		}
		iter := it.ShardIterator
		for i := 0; iter != nil && i < 1000; i++ {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return fmt.Errorf("get records: %w", err)
			}
			for _, r := range out.Records {
				if aws.ToString(r.PartitionKey) != j.OrderID {
					continue
				}
				var ev struct {
					DetailType string `json:"detail-type"`
					Detail     struct {
						ID string `json:"id"`
					} `json:"detail"`
				}
				_ = json.Unmarshal(r.Data, &ev) // a record that is not an event still shows as a hop
				j.add(Hop{Time: aws.ToTime(r.ApproximateArrivalTimestamp), Service: Kinesis, Resource: stream,
					What: "streamer (Lambda) appended record " + aws.ToString(r.SequenceNumber), EventType: ev.DetailType, EventID: ev.Detail.ID})
			}
			if len(out.Records) == 0 || aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return nil
}

// consumers adds what the payment, shipping and notifier functions recorded for the order.
func (j *Journey) consumers(ctx context.Context, db *dynamodb.Client, s *deployed.Stack, stored []storedEvent) error {
	key := map[string]dbtypes.AttributeValue{"orderId": &dbtypes.AttributeValueMemberS{Value: j.OrderID}}
	for _, c := range []struct{ table, what string }{
		{"PaymentsTable", "payment (Lambda) took the message from the payments queue and decided: "},
		{"ShipmentsTable", "shipping (Lambda) created shipment "},
	} {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Output(c.table)), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("read %s: %w", c.table, err)
		}
		if out.Item != nil {
			j.add(Hop{Time: when(out.Item, "createdAt"), Service: Lambda, Resource: s.Output(c.table),
				What: c.what + str(out.Item, "status") + str(out.Item, "shipmentId")})
		}
	}
	for _, e := range stored {
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.Output("NotificationsTable")),
			KeyConditionExpression:    aws.String("eventId = :id"),
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":id": &dbtypes.AttributeValueMemberS{Value: e.ID}},
			ConsistentRead:            aws.Bool(true),
		})
		if err != nil {
			return fmt.Errorf("read notifications: %w", err)
		}
		for _, it := range out.Items {
			channel := str(it, "channel")
			j.add(Hop{Time: when(it, "sentAt"), Service: SNS, Resource: "order-notifications → " + channel + " queue",
				What: "notifier (Lambda) sent the " + channel + " notification", EventType: e.Type, EventID: e.ID})
		}
	}
	return nil
}

func str(it map[string]dbtypes.AttributeValue, k string) string {
	if v, ok := it[k].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func num(it map[string]dbtypes.AttributeValue, k string) int {
	var n int
	if v, ok := it[k].(*dbtypes.AttributeValueMemberN); ok {
		_, _ = fmt.Sscan(v.Value, &n)
	}
	return n
}

func when(it map[string]dbtypes.AttributeValue, k string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(it, k))
	return t
}
