package redrive

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

func attr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func TestParse(t *testing.T) {
	kinesisFailure := `{"requestContext":{"requestId":"r","functionArn":"arn:aws:lambda:us-east-1:1:function:projector","condition":"RetryAttemptsExhausted","approximateInvokeCount":6},
	  "responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2026-01-01T00:00:00Z",
	  "KinesisBatchInfo":{"shardId":"shardId-000000000000","startSequenceNumber":"100","endSequenceNumber":"105","batchSize":3,"streamArn":"arn:aws:kinesis:us-east-1:1:stream/s"}}`
	asyncFailure := `{"version":"1.0","requestContext":{"requestId":"r","functionArn":"arn:streamer","condition":"RetriesExhausted","approximateInvokeCount":3},
	  "requestPayload":{"detail-type":"OrderPlaced","detail":{}},"responseContext":{"statusCode":200,"functionError":"Unhandled"},
	  "responsePayload":{"errorMessage":"put record: throttled","errorType":"wrapError"}}`
	for _, tc := range []struct {
		name        string
		body        string
		attrs       map[string]types.MessageAttributeValue
		kind        Kind
		reason      string
		payload     string
		keptAttrs   []string
		wantErr     bool
		wantBatchTo string
	}{
		{name: "parked by a handler", body: `{"x":1}`, attrs: map[string]types.MessageAttributeValue{"errorReason": attr("not a payment task: no taskToken"), "origin": attr("kept")},
			kind: Parked, reason: "not a payment task: no taskToken", payload: `{"x":1}`, keptAttrs: []string{"origin"}},
		{name: "parked binary body", body: base64.StdEncoding.EncodeToString([]byte{0xff, 0x00}), attrs: map[string]types.MessageAttributeValue{"errorReason": attr("bad"), "bodyEncoding": attr("base64")},
			kind: Parked, reason: "bad", payload: "\xff\x00"},
		{name: "parked empty body", body: "(empty)", attrs: map[string]types.MessageAttributeValue{"errorReason": attr("not an EventBridge event"), "bodyEncoding": attr("empty")},
			kind: Parked, reason: "not an EventBridge event", payload: ""},
		{name: "parked empty body, as parked before bodyEncoding empty", body: "(empty)", attrs: map[string]types.MessageAttributeValue{"errorReason": attr("x"), "bodyEncoding": attr("base64")},
			kind: Parked, reason: "x", payload: ""},
		{name: "parked, base64 marked but broken", body: "%%%", attrs: map[string]types.MessageAttributeValue{"errorReason": attr("bad"), "bodyEncoding": attr("base64")}, wantErr: true},
		{name: "Lambda async failure: the request payload goes back", body: asyncFailure,
			kind: AsyncFailure, reason: "RetriesExhausted: wrapError: put record: throttled", payload: `{"detail-type":"OrderPlaced","detail":{}}`},
		{name: "Kinesis batch failure: where the records are", body: kinesisFailure,
			kind: KinesisBatch, reason: "RetryAttemptsExhausted after 6 invokes (Unhandled)", wantBatchTo: "shardId-000000000000:100..105"},
		{name: "Kinesis batch failure without sequence numbers", body: `{"requestContext":{"condition":"x"},"KinesisBatchInfo":{"shardId":"s"}}`, wantErr: true},
		{name: "EventBridge rule DLQ", body: `{"detail-type":"OrderPlaced"}`, attrs: map[string]types.MessageAttributeValue{"ERROR_CODE": attr("SDK_CLIENT_ERROR"), "ERROR_MESSAGE": attr("Unable to invoke"), "RULE_ARN": attr("arn:rule")},
			kind: RuleFailure, reason: "SDK_CLIENT_ERROR: Unable to invoke", payload: `{"detail-type":"OrderPlaced"}`},
		{name: "moved by SQS after maxReceiveCount", body: `{"Records":[]}`, kind: Exhausted, reason: "maxReceiveCount", payload: `{"Records":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse("m-1", tc.body, tc.attrs)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Parse = %+v, want an error", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.kind || !strings.Contains(m.Reason, tc.reason) || string(m.Payload) != tc.payload {
				t.Errorf("Parse = kind %s, reason %q, payload %q; want %s, %q, %q", m.Kind, m.Reason, m.Payload, tc.kind, tc.reason, tc.payload)
			}
			if len(m.Attrs) != len(tc.keptAttrs) {
				t.Errorf("attributes kept %v, want only %v (never the DLQ's own)", m.Attrs, tc.keptAttrs)
			}
			if tc.wantBatchTo != "" && (m.Batch == nil || m.Batch.ShardID+":"+m.Batch.StartSequenceNumber+".."+m.Batch.EndSequenceNumber != tc.wantBatchTo) {
				t.Errorf("batch %+v, want %s", m.Batch, tc.wantBatchTo)
			}
		})
	}
}

// fakeSQS is a queue per URL; received messages are invisible until deleted or made visible.
// Redrive reads its sources at once: every method holds mu.
type fakeSQS struct {
	mu         sync.Mutex
	queues     map[string][]*fakeMsg
	sendErr    error
	next       int
	unreadable map[string]error // by queue URL: what ReceiveMessage answers
	// comeBack: a received message is back, visible, by the next receive, as one is once its
	// VisibilityTimeout has run out
	comeBack   bool
	visibility []int32 // the VisibilityTimeout of each receive
}

type fakeMsg struct {
	id, body, reason string
	sent             time.Time
	hidden           bool
}

func (f *fakeSQS) add(url, body, reason string, sent time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.queues[url] = append(f.queues[url], &fakeMsg{id: "m" + strconv.Itoa(f.next), body: body, reason: reason, sent: sent})
}

func (f *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.unreadable[*in.QueueUrl]; err != nil {
		return nil, err
	}
	f.visibility = append(f.visibility, in.VisibilityTimeout)
	if f.comeBack && len(f.visibility) > 100 {
		return nil, errors.New("fake: 100 receives of a queue whose messages keep coming back")
	}
	out := &sqs.ReceiveMessageOutput{}
	for _, m := range f.queues[*in.QueueUrl] {
		if m.hidden || len(out.Messages) == int(in.MaxNumberOfMessages) {
			continue
		}
		m.hidden = in.VisibilityTimeout > 0 && !f.comeBack
		sm := types.Message{MessageId: aws.String(m.id), ReceiptHandle: aws.String(m.id), Body: aws.String(m.body),
			Attributes: map[string]string{"SentTimestamp": strconv.FormatInt(m.sent.UnixMilli(), 10)}}
		if m.reason != "" {
			sm.MessageAttributes = map[string]types.MessageAttributeValue{"errorReason": attr(m.reason)}
		}
		out.Messages = append(out.Messages, sm)
	}
	return out, nil
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	f.add(*in.QueueUrl, *in.MessageBody, "", time.Now())
	return &sqs.SendMessageOutput{}, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for url, q := range f.queues {
		for i, m := range q {
			if m.id == *in.ReceiptHandle && url == *in.QueueUrl {
				f.queues[url] = append(q[:i], q[i+1:]...)
				return &sqs.DeleteMessageOutput{}, nil
			}
		}
	}
	return nil, errors.New("no such receipt")
}

func (f *fakeSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.queues[*in.QueueUrl] {
		if m.id == *in.ReceiptHandle {
			m.hidden = in.VisibilityTimeout > 0
		}
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (f *fakeSQS) GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return nil, errors.New("not used")
}

func (f *fakeSQS) GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error) {
	return nil, errors.New("not used")
}

type fakeStream struct {
	mu   sync.Mutex
	puts []string
	err  error
}

func (f *fakeStream) Put(_ context.Context, pk string, _ []byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.puts = append(f.puts, pk)
	return fmt.Sprint(len(f.puts)), nil
}

func bodies(q []*fakeMsg) []string {
	var out []string
	for _, m := range q {
		out = append(out, m.body)
	}
	return out
}

func TestRedriveToTheSourceQueue(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	src := Source{Name: "payments", DLQURL: "dlq", Target: ToQueue, Destination: "queue"}
	for _, tc := range []struct {
		name      string
		o         Options
		sendErr   error
		wantQueue int // messages that reached the source queue
		wantDLQ   int // messages left in the DLQ, all visible again
		wantMoved int
		wantFail  int
	}{
		{name: "everything moves, send then delete", wantQueue: 3, wantDLQ: 0, wantMoved: 3},
		{name: "dry run moves nothing", o: Options{DryRun: true}, wantQueue: 0, wantDLQ: 3},
		{name: "at most N", o: Options{Max: 2}, wantQueue: 2, wantDLQ: 1, wantMoved: 2},
		{name: "only matching bodies", o: Options{Match: "ORD-2"}, wantQueue: 1, wantDLQ: 2, wantMoved: 1},
		{name: "a failed send keeps the message", sendErr: errors.New("throttled"), wantQueue: 0, wantDLQ: 3, wantFail: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{queues: map[string][]*fakeMsg{}, sendErr: tc.sendErr}
			for i := 1; i <= 3; i++ {
				f.add("dlq", fmt.Sprintf(`{"order":"ORD-%d"}`, i), "reason "+strconv.Itoa(i), old)
			}
			rep, err := Redrive(context.Background(), Clients{SQS: f}, []Source{src}, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.queues["queue"]) != tc.wantQueue || len(f.queues["dlq"]) != tc.wantDLQ || rep.Moved != tc.wantMoved || rep.Failed != tc.wantFail {
				t.Errorf("queue %v, DLQ %v, moved %d, failed %d; want %d in the queue, %d in the DLQ, %d moved, %d failed",
					bodies(f.queues["queue"]), bodies(f.queues["dlq"]), rep.Moved, rep.Failed, tc.wantQueue, tc.wantDLQ, tc.wantMoved, tc.wantFail)
			}
			for _, m := range f.queues["dlq"] {
				if m.hidden {
					t.Errorf("message %s left invisible: the next run would miss it", m.id)
				}
			}
		})
	}
}

// A message a run holds (here, a dry run's) is hidden until the run's deadline and a minute,
// so that it cannot come back while the run lasts; one that comes back all the same (its hiding
// ran out) is not handled twice, and a receive of nothing but such messages stops the run with
// an error, rather than reading them round and round until the deadline.
func TestRedriveHandlesAMessageOncePerRun(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	src := Source{Name: "payments", DLQURL: "dlq", Target: ToQueue, Destination: "queue"}
	f := &fakeSQS{queues: map[string][]*fakeMsg{}, comeBack: true}
	for i := 1; i <= 3; i++ {
		f.add("dlq", fmt.Sprintf(`{"order":"ORD-%d"}`, i), "reason", old)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := Redrive(ctx, Clients{SQS: f}, []Source{src}, Options{DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "came back") {
		t.Errorf("error %v, want one saying the held messages came back", err)
	}
	if len(rep.Results) != 3 || len(f.visibility) != 2 {
		t.Errorf("%d results over %d receives, want each of the 3 messages once, and a stop at the receive that brought them back", len(rep.Results), len(f.visibility))
	}
	if v := f.visibility[0]; v < 10*60 || v > 11*60 {
		t.Errorf("received with VisibilityTimeout %d s, want the 10 minutes to the deadline and a minute", v)
	}
}

// cancelledEvent is an OrderCancelled of order id as EventBridge delivers it, sent at old.
func cancelledEvent(t *testing.T, id string, old time.Time) string {
	t.Helper()
	e, err := events.New(events.Spec{Type: events.TypeOrderCancelled, Version: 1, OrderID: id, Sequence: 2, CorrelationID: events.ID(id, 1), CausationID: events.ID(id, 1), Payload: events.OrderCancelled{OrderID: id, Reason: events.ReasonOutOfStock}, Time: old})
	if err != nil {
		t.Fatal(err)
	}
	entry, err := e.Entry("bus")
	if err != nil {
		t.Fatal(err)
	}
	return `{"version":"0","detail-type":"OrderCancelled","source":"orderflow.fulfilment","detail":` + entry.Detail + `}`
}

func TestRedriveThroughTheStreamPath(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	id := "ORD-2b1e28ba-2fa1-41d2-883f-0016d3cca427"
	valid := cancelledEvent(t, id, old)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}}
	f.add("dlq", valid, "sequence conflict: ...", old)
	f.add("dlq", `{"detail-type":"OrderCancelled","detail":{"id":"x"}}`, "schema: ...", old)
	f.add("dlq", valid, "parked by this run's own delivery", time.Now().Add(time.Hour)) // re-parked during the run: left for the next
	stream := &fakeStream{}
	rep, err := Redrive(context.Background(), Clients{SQS: f, Streamer: stream}, []Source{{Name: "projector", DLQURL: "dlq", Target: ToProjector}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stream.puts) != 1 || stream.puts[0] != id {
		t.Errorf("put on the stream: %v, want the valid event once, keyed by its order", stream.puts)
	}
	if rep.Moved != 1 || rep.Failed != 1 || len(f.queues["dlq"]) != 2 {
		t.Errorf("moved %d, failed %d, DLQ %v: want the invalid event and the newer message kept", rep.Moved, rep.Failed, bodies(f.queues["dlq"]))
	}
	for _, r := range rep.Results {
		if r.Err != nil && !strings.Contains(r.Err.Error(), "still invalid") {
			t.Errorf("failure %v, want it to say the event is still invalid", r.Err)
		}
	}
}

// fakeEvents is an event store whose slots hold the given contradictions (by event id); its
// Append is not used here.
type fakeEvents struct {
	toolkit.EventAppender
	holders map[string]string // event id → what the store holds instead ("" or absent: nothing against it)
	err     error
}

func (f *fakeEvents) Contradiction(_ context.Context, e events.Envelope) (string, error) {
	return f.holders[e.ID], f.err
}

// A parked event that the event store contradicts (another fact holds its order and sequence,
// as dynamo.EventStore.Contradiction compares them) is kept, saying so: the projector would park
// it again, and a redrive loop (make chaos) would circle it for ever. The same fact stored, or
// none, and it goes back through the stream; a failed read keeps it too.
func TestRedriveKeepsAnEventTheStoreContradicts(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	id := "ORD-2b1e28ba-2fa1-41d2-883f-0016d3cca427"
	parked := cancelledEvent(t, id, old)
	e, err := events.FromEventBridge([]byte(parked))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		store    *fakeEvents
		wantPuts int
		wantErr  string
	}{
		{"another fact holds the place", &fakeEvents{holders: map[string]string{e.ID: "OrderShipped (event " + e.ID + ")"}}, 0, "OrderShipped"},
		{"the same fact, or nothing", &fakeEvents{}, 1, ""},
		{"the store cannot be read", &fakeEvents{err: errors.New("throttled")}, 0, "throttled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{queues: map[string][]*fakeMsg{}}
			f.add("dlq", parked, "sequence conflict: ...", old)
			stream := &fakeStream{}
			rep, err := Redrive(context.Background(), Clients{SQS: f, Streamer: stream, EventStore: tc.store},
				[]Source{{Name: "projector", DLQURL: "dlq", Target: ToProjector}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(stream.puts) != tc.wantPuts || len(f.queues["dlq"]) != 1-tc.wantPuts {
				t.Errorf("put %v, DLQ %v; want %d put", stream.puts, bodies(f.queues["dlq"]), tc.wantPuts)
			}
			if tc.wantErr != "" && (rep.Failed != 1 || rep.Results[0].Err == nil || !strings.Contains(rep.Results[0].Err.Error(), tc.wantErr)) {
				t.Errorf("failed %d (%v): want %q named", rep.Failed, rep.Results[0].Err, tc.wantErr)
			}
		})
	}
}

type fakeLambda struct {
	payloads []string
	fail     bool
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.payloads = append(f.payloads, aws.ToString(in.FunctionName)+" "+string(in.Payload))
	if f.fail {
		return &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"still broken"}`)}, nil
	}
	return &lambda.InvokeOutput{}, nil
}

