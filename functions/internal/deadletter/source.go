package deadletter

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SourceAPI is the part of the SQS client Sources uses. A Lambda function reading a queue
// through an event source mapping holds both permissions on it (the mapping's own grant).
type SourceAPI interface {
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Sources deletes parked messages from the queues they were received from, as soon as they are
// parked (record.DeleteParked). Each queue's URL is looked up once, by name, from its ARN.
type Sources struct {
	client SourceAPI
	mu     sync.Mutex
	urls   map[string]string // queue ARN -> URL
}

// NewSources returns a Sources that works through client.
func NewSources(client SourceAPI) *Sources {
	return &Sources{client: client, urls: map[string]string{}}
}

// Delete deletes the message received with receiptHandle from the queue queueARN names.
func (s *Sources) Delete(ctx context.Context, queueARN, receiptHandle string) error {
	url, err := s.url(ctx, queueARN)
	if err != nil {
		return err
	}
	if _, err := s.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(receiptHandle)}); err != nil {
		return fmt.Errorf("delete parked message from %s: %w", queueARN, err)
	}
	return nil
}

// url is the URL of the queue queueARN (arn:<partition>:sqs:<region>:<account>:<name>) names.
func (s *Sources) url(ctx context.Context, queueARN string) (string, error) {
	s.mu.Lock()
	url, ok := s.urls[queueARN]
	s.mu.Unlock()
	if ok {
		return url, nil
	}
	f := strings.Split(queueARN, ":")
	if len(f) != 6 || f[0] != "arn" || f[2] != "sqs" || f[4] == "" || f[5] == "" {
		return "", fmt.Errorf("delete parked message: %q is not an SQS queue ARN", queueARN)
	}
	out, err := s.client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(f[5]), QueueOwnerAWSAccountId: aws.String(f[4])})
	if err != nil {
		return "", fmt.Errorf("delete parked message: URL of %s: %w", queueARN, err)
	}
	url = aws.ToString(out.QueueUrl)
	s.mu.Lock()
	s.urls[queueARN] = url
	s.mu.Unlock()
	return url, nil
}
