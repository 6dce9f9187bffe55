package record

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

type parked struct {
	id, reason string
}

type recordingParker struct {
	calls []parked
	err   error
}

func (p *recordingParker) park(_ context.Context, m Message, reason string) error {
	p.calls = append(p.calls, parked{m.ID, reason})
	return p.err
}

func TestProcess(t *testing.T) {
	handler := func(_ context.Context, m Message) error {
		switch string(m.Body) {
		case "ok":
			return nil
		case "poison":
			return Permanentf("bad body %q", m.Body)
		case "schema":
			return fmt.Errorf("decode: %w", &events.ValidationError{Problems: []events.Problem{{Message: "broken"}}})
		case "panic":
			panic("boom")
		default:
			return errors.New("throttled")
		}
	}
	msgs := []Message{
		{ID: "1", Body: []byte("ok")}, {ID: "2", Body: []byte("poison")}, {ID: "3", Body: []byte("flaky")},
		{ID: "4", Body: []byte("panic")}, {ID: "5", Body: []byte("schema")},
	}
	tests := []struct {
		name       string
		parkErr    error
		wantFailed []string
		wantParked []string
	}{
		{name: "poison parked, transient and panic failed", wantFailed: []string{"3", "4"}, wantParked: []string{"2", "5"}},
		{name: "parking fails: poison failed too", parkErr: errors.New("sqs down"), wantFailed: []string{"2", "3", "4", "5"}, wantParked: []string{"2", "5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := &recordingParker{err: tc.parkErr}
			h := Chain(handler, Log(slog.New(slog.NewJSONHandler(&logs, nil))), Recover(), Park(p.park))
			got := Process(context.Background(), msgs, h)
			if !reflect.DeepEqual(got, tc.wantFailed) {
				t.Errorf("failed = %v, want %v", got, tc.wantFailed)
			}
			var ids []string
			for _, c := range p.calls {
				ids = append(ids, c.id)
				if c.reason == "" {
					t.Errorf("message %s parked without a reason", c.id)
				}
			}
			if !reflect.DeepEqual(ids, tc.wantParked) {
				t.Errorf("parked = %v, want %v", ids, tc.wantParked)
			}
			if !strings.Contains(logs.String(), `"panic":"boom"`) {
				t.Errorf("panic not logged: %s", logs.String())
			}
			// A message whose park failed is retried, and its log line says so.
			if permanent := strings.Count(logs.String(), "message failed permanently"); tc.parkErr != nil && permanent != 0 {
				t.Errorf("%d messages logged as failed for good, though their park failed and they are retried: %s", permanent, logs.String())
			}
		})
	}
}

