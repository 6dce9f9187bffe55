// Package redrive moves dead-lettered messages back to where they came from, once the cause is
// fixed. For each dead-letter queue of the stack it reads every message, says why it failed,
// delivers it again the way its kind of failure calls for, and deletes it only after that
// delivery succeeded: a message is never lost, at worst delivered twice (and every consumer
// ignores a duplicate).
//
//	payments, email, sms   the DLQ of a queue       → that queue
//	streamer               parked or failed events  → the stream path: validated, then put on the
//	                                                  stream as the streamer does (an event that is
//	                                                  still invalid stays, with the reason)
//	projector, analytics   parked events            → the stream path (every consumer sees them
//	                                                  again and ignores what it already has)
//	                       Kinesis batch failures   → the batch re-read from the stream and run
//	                                                  through that consumer's projection
//	workflow-rule, stream-rule, notify-rule (when the stack outputs their DLQs): an event an
//	EventBridge rule could not deliver → the state machine, the stream path, or the bus
//
// Every delivery reuses the functions' code (functions/toolkit): the stream writer, the event
// store and analytics projections, the bus publisher.
package redrive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

// SQSAPI is the part of the SQS client redrive uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// StartExecutionAPI is the part of the Step Functions client redrive uses.
type StartExecutionAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// InvokeAPI is the part of the Lambda client redrive uses.
type InvokeAPI interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// streamPutter puts a record on the stream (toolkit.StreamWriter).
type streamPutter interface {
	Put(ctx context.Context, partitionKey string, data []byte) (string, error)
}

// publisher puts entries on the bus (toolkit.Publisher).
type publisher interface {
	Publish(ctx context.Context, entries ...events.Entry) error
}

// Clients are the services redrive talks to, and the functions' code it delivers with.
type Clients struct {
	SQS        SQSAPI
	SFN        StartExecutionAPI
	Lambda     InvokeAPI
	Stream     *streamlog.Reader // re-reads failed Kinesis batches
	Streamer   streamPutter      // the stream path
	Bus        publisher
	BusName    string
	EventStore toolkit.EventAppender
	Analytics  toolkit.TotalsAdder
	Now        func() time.Time
}

// NewClients returns clients of the deployed stack's services.
func NewClients(s *deployed.Stack) Clients {
	db := dynamodb.NewFromConfig(s.AWS)
	k := kinesis.NewFromConfig(s.AWS)
	return Clients{
		SQS: sqs.NewFromConfig(s.AWS), SFN: sfn.NewFromConfig(s.AWS), Lambda: lambda.NewFromConfig(s.AWS),
		Stream:     &streamlog.Reader{Client: k, Stream: s.Output("StreamName")},
		Streamer:   toolkit.NewStreamWriter(k, s.Output("StreamName")),
		Bus:        toolkit.NewPublisher(eventbridge.NewFromConfig(s.AWS)),
		BusName:    s.Output("EventBusName"),
		EventStore: toolkit.NewEventStore(db, s.Output("EventStoreTable")),
		Analytics:  toolkit.NewAnalytics(db, s.Output("AnalyticsTable")),
		Now:        time.Now,
	}
}

// Target says where a source's messages go back to.
type Target int

// Targets.
const (
	ToQueue        Target = iota // the source queue (Destination: its URL)
	ToStream                     // the stream path
	ToProjector                  // failed batches: the event store; parked events: the stream path
	ToAnalytics                  // failed batches: the totals; parked events: the stream path
	ToStateMachine               // Destination: the state machine ARN
	ToBus                        // the bus, as the event was first published
	ToFunction                   // Destination: the function, invoked with the payload and waited for
)

// Source is one dead-letter queue and where its messages go back to.
type Source struct {
	Name        string // what -queue names
	DLQURL      string
	Target      Target
	Destination string // ToQueue: the queue URL; ToStateMachine: its ARN; ToFunction: its name
}