// A status-change event the rescuer failed on goes back to the rescuer; a failure again keeps it.
func TestRedriveToAFunction(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	src := Source{Name: "rescue-rule", DLQURL: "dlq", Target: ToFunction, Destination: "rescuer"}
	for _, fail := range []bool{false, true} {
		f := &fakeSQS{queues: map[string][]*fakeMsg{}}
		f.add("dlq", `{"detail-type":"Step Functions Execution Status Change"}`, "", old)
		fn := &fakeLambda{fail: fail}
		rep, err := Redrive(context.Background(), Clients{SQS: f, Lambda: fn}, []Source{src}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(fn.payloads) != 1 || fn.payloads[0] != `rescuer {"detail-type":"Step Functions Execution Status Change"}` {
			t.Errorf("invoked %v", fn.payloads)
		}
		if fail && (rep.Failed != 1 || len(f.queues["dlq"]) != 1) || !fail && (rep.Moved != 1 || len(f.queues["dlq"]) != 0) {
			t.Errorf("fail %v: moved %d, failed %d, DLQ %v", fail, rep.Moved, rep.Failed, bodies(f.queues["dlq"]))
		}
	}
}

// fakeTopic records what is published to it.
type fakeTopic struct{ published []string }

func (f *fakeTopic) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.published = append(f.published, aws.ToString(in.TopicArn)+" "+aws.ToString(in.Message))
	return &sns.PublishOutput{}, nil
}

