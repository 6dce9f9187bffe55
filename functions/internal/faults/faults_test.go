package faults

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/orderflow-dev/orderflow/functions/internal/fixture"
)

// logLines records the JSON lines a logger writes.
type logLines struct{ buf fixture.Buffer }

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(&l.buf, nil)) }

// lines returns the lines whose message is msg.
func (l *logLines) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range fixture.LogRecords(t, l.buf.String()) {
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// sleeper records what it is asked to wait, and waits for nothing.
type sleeper struct {
	mu    sync.Mutex
	asked []time.Duration
}

func (s *sleeper) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, d)
	return nil
}

func (s *sleeper) durations() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.asked...)
}

type echo struct{ N int }

// counting is a handler that echoes its input and counts its calls.
type counting struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (c *counting) handle(_ context.Context, in echo) (echo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return in, c.err
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// harness is an Injector over a counting handler, with a fake sleeper and a fixed clock.
type harness struct {
	inner   *counting
	invoke  func(ctx context.Context, n int) (echo, error)
	sleeper *sleeper
	logs    *logLines
	now     time.Time
}

func newHarness(t *testing.T, config string) *harness {
	t.Helper()
	cfg, err := Parse(config)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{inner: &counting{}, sleeper: &sleeper{}, logs: &logLines{}, now: time.Now()}
	i := New(cfg, Options{Function: "orderflow-payment", Logger: h.logs.logger(), Sleep: h.sleeper.sleep,
		Now: func() time.Time { return h.now }, Hold: 3 * time.Second,
		Exit: func(int) { t.Fatal("exit called by an invocation fault") }})
	wrapped, ok := i.Wrap(h.inner.handle).(lambda.Handler)
	if !ok {
		t.Fatalf("Wrap returned %T, want a lambda.Handler", i.Wrap(h.inner.handle))
	}
	h.invoke = func(ctx context.Context, n int) (echo, error) {
		out, err := wrapped.Invoke(ctx, []byte(`{"N":`+strconv.Itoa(n)+`}`))
		if err != nil {
			return echo{}, err
		}
		var e echo
		if err := json.Unmarshal(out, &e); err != nil {
			t.Fatalf("response %q: %v", out, err)
		}
		return e, nil
	}
	return h
}

// farDeadline is an invocation context whose deadline no test reaches.
func farDeadline(t *testing.T, now time.Time) context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Hour))
	t.Cleanup(cancel)
	return ctx
}

func injected(err error, kind string) bool {
	var ie *InjectedError
	return errors.As(err, &ie) && ie.Kind == kind && ie.Function == "orderflow-payment"
}

// within reports whether n is within 5 standard deviations of a binomial(trials, p) mean: the
// counts come from a fixed seed, so the check is exact for it and holds for any other seed.
func within(n, trials int, p float64) bool {
	mean := float64(trials) * p
	sd := math.Sqrt(mean * (1 - p))
	return math.Abs(float64(n)-mean) <= 5*sd
}

func TestInvocationErrorRate(t *testing.T) {
	const n = 10_000
	for _, prevent := range []bool{true, false} {
		t.Run(map[bool]string{true: "preventExecution", false: "after the handler ran"}[prevent], func(t *testing.T) {
			h := newHarness(t, `{"invocationError":{"invocationPercentage":20,"preventExecution":`+map[bool]string{true: "true", false: "false"}[prevent]+`},"seed":7}`)
			failed := 0
			for k := range n {
				out, err := h.invoke(farDeadline(t, h.now), k)
				switch {
				case err == nil && out.N == k:
				case injected(err, KindError):
					failed++
				default:
					t.Fatalf("invocation %d: %+v, %v", k, out, err)
				}
			}
			if !within(failed, n, 0.20) {
				t.Errorf("%d of %d invocations failed, want about 20%%", failed, n)
			}
			wantCalls := n
			if prevent {
				wantCalls = n - failed // a prevented invocation never reaches the handler
			}
			if got := h.inner.count(); got != wantCalls {
				t.Errorf("handler ran %d times, want %d", got, wantCalls)
			}
			lines := h.logs.lines(t, "fault injected")
			if len(lines) != failed {
				t.Fatalf("%d fault lines for %d injected errors", len(lines), failed)
			}
			if l := lines[0]; l["kind"] != KindError || l["function"] != "orderflow-payment" || l["preventExecution"] != prevent || l["level"] != "WARN" {
				t.Errorf("log line %v", l)
			}
			if len(h.sleeper.durations()) != 0 {
				t.Errorf("slept %v", h.sleeper.durations())
			}
		})
	}
}