// Sources lists the stack's dead-letter queues and their way back. The DLQs of the email and
// sms queues come from the outputs EmailDlqUrl and SmsDlqUrl, or else from each queue's
// redrive policy; the rule and subscription DLQs are listed when the stack outputs them.
func Sources(ctx context.Context, s *deployed.Stack, c SQSAPI) ([]Source, error) {
	o := s.Outputs
	var out []Source
	for _, q := range []struct{ name, queue, dlqOutput string }{
		{"payments", "PaymentsQueueUrl", "PaymentsDlqUrl"},
		{"email", "EmailQueueUrl", "EmailDlqUrl"},
		{"sms", "SmsQueueUrl", "SmsDlqUrl"},
	} {
		dlq := o[q.dlqOutput]
		if dlq == "" {
			var err error
			if dlq, err = deadLetterQueueOf(ctx, c, s.Output(q.queue)); err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
		}
		out = append(out, Source{Name: q.name, DLQURL: dlq, Target: ToQueue, Destination: s.Output(q.queue)})
	}
	out = append(out,
		Source{Name: "streamer", DLQURL: s.Output("StreamerDlqUrl"), Target: ToStream},
		Source{Name: "projector", DLQURL: s.Output("ProjectorDlqUrl"), Target: ToProjector},
		Source{Name: "analytics", DLQURL: s.Output("AnalyticsDlqUrl"), Target: ToAnalytics},
	)
	for _, r := range []struct {
		name, output string
		target       Target
		destination  string
	}{
		{"workflow-rule", "WorkflowRuleDlqUrl", ToStateMachine, o["StateMachineArn"]},
		{"stream-rule", "StreamRuleDlqUrl", ToStream, ""},
		{"notify-rule", "NotifyRuleDlqUrl", ToBus, ""}, // SNS is the rule's target; the bus gets it there (and duplicates elsewhere are ignored)
		// What SNS could not deliver to a subscribed queue (raw delivery: the body is the event) goes to that queue.
		{"email-subscription", "EmailSubscriptionDlqUrl", ToQueue, o["EmailQueueUrl"]},
		{"sms-subscription", "SmsSubscriptionDlqUrl", ToQueue, o["SmsQueueUrl"]},
		// A status change of a stalled execution: to the rescuer again (it starts each rescue once).
		{"rescuer", "RescuerDlqUrl", ToFunction, o["RescuerFunctionName"]},
		{"rescue-rule", "RescueRuleDlqUrl", ToFunction, o["RescuerFunctionName"]},
	} {
		if url := o[r.output]; url != "" {
			out = append(out, Source{Name: r.name, DLQURL: url, Target: r.target, Destination: r.destination})
		}
	}
	return out, nil
}

// deadLetterQueueOf finds a queue's DLQ from its redrive policy.
func deadLetterQueueOf(ctx context.Context, c SQSAPI, queueURL string) (string, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		return "", fmt.Errorf("redrive policy of %s: %w", queueURL, err)
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]), &policy); err != nil || policy.DeadLetterTargetArn == "" {
		return "", fmt.Errorf("queue %s has no dead-letter queue in its redrive policy", queueURL)
	}
	name := policy.DeadLetterTargetArn[strings.LastIndex(policy.DeadLetterTargetArn, ":")+1:]
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("dead-letter queue %s: %w", name, err)
	}
	return aws.ToString(u.QueueUrl), nil
}

// Options choose what to move.
type Options struct {
	DryRun bool
	Max    int    // at most this many messages per queue; 0 for all
	Match  string // only messages whose body contains this text
	Log    io.Writer
}

// Result is what happened to one message.
type Result struct {
	Source  string
	Message Message
	To      string // where it went (or would go)
	Err     error  // nil: moved (or, in a dry run, would be)
}

// Report is what a redrive did.
type Report struct {
	Results []Result
	Moved   int
	Failed  int
}

// Redrive moves the messages of each source, as o says.
func Redrive(ctx context.Context, c Clients, sources []Source, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := &Report{}
	for _, src := range sources {
		if err := redriveSource(ctx, c, src, o, rep); err != nil {
			return rep, fmt.Errorf("%s: %w", src.Name, err)
		}
	}
	return rep, nil
}

