// Package benchfixture is what the functions' benchmarks (functions/<name>/bench_test.go) share:
// the Lambda events they feed the handlers, built as their event sources send them, and the two
// loops every pair of benchmarks runs.
//
//   - Invoke (BenchmarkHandle<Name>): the handler as the function hands it to the runtime (the
//     lambda.Handler boot.Handler or boot.Sink makes of it), so one op is what a warm invoke costs
//     inside the function: decode the event into the handler's type, run the handler on
//     in-memory fakes, encode its answer.
//   - Floor (BenchmarkFloor<Name>): json.Unmarshal of the same bytes into the same event type
//     plus json.Marshal of the handler's own answer: what any Go function answering this event
//     must spend. A handler's ratio to its floor is what scripts/bench reports.
//
// The fakes live in each bench_test.go; they keep nothing between ops, so every op takes the
// same path and the handler's own cost is what is measured.
package benchfixture

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/uuid"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
	"github.com/orderflow-dev/orderflow/functions/internal/workflow"
)

// Where the events come from: the account, region and resources of the deployed stack.
const (
	Account   = "000000000000"
	Region    = "us-east-1"
	StreamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/order-events"
	TopicARN  = "arn:aws:sns:us-east-1:000000000000:order-notifications"
	// RoleARN is the function's execution role (a Kinesis record's invokeIdentityArn).
	RoleARN = "arn:aws:iam::000000000000:role/Orderflow-FunctionServiceRole-1A2B3C4D5E6F"
)

// Logger is the functions' logger as Lambda runs them (CDK sets LoggingFormat JSON and
// ApplicationLogLevel INFO, so lambdacontext.NewLogger writes JSON at INFO), writing nowhere:
// formatting each line is the handler's cost, the write to stdout is not.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// Context is an invoke's context as the runtime makes it: it carries the request id, and a
// deadline (an hour away: what a handler does because it has one, as record.Reserve, is
// measured; the deadline itself never ends an op).
func Context() context.Context {
	return withDeadline{lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{
		AwsRequestID:       "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		InvokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:orderflow-bench",
	}), time.Now().Add(time.Hour)}
}

// withDeadline is a context with a deadline that is never enforced (no timer, no Done channel):
// the benchmark's ops outlive no deadline.
type withDeadline struct {
	context.Context
	deadline time.Time
}

func (c withDeadline) Deadline() (time.Time, bool) { return c.deadline, true }

// Case is one benchmark's setup: raw is the event as its source sends it, handler (wrapped as
// the function's main wraps it: boot.Handler or boot.Sink) runs on in-memory fakes, and check
// reads the handler's answer (and what its fakes saw) to tell that it took the path the
// benchmark is meant to measure. Each bench_test.go gives its Case to Invoke, Floor and Check.
type Case func(tb testing.TB) (raw []byte, handler lambda.Handler, check func(out []byte) error)

