package deadletter

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// fakeSourceSQS answers GetQueueUrl for the queues it knows and records the deletions.
type fakeSourceSQS struct {
	mu        sync.Mutex
	urls      map[string]string // name -> URL
	lookups   []string          // "account/name" asked for
	deleted   []string          // "URL receipt"
	deleteErr error
}

func (f *fakeSourceSQS) GetQueueUrl(_ context.Context, in *sqs.GetQueueUrlInput, _ ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups = append(f.lookups, aws.ToString(in.QueueOwnerAWSAccountId)+"/"+aws.ToString(in.QueueName))
	url, ok := f.urls[aws.ToString(in.QueueName)]
	if !ok {
		return nil, errors.New("AWS.SimpleQueueService.NonExistentQueue")
	}
	return &sqs.GetQueueUrlOutput{QueueUrl: aws.String(url)}, nil
}

func (f *fakeSourceSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	f.deleted = append(f.deleted, aws.ToString(in.QueueUrl)+" "+aws.ToString(in.ReceiptHandle))
	return &sqs.DeleteMessageOutput{}, nil
}

const (
	paymentsARN = "arn:aws:sqs:us-east-1:123456789012:Orderflow-PaymentsQueue"
	paymentsURL = "https://sqs.us-east-1.amazonaws.com/123456789012/Orderflow-PaymentsQueue"
)

// Delete looks the queue's URL up once, by the name and account its ARN gives, and deletes the
// receipt from it.
func TestSourcesDelete(t *testing.T) {
	f := &fakeSourceSQS{urls: map[string]string{"Orderflow-PaymentsQueue": paymentsURL}}
	s := NewSources(f)
	for _, receipt := range []string{"rh-1", "rh-2"} {
		if err := s.Delete(context.Background(), paymentsARN, receipt); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Join(f.lookups, ","); got != "123456789012/Orderflow-PaymentsQueue" {
		t.Errorf("URL lookups %v, want one, by account and name", f.lookups)
	}
	if got, want := strings.Join(f.deleted, ","), paymentsURL+" rh-1,"+paymentsURL+" rh-2"; got != want {
		t.Errorf("deleted %v, want %v", got, want)
	}
}

// What Delete cannot do is an error naming the queue: an ARN that is not a queue's, a queue it
// cannot find (asked again next time: a failed lookup is not remembered), a deletion refused.
func TestSourcesDeleteErrors(t *testing.T) {
	tests := []struct {
		name, arn   string
		f           *fakeSourceSQS
		want        string
		wantLookups int // after two calls
	}{
		{name: "not an SQS ARN", arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s", f: &fakeSourceSQS{}, want: "not an SQS queue ARN"},
		{name: "not an ARN", arn: "Orderflow-PaymentsQueue", f: &fakeSourceSQS{}, want: "not an SQS queue ARN"},
		{name: "no such queue", arn: paymentsARN, f: &fakeSourceSQS{}, want: "URL of " + paymentsARN, wantLookups: 2},
		{name: "deletion refused", arn: paymentsARN, f: &fakeSourceSQS{urls: map[string]string{"Orderflow-PaymentsQueue": paymentsURL}, deleteErr: errors.New("AccessDenied")},
			want: "delete parked message from " + paymentsARN + ": AccessDenied", wantLookups: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSources(tc.f)
			for range 2 {
				if err := s.Delete(context.Background(), tc.arn, "rh"); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want)
				}
			}
			if len(tc.f.lookups) != tc.wantLookups {
				t.Errorf("lookups %v, want %d", tc.f.lookups, tc.wantLookups)
			}
		})
	}
}