// visibility hides a message received by a run from other readers (and from the run's next
// receive), so each message is handled once per run; the run makes held messages visible again.
const visibility = 120

func redriveSource(ctx context.Context, c Clients, src Source, o Options, rep *Report) error {
	started := time.Now()
	var held []string // receipt handles to make visible again at the end
	defer func() {
		for _, h := range held {
			_, _ = c.SQS.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(src.DLQURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0,
			})
		}
	}()
	handled := 0
	defer func() { fmt.Fprintf(o.Log, "%-13s %d messages handled (%s)\n", src.Name+":", handled, src.DLQURL) }()
	for o.Max == 0 || handled < o.Max {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(src.DLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: visibility,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", src.DLQURL, err)
		}
		if len(out.Messages) == 0 {
			return nil
		}
		for _, sm := range out.Messages {
			body := aws.ToString(sm.Body)
			if (o.Max > 0 && handled >= o.Max) || sentAfter(sm, started) || !strings.Contains(body, o.Match) {
				held = append(held, aws.ToString(sm.ReceiptHandle)) // not this run's: a message re-parked by this run, or not asked for
				continue
			}
			handled++
			r := Result{Source: src.Name}
			r.Message, r.Err = Parse(aws.ToString(sm.MessageId), body, sm.MessageAttributes)
			if r.Err == nil {
				r.To, r.Err = deliver(ctx, c, src, r.Message, o.DryRun)
			}
			if r.Err == nil && !o.DryRun {
				if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(src.DLQURL), ReceiptHandle: sm.ReceiptHandle}); err != nil {
					r.Err = fmt.Errorf("delivered, but not deleted from the DLQ (it will be delivered again): %w", err)
				}
			}
			if r.Err != nil || o.DryRun {
				held = append(held, aws.ToString(sm.ReceiptHandle))
			}
			if r.Err != nil {
				rep.Failed++
			} else if !o.DryRun {
				rep.Moved++
			}
			rep.Results = append(rep.Results, r)
			printResult(o.Log, r, o.DryRun)
		}
	}
	return nil
}

// sentAfter reports whether the message reached the DLQ after t (so it was re-parked by
// this very run and must wait for the next one).
func sentAfter(m types.Message, t time.Time) bool {
	ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	return err == nil && time.UnixMilli(ms).After(t)
}

func printResult(w io.Writer, r Result, dryRun bool) {
	verdict := "moved"
	switch {
	case r.Err != nil:
		verdict = "NOT MOVED: " + r.Err.Error()
	case dryRun:
		verdict = "would be moved (dry run)"
	}
	fmt.Fprintf(w, "%-10s %s  %s\n           errorReason: %s\n           → %s: %s\n", r.Source, r.Message.ID, r.Message.Kind, r.Message.Reason, orDash(r.To), verdict)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// deliver sends m back the way src's target calls for and returns where it went.
func deliver(ctx context.Context, c Clients, src Source, m Message, dryRun bool) (string, error) {
	target := src.Target
	if m.Kind == KinesisBatch {
		if target != ToProjector && target != ToAnalytics {
			return "", fmt.Errorf("a Kinesis batch failure in the %s DLQ: no stream consumer to give it to", src.Name)
		}
		return redriveBatch(ctx, c, target, m, dryRun)
	}
	if target == ToProjector || target == ToAnalytics {
		// a parked stream record is an EventBridge event: back through the stream path, so the
		// stream stays the whole log and every consumer sees it (each ignores what it has)
		target = ToStream
	}
	switch target {
	case ToQueue:
		to := "queue " + src.Destination
		if !sqsText(m.Payload) {
			return to, errors.New("the body is not text an SQS message can carry: it can only be inspected")
		}
		if dryRun {
			return to, nil
		}
		var attrs map[string]types.MessageAttributeValue
		if len(m.Attrs) > 0 {
			attrs = m.Attrs
		}
		_, err := c.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(src.Destination), MessageBody: aws.String(string(m.Payload)), MessageAttributes: attrs})
		return to, err
	case ToStream:
		to := "the stream (as the streamer puts it)"
		e, err := events.FromEventBridge(m.Payload) // the streamer's schema gate
		if err != nil {
			return to, fmt.Errorf("still invalid, kept: %w", err)
		}
		if dryRun {
			return to, nil
		}
		seq, err := c.Streamer.Put(ctx, e.OrderID, m.Payload)
		return to + ", record " + seq, err
	case ToStateMachine:
		to := "state machine " + src.Destination
		if dryRun {
			return to, nil
		}
		_, err := c.SFN.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(src.Destination), Input: aws.String(string(m.Payload))})
		return to, err
	case ToFunction:
		to := "function " + src.Destination
		if dryRun {
			return to, nil
		}
		out, err := c.Lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(src.Destination), Payload: m.Payload})
		if err == nil && out.FunctionError != nil {
			err = fmt.Errorf("the function failed again (%s): %s", aws.ToString(out.FunctionError), out.Payload)
		}
		return to, err
	case ToBus:
		to := "the bus " + c.BusName
		e, err := events.FromEventBridge(m.Payload)
		if err != nil {
			return to, fmt.Errorf("still invalid, kept: %w", err)
		}
		entry, err := e.Entry(c.BusName)
		if err != nil || dryRun {
			return to, err
		}
		return to, c.Bus.Publish(ctx, entry)
	}
	return "", fmt.Errorf("unknown target %d", target)
}

