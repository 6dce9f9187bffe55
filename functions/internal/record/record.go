// Package record runs a batch of messages (SQS messages, Kinesis records) through one
// handler wrapped in middleware, in the shape of watermill's: a Middleware takes a Handler and
// returns a Handler. The three middlewares here give every batch function the same habits:
//
//   - Log: a per-message logger (messageId, then correlationId, orderId, eventType once the
//     handler knows them — see Bind) and one line per message with its outcome;
//   - Recover: a panic becomes an error for that message only, not a crashed batch;
//   - Park: a permanent error (see Permanent) sends the message to a dead-letter queue with
//     its reason and acknowledges it; any other error leaves it to the platform to retry.
//   - LastReceive: on an SQS message's last attempt (the receive before the queue's
//     maxReceiveCount) a transient error becomes permanent, so Park dead-letters the message with
//     the last error as its reason; on the last receive, which SQS would end by moving the
//     message to its DLQ without a word, the message is parked at once with the reason that its
//     last attempt never answered (a crash or a timeout). SQS handles such messages before
//     the rest of their batch, and DeleteParked deletes a parked message from its queue at once.
//
// Process returns the ids of the messages that failed, for the batch response
// (ReportBatchItemFailures): the platform retries those and only those.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/orderflow-dev/orderflow/events"
)

// Message is one record of a batch, whatever its source.
type Message struct {
	ID        string    // SQS MessageId or Kinesis SequenceNumber: what a batch item failure names
	Body      []byte    // SQS body or Kinesis data
	SourceARN string    // the queue or stream it came from
	Arrived   time.Time // when the queue or stream received it
	// ReceiveCount is SQS's ApproximateReceiveCount: 1 on the first delivery, n on the nth.
	// 0 when the source does not count deliveries (Kinesis).
	ReceiveCount int
	// ReceiptHandle deletes this receive of an SQS message (DeleteParked); "" for Kinesis.
	ReceiptHandle string
}

// Handler handles one message. It returns nil when done (including a duplicate it chose to
// ignore), a Permanent error for a message that can never succeed, any other error for one
// worth retrying.
type Handler func(ctx context.Context, m Message) error

// Middleware wraps a Handler.
type Middleware func(Handler) Handler

// Chain wraps h in the middlewares; the first one is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Consumer is h in the middleware chain every queue and stream consumer uses, outermost first:
// Log (a logger per message; its outcome logged), Park (a permanent failure goes to the
// dead-letter queue with its reason, and is acknowledged), Reserve (the handler gets the
// invocation's time but a part kept for Park: one that runs out of time can still be parked
// with its reason), LastReceive (a message still failing
// on its last attempt is parked now, with its error, and one whose last attempt never answered
// is parked on the receive after it, rather than moved by SQS without a reason; maxReceiveCount
// 0 for a stream, which counts no receives) and Recover (a panic fails that message alone),
// twice: innermost, so that a handler's panic is a failure LastReceive and Park see, and
// again under Log, so that a panic while parking fails the message (it is retried) rather than
// the batch, or, on a worker, the process with an answer that left the message out.
func Consumer(h Handler, logger *slog.Logger, park Parker, maxReceiveCount int) Handler {
	return Chain(h, Log(logger), Recover(), Park(park), Reserve(parkTime), LastReceive(maxReceiveCount), Recover())
}

// parkTime is the most of an invocation's time Reserve keeps back for parking: one SendMessage
// and one DeleteMessage.
const parkTime = time.Second

// Reserve runs the handler on a context whose deadline is the invocation's less a fifth of the
// time left, at most keep: what runs outside it (Park) still has that time when the handler ran
// out of its own. Without it, a handler that runs to the invocation's deadline on its last
// attempt leaves nothing to park it with, and the message comes back to be parked as "never
// answered", its real error lost.
func Reserve(keep time.Duration) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m Message) error {
			deadline, ok := ctx.Deadline()
			if !ok {
				return next(ctx, m)
			}
			hctx, cancel := context.WithDeadline(ctx, deadline.Add(-min(time.Until(deadline)/5, keep)))
			defer cancel()
			return next(hctx, m)
		}
	}
}

// Process runs h on every message, in order, and returns the ids of those that failed.
func Process(ctx context.Context, msgs []Message, h Handler) []string {
	var failed []string
	for _, m := range msgs {
		if err := h(ctx, m); err != nil {
			failed = append(failed, m.ID)
		}
	}
	return failed
}