// What the notifications rule could not publish goes to the topic, the event unchanged (the
// subscriptions filter on its body), not to the bus; an invalid event stays.
func TestRedriveToTheTopic(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	valid := cancelledEvent(t, "ORD-3c1e28ba-2fa1-41d2-883f-0016d3cca427", old)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}}
	f.add("dlq", valid, "", old)
	f.add("dlq", `{"detail-type":"OrderCancelled","detail":{"id":"x"}}`, "", old)
	topic := &fakeTopic{}
	src := Source{Name: "notify-rule", DLQURL: "dlq", Target: ToTopic, Destination: "arn:aws:sns:us-east-1:1:notifications"}
	rep, err := Redrive(context.Background(), Clients{SQS: f, SNS: topic}, []Source{src}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(topic.published) != 1 || topic.published[0] != src.Destination+" "+valid {
		t.Errorf("published %q, want the valid event, unchanged, to the topic", topic.published)
	}
	if rep.Moved != 1 || rep.Failed != 1 || len(f.queues["dlq"]) != 1 {
		t.Errorf("moved %d, failed %d, DLQ %v: want the invalid event kept", rep.Moved, rep.Failed, bodies(f.queues["dlq"]))
	}
}

// A dead-letter queue that cannot be read does not stop the others: they are redriven, and the
// error and the report name the one left.
func TestRedriveGoesPastAnUnreadableQueue(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}, unreadable: map[string]error{"email-dlq": errors.New("AccessDenied: kms:Decrypt")}}
	f.add("sms-dlq", "hello", "", old)
	sources := []Source{
		{Name: "email", DLQURL: "email-dlq", Target: ToQueue, Destination: "email"},
		{Name: "sms", DLQURL: "sms-dlq", Target: ToQueue, Destination: "sms"},
	}
	rep, err := Redrive(context.Background(), Clients{SQS: f}, sources, Options{})
	if err == nil || !strings.Contains(err.Error(), "email") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("err = %v, want the email DLQ named, and why", err)
	}
	if rep.Moved != 1 || len(f.queues["sms"]) != 1 || len(f.queues["sms-dlq"]) != 0 {
		t.Errorf("moved %d, sms queue %v, sms DLQ %v: want the sms DLQ redriven anyway", rep.Moved, bodies(f.queues["sms"]), bodies(f.queues["sms-dlq"]))
	}
	if fmt.Sprint(rep.Unfinished) != "[email]" {
		t.Errorf("unfinished %v, want [email]", rep.Unfinished)
	}
}
