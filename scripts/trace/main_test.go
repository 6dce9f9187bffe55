package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

const id = "ORD-536b014b-5c37-4cf5-97d5-11c44f0b0bb0"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want options
		err  string
	}{
		{name: "an order id", args: []string{id}, want: options{order: id, timeout: 3 * time.Minute, interval: 500 * time.Millisecond, settle: 6}},
		{name: "flags first", args: []string{"-html", "t.html", "-follow", id}, want: options{order: id, html: "t.html", follow: true, timeout: 3 * time.Minute, interval: 500 * time.Millisecond, settle: 6}},
		{name: "flags after the id", args: []string{id, "--html", "t.html", "--timeout", "10s"}, want: options{order: id, html: "t.html", timeout: 10 * time.Second, interval: 500 * time.Millisecond, settle: 6}},
		{name: "no id", args: nil, err: "want exactly one order id, got 0"},
		{name: "two ids", args: []string{id, id}, err: "want exactly one order id, got 2"},
		{name: "not an order id", args: []string{"12345"}, err: `"12345" is not an order id`},
		{name: "upper-case uuid", args: []string{strings.ToUpper(id)}, err: "is not an order id"},
		{name: "unknown flag", args: []string{"-colour", id}, err: "flag provided but not defined"},
		{name: "zero timeout", args: []string{"-follow", "-timeout", "0s", id}, err: "must be positive"},
		{name: "zero settle: -follow would stop at its first poll", args: []string{"-follow", "-settle", "0", id}, err: "must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parse(tc.args, &bytes.Buffer{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parse = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestRunRejectsBadArgumentsBeforeCallingAnything(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"ORD-nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("exit %d, want 2 (usage)", code)
	}
	if !strings.Contains(stderr.String(), "is not an order id") || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

// fakeCollector answers every poll with the same journey, or ErrUnknownOrder without one, and
// calls onPoll (to cancel the caller's context) after each.
type fakeCollector struct {
	j      *journey.Journey
	onPoll func()
}

func (f fakeCollector) Collect(context.Context, string) (journey.Journey, error) {
	if f.onPoll != nil {
		defer f.onPoll()
	}
	if f.j == nil {
		return journey.Journey{}, journey.ErrUnknownOrder
	}
	return *f.j, nil
}

// Ctrl-C on -follow is an interrupt, not the timeout giving up, and not an unknown order that
// -follow should be used for.
func TestFollowTellsAnInterruptFromTheTimeout(t *testing.T) {
	running := &journey.Journey{OrderID: id, Status: "RUNNING", Events: []journey.Event{{ID: "e1", Type: "OrderPlaced", Sequence: 1}},
		Hops: []journey.Hop{{Key: "a", Time: time.Now()}}}
	opt := options{order: id, follow: true, timeout: time.Hour, interval: time.Millisecond, settle: 1}
	for _, tc := range []struct {
		name      string
		j         *journey.Journey
		interrupt bool
		code      int
		says, not string
	}{
		{"interrupted while waiting for the order", nil, true, cli.Interrupted, "interrupted while waiting for " + id, "use -follow"},
		{"interrupted while following", running, true, cli.Interrupted, "interrupted: OrderPlaced after 1 events", "gave up"},
		{"timed out while waiting for the order", nil, false, 1, "-follow waited 50ms", "use -follow"},
		{"timed out while following", running, false, 1, "gave up after 50ms", "interrupted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := fakeCollector{j: tc.j}
			o := opt
			if tc.interrupt {
				c.onPoll = cancel
			} else {
				o.timeout = 50 * time.Millisecond
			}
			var stdout, stderr bytes.Buffer
			_, err := follow(ctx, c, o, &stdout, &stderr)
			code := report(ctx, err, o, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.says) || strings.Contains(stderr.String(), tc.not) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q, not %q", code, stderr.String(), tc.code, tc.says, tc.not)
			}
		})
	}
}