// ProcessConcurrently runs h on every message, at most n at once (n < 2: one at a time, in
// order), and returns the ids of those that failed, in the batch's order. Only for sources
// whose messages may be handled in any order.
func ProcessConcurrently(ctx context.Context, msgs []Message, h Handler, n int) []string {
	if n < 2 || len(msgs) < 2 {
		return Process(ctx, msgs, h)
	}
	failed := make([]bool, len(msgs))
	slots := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, m := range msgs {
		slots <- struct{}{}
		wg.Add(1)
		failed[i] = true // until h returns nil: a job that never returns (its goroutine ended) failed
		work(func() {
			defer func() { <-slots; wg.Done() }()
			failed[i] = h(ctx, m) != nil
		})
	}
	wg.Wait()
	var ids []string
	for i, f := range failed {
		if f {
			ids = append(ids, msgs[i].ID)
		}
	}
	return ids
}

// jobs hands a job to an idle worker (work).
var jobs = make(chan func())

// work runs job on a worker goroutine: an idle one, or a new one that then stays to take later
// jobs. Workers outlive their batch so that each keeps the stack it has grown: a goroutine
// started per message begins with a small stack and grows it, copying it each time, as it
// decodes its message and calls the SDK (a tenth of payment's instructions a batch, make bench).
// The pool never shrinks, and nothing caps it: it grows to about the most jobs ever run at once
// (more when a worker that has just finished a job is not back in time to take the next), which
// in a function, one invoke at a time, is the bound its batches run under.
func work(job func()) {
	select {
	case jobs <- job:
	default:
		go func() {
			job()
			for job := range jobs {
				job()
			}
		}()
	}
}

// PermanentError marks an error that retrying cannot fix.
type PermanentError struct {
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as permanent; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanentf is Permanent(fmt.Errorf(format, args...)).
func Permanentf(format string, args ...any) error {
	return Permanent(fmt.Errorf(format, args...))
}

// IsPermanent reports whether err is marked permanent or is an *events.ValidationError (an
// event that breaks its schema never becomes valid).
func IsPermanent(err error) bool {
	var p *PermanentError
	var v *events.ValidationError
	return errors.As(err, &p) || errors.As(err, &v)
}

// Parker sends a message to a dead-letter queue with the reason it was parked.
type Parker func(ctx context.Context, m Message, reason string) error

// BodyParker is a dead-letter queue that keeps a message's body and the reason (deadletter.Queue).
type BodyParker interface {
	Park(ctx context.Context, body []byte, reason string) error
}

// ParkBody is the Parker of a consumer with one dead-letter queue: the message body goes there.
func ParkBody(dlq BodyParker) Parker {
	return func(ctx context.Context, m Message, reason string) error { return dlq.Park(ctx, m.Body, reason) }
}

// Deleter deletes a received SQS message from its queue (deadletter.Sources).
type Deleter interface {
	Delete(ctx context.Context, queueARN, receiptHandle string) error
}

// DeleteParked is park followed, once the message is parked, by its deletion from the queue it
// came from, at once rather than with the batch's answer: should the function crash on another
// message of the batch before answering, SQS would receive this one again and move a second
// copy to the DLQ, without a reason. The deletion is best effort (the batch's answer deletes the
// message too); a message without a receipt handle (Kinesis) is left as it is.
func DeleteParked(park Parker, d Deleter) Parker {
	return func(ctx context.Context, m Message, reason string) error {
		if err := park(ctx, m, reason); err != nil {
			return err
		}
		if m.ReceiptHandle == "" {
			return nil
		}
		if err := d.Delete(ctx, m.SourceARN, m.ReceiptHandle); err != nil {
			Logger(ctx).WarnContext(ctx, "parked message not deleted from its queue yet: the batch's answer will", "error", err.Error())
		}
		return nil
	}
}

// Park parks messages that fail permanently and acknowledges them; if parking fails the
// message fails too (and is retried, then dead-lettered by the platform).
func Park(park Parker) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m Message) error {
			err := next(ctx, m)
			if err == nil || !IsPermanent(err) {
				return err
			}
			if perr := park(ctx, m, err.Error()); perr != nil {
				// Not permanent any more: the message is retried (and parked then), as Log says.
				return fmt.Errorf("could not park it, so it is retried: %w; it had failed for good: %s", perr, err.Error())
			}
			Logger(ctx).WarnContext(ctx, "message parked", "reason", err.Error())
			countParked(ctx)
			return nil
		}
	}
}