// Invoke benchmarks c's handler on its event, called as the runtime calls it. c's check reads
// the first answer, before the timer starts: the benchmark fails unless the handler took the
// path it is meant to measure.
func Invoke(b *testing.B, c Case) {
	b.Helper()
	raw, handler, check := c(b)
	answer(b, handler, raw, check)
	ctx := Context()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := handler.Invoke(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// Check invokes c's handler once on its event, as the runtime would, and runs c's check on its
// answer; and it fails tb unless c's handler is of the type the function's build hands the
// runtime (the same wrapper, decoding the same event type and encoding the same answer type),
// built from cfg with no AWS call. Each bench_test.go runs it in a test, so that `go test`
// notices when a benchmark's input no longer takes the path it is meant to measure, or its
// handler is no longer what the function runs.
func Check[Config any](tb testing.TB, c Case, build func(Config, aws.Config, *slog.Logger) (any, error), cfg Config) {
	tb.Helper()
	raw, handler, check := c(tb)
	answer(tb, handler, raw, check)
	built, err := build(cfg, aws.Config{Region: Region}, Logger())
	if err != nil {
		tb.Fatalf("build: %v", err)
	}
	if got, want := reflect.TypeOf(handler), reflect.TypeOf(built); got != want {
		tb.Errorf("the benchmark runs a %v; the function hands the runtime a %v", got, want)
	}
}

// answer invokes handler once on raw and returns its answer, checked by check (when not nil).
func answer(tb testing.TB, handler lambda.Handler, raw []byte, check func(out []byte) error) []byte {
	tb.Helper()
	out, err := handler.Invoke(Context(), raw)
	if err != nil {
		tb.Fatalf("invoke: %v", err)
	}
	if check != nil {
		if err := check(out); err != nil {
			tb.Fatalf("answered %s: %v", out, err)
		}
	}
	return out
}

// Floor benchmarks the floor of c: json.Unmarshal of its event into a new In (the handler's
// event type) and json.Marshal of the handler's answer to it (computed once, before the timer
// starts, and decoded into Out, the handler's answer type).
func Floor[In, Out any](b *testing.B, c Case) {
	b.Helper()
	raw, handler, _ := c(b)
	reply := answer(b, handler, raw, nil)
	var out Out
	if err := json.Unmarshal(reply, &out); err != nil {
		b.Fatalf("answer %s as %T: %v", reply, out, err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var in In
		if err := json.Unmarshal(raw, &in); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}

// Outcome is a check of a task's answer (a workflow document): its state's outcome is outcome
// and the task emitted one event.
func Outcome(outcome string) func(out []byte) error {
	return func(out []byte) error {
		var doc workflow.Doc
		if err := json.Unmarshal(out, &doc); err != nil {
			return err
		}
		if doc.State == nil || doc.State.Outcome != outcome || len(doc.State.Entries) != 1 {
			return fmt.Errorf("not %s with one event emitted", outcome)
		}
		return nil
	}
}

// Handled is a check of a batch handler's answer: no failure reported, nothing parked on dlq,
// and count, what the fakes saw done (e.g. "appended"), is want.
func Handled(done string, want int, count func() int, dlq *fixture.DLQ) func(out []byte) error {
	return NoFailures(func() error {
		if n := count(); n != want || len(dlq.Parked()) != 0 {
			return fmt.Errorf("%d %s (want %d), %d parked", n, done, want, len(dlq.Parked()))
		}
		return nil
	})
}

// NoFailures is a check for Invoke and Check of a batch handler's answer (SQS's or Kinesis's:
// both are {"batchItemFailures": [...]}): it fails if the answer reports a failure, then runs
// then, which checks what the handler did.
func NoFailures(then func() error) func(out []byte) error {
	return func(out []byte) error {
		var resp lambdaevents.SQSEventResponse // a Kinesis answer has the same shape
		if err := json.Unmarshal(out, &resp); err != nil {
			return err
		}
		if n := len(resp.BatchItemFailures); n != 0 {
			return fmt.Errorf("%d batch item failures", n)
		}
		return then()
	}
}

// JSON marshals v or fails the benchmark.
func JSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// id is a deterministic UUID for what names.
func id(what string, n int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("benchfixture/"+what+"/"+strconv.Itoa(n))).String()
}

// token is a deterministic opaque string of n characters, as long as the AWS one it stands for.
func token(what string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strings.ReplaceAll(id(what, i), "-", ""))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(b.String()))[:n]
}

// TaskToken is a Step Functions task token of the usual length (they run to ~700 characters).
func TaskToken(n int) string {
	return "AQCEAAAAKgAAAAMAAAAAAAAAA" + token("task-token/"+strconv.Itoa(n), 660)
}

// SQSEvent is the event an SQS event source mapping delivers: one message per body, from
// queueARN, as Lambda sends them (every attribute it sets, a receipt handle of the usual length).
func SQSEvent(tb testing.TB, queueARN string, bodies ...string) []byte {
	tb.Helper()
	queue := queueARN[strings.LastIndex(queueARN, ":")+1:]
	sent := fixture.Now.UnixMilli()
	ev := lambdaevents.SQSEvent{Records: make([]lambdaevents.SQSMessage, 0, len(bodies))}
	for i, body := range bodies {
		ev.Records = append(ev.Records, lambdaevents.SQSMessage{
			MessageId:     id("sqs/"+queue, i),
			ReceiptHandle: "AQEB" + token("receipt/"+queue+"/"+strconv.Itoa(i), 380),
			Body:          body,
			Md5OfBody:     fmt.Sprintf("%x", md5.Sum([]byte(body))), //nolint:gosec // SQS's MD5OfBody is an MD5 by definition
			Attributes: map[string]string{
				"ApproximateReceiveCount":          "1",
				"SentTimestamp":                    strconv.FormatInt(sent+int64(i), 10),
				"SenderId":                         "AROAEXAMPLEID1234567:orderflow",
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(sent+int64(i)+20, 10),
				"AWSTraceHeader":                   "Root=1-6797f2a1-3c4b5d6e7f8091a2b3c4d5e6;Parent=5e6f7a8b9c0d1e2f;Sampled=1",
			},
			MessageAttributes: map[string]lambdaevents.SQSMessageAttribute{},
			EventSource:       "aws:sqs",
			EventSourceARN:    queueARN,
			AWSRegion:         Region,
		})
	}
	return JSON(tb, ev)
}

// SNSNotification is the body an SQS queue subscribed to the topic (without raw message
// delivery) receives for message: SNS's JSON envelope, signature and all.
func SNSNotification(tb testing.TB, n int, message []byte) string {
	tb.Helper()
	return string(JSON(tb, map[string]string{
		"Type":             "Notification",
		"MessageId":        id("sns", n),
		"TopicArn":         TopicARN,
		"Message":          string(message),
		"Timestamp":        fixture.Now.Format("2006-01-02T15:04:05.000Z"),
		"SignatureVersion": "1",
		"Signature":        token("sns-signature/"+strconv.Itoa(n), 344),
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TopicARN + ":" + id("subscription", 0),
	}))
}

// KinesisEvent is the event a Kinesis event source mapping delivers: one record per data, as
// Lambda sends them (data base64-encoded), partitioned by keys[i] (the order id).
func KinesisEvent(tb testing.TB, keys []string, data ...[]byte) []byte {
	tb.Helper()
	if len(keys) != len(data) {
		tb.Fatalf("%d keys for %d records", len(keys), len(data))
	}
	ev := lambdaevents.KinesisEvent{Records: make([]lambdaevents.KinesisEventRecord, 0, len(data))}
	for i, d := range data {
		seq := SequenceNumber(i)
		var r lambdaevents.KinesisEventRecord
		r.AwsRegion = Region
		r.EventID = "shardId-000000000000:" + seq
		r.EventName = "aws:kinesis:record"
		r.EventSource = "aws:kinesis"
		r.EventSourceArn = StreamARN
		r.EventVersion = "1.0"
		r.InvokeIdentityArn = RoleARN
		r.Kinesis.KinesisSchemaVersion = "1.0"
		r.Kinesis.PartitionKey = keys[i]
		r.Kinesis.SequenceNumber = seq
		r.Kinesis.Data = d
		r.Kinesis.ApproximateArrivalTimestamp = lambdaevents.SecondsEpochTime{Time: fixture.Now.Add(time.Duration(i) * time.Millisecond)}
		ev.Records = append(ev.Records, r)
	}
	return JSON(tb, ev)
}

// SequenceNumber is the n-th Kinesis sequence number of the shard (56 digits, as Kinesis's are).
func SequenceNumber(n int) string {
	return fmt.Sprintf("4959033827149025660855969253836157109592157598913658%04d", n)
}

// Items are the lines of the benchmarks' order: three products from the catalogue, priced
// as order-api prices them (the body of OrderAPIPlace's request).
func Items() []events.Item {
	var items []events.Item
	for _, l := range []struct {
		sku string
		qty int
	}{{"SKU-001", 2}, {"SKU-002", 3}, {"SKU-042", 1}} {
		p, _ := catalogue.Lookup(l.sku)
		items = append(items, events.Item{SKU: p.SKU, Name: p.Name, Quantity: l.qty, UnitPriceCents: p.PriceCents})
	}
	return items
}
