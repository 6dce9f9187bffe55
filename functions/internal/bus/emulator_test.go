package bus

// Against a real EventBridge API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
)

func TestEmulatorPublish(t *testing.T) {
	endpoint := os.Getenv("ORDERFLOW_TEST_ENDPOINT")
	if endpoint == "" {
		t.Skip("ORDERFLOW_TEST_ENDPOINT not set")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	client := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(endpoint) })
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
