// Package faults injects failures into a function, for chaos experiments on a deployed stack:
// the failures that at-least-once delivery, retries, idempotency keys and the saga's
// compensation exist for, on demand and at a rate, so that an experiment can show they work.
//
// It is compiled into every function (boot wires it) and inert unless the function's
// environment sets ORDERFLOW_FAULTS (Variable; Config has the format). Unset, boot hands the
// handler and the AWS config on untouched: not a wrapper that does nothing, no wrapper at all.
//
// The faults follow AWS Fault Injection Service's Lambda actions, and take their parameters
// under the same names, plus two FIS has no action for:
//
//   - invocationAddDelay (aws:lambda:invocation-add-delay): sleep before the handler, as a slow
//     start or a slow dependency would. A delay that does not fit before the invocation's
//     deadline becomes a timeout (FIS: "a high fidelity timeout event").
//   - invocationError (aws:lambda:invocation-error): fail the invocation. With preventExecution
//     the handler never runs: nothing happened, and the caller's retry, the alarms and, once
//     retries run out, the DLQ or the saga's Catch are what is exercised. Without it the handler
//     runs, its effects land, and its response is replaced by the error: the caller retries work
//     already done (a lost acknowledgement), which exercises idempotency.
//   - invocationTimeout: block until the invocation's deadline, so that Lambda ends it ("Task
//     timed out"): the platform's failure, not one the code returns.
//   - crashAfterWrite: end the process (os.Exit(CrashExitCode)) right after a successful write
//     call (WriteOperations), before the code that made the call sees its result. The write
//     happened; the invocation never answers; the next one starts cold. It is the crash between
//     two steps that every conditional write and every deterministic event id is there to
//     survive, placed at each step in turn without touching a handler: it is SDK middleware on
//     the aws.Config the function builds its clients from.
//
// Every fault injected writes one JSON log line, "fault injected", with its kind and the
// function, and the error an invocation fails with is an *InjectedError (Lambda reports its
// type, InjectedError, as the errorType): an operator or a trace can tell an injected failure
// from a real one. Which faults are armed is logged once, at cold start ("faults armed").
package faults

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// CrashExitCode is the exit status of a crashAfterWrite: distinctive, as nothing else in a
// function exits with it (boot's start-up failure is 1, a Go panic 2). Lambda reports
// "Runtime.ExitError" with "exit status 86".
const CrashExitCode = 86

// DefaultHold is how long a timed-out invocation keeps blocking past its deadline (Options.Hold).
const DefaultHold = 2 * time.Second

// InjectedError is the error an injected fault fails an invocation with.
type InjectedError struct {
	Kind     string // KindError, KindTimeout or KindAddDelay (a delay past the deadline)
	Function string
}

func (e *InjectedError) Error() string {
	return fmt.Sprintf("fault injected: %s (%s is set)", e.Kind, Variable)
}

// Options are an Injector's surroundings; tests replace them, FromEnv uses the defaults.
type Options struct {
	Function string       // named in every log line (AWS_LAMBDA_FUNCTION_NAME)
	Logger   *slog.Logger // default slog.Default()
	// Environment names the execution environment (AWS_LAMBDA_LOG_STREAM_NAME). With a seed, it
	// is mixed into the draws: a crash or a timeout starts a new environment, which would
	// otherwise draw the same sequence again from its start (the same write crashing after every
	// cold start, or every one). "" (a test): the seed alone.
	Environment string
	// Exit ends the process after a crashAfterWrite (default os.Exit). It does not return;
	// only a test's does, and then the call's result is handed back as if nothing happened.
	Exit func(code int)
	// Sleep waits d or until ctx is done, whichever comes first, and returns ctx.Err() in the
	// second case (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time // default time.Now
	// Hold is how long an invocation that reached its deadline keeps blocking before it returns
	// an error (default DefaultHold). On Lambda the platform has ended it by then; where nothing
	// enforces the deadline (a test, an emulator), the invocation still fails.
	Hold time.Duration
}

// Injector injects the faults of one Config. A nil *Injector injects nothing: Instrument and
// Wrap return what they are given.
type Injector struct {
	cfg    Config
	o      Options
	writes map[string]bool // the calls a crashAfterWrite may follow
	// Two streams of draws: the invocation faults draw a fixed number per invocation, the
	// crash one per write call; separate, a seed repeats each whatever the handler does.
	invocations, calls *dice
}

// FromEnv returns the Injector the environment configures (Variable), or nil when it configures
// none. A value that does not parse is an error naming the variable: boot fails the cold start.
// It logs once which faults are armed.
func FromEnv(lookup func(string) (string, bool), logger *slog.Logger) (*Injector, error) {
	raw, ok := lookup(Variable)
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	cfg, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Variable, err)
	}
	function, _ := lookup("AWS_LAMBDA_FUNCTION_NAME")
	environment, _ := lookup("AWS_LAMBDA_LOG_STREAM_NAME")
	i := New(cfg, Options{Function: function, Logger: logger, Environment: environment})
	attrs := []any{"function", function, "faults", cfg}
	if cfg.Seed != nil && environment != "" {
		attrs = append(attrs, "environment", environment) // with the seed, what its draws follow from
	}
	i.o.Logger.Warn("faults armed", attrs...)
	return i, nil
}

