package deadletter

// Against a real SQS API; skipped unless ORDERFLOW_TEST_ENDPOINT is set (see package dynamo).

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

// tempQueue creates a queue named prefix plus a random suffix, deleted when the test ends.
func tempQueue(t *testing.T, prefix string) (*sqs.Client, *sqs.CreateQueueOutput) {
	t.Helper()
	client := sqs.NewFromConfig(fixture.Emulator(t))
	q, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(prefix + uuid.NewString()[:8])})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	return client, q
}

func TestEmulatorPark(t *testing.T) {
	ctx := context.Background()
	client, q := tempQueue(t, "test-dlq-")

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

// Sources finds a queue's URL from its ARN and deletes a received message from it.
func TestEmulatorSourcesDelete(t *testing.T) {
	ctx := context.Background()
	client, q := tempQueue(t, "test-source-")
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("poison")}); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1, VisibilityTimeout: 1})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("received %v, %v", out, err)
	}
	if err := NewSources(client).Delete(ctx, attrs.Attributes[string(types.QueueAttributeNameQueueArn)], aws.ToString(out.Messages[0].ReceiptHandle)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the visibility timeout: an undeleted message would be back
	again, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
	if err != nil || len(again.Messages) != 0 {
		t.Errorf("received again %v, %v: want the message deleted", again.Messages, err)
	}
}
