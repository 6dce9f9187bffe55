package redrive

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// base64SQS is fakeSQS whose messages carry bodyEncoding=base64, as deadletter.Park writes a
// body that is not text.
type base64SQS struct{ *fakeSQS }

func (f base64SQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, o ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := f.fakeSQS.ReceiveMessage(ctx, in, o...)
	if out != nil {
		for i := range out.Messages {
			out.Messages[i].MessageAttributes[toolkit.EncodingAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(toolkit.EncodingBase64)}
		}
	}
	return out, err
}

// -match ORD-… finds a parked message of that order whatever its body's encoding.
func TestMatchLooksInsideBase64Bodies(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}}
	f.add("dlq", base64.StdEncoding.EncodeToString([]byte("{\"orderId\":\"ORD-7\"}\x00")), "not an EventBridge event", old)
	rep, err := Redrive(context.Background(), Clients{SQS: base64SQS{f}}, []Source{{Name: "streamer", DLQURL: "dlq", Target: ToStream}}, Options{DryRun: true, Match: "ORD-7"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 {
		t.Errorf("-match ORD-7 -dry-run listed %d messages, want the parked ORD-7 message (its body is base64)", len(rep.Results))
	}
}

// parkingStream is a stream whose consumer (analytics) parks what is put on it, at once.
type parkingStream struct {
	fakeStream
	sqs *fakeSQS
}

func (p *parkingStream) Put(ctx context.Context, pk string, data []byte) (string, error) {
	seq, err := p.fakeStream.Put(ctx, pk, data)
	time.Sleep(5 * time.Millisecond) // the consumer's latency: well past any millisecond rounding
	p.sqs.add("analytics-dlq", string(data), "analytics: still failing", time.Now())
	return seq, err
}

// A message this run re-parked waits for the next run, whichever DLQ it lands in.
func TestReparkedIntoALaterSourceWaitsForTheNextRun(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	time.Sleep(2 * time.Millisecond)
	f := &fakeSQS{queues: map[string][]*fakeMsg{}}
	f.add("streamer-dlq", cancelledEvent(t, "ORD-2b1e28ba-2fa1-41d2-883f-0016d3cca427", old), "put record: throttled", old)
	stream := &parkingStream{sqs: f}
	rep, err := Redrive(context.Background(), Clients{SQS: f, Streamer: stream}, []Source{
		{Name: "streamer", DLQURL: "streamer-dlq", Target: ToStream},
		{Name: "analytics", DLQURL: "analytics-dlq", Target: ToAnalytics},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stream.puts) != 1 {
		t.Errorf("put on the stream %d times in one run (moved %d): the copy analytics re-parked during the run was redriven by the same run", len(stream.puts), rep.Moved)
	}
}
