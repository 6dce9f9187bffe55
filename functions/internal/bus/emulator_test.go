package bus

// Against a real EventBridge API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

func TestEmulatorPublish(t *testing.T) {
	ctx := context.Background()
	client := eventbridge.NewFromConfig(fixture.Emulator(t))
	name := "test-bus-" + uuid.NewString()[:8]
	if _, err := client.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(name)})
	})

	p := NewPublisher(client)
	ok := events.Entry{Source: events.SourceOrders, DetailType: "OrderPlaced", Detail: `{"id":"x"}`, EventBusName: name}
	if err := p.Publish(ctx, ok); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// A reserved "aws." source is rejected per entry (FailedEntryCount), not as a call error.
	bad := ok
	bad.Source = "aws.orders"
	if err := p.Publish(ctx, ok, bad); err == nil || !strings.Contains(err.Error(), "rejected") {
		t.Errorf("publish with a rejected entry: err = %v", err)
	}
}