// redriveBatch re-reads a failed Kinesis batch from the stream and runs each record through the
// consumer's projection, as the consumer would: an invalid record is reported, not projected.
func redriveBatch(ctx context.Context, c Clients, target Target, m Message, dryRun bool) (string, error) {
	what := "the event store"
	if target == ToAnalytics {
		what = "the analytics totals"
	}
	to := fmt.Sprintf("%s, records %s..%s of %s re-read from the stream", what, m.Batch.StartSequenceNumber, m.Batch.EndSequenceNumber, m.Batch.ShardID)
	var recs []streamlog.Record
	if err := c.Stream.ReadRange(ctx, m.Batch.ShardID, m.Batch.StartSequenceNumber, m.Batch.EndSequenceNumber, func(r streamlog.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		return to, fmt.Errorf("re-read the batch: %w", err)
	}
	if len(recs) == 0 {
		return to, errors.New("the batch is no longer on the stream (past its retention?)")
	}
	to = fmt.Sprintf("%s (%d records)", to, len(recs))
	var problems []string
	tally := map[toolkit.Outcome]int{}
	for _, r := range recs {
		e, err := events.FromEventBridge(r.Data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("record %s: %v", r.SequenceNumber, err))
			continue
		}
		if dryRun {
			continue
		}
		var outcome toolkit.Outcome
		if target == ToProjector {
			rec, err := toolkit.EventRecord(e, r.SequenceNumber, r.Arrived, c.Now())
			if err == nil {
				outcome, err = toolkit.Append(ctx, c.EventStore, rec)
			}
			if err != nil {
				problems = append(problems, fmt.Sprintf("record %s: %v", r.SequenceNumber, err))
				continue
			}
		} else {
			if outcome, _, err = toolkit.Count(ctx, c.Analytics, e, c.Now()); err != nil {
				problems = append(problems, fmt.Sprintf("record %s: %v", r.SequenceNumber, err))
				continue
			}
		}
		tally[outcome]++
	}
	if !dryRun {
		to = fmt.Sprintf("%s: %d %s, %d %s", to, tally[toolkit.Applied], toolkit.Applied, tally[toolkit.AlreadyPresent], toolkit.AlreadyPresent)
	}
	if len(problems) > 0 {
		return to, fmt.Errorf("%d of %d records failed, kept: %s", len(problems), len(recs), strings.Join(problems, "; "))
	}
	return to, nil
}

// sqsText reports whether b can be an SQS message body: non-empty valid UTF-8 of SQS's characters.
func sqsText(b []byte) bool {
	s := string(b)
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)) {
			return false
		}
	}
	return true
}