// New returns an Injector for cfg (a Parse result).
func New(cfg Config, o Options) *Injector {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Exit == nil {
		o.Exit = os.Exit
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Hold == 0 {
		o.Hold = DefaultHold
	}
	var seeds [4]uint64
	if cfg.Seed != nil {
		env := uint64(0)
		if o.Environment != "" {
			h := fnv.New64a()
			_, _ = h.Write([]byte(o.Environment))
			env = h.Sum64() &^ 3 // its two low bits are the streams'
		}
		seeds = [4]uint64{*cfg.Seed, env | 1, *cfg.Seed, env | 2}
	} else {
		var b [32]byte
		_, _ = crand.Read(b[:]) // never fails (crypto/rand ends the program if it cannot read)
		for k := range seeds {
			seeds[k] = binary.LittleEndian.Uint64(b[8*k:])
		}
	}
	i := &Injector{cfg: cfg, o: o, invocations: newDice(seeds[0], seeds[1]), calls: newDice(seeds[2], seeds[3])}
	if c := cfg.CrashAfterWrite; c != nil {
		ops := c.Operations
		if len(ops) == 0 {
			ops = WriteOperations()
		}
		i.writes = map[string]bool{}
		for _, op := range ops {
			i.writes[op] = true
		}
	}
	return i
}

// Wrap returns handler (a function lambda.Start accepts) with the invocation faults around it,
// or handler itself when none is armed. The wrapper sits at the Lambda boundary, outside the
// function's own middleware, where FIS's extension acts.
func (i *Injector) Wrap(handler any) any {
	if i == nil || (i.cfg.InvocationAddDelay == nil && i.cfg.InvocationError == nil && i.cfg.InvocationTimeout == nil) {
		return handler
	}
	return &wrapped{i: i, next: lambda.NewHandler(handler)}
}

// wrapped is a lambda.Handler: lambda.Start takes it as it is.
type wrapped struct {
	i    *Injector
	next lambda.Handler
}

// Invoke draws every armed fault, always in the same order whatever fires, then applies them:
// delay, timeout, error before the handler (preventExecution) or after it.
func (w *wrapped) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	i, c := w.i, w.i.cfg
	delay := c.InvocationAddDelay != nil && i.invocations.roll(c.InvocationAddDelay.InvocationPercentage)
	timeout := c.InvocationTimeout != nil && i.invocations.roll(c.InvocationTimeout.InvocationPercentage)
	fail := c.InvocationError != nil && i.invocations.roll(c.InvocationError.InvocationPercentage)

	if delay {
		if err := i.delay(ctx, time.Duration(c.InvocationAddDelay.StartupDelayMilliseconds)*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if timeout {
		i.log(ctx, KindTimeout, slog.Float64("invocationPercentage", c.InvocationTimeout.InvocationPercentage))
		return nil, i.expire(ctx, KindTimeout)
	}
	if fail && c.InvocationError.PreventExecution {
		i.log(ctx, KindError, slog.Bool("preventExecution", true))
		return nil, &InjectedError{Kind: KindError, Function: i.o.Function}
	}
	out, err := w.next.Invoke(ctx, payload)
	if err != nil {
		return nil, err // the handler's own failure: nothing to inject
	}
	if fail {
		i.log(ctx, KindError, slog.Bool("preventExecution", false))
		return nil, &InjectedError{Kind: KindError, Function: i.o.Function}
	}
	// The bytes may belong to aws-lambda-go's pooled response buffer, already handed back to
	// its pool: keep a copy of our own.
	return bytes.Clone(out), nil
}

// delay sleeps d before the handler; a delay that would end at or past the deadline waits for
// the deadline instead and ends as a timeout.
func (i *Injector) delay(ctx context.Context, d time.Duration) error {
	pastDeadline := false
	if deadline, ok := ctx.Deadline(); ok {
		pastDeadline = !i.o.Now().Add(d).Before(deadline)
	}
	i.log(ctx, KindAddDelay, slog.Int64("milliseconds", d.Milliseconds()), slog.Bool("pastDeadline", pastDeadline))
	if pastDeadline {
		return i.expire(ctx, KindAddDelay)
	}
	if err := i.o.Sleep(ctx, d); err != nil {
		return i.expire(ctx, KindAddDelay) // the invocation ended during the delay
	}
	return nil
}

// expire blocks until the invocation's context is done, then for Hold more, and fails it.
func (i *Injector) expire(ctx context.Context, kind string) error {
	<-ctx.Done()
	_ = i.o.Sleep(context.Background(), i.o.Hold)
	return &InjectedError{Kind: kind, Function: i.o.Function}
}

// log writes the one line every injected fault writes.
func (i *Injector) log(ctx context.Context, kind string, attrs ...slog.Attr) {
	i.o.Logger.LogAttrs(ctx, slog.LevelWarn, "fault injected",
		append([]slog.Attr{slog.String("kind", kind), slog.String("function", i.o.Function)}, attrs...)...)
}

// sleep is Options.Sleep's default.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// dice draws from one seeded stream; calls may come from several goroutines (a batch handled
// concurrently).
type dice struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newDice(s1, s2 uint64) *dice {
	return &dice{r: rand.New(rand.NewPCG(s1, s2))} //nolint:gosec // chaos draws, not secrets: repeatable on purpose
}

// roll reports true with probability percent/100.
func (d *dice) roll(percent float64) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Float64()*100 < percent
}
