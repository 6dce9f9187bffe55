package chaos

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/load"
	"github.com/orderflow-dev/orderflow/scripts/internal/redrive"
)

// consumers names the function behind each dead-letter queue that SQS itself fills, after a
// message's maxReceiveCount receives: the only dead letters that may carry no reason (the
// function parks a message itself on that last receive; SQS moves it only if that failed too).
var consumers = map[string]string{"payments": "payment", "email": "notifier", "sms": "notifier"}

// Tender redrives the stack's dead-letter queues on a schedule while a run goes on, and keeps
// what each message said about why it failed. Redriving while the run goes on matters: a
// payment request dead-lettered must be back in its queue before the saga's callback times out
// (TimeoutSeconds 300 on RequestPayment and RefundPayment), or the order is compensated instead.
type Tender struct {
	Clients redrive.Clients
	Sources []redrive.Source
	Every   time.Duration // between two passes
	Log     io.Writer

	mu       sync.Mutex
	seen     map[string]*letter // message id → what it said
	order    []string           // message ids in the order first seen
	passes   int
	problems []string // passes that could not finish (not a message that stayed: that is in seen)
}

// letter is one dead-lettered message, as first read, and whether a redrive moved it.
type letter struct {
	queue  string
	kind   redrive.Kind
	reason string
	moved  bool
	err    string // the last failed delivery, if it never moved
}

// Tend makes a pass every t.Every until ctx ends (load.Config.Tend).
func (t *Tender) Tend(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(t.Every):
		}
		t.Pass(ctx)
	}
}

// Pass redrives every dead-letter queue once and reports how many messages it moved and how
// many it could not.
func (t *Tender) Pass(ctx context.Context) (moved, failed int) {
	rep, err := redrive.Redrive(ctx, t.Clients, t.Sources, redrive.Options{Log: io.Discard})
	if err != nil && ctx.Err() != nil {
		err = nil // the run ended during the pass: not a problem of the pass
	}
	return t.record(rep, err)
}

// record keeps what a pass found: each message as first read, and whether it was moved since.
func (t *Tender) record(rep *redrive.Report, err error) (moved, failed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen = map[string]*letter{}
	}
	t.passes++
	if err != nil {
		t.problems = append(t.problems, err.Error())
	}
	if rep == nil {
		return 0, 0
	}
	for _, r := range rep.Results {
		l, ok := t.seen[r.Message.ID]
		if !ok {
			l = &letter{queue: r.Source, kind: r.Message.Kind, reason: r.Message.Reason}
			t.seen[r.Message.ID] = l
			t.order = append(t.order, r.Message.ID)
		}
		if r.Err == nil {
			l.moved, l.err = true, ""
		} else if !l.moved {
			l.err = r.Err.Error()
		}
	}
	if t.Log != nil && len(rep.Results) > 0 {
		fmt.Fprintf(t.Log, "chaos: redrive pass %d: %d dead letters moved back, %d not\n", t.passes, rep.Moved, rep.Failed)
	}
	return rep.Moved, rep.Failed
}

// DeadLetters is the tally of the messages seen, by queue, kind and reason.
func (t *Tender) DeadLetters() []DeadLetter {
	t.mu.Lock()
	defer t.mu.Unlock()
	byKey := map[DeadLetter]*DeadLetter{}
	var out []*DeadLetter
	for _, id := range t.order {
		l := t.seen[id]
		k := DeadLetter{Queue: l.queue, Kind: l.kind, Reason: Normalize(l.reason)}
		d, ok := byKey[k]
		if !ok {
			d = &DeadLetter{Queue: k.Queue, Kind: k.Kind, Reason: k.Reason}
			byKey[k] = d
			out = append(out, d)
		}
		d.Count++
		if l.moved {
			d.Moved++
		} else if d.LastError == "" {
			d.LastError = l.err
		}
	}
	res := make([]DeadLetter, len(out))
	for i, d := range out {
		res[i] = *d
	}
	sort.SliceStable(res, func(a, b int) bool {
		if res[a].Queue != res[b].Queue {
			return res[a].Queue < res[b].Queue
		}
		return res[a].Count > res[b].Count
	})
	return res
}

// Passes reports how many passes were made, and the errors of those that could not finish.
func (t *Tender) Passes() (int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.passes, append([]string(nil), t.problems...)
}