// The handler's own failure is returned as it is, and nothing is logged as injected.
func TestHandlerErrorIsNotInjected(t *testing.T) {
	h := newHarness(t, `{"invocationError":{"invocationPercentage":100,"preventExecution":false}}`)
	h.inner.err = errors.New("table not found")
	_, err := h.invoke(farDeadline(t, h.now), 1)
	if err == nil || err.Error() != "table not found" {
		t.Errorf("error %v, want the handler's", err)
	}
	if lines := h.logs.lines(t, "fault injected"); len(lines) != 0 {
		t.Errorf("logged %v", lines)
	}
}

func TestAddDelay(t *testing.T) {
	const n = 2_000
	h := newHarness(t, `{"invocationAddDelay":{"invocationPercentage":50,"startupDelayMilliseconds":800},"seed":3}`)
	for k := range n {
		if out, err := h.invoke(farDeadline(t, h.now), k); err != nil || out.N != k {
			t.Fatalf("invocation %d: %+v, %v", k, out, err)
		}
	}
	slept := h.sleeper.durations()
	if !within(len(slept), n, 0.5) {
		t.Errorf("%d of %d invocations delayed, want about half", len(slept), n)
	}
	for _, d := range slept {
		if d != 800*time.Millisecond {
			t.Fatalf("slept %v, want 800ms", d)
		}
	}
	if h.inner.count() != n {
		t.Errorf("handler ran %d times, want every time (%d)", h.inner.count(), n)
	}
	lines := h.logs.lines(t, "fault injected")
	if len(lines) != len(slept) || lines[0]["kind"] != KindAddDelay || lines[0]["milliseconds"] != 800.0 || lines[0]["pastDeadline"] != false {
		t.Errorf("%d lines for %d delays, first %v", len(lines), len(slept), lines[0])
	}
}

// A delay that does not fit before the deadline waits for the deadline, not for the delay, and
// ends as a timeout; the handler never runs.
func TestAddDelayBoundedByDeadline(t *testing.T) {
	h := newHarness(t, `{"invocationAddDelay":{"invocationPercentage":100,"startupDelayMilliseconds":900000}}`)
	h.now = time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), h.now.Add(20*time.Millisecond))
	defer cancel()
	_, err := h.invoke(ctx, 1)
	if !injected(err, KindAddDelay) {
		t.Fatalf("error %v, want an injected %s", err, KindAddDelay)
	}
	if ctx.Err() == nil {
		t.Error("returned before the deadline")
	}
	if got := h.sleeper.durations(); !reflect.DeepEqual(got, []time.Duration{3 * time.Second}) {
		t.Errorf("asked to sleep %v, want only the hold past the deadline (3s), never the 15-minute delay", got)
	}
	if h.inner.count() != 0 {
		t.Error("the handler ran")
	}
	if lines := h.logs.lines(t, "fault injected"); len(lines) != 1 || lines[0]["pastDeadline"] != true {
		t.Errorf("log %v", lines)
	}
}