func TestBindReachesOutcomeLine(t *testing.T) {
	var logs bytes.Buffer
	h := Chain(func(ctx context.Context, m Message) error {
		BindEvent(ctx, events.Envelope{ID: "ev-1", OrderID: "ORD-1", CorrelationID: "corr-1", Type: "OrderPlaced"})
		return nil
	}, Log(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err := h(context.Background(), Message{ID: "m-1"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"messageId":"m-1"`, `"correlationId":"corr-1"`, `"orderId":"ORD-1"`, `"eventType":"OrderPlaced"`, `"message done"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s: %s", want, logs.String())
		}
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	err := fmt.Errorf("wrapped: %w", Permanent(errors.New("x")))
	if !IsPermanent(err) {
		t.Error("wrapped permanent error not recognised")
	}
	if IsPermanent(errors.New("x")) {
		t.Error("plain error taken as permanent")
	}
}

// Consumer's chain: what a consumer does with a message that succeeds, fails, fails for good or
// panics, on each receive. With maxReceiveCount 4 a message has three attempts: before the last
// a failure is retried (by SQS); on the last it is parked with its error as the reason; the
// fourth receive, which SQS would end by moving the message without a reason, parks it at once,
// unhandled, saying that the attempt before never answered. Kinesis records (no receive count)
// and a disabled limit are never given up on; permanent errors keep their own reason.
func TestConsumer(t *testing.T) {
	tests := []struct {
		name        string
		max         int
		msg         Message
		parkErr     error
		wantFailed  bool
		wantReason  string // "" = not parked
		wantHandled bool
	}{
		{name: "first receive: retried", max: 4, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 1}, wantFailed: true, wantHandled: true},
		{name: "second receive: retried", max: 4, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 2}, wantFailed: true, wantHandled: true},
		{name: "last attempt: parked with the last error", max: 4, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 3},
			wantReason: "gave up after 3 receives (maxReceiveCount 4): payment provider timed out", wantHandled: true},
		{name: "panic on the last attempt: parked", max: 4, msg: Message{ID: "m", Body: []byte("panic"), ReceiveCount: 3},
			wantReason: "handler panicked: boom", wantHandled: true},
		{name: "last attempt but parking fails: failed, received again", max: 4, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 3},
			parkErr: errors.New("sqs down"), wantFailed: true, wantReason: "gave up after 3 receives", wantHandled: true},
		{name: "success on the last attempt", max: 4, msg: Message{ID: "m", Body: []byte("ok"), ReceiveCount: 3}, wantHandled: true},
		{name: "last receive (the last attempt never answered): parked unhandled", max: 4, msg: Message{ID: "m", Body: []byte("ok"), ReceiveCount: 4},
			wantReason: "received 4 times (maxReceiveCount 4) and not handled again: the attempt before ended without an answer (the function crashed"},
		{name: "last receive but parking fails: failed, SQS moves it", max: 4, msg: Message{ID: "m", Body: []byte("ok"), ReceiveCount: 4},
			parkErr: errors.New("sqs down"), wantFailed: true, wantReason: "received 4 times"},
		{name: "past the last receive (maxReceiveCount lowered since): parked unhandled", max: 4, msg: Message{ID: "m", Body: []byte("ok"), ReceiveCount: 6},
			wantReason: "received 6 times"},
		{name: "maxReceiveCount 1: the one receive is the last attempt", max: 1, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 1},
			wantReason: "gave up after 1 receives (maxReceiveCount 1)", wantHandled: true},
		{name: "permanent error keeps its reason", max: 4, msg: Message{ID: "m", Body: []byte("poison"), ReceiveCount: 1}, wantReason: "bad body", wantHandled: true},
		{name: "no receive count (Kinesis): retried", max: 4, msg: Message{ID: "m", Body: []byte("flaky")}, wantFailed: true, wantHandled: true},
		{name: "a stream's panic: retried", max: 0, msg: Message{ID: "m", Body: []byte("panic")}, wantFailed: true, wantHandled: true},
		{name: "a stream's poison: parked", max: 0, msg: Message{ID: "m", Body: []byte("poison")}, wantReason: "bad body", wantHandled: true},
		{name: "limit disabled: retried", max: 0, msg: Message{ID: "m", Body: []byte("flaky"), ReceiveCount: 9}, wantFailed: true, wantHandled: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			handled := false
			handler := func(_ context.Context, m Message) error {
				handled = true
				switch string(m.Body) {
				case "ok":
					return nil
				case "poison":
					return Permanentf("bad body")
				case "panic":
					panic("boom")
				default:
					return errors.New("payment provider timed out")
				}
			}
			p := &recordingParker{err: tc.parkErr}
			h := Consumer(handler, slog.New(slog.DiscardHandler), p.park, tc.max)
			failed := Process(context.Background(), []Message{tc.msg}, h)
			if got := len(failed) == 1; got != tc.wantFailed {
				t.Errorf("failed = %v, want failed %v", failed, tc.wantFailed)
			}
			if handled != tc.wantHandled {
				t.Errorf("handler called: %v, want %v", handled, tc.wantHandled)
			}
			switch {
			case tc.wantReason == "" && len(p.calls) != 0:
				t.Errorf("parked %+v, want nothing parked", p.calls)
			case tc.wantReason != "" && (len(p.calls) != 1 || !strings.Contains(p.calls[0].reason, tc.wantReason)):
				t.Errorf("parked %+v, want one with a reason containing %q", p.calls, tc.wantReason)
			}
		})
	}
}