// A trace without -follow cut short prints what it read and does not pass for a whole one: Ctrl-C
// exits 130, its own time limit 1, each saying the journey printed may be partial.
func TestOnceCutShortSaysSo(t *testing.T) {
	j := &journey.Journey{OrderID: id, Status: "RUNNING", Events: []journey.Event{{ID: "e1", Type: "OrderPlaced", Sequence: 1}},
		Hops: []journey.Hop{{Key: "a", Time: time.Now()}}}
	for _, tc := range []struct {
		name      string
		interrupt bool
		code      int
		says      string
	}{
		{"interrupted", true, cli.Interrupted, "partial"},
		{"its own time limit", false, cli.Failed, "gave up reading after 10ms: the journey above is partial"},
		{"read in time", false, cli.OK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := fakeCollector{j: j}
			within := time.Minute
			switch {
			case tc.interrupt:
				c.onPoll = cancel
			case tc.code == cli.Failed:
				within = 10 * time.Millisecond
				c.onPoll = func() { time.Sleep(50 * time.Millisecond) }
			}
			var stdout, stderr bytes.Buffer
			_, err := onceIn(ctx, c, id, &stdout, within)
			code := report(ctx, err, options{order: id}, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.says) || (tc.says == "") != (stderr.Len() == 0) || stdout.Len() == 0 {
				t.Errorf("exit %d, stderr %q, %d bytes printed; want exit %d saying %q, the journey printed", code, stderr.String(), stdout.Len(), tc.code, tc.says)
			}
		})
	}
}

// polls answers each Collect with the next journey, then with the last one again.
type polls struct{ js []journey.Journey }

func (p *polls) Collect(context.Context, string) (journey.Journey, error) {
	j := p.js[0]
	if len(p.js) > 1 {
		p.js = p.js[1:]
	}
	return j, nil
}

// -follow prints a hop again (UPDATED) only when its line would show something new: a hop whose
// changes are all in fields the line does not print (where it came from, the arrow's words)
// would come out UPDATED and identical to its first line.
func TestFollowPrintsAgainOnlyWhatTheLineShows(t *testing.T) {
	ended := func(from, action string) journey.Journey {
		return journey.Journey{OrderID: id, Status: "SUCCEEDED", Events: []journey.Event{{ID: "e1", Type: "OrderShipped", Sequence: 1}},
			Hops: []journey.Hop{{Key: "a", Time: time.Now(), From: from, Service: journey.Lambda, Resource: "streamer", Action: action, What: "w"}}}
	}
	c := &polls{js: []journey.Journey{ended(journey.EventBridge, "→ streamer"), ended(journey.Kinesis, "invoke")}}
	opt := options{order: id, follow: true, timeout: time.Minute, interval: time.Millisecond, settle: 2}
	var stdout, stderr bytes.Buffer
	if _, err := follow(context.Background(), c, opt, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "streamer"); n != 1 || strings.Contains(stdout.String(), "UPDATED: w") {
		t.Errorf("the hop is printed %d times:\n%s\nwant once: its line did not change", n, stdout.String())
	}
}

// Ctrl-C while the stack is still being described is an interrupt too (exit 130), not a failed
// "describe stack" that points at the deployment.
func TestInterruptWhileReadingTheStack(t *testing.T) {
	for k, v := range map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": ""} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the stack answered
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{id}, &stdout, &stderr)
	if code != cli.Interrupted || !strings.Contains(stderr.String(), "interrupted while reading the stack") ||
		strings.Contains(stderr.String(), "describe stack") {
		t.Errorf("exit %d, stderr %q; want exit %d, interrupted while reading the stack", code, stderr.String(), cli.Interrupted)
	}
}

// make trace without ORDER= says how to call it, rather than the tool's "want exactly one order
// id, got 0", which does not name ORDER.
func TestMakeTraceWithoutOrderShowsItsUsage(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	// Under make test, the parent make's flags and jobserver reach this make through the
	// environment (a parent's -n would only print the recipe): it runs without them.
	t.Setenv("MAKEFLAGS", "n")
	cmd := exec.Command("make", "-s", "--no-print-directory", "-C", "../..", "trace", "ORDER=")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=")
	})
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(out), "usage: make trace ORDER=ORD-") || strings.Contains(string(out), "want exactly one") {
		t.Errorf("make trace ORDER= : %v, %q; want it to fail with its usage", err, out)
	}
}
