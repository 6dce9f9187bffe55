package record

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
)

// failOn fails the messages whose body is "fail" and records what it saw.
type failOn struct{ seen []Message }

func (f *failOn) handle(_ context.Context, m Message) error {
	f.seen = append(f.seen, m)
	if string(m.Body) == "fail" {
		return errors.New("transient")
	}
	return nil
}

func TestSQS(t *testing.T) {
	tests := []struct {
		name     string
		bodies   []string
		wantJSON string
	}{
		// MiniStack's poller crashes on "batchItemFailures": null: the list must be empty, not nil.
		{name: "nothing failed", bodies: []string{"ok", "ok"}, wantJSON: `{"batchItemFailures":[]}`},
		{name: "empty batch", wantJSON: `{"batchItemFailures":[]}`},
		{name: "second failed", bodies: []string{"ok", "fail"}, wantJSON: `{"batchItemFailures":[{"itemIdentifier":"m-1"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ev lambdaevents.SQSEvent
			for i, b := range tc.bodies {
				ev.Records = append(ev.Records, lambdaevents.SQSMessage{MessageId: "m-" + string(rune('0'+i)), Body: b, EventSourceARN: "arn:q"})
			}
			f := &failOn{}
			got, err := json.Marshal(SQS(context.Background(), ev, f.handle, 1, 0))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.wantJSON {
				t.Errorf("response = %s, want %s", got, tc.wantJSON)
			}
			for _, m := range f.seen {
				if m.SourceARN != "arn:q" || m.ID == "" {
					t.Errorf("message = %+v", m)
				}
			}
		})
	}
}

// The receive count comes from the record's ApproximateReceiveCount attribute; without a
// usable one it is 0, which never counts as a last receive. The receipt handle comes along.
func TestSQSReceiveCount(t *testing.T) {
	for attr, want := range map[string]int{"1": 1, "3": 3, "": 0, "three": 0} {
		ev := lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{{MessageId: "m", Body: "ok", EventSourceARN: "arn:q", ReceiptHandle: "rh"}}}
		if attr != "" {
			ev.Records[0].Attributes = map[string]string{"ApproximateReceiveCount": attr, "SentTimestamp": "1767225600000"}
		}
		f := &failOn{}
		SQS(context.Background(), ev, f.handle, 1, 0)
		if len(f.seen) != 1 || f.seen[0].ReceiveCount != want || f.seen[0].ReceiptHandle != "rh" {
			t.Errorf("ApproximateReceiveCount %q: messages %+v, want ReceiveCount %d", attr, f.seen, want)
		}
	}
}

func TestKinesis(t *testing.T) {
	arrived := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	record := func(seq, data string) lambdaevents.KinesisEventRecord {
		var r lambdaevents.KinesisEventRecord
		r.EventSourceArn = "arn:stream"
		r.Kinesis.SequenceNumber, r.Kinesis.Data = seq, []byte(data)
		r.Kinesis.ApproximateArrivalTimestamp = lambdaevents.SecondsEpochTime{Time: arrived}
		return r
	}
	tests := []struct {
		name     string
		records  []lambdaevents.KinesisEventRecord
		wantJSON string
		wantSeen []string // the records handled, by sequence number
	}{
		{name: "nothing failed", records: []lambdaevents.KinesisEventRecord{record("1", "ok")}, wantJSON: `{"batchItemFailures":[]}`, wantSeen: []string{"1"}},
		// Lambda retries from the first failure: the records after it wait for that retry.
		{name: "the first failure by sequence number, nothing after it handled", records: []lambdaevents.KinesisEventRecord{record("1", "ok"), record("2", "fail"), record("3", "ok"), record("4", "fail")},
			wantJSON: `{"batchItemFailures":[{"itemIdentifier":"2"}]}`, wantSeen: []string{"1", "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &failOn{}
			got, err := json.Marshal(Kinesis(context.Background(), lambdaevents.KinesisEvent{Records: tc.records}, f.handle))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.wantJSON {
				t.Errorf("response = %s, want %s", got, tc.wantJSON)
			}
			var seen []string
			for _, m := range f.seen {
				seen = append(seen, m.ID)
			}
			if !slices.Equal(seen, tc.wantSeen) {
				t.Errorf("handled %v, want %v", seen, tc.wantSeen)
			}
			for _, m := range f.seen {
				if !m.Arrived.Equal(arrived) || m.SourceARN != "arn:stream" {
					t.Errorf("message = %+v", m)
				}
			}
		})
	}
}

// A batch handled concurrently: every message once, never more than n at a time, failures
// reported in the batch's order.
func TestProcessConcurrently(t *testing.T) {
	msgs := make([]Message, 10)
	for i := range msgs {
		msgs[i] = Message{ID: fmt.Sprintf("m%d", i)}
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	seen := map[string]int{}
	h := func(_ context.Context, m Message) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		seen[m.ID]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // let the others start: the bound is what is tested
		mu.Lock()
		inFlight--
		mu.Unlock()
		if m.ID == "m7" || m.ID == "m2" {
			return errors.New("boom")
		}
		return nil
	}
	failed := ProcessConcurrently(context.Background(), msgs, h, 3)
	if fmt.Sprint(failed) != "[m2 m7]" {
		t.Errorf("failed = %v, want [m2 m7] in the batch's order", failed)
	}
	if most > 3 || most < 2 {
		t.Errorf("at most %d in flight, want 2 or 3 with a bound of 3", most)
	}
	for _, m := range msgs {
		if seen[m.ID] != 1 {
			t.Errorf("%s handled %d times", m.ID, seen[m.ID])
		}
	}
	if got := ProcessConcurrently(context.Background(), msgs, h, 1); fmt.Sprint(got) != "[m2 m7]" {
		t.Errorf("one at a time: failed = %v", got)
	}
}

// A job whose goroutine ends without returning (a panic no middleware caught unwinds it the
// same way, running the deferred calls) counts as failed: the batch's answer must not leave it
// out, or SQS would delete a message nothing handled.
func TestProcessConcurrentlyCountsAJobThatNeverReturned(t *testing.T) {
	msgs := []Message{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	h := func(_ context.Context, m Message) error {
		if m.ID == "b" {
			runtime.Goexit()
		}
		return nil
	}
	if got := ProcessConcurrently(context.Background(), msgs, h, 3); fmt.Sprint(got) != "[b]" {
		t.Errorf("failed = %v, want [b]", got)
	}
}

// Batch after batch, the messages run on the same few goroutines (work): each keeps the stack
// it has grown instead of a new goroutine per message growing one.
func TestProcessConcurrentlyReusesItsWorkers(t *testing.T) {
	msgs := make([]Message, 10)
	var mu sync.Mutex
	goroutines := map[string]bool{}
	h := func(context.Context, Message) error {
		buf := make([]byte, 64)
		id := strings.Fields(string(buf[:runtime.Stack(buf, false)]))[1] // "goroutine 42 [running]:"
		mu.Lock()
		goroutines[id] = true
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		return nil
	}
	for range 20 {
		if failed := ProcessConcurrently(context.Background(), msgs, h, 3); len(failed) != 0 {
			t.Fatalf("failed %v", failed)
		}
	}
	// A worker per message would make 200; the pool holds about the bound (more when a worker is
	// slow to come back for the next job), plus what earlier tests started.
	if len(goroutines) > 20 {
		t.Errorf("200 messages ran on %d goroutines, want the same few reused", len(goroutines))
	}
}

// The messages a consumer gives up on unhandled (received again after their last attempt) go
// first, one at a time, and are done before any other message of the batch starts: a crash on a
// batch-mate cannot come before they are parked. Failures are reported whichever group they
// came from.
func TestSQSGivenUpFirst(t *testing.T) {
	const maxReceiveCount = 4
	var mu sync.Mutex
	var log []string
	h := func(_ context.Context, m Message) error {
		mu.Lock()
		log = append(log, "start "+m.ID)
		mu.Unlock()
		time.Sleep(time.Millisecond) // let a concurrent batch-mate start, if one could
		mu.Lock()
		log = append(log, "end "+m.ID)
		mu.Unlock()
		if m.ID == "m4" || m.ID == "m1" {
			return errors.New("transient")
		}
		return nil
	}
	var ev lambdaevents.SQSEvent
	for i, count := range []string{"1", "2", "4", "3", "5"} { // m2 and m4 are past their last attempt (3)
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: "b", EventSourceARN: "arn:q",
			Attributes: map[string]string{"ApproximateReceiveCount": count}})
	}
	resp := SQS(context.Background(), ev, h, 10, maxReceiveCount)
	if want := []string{"start m2", "end m2", "start m4", "end m4"}; len(log) != 10 || fmt.Sprint(log[:4]) != fmt.Sprint(want) {
		t.Errorf("handled %v, want %v first", log, want)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if fmt.Sprint(failed) != "[m4 m1]" {
		t.Errorf("failures %v, want [m4 m1]", failed)
	}
}

// An SQSConsumer parks a message received past its last attempt, unhandled and before the rest
// of its batch starts, and parks one failing on its last attempt with its error: the chain and
// the batch's order read the one maxReceiveCount it was given.
func TestSQSConsumer(t *testing.T) {
	var handled []string
	h := func(_ context.Context, m Message) error {
		handled = append(handled, m.ID)
		if m.ID == "last" {
			return errors.New("still throttled")
		}
		return nil
	}
	p := &recordingParker{}
	c := NewSQSConsumer(h, slog.New(slog.DiscardHandler), p.park, 4, 1)
	var ev lambdaevents.SQSEvent
	for _, r := range [][2]string{{"first", "1"}, {"last", "3"}, {"given-up", "4"}} {
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{MessageId: r[0], Body: "b", EventSourceARN: "arn:q",
			Attributes: map[string]string{"ApproximateReceiveCount": r[1]}})
	}
	resp := c.Handle(context.Background(), ev)
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("failures %+v, want none: both are parked", resp.BatchItemFailures)
	}
	if fmt.Sprint(handled) != "[first last]" {
		t.Errorf("handled %v, want [first last] (given-up parked unhandled)", handled)
	}
	if len(p.calls) != 2 || p.calls[0].id != "given-up" || !strings.Contains(p.calls[0].reason, "received 4 times (maxReceiveCount 4)") ||
		p.calls[1].id != "last" || !strings.Contains(p.calls[1].reason, "still throttled") {
		t.Errorf("parked %+v, want given-up first (received 4 times), then last with its error", p.calls)
	}
}

// A panic while parking (in the Parker, or in Park or LastReceive) fails that message alone: it
// is reported for SQS to deliver again, the rest of the batch is done, and the panic is logged.
// Run on workers (concurrency 10) and one at a time, and on a stream.
func TestConsumerParkPanics(t *testing.T) {
	h := func(_ context.Context, m Message) error {
		if string(m.Body) == "poison" {
			return Permanentf("bad body")
		}
		return nil
	}
	park := func(context.Context, Message, string) error { panic("parker blew up") }
	for _, concurrency := range []int{10, 1} {
		var logs bytes.Buffer
		c := NewSQSConsumer(h, slog.New(slog.NewJSONHandler(&logs, nil)), park, 4, concurrency)
		resp := c.Handle(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{
			{MessageId: "ok", Body: "ok", EventSourceARN: "arn:q"}, {MessageId: "poison", Body: "poison", EventSourceARN: "arn:q"},
		}})
		if fmt.Sprint(resp.BatchItemFailures) != "[{poison}]" {
			t.Errorf("concurrency %d: failures %+v, want poison alone", concurrency, resp.BatchItemFailures)
		}
		if !strings.Contains(logs.String(), `"panic":"parker blew up"`) {
			t.Errorf("concurrency %d: panic not logged: %s", concurrency, logs.String())
		}
	}
	k := NewKinesisConsumer(h, slog.New(slog.DiscardHandler), panickingDLQ{})
	resp := k.Handle(context.Background(), lambdaevents.KinesisEvent{Records: []lambdaevents.KinesisEventRecord{
		{EventSourceArn: "arn:s", Kinesis: lambdaevents.KinesisRecord{SequenceNumber: "1", PartitionKey: "k", Data: []byte("ok")}},
		{EventSourceArn: "arn:s", Kinesis: lambdaevents.KinesisRecord{SequenceNumber: "2", PartitionKey: "k", Data: []byte("poison")}},
	}})
	if fmt.Sprint(resp.BatchItemFailures) != "[{2}]" {
		t.Errorf("stream: failures %+v, want sequence 2 alone", resp.BatchItemFailures)
	}
}

type panickingDLQ struct{}

func (panickingDLQ) Park(context.Context, []byte, string) error { panic("parker blew up") }

// A consumer tells its Outcomes each batch's failed and parked messages, and nothing for a batch
// where all went well.
func TestOutcomesReported(t *testing.T) {
	handler := func(_ context.Context, m Message) error {
		switch string(m.Body) {
		case "fail":
			return errors.New("transient")
		case "poison":
			return Permanentf("poison")
		}
		return nil
	}
	park := func(context.Context, Message, string) error { return nil }
	logger := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	type outcome struct{ failed, parked int }
	for _, tc := range []struct {
		name   string
		bodies []string
		want   []outcome
		// A stream's batch stops at its first failure: the records after it wait for the retry.
		wantKinesis []outcome
	}{
		{name: "all done: nothing reported", bodies: []string{"ok", "ok"}},
		{name: "one failed, two parked", bodies: []string{"poison", "ok", "fail", "poison"}, want: []outcome{{1, 2}}, wantKinesis: []outcome{{1, 1}}},
		{name: "only parked", bodies: []string{"poison"}, want: []outcome{{0, 1}}, wantKinesis: []outcome{{0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sqsGot, kinesisGot []outcome
			var sqsEv lambdaevents.SQSEvent
			var kinesisEv lambdaevents.KinesisEvent
			for i, b := range tc.bodies {
				sqsEv.Records = append(sqsEv.Records, lambdaevents.SQSMessage{MessageId: fmt.Sprint("m-", i), Body: b})
				var r lambdaevents.KinesisEventRecord
				r.Kinesis.SequenceNumber, r.Kinesis.Data = fmt.Sprint(i), []byte(b)
				kinesisEv.Records = append(kinesisEv.Records, r)
			}
			NewSQSConsumer(handler, logger, park, 0, 2).Reporting(func(_ context.Context, failed, parked int) {
				sqsGot = append(sqsGot, outcome{failed, parked})
			}).Handle(context.Background(), sqsEv)
			if !slices.Equal(sqsGot, tc.want) {
				t.Errorf("SQS: reported %v, want %v", sqsGot, tc.want)
			}
			NewKinesisConsumer(handler, logger, bodyParker(func(context.Context, []byte, string) error { return nil })).Reporting(func(_ context.Context, failed, parked int) {
				kinesisGot = append(kinesisGot, outcome{failed, parked})
			}).Handle(context.Background(), kinesisEv)
			if !slices.Equal(kinesisGot, tc.wantKinesis) {
				t.Errorf("Kinesis: reported %v, want %v", kinesisGot, tc.wantKinesis)
			}
		})
	}
}

// bodyParker is a BodyParker from a function.
type bodyParker func(ctx context.Context, body []byte, reason string) error

func (p bodyParker) Park(ctx context.Context, body []byte, reason string) error {
	return p(ctx, body, reason)
}
