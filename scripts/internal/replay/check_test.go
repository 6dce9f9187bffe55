package replay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/orderflow-dev/orderflow/events"
)

// countingShard is oneShard that counts the calls made to it.
type countingShard struct {
	oneShard
	calls int
}

func (s *countingShard) ListShards(ctx context.Context, in *kinesis.ListShardsInput, o ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	s.calls++
	return s.oneShard.ListShards(ctx, in, o...)
}

// Options that cannot be replayed are refused before anything is read: a source that is neither
// of the two (it used to be noticed only after the stream was read), an id that is not an order's
// (it used to read the whole stream, then report a mismatch).
func TestRunRefusesBadOptionsBeforeReading(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		says string
	}{
		{Options{From: "kafka"}, `-from "kafka": want "stream" or "eventstore"`},
		{Options{OrderID: "bogus"}, `-order "bogus" is not an order id`},
		{Options{OrderID: strings.ToUpper(orderA[4:])}, "is not an order id"},
		{Options{OrderID: "ORD-" + strings.ToUpper(orderA[4:])}, "in lower case"},
		{Options{From: FromEventStore, OrderID: orderA + " "}, "is not an order id"},
	} {
		s := &countingShard{}
		r, err := Run(context.Background(), Deps{Stream: s, StreamName: "s", DB: newMemDB(), EventStoreTable: "es", AnalyticsTable: "an"}, opts(tc.o))
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.says) || r != nil || s.calls != 0 {
			t.Errorf("Run(%+v) = report %v, %v; stream read %d times: want ErrUsage saying %q, no report, nothing read", tc.o, r, err, s.calls, tc.says)
		}
	}
	if err := (Options{From: FromEventStore, OrderID: orderA}).Check(); err != nil {
		t.Errorf("Check of good options: %v", err)
	}
}

// failingScan is memDB whose Scan fails, as a timeout or a throttle would end it.
type failingScan struct{ *memDB }

func (f failingScan) Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return nil, context.DeadlineExceeded
}

// A run that stops before its check finishes is no verdict: its report (what it did until then)
// says why it stopped, and is not OK, although it found no mismatch before it stopped.
func TestARunThatStopsIsNotOK(t *testing.T) {
	s, _ := stream(t)
	for _, from := range []string{FromStream, FromEventStore} {
		r, err := Run(context.Background(), Deps{Stream: s, StreamName: "s", DB: failingScan{newMemDB()}, EventStoreTable: "es", AnalyticsTable: "an"}, opts(Options{From: from, DryRun: true}))
		if err == nil || r == nil {
			t.Fatalf("from %s: report %v, error %v: want the partial report and the error", from, r, err)
		}
		if r.OK() || !strings.Contains(r.Stopped, "deadline exceeded") {
			t.Errorf("from %s: OK %v, stopped %q: want not OK, stopped by the deadline", from, r.OK(), r.Stopped)
		}
	}
}

// A conflict says what differs between its two records, which share the event id (it is the
// order's and sequence's): here the amount of a payment, the stream holding a second record of it.
func TestConflictSaysWhatDiffers(t *testing.T) {
	s, _ := stream(t)
	other := event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 5000})
	s.data = append(s.data, record(t, other))
	r, err := Run(context.Background(), deps(s, newMemDB()), opts(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	want := "sequence 2 has two PaymentApproved records of event " + other.ID + " that share the event id but differ in content: payload.amountCents"
	if r.OK() || len(r.Conflicts) != 1 || !strings.Contains(r.Conflicts[0], want) || !strings.Contains(r.Conflicts[0], "the event store's, which keeps its own") {
		t.Errorf("conflicts %q: want one, saying %q", r.Conflicts, want)
	}
	if got := strings.Join(r.Mismatches, "\n"); !strings.Contains(got, "stream does not fold (conflicting records: "+want) || strings.Contains(got, "is both PaymentApproved") {
		t.Errorf("mismatches %q: want the stream's fold to say %q", got, want)
	}
	// A dry run appends nothing: the record it holds the stream's against is the stream's earlier
	// one, which it would have appended, not one the event store keeps.
	r, err = Run(context.Background(), deps(s, newMemDB()), opts(Options{DryRun: true}))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Conflicts) != 1 || !strings.Contains(r.Conflicts[0], "conflicts with the earlier record's, which the event store would keep: "+want) {
		t.Errorf("dry run: conflicts %q, want one with the earlier record", r.Conflicts)
	}
}

func TestDescribeConflict(t *testing.T) {
	a := event(t, events.TypePaymentApproved, orderA, 2, events.PaymentApproved{OrderID: orderA, PaymentID: "3b1f0c8e-2d4a-5b6c-8d7e-9f0a1b2c3d4e", AmountCents: 1})
	b := event(t, events.TypeOrderCancelled, orderA, 2, events.OrderCancelled{OrderID: orderA, Reason: events.ReasonOutOfStock})
	if got, want := describeConflict(a, b), "sequence 2 is both PaymentApproved and OrderCancelled, under the one event id "+a.ID; got != want {
		t.Errorf("types differ: %q, want %q", got, want)
	}
	c := a
	c.Payload = []byte(`[1]`)
	if got := describeConflict(a, c); !strings.HasSuffix(got, "differ in content: payload") {
		t.Errorf("payload not an object: %q", got)
	}
}