// DeadLetter is one kind of dead letter seen during a run: where, what put it there and why.
type DeadLetter struct {
	Queue     string       `json:"queue"`
	Kind      redrive.Kind `json:"kind"`
	Reason    string       `json:"reason"`              // normalized: ids replaced by …
	Count     int          `json:"count"`               // messages
	Moved     int          `json:"moved"`               // of which a redrive moved back
	LastError string       `json:"lastError,omitempty"` // why one that stayed could not be moved
}

var (
	orderIDs = regexp.MustCompile(`ORD-[0-9A-Za-z-]+`)
	uuids    = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	numbers  = regexp.MustCompile(`\b\d{6,}\b`) // sequence numbers, timestamps
)

// Normalize makes reasons that differ only by ids alike, and short enough for a table.
func Normalize(reason string) string {
	r := orderIDs.ReplaceAllString(reason, "ORD-…")
	r = uuids.ReplaceAllString(r, "…")
	r = numbers.ReplaceAllString(r, "…")
	r = strings.Join(strings.Fields(r), " ")
	if len(r) > 200 {
		r = r[:200] + "…"
	}
	return r
}

// ExplainedCheck checks that every dead letter says why it failed. A message SQS moved after
// maxReceiveCount carries no reason (the consumer parks a message with its last error on its
// last attempt, and one whose last attempt never answered on the receive after it,
// record.LastReceive, so only a failure of that last receive too leaves none): it is explained
// only if faults that end an invocation (a crash, a timeout, an error, a delay past the deadline;
// not a delay within it) struck its consumer during the run, since such a fault is exactly such a
// failure. Anywhere else it is a violation: a failure nobody can account for.
func ExplainedCheck(letters []DeadLetter, fired map[string]map[string]int) load.Check {
	c := load.Check{Name: "every dead letter explained", Rule: "each dead-lettered message carries the reason it failed; one SQS moved after maxReceiveCount " +
		"without a reason came from a consumer that faults struck outside its handler during the run"}
	for _, d := range letters {
		switch {
		case d.Kind != redrive.Exhausted && strings.TrimSpace(d.Reason) != "":
		case d.Kind == redrive.Exhausted && consumers[d.Queue] != "" && abnormal(fired[consumers[d.Queue]]) > 0:
			c.Notes = append(c.Notes, fmt.Sprintf("%s: %d moved by SQS without a reason: %s had %d faults injected that end an invocation, outside its handler's reach",
				d.Queue, d.Count, consumers[d.Queue], abnormal(fired[consumers[d.Queue]])))
		case d.Kind == redrive.Exhausted:
			c.Violations = append(c.Violations, fmt.Sprintf("%s: %d messages moved by SQS after maxReceiveCount without a reason, and no fault struck %s",
				d.Queue, d.Count, cmp.Or(consumers[d.Queue], "its consumer")))
		default:
			c.Violations = append(c.Violations, fmt.Sprintf("%s: %d %s messages without a reason", d.Queue, d.Count, d.Kind))
		}
	}
	return c
}

// FiredCheck checks that the faults armed actually fired.
func FiredCheck(armed map[string]string, fired map[string]map[string]int, countErr error) load.Check {
	c := load.Check{Name: "faults injected", Rule: "the functions logged injected faults (\"fault injected\") during the run, at least one that ended an invocation: a run where none did tested nothing of redelivery"}
	if countErr != nil {
		c.Violations = append(c.Violations, "could not count them: "+countErr.Error())
		return c
	}
	n, ending := 0, 0
	for fn := range armed {
		n += total(fired[fn])
		ending += abnormal(fired[fn])
		if total(fired[fn]) == 0 {
			c.Notes = append(c.Notes, fn+": armed, no fault fired (not invoked often enough, or never)")
		}
	}
	sort.Strings(c.Notes)
	switch {
	case n == 0:
		c.Violations = append(c.Violations, fmt.Sprintf("no fault fired in any of the %d functions armed", len(armed)))
	case ending == 0:
		// Delays within the deadline end no invocation: nothing about redelivery was tested.
		c.Violations = append(c.Violations, fmt.Sprintf("only delays fired (%d): no fault ended an invocation (an error, a timeout, a crash after a write)", n))
	}
	return c
}

// abnormal counts the faults that end an invocation abnormally: all but a delay within the
// invocation's deadline, which only slows it (its handler still parks what fails, with a reason).
func abnormal(kinds map[string]int) int {
	return total(kinds) - kinds[toolkit.FaultKindAddDelay]
}

func total(kinds map[string]int) int {
	n := 0
	for _, k := range kinds {
		n += k
	}
	return n
}
