package deadletter

// Against a real SQS API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
)

func TestEmulatorPark(t *testing.T) {
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
	client := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) })
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("test-dlq-" + uuid.NewString()[:8])})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })

	if err := New(client, aws.ToString(q.QueueUrl)).Park(ctx, []byte{0xff, 0x01}, "invalid event: /detail: missing"); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("received %d messages", len(out.Messages))
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != "/wE=" || aws.ToString(m.MessageAttributes[ReasonAttribute].StringValue) != "invalid event: /detail: missing" ||
		aws.ToString(m.MessageAttributes[EncodingAttribute].StringValue) != "base64" {
		t.Errorf("message = %q %+v", aws.ToString(m.Body), m.MessageAttributes)
	}
}
