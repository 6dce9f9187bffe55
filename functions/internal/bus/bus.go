// Package bus publishes events to the EventBridge bus (the router): PutEvents, where a
// partial failure (FailedEntryCount > 0) is an error like any other.
package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/orderflow-dev/orderflow/events"
)

// maxEntries is PutEvents' limit of entries per request.
const maxEntries = 10

// PutEventsAPI is the part of the EventBridge client the publisher uses.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Publisher puts events on the bus.
type Publisher struct {
	client PutEventsAPI
}

// NewPublisher returns a publisher using client.
func NewPublisher(client PutEventsAPI) *Publisher {
	return &Publisher{client: client}
}

// Publish puts the entries on their buses, in requests of at most ten. Every entry must be
// accepted: PutEvents reports rejected entries in its answer rather than as an error, so a
// FailedEntryCount above zero becomes an error naming the first rejected entry. The caller
// retries the whole call; entries already accepted are delivered twice, which consumers
// absorb (every event id is deterministic and every consumer deduplicates).
func (p *Publisher) Publish(ctx context.Context, entries ...events.Entry) error {
	for start := 0; start < len(entries); start += maxEntries {
		chunk := entries[start:min(start+maxEntries, len(entries))]
		in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, 0, len(chunk))}
		for _, e := range chunk {
			in.Entries = append(in.Entries, types.PutEventsRequestEntry{
				Source:       aws.String(e.Source),
				DetailType:   aws.String(e.DetailType),
				Detail:       aws.String(e.Detail),
				EventBusName: aws.String(e.EventBusName),
			})
		}
		out, err := p.client.PutEvents(ctx, in)
		if err != nil {
			return fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount > 0 {
			return fmt.Errorf("put events: %d of %d entries rejected: %w", out.FailedEntryCount, len(chunk), firstFailure(chunk, out.Entries))
		}
	}
	return nil
}

func firstFailure(sent []events.Entry, results []types.PutEventsResultEntry) error {
	for i, r := range results {
		if r.ErrorCode == nil {
			continue
		}
		what := "entry"
		if i < len(sent) {
			what = sent[i].DetailType
		}
		return fmt.Errorf("%s: %s: %s", what, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
	}
	return errors.New("no error code given")
}
