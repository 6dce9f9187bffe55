// Package redrive moves dead-lettered messages back to where they came from, once the cause is
// fixed. For each dead-letter queue of the stack it reads every message, says why it failed,
// delivers it again the way its kind of failure calls for, and deletes it only after that
// delivery succeeded: a message is never lost, at worst delivered twice (and every consumer
// ignores a duplicate).
//
//	payments, email, sms   the DLQ of a queue       → that queue
//	streamer               parked or failed events  → the stream path: validated, then put on the
//	                                                  stream as the streamer does (an event that is
//	                                                  still invalid stays, with the reason)
//	projector, analytics   parked events            → the stream path (every consumer sees them
//	                                                  again and ignores what it already has); a
//	                                                  projector's event the event store contradicts
//	                                                  (another fact at its sequence) stays, saying so
//	                       Kinesis batch failures   → the batch re-read from the stream and run
//	                                                  through that consumer's projection
//	workflow-rule, stream-rule, notify-rule (when the stack outputs their DLQs): an event an
//	EventBridge rule could not deliver → the state machine, the stream path, or the
//	notifications topic (as the rule publishes it)
//
// Every delivery reuses the functions' code (functions/toolkit): the stream writer, the event
// store and analytics projections.
package redrive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// Options choose what to move.
type Options struct {
	DryRun bool
	Max    int    // at most this many messages per queue; 0 for all
	Match  string // only messages whose body, or the payload parsed from it, contains this text
	Log    io.Writer
}

// Result is what happened to one message.
type Result struct {
	Source  string
	Message Message
	To      string // where it went (or would go)
	Err     error  // nil: moved (or, in a dry run, would be)
}

// Report is what a redrive did.
type Report struct {
	Results    []Result
	Moved      int
	Failed     int
	Unfinished []string // the sources it could not read to the end (the error says why)
}

// Redrive moves the messages of each source, as o says, reading the sources at once (an empty
// DLQ costs a second's long poll: one after another, a dry run of an empty stack took over ten).
// o.Log reads as if they were read one after another: a source's lines come after those of the
// sources before it, the first unfinished one's as they happen. A source it cannot read (its DLQ
// gone, refused, throttled) does not stop the others: the error names every such source, and the
// report holds what was done in all of them, in the sources' order.
func Redrive(ctx context.Context, c Clients, sources []Source, o Options) (*Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	started := time.Now() // a message parked after this, in any source, is this run's doing: the next run's (each source reads it in SQS's clock: inServerClock)
	width := nameWidth(sources)
	log := newInOrder(o.Log, len(sources))
	reps := make([]Report, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	sem := make(chan struct{}, sourcesAtOnce)
	for i, src := range sources {
		wg.Go(func() {
			defer log.finish(i)
			so := o
			so.Log = log.writer(i)
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				errs[i] = fmt.Errorf("%s: not read: %w", src.Name, ctx.Err())
				fmt.Fprintf(so.Log, "%-*s not read (%s)\n", width+1, src.Name+":", src.DLQURL)
				return
			}
			if err := redriveSource(ctx, c, src, so, started, width, &reps[i]); err != nil {
				errs[i] = fmt.Errorf("%s: %w", src.Name, err)
			}
		})
	}
	wg.Wait()
	rep := &Report{}
	for i, r := range reps {
		rep.Results = append(rep.Results, r.Results...)
		rep.Moved += r.Moved
		rep.Failed += r.Failed
		if errs[i] != nil {
			rep.Unfinished = append(rep.Unfinished, sources[i].Name)
		}
	}
	return rep, errors.Join(errs...)
}

// sourcesAtOnce bounds the sources read at once: a stack has about a dozen.
const sourcesAtOnce = 16

// inOrder hands out one writer per source and writes what they are given in the sources' order:
// the first unfinished source's writes go straight out, a later one's wait until every source
// before it has finished.
type inOrder struct {
	mu   sync.Mutex
	out  io.Writer
	held []bytes.Buffer
	done []bool
	head int // the first unfinished source
}

func newInOrder(out io.Writer, n int) *inOrder {
	return &inOrder{out: out, held: make([]bytes.Buffer, n), done: make([]bool, n)}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (s *inOrder) writer(i int) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i == s.head {
			return s.out.Write(p)
		}
		return s.held[i].Write(p)
	})
}

// finish marks source i finished and writes out what the sources now at the head held.
func (s *inOrder) finish(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[i] = true
	for s.head < len(s.done) && s.done[s.head] {
		s.head++
		if s.head < len(s.held) {
			_, _ = s.out.Write(s.held[s.head].Bytes()) // as a direct write's error is: the log is not the report
			s.held[s.head] = bytes.Buffer{}
		}
	}
}

// visibility is how long a message received by a run stays hidden from other readers and from
// the run's next receives when the run has no deadline (hide).
const visibility = 120

// hide is how long a message received by a run stays hidden (SQS's VisibilityTimeout, seconds):
// until the run's deadline and a minute, so that a message the run holds (a dry run's, one
// -match leaves, one that failed) cannot come back to be read again while the run lasts and keep
// it from seeing an empty queue; without a deadline, visibility. The run makes every message
// it holds visible again when it ends; a run killed before leaves them hidden until then (at
// most SQS's 12 hours).
func hide(ctx context.Context) int32 {
	deadline, ok := ctx.Deadline()
	if !ok {
		return visibility
	}
	return int32(min(max(time.Until(deadline)/time.Second+60, visibility), 12*60*60))
}

// nameWidth is the width of the column of source names: the longest name's, and at least 12.
func nameWidth(sources []Source) int {
	w := 12
	for _, s := range sources {
		w = max(w, len(s.Name))
	}
	return w
}

