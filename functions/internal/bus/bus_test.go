package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/orderflow-dev/orderflow/events"
)

type recordingEventBridge struct {
	calls   []*eventbridge.PutEventsInput
	answers []*eventbridge.PutEventsOutput
	err     error
}

func (r *recordingEventBridge) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	r.calls = append(r.calls, in)
	if r.err != nil {
		return nil, r.err
	}
	if len(r.answers) == 0 {
		return &eventbridge.PutEventsOutput{}, nil
	}
	out := r.answers[0]
	r.answers = r.answers[1:]
	return out, nil
}

func entries(n int) []events.Entry {
	out := make([]events.Entry, n)
	for i := range out {
		out[i] = events.Entry{Source: events.SourceOrders, DetailType: "OrderPlaced", Detail: fmt.Sprintf(`{"n":%d}`, i), EventBusName: "orders"}
	}
	return out
}

func TestPublish(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		answers   []*eventbridge.PutEventsOutput
		err       error
		wantCalls []int // entries per call
		wantErr   string
	}{
		{name: "one entry", n: 1, wantCalls: []int{1}},
		{name: "chunks of ten", n: 23, wantCalls: []int{10, 10, 3}},
		{name: "a rejected entry is an error", n: 2, answers: []*eventbridge.PutEventsOutput{{
			FailedEntryCount: 1,
			Entries:          []types.PutEventsResultEntry{{EventId: aws.String("1")}, {ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")}},
		}}, wantCalls: []int{2}, wantErr: "InternalFailure: try again"},
		{name: "rejection stops later chunks", n: 12, answers: []*eventbridge.PutEventsOutput{{FailedEntryCount: 1}}, wantCalls: []int{10}, wantErr: "1 of 10 entries rejected"},
		{name: "call fails", n: 1, err: errors.New("AccessDenied"), wantCalls: []int{1}, wantErr: "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eb := &recordingEventBridge{answers: tc.answers, err: tc.err}
			err := NewPublisher(eb).Publish(context.Background(), entries(tc.n)...)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if len(eb.calls) != len(tc.wantCalls) {
				t.Fatalf("calls = %d, want %d", len(eb.calls), len(tc.wantCalls))
			}
			sent := 0
			for i, c := range eb.calls {
				if len(c.Entries) != tc.wantCalls[i] {
					t.Errorf("call %d had %d entries", i, len(c.Entries))
				}
				for _, e := range c.Entries {
					if aws.ToString(e.Detail) != fmt.Sprintf(`{"n":%d}`, sent) || aws.ToString(e.EventBusName) != "orders" ||
						aws.ToString(e.Source) != events.SourceOrders || aws.ToString(e.DetailType) != "OrderPlaced" {
						t.Errorf("entry = %+v", e)
					}
					sent++
				}
			}
		})
	}
}