// LastReceive makes sure that a message SQS gives up on reaches the dead-letter queue with a
// reason. SQS moves a message there, saying nothing, once it has been received maxReceiveCount
// times (the queue's redrive setting) and still not deleted; so the consumer keeps the last of
// those receives for itself, and handles a message at most maxReceiveCount-1 times:
//
//   - on its last attempt (receive maxReceiveCount-1) a transient error becomes permanent, so that
//     Park, outside this middleware, dead-letters the message now with that error as its reason;
//   - a message received maxReceiveCount times or more is parked at once, not handled again: its
//     last attempt ended without an answer (the function crashed, timed out or ran out of memory,
//     or parking failed), which no code in the handler could see. The reason says so.
//
// With maxReceiveCount 1 the one receive is also the last attempt. Messages without a receive
// count (Kinesis) and maxReceiveCount <= 0 are left alone.
func LastReceive(maxReceiveCount int) Middleware {
	last := lastAttempt(maxReceiveCount)
	return func(next Handler) Handler {
		return func(ctx context.Context, m Message) error {
			if maxReceiveCount <= 0 || m.ReceiveCount == 0 {
				return next(ctx, m)
			}
			if givenUp(m, maxReceiveCount) {
				return Permanentf("received %d times (maxReceiveCount %d) and not handled again: the attempt before ended without an answer "+
					"(the function crashed, timed out or ran out of memory, or could not park the message)", m.ReceiveCount, maxReceiveCount)
			}
			err := next(ctx, m)
			if err == nil || IsPermanent(err) || m.ReceiveCount < last {
				return err
			}
			return Permanentf("gave up after %d receives (maxReceiveCount %d): %w", m.ReceiveCount, maxReceiveCount, err)
		}
	}
}

// lastAttempt is the receive on which LastReceive gives up on a message that still fails: the
// one before maxReceiveCount, kept for parking (the only one, when maxReceiveCount is 1).
func lastAttempt(maxReceiveCount int) int { return max(maxReceiveCount-1, 1) }

// givenUp reports whether LastReceive parks m unhandled: it is received again after its last
// attempt.
func givenUp(m Message, maxReceiveCount int) bool {
	return maxReceiveCount > 0 && m.ReceiveCount > lastAttempt(maxReceiveCount)
}

// Recover turns a panic in the handler into an error for that message.
func Recover() Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m Message) (err error) {
			defer func() {
				if r := recover(); r != nil {
					Logger(ctx).ErrorContext(ctx, "handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("handler panicked: %v", r)
				}
			}()
			return next(ctx, m)
		}
	}
}

// Log gives each message a logger bound to its id (Logger, Bind) and logs its outcome.
func Log(base *slog.Logger) Middleware {
	return func(next Handler) Handler {
		return func(ctx context.Context, m Message) error {
			b := &binding{logger: base.With("messageId", m.ID)}
			ctx = context.WithValue(ctx, bindingKey{}, b)
			err := next(ctx, m)
			switch {
			case err == nil:
				Logger(ctx).InfoContext(ctx, "message done")
			case IsPermanent(err):
				Logger(ctx).ErrorContext(ctx, "message failed permanently", "error", err.Error())
			default:
				Logger(ctx).WarnContext(ctx, "message failed, will be retried", "error", err.Error())
			}
			return err
		}
	}
}

type bindingKey struct{}

type binding struct {
	mu     sync.Mutex
	logger *slog.Logger
}

// Logger returns the message's logger (slog.Default outside Log).
func Logger(ctx context.Context) *slog.Logger {
	if b, ok := ctx.Value(bindingKey{}).(*binding); ok {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.logger
	}
	return slog.Default()
}

// Bind adds attributes to the message's logger for the rest of its handling, including the
// outcome line Log writes.
func Bind(ctx context.Context, args ...any) {
	if b, ok := ctx.Value(bindingKey{}).(*binding); ok {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.logger = b.logger.With(args...)
	}
}

// Event reads the EventBridge event a record carries (validated: an invalid one is an
// *events.ValidationError, which Park parks with its reason) and binds its correlation
// attributes to the record's logger.
func Event(ctx context.Context, body []byte) (events.Envelope, error) {
	e, err := events.FromEventBridge(body)
	if err != nil {
		return events.Envelope{}, err
	}
	BindEvent(ctx, e)
	return e, nil
}

// BindEvent binds the event's correlation attributes: correlationId, orderId, eventType, eventId.
func BindEvent(ctx context.Context, e events.Envelope) {
	Bind(ctx, "correlationId", e.CorrelationID, "orderId", e.OrderID, "eventType", string(e.Type), "eventId", e.ID)
}