// A handler that runs until its context ends, on its last attempt, still gets its message parked
// with its own error: Reserve ended the handler's context before the invocation's, and Park had
// the rest.
func TestConsumerParksAHandlerThatRanOutOfTime(t *testing.T) {
	var reason string
	var parkedWith error
	park := func(ctx context.Context, _ Message, r string) error {
		reason, parkedWith = r, ctx.Err()
		return parkedWith // as the SDK would: a send on an ended context is cancelled
	}
	var handlerDeadline time.Time
	slow := func(ctx context.Context, _ Message) error {
		handlerDeadline, _ = ctx.Deadline()
		<-ctx.Done() // a provider that never answers
		return fmt.Errorf("charge: %w", ctx.Err())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	invocationDeadline, _ := ctx.Deadline()
	h := Consumer(slow, slog.New(slog.DiscardHandler), park, 4)
	failed := Process(ctx, []Message{{ID: "m", Body: []byte("charge"), ReceiveCount: 3}}, h)
	// The handler's deadline is a fifth of the 500 ms (100 ms) before the invocation's: checked
	// on the deadlines themselves, since a handler's context ending with the invocation's would
	// still leave Park a moment, now and then, before the invocation's timer fires.
	if kept := invocationDeadline.Sub(handlerDeadline); kept < 50*time.Millisecond || kept > parkTime {
		t.Errorf("the handler's deadline is %v before the invocation's, want about a fifth of its time (at most %v) kept for parking", kept, parkTime)
	}
	if len(failed) != 0 || parkedWith != nil {
		t.Fatalf("failed %v, the park's context %v: want the message parked in the time kept for it", failed, parkedWith)
	}
	if !strings.Contains(reason, "gave up after 3 receives") || !strings.Contains(reason, "deadline exceeded") {
		t.Errorf("reason %q, want the handler's own error", reason)
	}
}

// DeleteParked deletes a message from its queue once it is parked, not before and not when
// parking failed; a failed deletion is logged and the message still counts as parked (the
// batch's answer deletes it); a Kinesis record (no receipt handle) is not deleted.
func TestDeleteParked(t *testing.T) {
	sqsMsg := Message{ID: "m", SourceARN: "arn:aws:sqs:us-east-1:000000000000:q", ReceiptHandle: "rh"}
	tests := []struct {
		name                 string
		msg                  Message
		parkErr, delErr      error
		wantErr              bool
		wantDeleted, wantLog []string
	}{
		{name: "parked, then deleted", msg: sqsMsg, wantDeleted: []string{"arn:aws:sqs:us-east-1:000000000000:q rh"}},
		{name: "parking failed: kept", msg: sqsMsg, parkErr: errors.New("sqs down"), wantErr: true},
		{name: "deletion failed: parked all the same, logged", msg: sqsMsg, delErr: errors.New("throttled"),
			wantLog: []string{"parked message not deleted from its queue yet", "throttled"}},
		{name: "a stream's record: nothing to delete", msg: Message{ID: "m", SourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			p := &recordingParker{err: tc.parkErr}
			src := &fixture.Source{Err: tc.delErr}
			park := Chain(func(ctx context.Context, m Message) error {
				return DeleteParked(p.park, src)(ctx, m, "bad body")
			}, Log(slog.New(slog.NewJSONHandler(&logs, nil))))
			err := park(context.Background(), tc.msg)
			if (err != nil) != tc.wantErr || len(p.calls) != 1 {
				t.Fatalf("err %v, parked %v; want error %v, one park", err, p.calls, tc.wantErr)
			}
			if got := src.Deleted(); !reflect.DeepEqual(got, tc.wantDeleted) {
				t.Errorf("deleted %v, want %v", got, tc.wantDeleted)
			}
			for _, w := range tc.wantLog {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("log lacks %q: %s", w, logs.String())
				}
			}
		})
	}
}

// Event validates the EventBridge event and binds it to the record's log lines; an invalid one
// is an *events.ValidationError, which Park parks.
func TestEvent(t *testing.T) {
	var logs bytes.Buffer
	placed := fixture.Placed(t, fixture.OrderID(1), "tok_visa")
	var got events.Envelope
	h := Chain(func(ctx context.Context, m Message) (err error) {
		got, err = Event(ctx, m.Body)
		return err
	}, Log(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err := h(context.Background(), Message{ID: "m-1", Body: fixture.EventBridge(t, placed)}); err != nil || got.ID != placed.ID {
		t.Fatalf("Event = %s, %v; want %s", got.ID, err, placed.ID)
	}
	if !strings.Contains(logs.String(), `"eventId":"`+placed.ID+`"`) {
		t.Errorf("log lacks the event id: %s", logs.String())
	}
	var invalid *events.ValidationError
	if err := h(context.Background(), Message{ID: "m-2", Body: []byte(`{"detail-type":"OrderPlaced","detail":{}}`)}); !errors.As(err, &invalid) {
		t.Errorf("an invalid event: %v, want a *events.ValidationError", err)
	}
}
