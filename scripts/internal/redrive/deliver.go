// Delivering a message back: to a queue, the stream path, the state machine, a function or the
// notifications topic; a failed Kinesis batch, re-read from the stream, through its consumer's
// projection.

package redrive

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/streamlog"
)

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
		if src.Target == ToProjector && c.EventStore != nil {
			if err := conflict(ctx, c.EventStore, e); err != nil {
				return to, err
			}
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
	case ToTopic:
		to := "topic " + src.Destination
		if _, err := events.FromEventBridge(m.Payload); err != nil {
			return to, fmt.Errorf("still invalid, kept: %w", err)
		}
		if dryRun {
			return to, nil
		}
		// The message is the event, as the rule publishes it: the subscriptions' filter
		// policies read its body, and deliver it raw to their queues.
		_, err := c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(src.Destination), Message: aws.String(string(m.Payload))})
		return to, err
	}
	return "", fmt.Errorf("unknown target %d", target)
}

// conflict is an error if the event store holds another fact at e's place (its order and
// sequence), as the projector compares them: the projector parked e for that conflict, and would
// again; delivering it cannot help, so it stays parked until an operator decides which of the two
// is the fact.
func conflict(ctx context.Context, store EventStore, e events.Envelope) error {
	holder, err := store.Contradiction(ctx, e)
	if err != nil {
		return fmt.Errorf("read the event store at %s #%d: %w", e.OrderID, e.Sequence, err)
	}
	if holder != "" {
		return fmt.Errorf("conflicts with the event store, kept: %s #%d holds %s, not this %s; an operator decides which is the fact",
			e.OrderID, e.Sequence, holder, e.Type)
	}
	return nil
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
