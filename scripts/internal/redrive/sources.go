// The stack's dead-letter queues and where each one's messages go back to.

package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// Target says where a source's messages go back to.
type Target int

// Targets.
const (
	ToQueue        Target = iota // the source queue (Destination: its URL)
	ToStream                     // the stream path
	ToProjector                  // failed batches: the event store; parked events: the stream path, unless the event store contradicts them
	ToAnalytics                  // failed batches: the totals; parked events: the stream path
	ToStateMachine               // Destination: the state machine ARN
	ToTopic                      // Destination: the topic ARN, published to as the rule publishes the event
	ToFunction                   // Destination: the function, invoked with the payload and waited for
)

// Source is one dead-letter queue and where its messages go back to.
type Source struct {
	Name        string // what -queue names
	DLQURL      string
	Target      Target
	Destination string // ToQueue: the queue URL; ToStateMachine, ToTopic: its ARN; ToFunction: its name
}

// Sources lists the stack's dead-letter queues and their way back. The DLQs of the email and
// sms queues come from the outputs EmailDlqUrl and SmsDlqUrl, or else from each queue's
// redrive policy; the rule and subscription DLQs are listed when the stack outputs them.
func Sources(ctx context.Context, s *deployed.Stack, c SQSAPI) ([]Source, error) {
	o := s.Outputs
	var out []Source
	for _, q := range []struct{ name, queue, dlqOutput string }{
		{"payments", "PaymentsQueueUrl", "PaymentsDlqUrl"},
		{"email", "EmailQueueUrl", "EmailDlqUrl"},
		{"sms", "SmsQueueUrl", "SmsDlqUrl"},
	} {
		dlq := o[q.dlqOutput]
		if dlq == "" {
			var err error
			if dlq, err = deadLetterQueueOf(ctx, c, s.Output(q.queue)); err != nil {
				return nil, fmt.Errorf("%s: %w", q.name, err)
			}
		}
		out = append(out, Source{Name: q.name, DLQURL: dlq, Target: ToQueue, Destination: s.Output(q.queue)})
	}
	out = append(out,
		Source{Name: "streamer", DLQURL: s.Output("StreamerDlqUrl"), Target: ToStream},
		Source{Name: "projector", DLQURL: s.Output("ProjectorDlqUrl"), Target: ToProjector},
		Source{Name: "analytics", DLQURL: s.Output("AnalyticsDlqUrl"), Target: ToAnalytics},
	)
	for _, r := range []struct {
		name, output string
		target       Target
		destination  string
	}{
		{"workflow-rule", "WorkflowRuleDlqUrl", ToStateMachine, o["StateMachineArn"]},
		{"stream-rule", "StreamRuleDlqUrl", ToStream, ""},
		// What the rule could not publish to the notifications topic: to the topic, as the rule
		// would have (not to the bus, whose policy lets only the producers put order events, and
		// which would hand the event to every other rule again).
		{"notify-rule", "NotifyRuleDlqUrl", ToTopic, o["NotificationsTopicArn"]},
		// What SNS could not deliver to a subscribed queue (raw delivery: the body is the event) goes to that queue.
		{"email-subscription", "EmailSubscriptionDlqUrl", ToQueue, o["EmailQueueUrl"]},
		{"sms-subscription", "SmsSubscriptionDlqUrl", ToQueue, o["SmsQueueUrl"]},
		// A status change of a stalled execution: to the rescuer again (it starts each rescue once).
		{"rescuer", "RescuerDlqUrl", ToFunction, o["RescuerFunctionName"]},
		{"rescue-rule", "RescueRuleDlqUrl", ToFunction, o["RescuerFunctionName"]},
	} {
		if url := o[r.output]; url != "" {
			out = append(out, Source{Name: r.name, DLQURL: url, Target: r.target, Destination: r.destination})
		}
	}
	return out, nil
}

// deadLetterQueueOf finds a queue's DLQ from its redrive policy.
func deadLetterQueueOf(ctx context.Context, c SQSAPI, queueURL string) (string, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy}})
	if err != nil {
		return "", fmt.Errorf("redrive policy of %s: %w", queueURL, err)
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]), &policy); err != nil || policy.DeadLetterTargetArn == "" {
		return "", fmt.Errorf("queue %s has no dead-letter queue in its redrive policy", queueURL)
	}
	name := policy.DeadLetterTargetArn[strings.LastIndex(policy.DeadLetterTargetArn, ":")+1:]
	u, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("dead-letter queue %s: %w", name, err)
	}
	return aws.ToString(u.QueueUrl), nil
}
