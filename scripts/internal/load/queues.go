// Queue depths: the stack's dead-letter queues before and after a run.

package load

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// dlqDepths reads every dead-letter queue of the stack (outputs …DlqUrl).
func dlqDepths(ctx context.Context, q *sqs.Client, outputs map[string]string) (map[string]int, error) {
	return Depths(ctx, q, outputs, "DlqUrl")
}

// Depths reads the depth (visible, in flight and delayed messages) of every queue whose stack
// output's name ends in suffix, by that name less "Url".
func Depths(ctx context.Context, q *sqs.Client, outputs map[string]string, suffix string) (map[string]int, error) {
	out := map[string]int{}
	for name, url := range outputs {
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
		if err != nil {
			return nil, fmt.Errorf("depth of %s: %w", name, err)
		}
		n := 0
		for _, v := range a.Attributes {
			var k int
			_, _ = fmt.Sscan(v, &k)
			n += k
		}
		out[strings.TrimSuffix(name, "Url")] = n
	}
	return out, nil
}

func dlqAfter(ctx context.Context, q *sqs.Client, outputs map[string]string, before map[string]int) ([]Queue, error) {
	after, err := dlqDepths(ctx, q, outputs)
	if err != nil {
		return nil, err
	}
	return queues(before, after), nil
}

// queues pairs the depths of the same queues before and after, by name.
func queues(before, after map[string]int) []Queue {
	var out []Queue
	for name, n := range after {
		out = append(out, Queue{Name: name, Before: before[name], After: n})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}
