package record

import (
	"context"
	"strconv"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

// SQS runs h on every message of an SQS batch, at most concurrency at once, and reports the
// failed ones by MessageId. A standard queue promises no order, and every consumer here is
// idempotent and safe under concurrent deliveries, so a batch need not be handled one message
// at a time: ten payment messages take about as long as the slowest, not as the sum.
func SQS(ctx context.Context, ev lambdaevents.SQSEvent, h Handler, concurrency int) lambdaevents.SQSEventResponse {
	msgs := make([]Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		count, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"]) // absent or garbled: 0, never given up on
		msgs = append(msgs, Message{ID: r.MessageId, Body: []byte(r.Body), SourceARN: r.EventSourceARN, ReceiveCount: count})
	}
	resp := lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{}}
	for _, id := range ProcessConcurrently(ctx, msgs, h, concurrency) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

// Kinesis runs h on every record of a Kinesis batch and reports the failed ones by
// SequenceNumber (Lambda then retries from the lowest one reported).
func Kinesis(ctx context.Context, ev lambdaevents.KinesisEvent, h Handler) lambdaevents.KinesisEventResponse {
	msgs := make([]Message, 0, len(ev.Records))
	for _, r := range ev.Records {
		msgs = append(msgs, Message{
			ID: r.Kinesis.SequenceNumber, Body: r.Kinesis.Data, SourceARN: r.EventSourceArn,
			Arrived: r.Kinesis.ApproximateArrivalTimestamp.Time,
		})
	}
	resp := lambdaevents.KinesisEventResponse{BatchItemFailures: []lambdaevents.KinesisBatchItemFailure{}}
	for _, id := range Process(ctx, msgs, h) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.KinesisBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}
