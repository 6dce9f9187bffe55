package deadletter

// Against a real SQS API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

func TestEmulatorPark(t *testing.T) {
	ctx := context.Background()
	client := sqs.NewFromConfig(fixture.Emulator(t))
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