// A delay cut short because the invocation ended (its context done) fails it too.
func TestAddDelayInterrupted(t *testing.T) {
	inner := &counting{}
	var asked []time.Duration
	i := New(Config{InvocationAddDelay: &AddDelay{InvocationPercentage: 100, StartupDelayMilliseconds: 800}}, Options{
		Logger: (&logLines{}).logger(), Hold: time.Nanosecond,
		Sleep: func(ctx context.Context, d time.Duration) error { asked = append(asked, d); return ctx.Err() },
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the invocation ends during the delay
	_, err := i.Wrap(inner.handle).(lambda.Handler).Invoke(ctx, []byte(`{"N":1}`))
	var ie *InjectedError
	if !errors.As(err, &ie) || ie.Kind != KindAddDelay || inner.count() != 0 {
		t.Errorf("error %v, handler calls %d", err, inner.count())
	}
	if !reflect.DeepEqual(asked, []time.Duration{800 * time.Millisecond, time.Nanosecond}) {
		t.Errorf("asked to sleep %v, want the delay then the hold", asked)
	}
}

// A timeout blocks until the invocation's context is done, then holds on, then fails.
func TestTimeout(t *testing.T) {
	h := newHarness(t, `{"invocationTimeout":{"invocationPercentage":100}}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := h.invoke(ctx, 1); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("returned %v before its context was done", err)
	case <-time.After(50 * time.Millisecond): // still blocked, as it should be
	}
	cancel()
	select {
	case err := <-done:
		if !injected(err, KindTimeout) {
			t.Errorf("error %v, want an injected %s", err, KindTimeout)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still blocked after its context was done")
	}
	if h.inner.count() != 0 {
		t.Error("the handler ran")
	}
	if got := h.sleeper.durations(); !reflect.DeepEqual(got, []time.Duration{3 * time.Second}) {
		t.Errorf("slept %v, want the hold (3s)", got)
	}
	if lines := h.logs.lines(t, "fault injected"); len(lines) != 1 || lines[0]["kind"] != KindTimeout {
		t.Errorf("log %v", lines)
	}
}

func TestTimeoutRate(t *testing.T) {
	const n = 2_000
	h := newHarness(t, `{"invocationTimeout":{"invocationPercentage":5},"seed":11}`)
	timedOut := 0
	for k := range n {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the deadline has come: a timed-out invocation returns at once
		if _, err := h.invoke(ctx, k); err != nil {
			if !injected(err, KindTimeout) {
				t.Fatal(err)
			}
			timedOut++
		}
	}
	if !within(timedOut, n, 0.05) || h.inner.count() != n-timedOut {
		t.Errorf("%d of %d timed out (want about 5%%), handler ran %d times", timedOut, n, h.inner.count())
	}
}

// The same seed gives the same sequence of faults; another seed, another one.
func TestSeedRepeats(t *testing.T) {
	const all = `{"invocationAddDelay":{"invocationPercentage":30,"startupDelayMilliseconds":5},
		"invocationTimeout":{"invocationPercentage":10},"invocationError":{"invocationPercentage":30,"preventExecution":true},"seed":%d}`
	run := func(seed string) string {
		h := newHarness(t, strings.Replace(all, "%d", seed, 1))
		var b strings.Builder
		for k := range 300 {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := h.invoke(ctx, k)
			var ie *InjectedError
			switch {
			case errors.As(err, &ie):
				b.WriteString(map[string]string{KindError: "E", KindTimeout: "T", KindAddDelay: "A"}[ie.Kind])
			case err != nil:
				t.Fatal(err)
			default:
				b.WriteString(".")
			}
		}
		return b.String() + " " + strconv.Itoa(len(h.sleeper.durations()))
	}
	first, again, other := run("42"), run("42"), run("43")
	if first != again {
		t.Errorf("seed 42 twice:\n%s\n%s", first, again)
	}
	if first == other {
		t.Errorf("seeds 42 and 43 gave the same sequence %s", first)
	}
	if !strings.Contains(first, "E") || !strings.Contains(first, "T") || !strings.Contains(first, ".") {
		t.Errorf("sequence %s lacks a kind of outcome", first)
	}
}

// Wrap leaves the handler itself when no invocation fault is armed.
func TestWrapUntouched(t *testing.T) {
	handler := (&counting{}).handle
	same := func(got any) bool { return reflect.ValueOf(got).Pointer() == reflect.ValueOf(handler).Pointer() }
	var none *Injector
	if !same(none.Wrap(handler)) {
		t.Error("a nil Injector wrapped the handler")
	}
	crashOnly := New(Config{CrashAfterWrite: &CrashAfterWrite{CallPercentage: 10}}, Options{})
	if !same(crashOnly.Wrap(handler)) {
		t.Error("crashAfterWrite alone wrapped the handler")
	}
}

func TestFromEnv(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	logs := &logLines{}
	for _, unset := range []map[string]string{{}, {Variable: ""}, {Variable: "  "}} {
		if i, err := FromEnv(env(unset), logs.logger()); i != nil || err != nil {
			t.Errorf("%v: %v, %v; want nothing armed", unset, i, err)
		}
	}
	if lines := logs.lines(t, "faults armed"); len(lines) != 0 {
		t.Errorf("logged %v with nothing armed", lines)
	}
	_, err := FromEnv(env(map[string]string{Variable: `{"invocationTimeout":{"invocationPercentage":101}}`}), logs.logger())
	if err == nil || !strings.HasPrefix(err.Error(), Variable+": invocationTimeout.invocationPercentage 101") {
		t.Errorf("error %v, want one naming the variable and the key", err)
	}
	i, err := FromEnv(env(map[string]string{
		Variable:                   `{"crashAfterWrite":{"callPercentage":10,"operations":["SQS.SendMessage"]},"invocationAddDelay":{"invocationPercentage":50,"startupDelayMilliseconds":800},"seed":9}`,
		"AWS_LAMBDA_FUNCTION_NAME": "Orderflow-Payments",
	}), logs.logger())
	if err != nil || i == nil || i.cfg.CrashAfterWrite == nil || i.o.Function != "Orderflow-Payments" {
		t.Fatalf("%+v, %v", i, err)
	}
	lines := logs.lines(t, "faults armed")
	want := map[string]any{
		"crashAfterWrite":    map[string]any{"callPercentage": 10.0, "operations": []any{"SQS.SendMessage"}},
		"invocationAddDelay": map[string]any{"invocationPercentage": 50.0, "startupDelayMilliseconds": 800.0},
		"seed":               9.0,
	}
	if len(lines) != 1 || lines[0]["function"] != "Orderflow-Payments" || !reflect.DeepEqual(lines[0]["faults"], want) {
		t.Errorf("armed line %v, want faults %v", lines, want)
	}
	// On Lambda, the seed's draws follow from the execution environment too: the line names it.
	if _, err := FromEnv(env(map[string]string{Variable: `{"invocationTimeout":{"invocationPercentage":5},"seed":9}`,
		"AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/02/[$LATEST]abc"}), logs.logger()); err != nil {
		t.Fatal(err)
	}
	if lines := logs.lines(t, "faults armed"); len(lines) != 2 || lines[1]["environment"] != "2026/12/02/[$LATEST]abc" {
		t.Errorf("armed lines %v, want the second naming its environment", lines)
	}
}

// With a seed, each execution environment draws its own sequence: a new one (after a crash or a
// timeout) does not replay the draws of the one before from their start. The same environment
// and seed draw the same sequence.
func TestSeedPerEnvironment(t *testing.T) {
	seed := uint64(6)
	draws := func(env string) string {
		i := New(Config{Seed: &seed, InvocationError: &InvocationError{InvocationPercentage: 50}}, Options{Environment: env})
		var b strings.Builder
		for range 64 {
			b.WriteString(map[bool]string{true: "x", false: "."}[i.invocations.roll(50)])
		}
		return b.String()
	}
	first := draws("2026/12/02/[$LATEST]8f1c0e6b2a4d4f0c9e7b3a5d1c2e4f60")
	if again := draws("2026/12/02/[$LATEST]8f1c0e6b2a4d4f0c9e7b3a5d1c2e4f60"); again != first {
		t.Errorf("one environment, one seed: %s then %s", first, again)
	}
	if next := draws("2026/12/02/[$LATEST]0b9d7e5c3a1f4e2d8c6b4a2f0e1d3c5b"); next == first {
		t.Errorf("a new environment replays the draws of the one before: %s", next)
	}
}
