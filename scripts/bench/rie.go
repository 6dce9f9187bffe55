package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Runtime Interface Emulator, pinned: the module version `go install ...@latest` resolved to
// when this tool was written. Change it here, and rerun the tool, to move.
const (
	riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// installRIE returns the pinned aws-lambda-rie, installing it with `go install` into the
// user's cache directory the first time (not into the repository, not into GOPATH/bin).
func installRIE(ctx context.Context, logf func(string, ...any)) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "orderflow-bench", "aws-lambda-rie@"+rieVersion)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("installing %s@%s into %s", riePackage, rieVersion, dir)
	cmd := exec.CommandContext(ctx, "go", "install", riePackage+"@"+rieVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOOS=", "GOARCH=", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w", riePackage, rieVersion, err)
	}
	return bin, nil
}

// moduleVersion reads the version of module that bin was built from (`go version -m`).
func moduleVersion(ctx context.Context, bin, module string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "version", "-m", bin).Output()
	if err != nil {
		return "", fmt.Errorf("go version -m %s: %w", bin, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == module {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("go version -m %s: no module %s", bin, module)
}

// buildFunction builds pkg into dir/bootstrap exactly as infra/function.go's goBundler does.
func buildFunction(ctx context.Context, root, pkg, goarch, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (GOARCH=%s): %w\n%s", pkg, goarch, err, b)
	}
	return out, nil
}

// report is one REPORT line of the RIE.
type report struct {
	RequestID  string
	InitMs     float64 // "Init Duration": only on the first invoke
	HasInit    bool
	DurationMs float64
}

var (
	reportLine = regexp.MustCompile(`REPORT RequestId: (\S+)\s+(?:Init Duration: ([0-9.]+) ms\s+)?Duration: ([0-9.]+) ms`)
	// The RIE's own log line at the end of init: from the bootstrap's start to its first
	// request for an event (the runtime's /next), which is what a cold start's init is.
	initReportLine = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
)

// parseRIE reads the RIE's output (its stdout and stderr, and the function's logs between
// them): the REPORT lines in order, and the init durations its INIT REPORT lines give.
func parseRIE(r io.Reader) ([]report, []float64, error) {
	var reports []report
	var inits []float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := reportLine.FindStringSubmatch(line); m != nil {
			rep := report{RequestID: m[1]}
			var err error
			if m[2] != "" {
				rep.HasInit = true
				if rep.InitMs, err = strconv.ParseFloat(m[2], 64); err != nil {
					return nil, nil, fmt.Errorf("%q: %w", line, err)
				}
			}
			if rep.DurationMs, err = strconv.ParseFloat(m[3], 64); err != nil {
				return nil, nil, fmt.Errorf("%q: %w", line, err)
			}
			reports = append(reports, rep)
			continue
		}
		if m := initReportLine.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("%q: %w", line, err)
			}
			inits = append(inits, v)
		}
	}
	return reports, inits, sc.Err()
}

// coldRun is one cold start of a function and the warm invokes after it.
type coldRun struct {
	InitMs       float64   // the RIE's INIT REPORT: bootstrap start to its first /next
	ReportInitMs float64   // REPORT's Init Duration (see the README: the RIE starts init asynchronously)
	FirstMs      float64   // REPORT Duration of the cold invoke
	ColdWallMs   float64   // the cold request as its client saw it: process start, init and invoke
	WarmMs       []float64 // REPORT Duration of each warm invoke
}

// target is one function to run under the RIE.
type target struct {
	Name      string
	Bootstrap string
	Env       []string
	Payload   payload
}

// coldStart starts a fresh RIE with t's bootstrap, invokes it once (cold) and warm more
// times, checks every answer against the payload's expectation, stops the RIE and reads its
// REPORT lines.
func coldStart(ctx context.Context, rieBin string, t target, warm int) (coldRun, error) {
	riePort, err := freePort()
	if err != nil {
		return coldRun{}, err
	}
	apiPort, err := freePort()
	if err != nil {
		return coldRun{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(riePort)
	var out lockedBuffer
	cmd := exec.Command(rieBin, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort), t.Bootstrap)
	cmd.Dir = filepath.Dir(t.Bootstrap)
	cmd.Env = t.Env
	cmd.Stdout, cmd.Stderr = &out, &out
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return coldRun{}, fmt.Errorf("start %s: %w", rieBin, err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return stopProcessGroup(cmd, 5*time.Second)
	}
	defer func() { _ = stop() }()
	if err := waitListening(ctx, addr, 10*time.Second); err != nil {
		return coldRun{}, fmt.Errorf("%s: %w\n%s", t.Name, err, tail(out.String(), 20))
	}

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	var run coldRun
	for i := 0; i <= warm; i++ {
		start := time.Now()
		answer, err := invoke(ctx, client, url, t.Payload.Event)
		if err != nil {
			return coldRun{}, fmt.Errorf("%s: invoke %d: %w\n%s", t.Name, i+1, err, tail(out.String(), 20))
		}
		if i == 0 {
			run.ColdWallMs = float64(time.Since(start).Microseconds()) / 1000
		}
		if err := t.Payload.Expect(answer); err != nil {
			return coldRun{}, fmt.Errorf("%s: invoke %d took another path than %q: %w", t.Name, i+1, t.Payload.Path, err)
		}
	}
	if err := stop(); err != nil {
		return coldRun{}, fmt.Errorf("%s: stop the RIE: %w", t.Name, err)
	}
	reports, inits, err := parseRIE(strings.NewReader(out.String()))
	if err != nil {
		return coldRun{}, fmt.Errorf("%s: %w", t.Name, err)
	}
	if len(reports) != warm+1 || !reports[0].HasInit || len(inits) != 1 {
		return coldRun{}, fmt.Errorf("%s: %d REPORT lines (the first with Init Duration: %v) and %d INIT REPORT lines, want %d and 1\n%s",
			t.Name, len(reports), len(reports) > 0 && reports[0].HasInit, len(inits), warm+1, tail(out.String(), 20))
	}
	run.InitMs, run.ReportInitMs, run.FirstMs = inits[0], reports[0].InitMs, reports[0].DurationMs
	for _, r := range reports[1:] {
		run.WarmMs = append(run.WarmMs, r.DurationMs)
	}
	return run, nil
}

func invoke(ctx context.Context, client *http.Client, url string, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("RIE answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// freePort is a loopback port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening polls addr until it accepts a connection, ctx ends or timeout passes.
func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the RIE did not listen on %s within %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockedBuffer collects the RIE's output (written from its stdout and stderr).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the last n lines of s, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errNotLinux: the RIE runs a bootstrap on Linux only.
var errNotLinux = errors.New("the Lambda RIE runs functions on Linux only: run with -rie=false elsewhere")