// Messages is "1 message", "n messages".
func Messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

func redriveSource(ctx context.Context, c Clients, src Source, o Options, started time.Time, width int, rep *Report) (err error) {
	var held []string // receipt handles to make visible again at the end
	defer func() {
		for _, h := range held {
			_, _ = c.SQS.ChangeMessageVisibility(context.WithoutCancel(ctx), &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(src.DLQURL), ReceiptHandle: aws.String(h), VisibilityTimeout: 0,
			})
		}
	}()
	handled := 0
	seen := map[string]bool{}      // the ids of the messages this run has received: true once moved and deleted
	mark, marked := started, false // the run's start in SQS's clock, from the first answer
	defer func() {
		end := "" // a source it could not read to the end says so here, as the summary will
		if err != nil {
			end = ", then stopped: not read to the end"
		}
		fmt.Fprintf(o.Log, "%-*s %s handled%s (%s)\n", width+1, src.Name+":", Messages(handled), end, src.DLQURL)
	}()
	for o.Max == 0 || handled < o.Max {
		out, err := c.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(src.DLQURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: hide(ctx),
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", src.DLQURL, err)
		}
		if !marked {
			mark, marked = inServerClock(started, out.ResultMetadata), true
		}
		if len(out.Messages) == 0 {
			return nil
		}
		fresh := 0
		for _, sm := range out.Messages {
			id := aws.ToString(sm.MessageId)
			if moved, ok := seen[id]; ok {
				if moved { // a copy SQS delivered again after the delete (at-least-once): gone with this one
					_, _ = c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(src.DLQURL), ReceiptHandle: sm.ReceiptHandle})
					fresh++
					continue
				}
				held = append(held, aws.ToString(sm.ReceiptHandle)) // held before, and back: its hiding ran out
				continue
			}
			seen[id], fresh = false, fresh+1
			body := aws.ToString(sm.Body)
			msg, err := Parse(aws.ToString(sm.MessageId), body, sm.MessageAttributes)
			matches := strings.Contains(body, o.Match) || (err == nil && bytes.Contains(msg.Payload, []byte(o.Match))) // a body parked as base64 too
			if (o.Max > 0 && handled >= o.Max) || sentAfter(sm, mark) || !matches {
				held = append(held, aws.ToString(sm.ReceiptHandle)) // not this run's: a message re-parked by this run, or not asked for
				continue
			}
			handled++
			r := Result{Source: src.Name, Message: msg, Err: err}
			if r.Err == nil {
				r.To, r.Err = deliver(ctx, c, src, r.Message, o.DryRun)
			}
			if r.Err == nil && !o.DryRun {
				if _, err := c.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(src.DLQURL), ReceiptHandle: sm.ReceiptHandle}); err != nil {
					r.Err = fmt.Errorf("delivered, but not deleted from the DLQ (it will be delivered again): %w", err)
				} else {
					seen[id] = true
				}
			}
			if r.Err != nil || o.DryRun {
				held = append(held, aws.ToString(sm.ReceiptHandle))
			}
			if r.Err != nil {
				rep.Failed++
			} else if !o.DryRun {
				rep.Moved++
			}
			rep.Results = append(rep.Results, r)
			printResult(o.Log, r, o.DryRun, width)
		}
		if fresh == 0 {
			// Only messages it had held came back: what else the queue holds cannot be told
			// from them any more. Each was handled once; the rest waits for another run.
			return fmt.Errorf("read %s: messages it held came back (their hiding ran out) before the queue was read to the end; run again", src.DLQURL)
		}
	}
	return nil
}

// inServerClock is started in the clock of the service that answered with md: moved by the clock
// skew the SDK measured on that answer (its Date header against when it arrived), as SQS stamps
// SentTimestamp by its own clock. With a local clock an hour ahead, a message re-parked in the
// run's first hour would otherwise look older than the run and be taken again, and again. The
// Date header counts whole seconds, and a server may stamp it a moment before it answers (a long
// poll; a server that refreshes its Date once a second), so the measure reads up to a couple of
// seconds early: a skew under skewTold is not told from none (started is kept: a message
// re-parked within it may be taken once more, which every consumer ignores), and a larger one
// moves the mark a little before the run's true start, where a message parked just then waits
// for the next run rather than being taken twice.
func inServerClock(started time.Time, md middleware.Metadata) time.Time {
	skew, ok := awsmiddleware.GetAttemptSkew(md)
	if !ok || skew.Abs() < skewTold {
		return started
	}
	return started.Add(skew)
}

// skewTold is the least clock skew inServerClock corrects for: well above what the Date header's
// whole seconds and its stamping can make of clocks that agree (the emulator, on this machine).
const skewTold = 5 * time.Second

// sentAfter reports whether the message reached the DLQ after t (so it was re-parked by
// this very run and must wait for the next one). SentTimestamp counts whole milliseconds: a
// message stamped in t's own millisecond counts as after, so that none is taken twice.
func sentAfter(m types.Message, t time.Time) bool {
	ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64)
	return err == nil && ms >= t.UnixMilli()
}

// printResult prints one message's result, its source's name in a column width wide.
func printResult(w io.Writer, r Result, dryRun bool, width int) {
	verdict := "moved"
	switch {
	case r.Err != nil:
		verdict = "NOT MOVED: " + r.Err.Error()
	case dryRun:
		verdict = "would be moved (dry run)"
	}
	indent := strings.Repeat(" ", width+1)
	fmt.Fprintf(w, "%-*s %s  %s\n%serrorReason: %s\n%s→ %s: %s\n", width, r.Source, r.Message.ID, r.Message.Kind, indent, r.Message.Reason, indent, orDash(r.To), verdict)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
