package record

import (
	"context"
	"log/slog"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/orderflow-dev/orderflow/events"
)

// SQSConsumer is a queue's consumer: its handler in the Consumer chain, run on each batch by
// SQS, both with the queue's one maxReceiveCount, so that the two cannot disagree on it.
type SQSConsumer struct {
	handle          Handler
	concurrency     int
	maxReceiveCount int
	outcomes        Outcomes
}

// NewSQSConsumer wraps h in the Consumer chain (logger, park, maxReceiveCount: the queue's
// redrive setting) and handles up to concurrency messages of a batch at once.
func NewSQSConsumer(h Handler, logger *slog.Logger, park Parker, maxReceiveCount, concurrency int) SQSConsumer {
	return SQSConsumer{handle: Consumer(h, logger, park, maxReceiveCount), concurrency: concurrency, maxReceiveCount: maxReceiveCount}
}

// Reporting is c telling o each batch's failed and parked messages.
func (c SQSConsumer) Reporting(o Outcomes) SQSConsumer {
	c.outcomes = o
	return c
}

// Handle handles one batch (SQS) and reports the messages to retry.
func (c SQSConsumer) Handle(ctx context.Context, ev lambdaevents.SQSEvent) lambdaevents.SQSEventResponse {
	var resp lambdaevents.SQSEventResponse
	counted(ctx, c.outcomes, func(ctx context.Context) int {
		resp = SQS(ctx, ev, c.handle, c.concurrency, c.maxReceiveCount)
		return len(resp.BatchItemFailures)
	})
	return resp
}

// KinesisConsumer is a stream's consumer: its handler in the Consumer chain (a stream counts no
// receives), run on each batch, a shard's, in order up to the first record that fails.
type KinesisConsumer struct {
	handle   Handler
	outcomes Outcomes
}

// NewKinesisConsumer wraps h in the Consumer chain (logger; a poison record's body parked on dlq).
func NewKinesisConsumer(h Handler, logger *slog.Logger, dlq BodyParker) KinesisConsumer {
	return KinesisConsumer{handle: Consumer(h, logger, ParkBody(dlq), 0)}
}

// Reporting is c telling o each batch's failed record (the one it is retried from) and parked ones.
func (c KinesisConsumer) Reporting(o Outcomes) KinesisConsumer {
	c.outcomes = o
	return c
}

// Handle handles one batch (Kinesis) and reports the record to retry from.
func (c KinesisConsumer) Handle(ctx context.Context, ev lambdaevents.KinesisEvent) lambdaevents.KinesisEventResponse {
	var resp lambdaevents.KinesisEventResponse
	counted(ctx, c.outcomes, func(ctx context.Context) int {
		resp = Kinesis(ctx, ev, c.handle)
		return len(resp.BatchItemFailures)
	})
	return resp
}

// EventStream is a consumer of the order-events stream (the projector's, analytics'): a
// KinesisConsumer whose records each carry an EventBridge event, read and validated (Event)
// before h sees it, so that an invalid one is parked with its reason and h sees only events.
// Its Handle is the function's handler, in the shape the Lambda runtime takes.
type EventStream struct {
	consumer KinesisConsumer
}

// NewEventStream wraps h, which handles the event m carried, in a KinesisConsumer (logger; a
// poison record's body parked on dlq).
func NewEventStream(h func(ctx context.Context, e events.Envelope, m Message) error, logger *slog.Logger, dlq BodyParker) EventStream {
	return EventStream{consumer: NewKinesisConsumer(func(ctx context.Context, m Message) error {
		e, err := Event(ctx, m.Body)
		if err != nil {
			return err // a *events.ValidationError: parked
		}
		return h(ctx, e, m)
	}, logger, dlq)}
}

// Reporting is s telling o each batch's failed record and parked ones.
func (s EventStream) Reporting(o Outcomes) EventStream {
	s.consumer = s.consumer.Reporting(o)
	return s
}

// Handle processes a batch and reports the record to retry from by sequence number; the
// invocation itself never fails.
func (s EventStream) Handle(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
	return s.consumer.Handle(ctx, ev), nil
}

// SQS runs h, a Consumer with maxReceiveCount, on every message of an SQS batch, at most
// concurrency at once, and reports the failed ones by MessageId. A standard queue promises no
// order, and every consumer here is idempotent and safe under concurrent deliveries, so a batch
// need not be handled one message at a time: ten payment messages take about as long as the
// slowest, not as the sum. The messages h gives up on unhandled (LastReceive: their last
// attempt never answered, perhaps because the function crashed on a batch-mate) go first, one
// at a time, before the others start, so that another crash cannot come before they are parked.
func SQS(ctx context.Context, ev lambdaevents.SQSEvent, h Handler, concurrency, maxReceiveCount int) lambdaevents.SQSEventResponse {
	var first, rest []Message
	for _, r := range ev.Records {
		count, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"]) // absent or garbled: 0, never given up on
		m := Message{ID: r.MessageId, Body: []byte(r.Body), SourceARN: r.EventSourceARN, ReceiveCount: count, ReceiptHandle: r.ReceiptHandle}
		if givenUp(m, maxReceiveCount) {
			first = append(first, m)
		} else {
			rest = append(rest, m)
		}
	}
	failed := append(Process(ctx, first, h), ProcessConcurrently(ctx, rest, h, concurrency)...)
	resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
	for _, id := range failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

// Kinesis runs h on the records of a Kinesis batch (one shard's, in order) up to the first that
// fails, and reports that one by SequenceNumber: Lambda retries the batch from it. The records
// after it are left for that retry, as AWS documents: handled now, they would be handled again
// then (a record parked once per retry, an order's events stored out of their order).
func Kinesis(ctx context.Context, ev lambdaevents.KinesisEvent, h Handler) lambdaevents.KinesisEventResponse {
	msgs := make([]Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		msgs = append(msgs, Message{
			ID: r.Kinesis.SequenceNumber, Body: r.Kinesis.Data, SourceARN: r.EventSourceArn,
			Arrived: r.Kinesis.ApproximateArrivalTimestamp.Time,
		})
	}
	resp := lambdaevents.KinesisEventResponse{BatchItemFailures: []lambdaevents.KinesisBatchItemFailure{}}
	for _, m := range msgs {
		if err := h(ctx, m); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.KinesisBatchItemFailure{ItemIdentifier: m.ID})
			break
		}
	}
	return resp
}
