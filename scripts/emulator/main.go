// Command emulator starts, checks and stops the local AWS emulator the project deploys to.
//
//	go run ./scripts/emulator up            # MiniStack on 127.0.0.1:4566 (installed into .venv on first use)
//	go run ./scripts/emulator down          # stop the MiniStack this command started
//	go run ./scripts/emulator status        # exit 0 when an emulator answers on the endpoint
//	go run ./scripts/emulator run -- CMD... # up, run CMD, then down again if this run started it
//	go run ./scripts/emulator env           # the variables a client needs to trust an https endpoint
//
// The endpoint is ORDERFLOW_ENDPOINT (default http://127.0.0.1:4566). MiniStack listens on a free
// loopback port; a proxy (this command, "proxy") serves the endpoint in front of it and enforces the
// HTTP API route throttles MiniStack stores but does not enforce (throttle.go).
// If an emulator already answers on the endpoint (a MiniStack started earlier, or LocalStack started
// with Docker), up uses it and run leaves it running; if the port is taken by anything else (an
// emulator started over the other scheme), up refuses and says so. EMULATOR=localstack makes up refuse to start
// MiniStack and explain how to start LocalStack instead.
//
// AUTH=true turns on MiniStack's IAM enforcement: every call a function makes is checked against its
// execution role, and the CDK CLI's calls against the bootstrap roles. Enforcement needs TLS, because
// the CDK bootstrap bucket and the stack's queues and topics deny requests without it
// (aws:SecureTransport), so it needs an https endpoint (e.g. https://localhost:4566). With an https
// endpoint, up makes a self-signed certificate for localhost, *.execute-api.localhost, 127.0.0.1 and
// ::1 under .emulator/tls (once), and the proxy terminates TLS and tells MiniStack the request came over TLS
// (X-Forwarded-Proto: https, which MiniStack reads as aws:SecureTransport). MiniStack's own USE_SSL
// is not used: under it, MiniStack 1.5.33's HTTP API JWT authorizer fetches the Cognito keys over
// plain http from its own https port, and refuses every token.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	venvDir      = ".venv"
	stateDir     = ".emulator"
	tlsDir       = ".emulator/tls"
	requirements = "scripts/emulator/requirements.txt"
	constraints  = "scripts/python-constraints.txt" // every package's version, dependencies included
)

type config struct {
	endpoint string // e.g. http://127.0.0.1:4566 or https://localhost:4566
	port     string
	kind     string // ministack | localstack
	tls      bool   // https endpoint: a TLS proxy in front of MiniStack
	auth     bool   // AUTH=true: MiniStack enforces IAM
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		proxy(os.Args[2:]) // started by up, in MiniStack's process group
		return
	}
	cfg := config{endpoint: "http://127.0.0.1:4566", kind: "ministack"}
	if v := os.Getenv("ORDERFLOW_ENDPOINT"); v != "" {
		cfg.endpoint = strings.TrimSuffix(v, "/")
	}
	if v := os.Getenv("EMULATOR"); v != "" {
		cfg.kind = v
	}
	u, err := url.Parse(cfg.endpoint)
	if err != nil || u.Port() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		fmt.Fprintf(os.Stderr, "emulator: ORDERFLOW_ENDPOINT=%q: want http://host:port or https://host:port\n", cfg.endpoint)
		os.Exit(2)
	}
	cfg.port = u.Port()
	cfg.tls = u.Scheme == "https"
	cfg.auth = os.Getenv("AUTH") == "true" // as the Makefile reads it (make's filter is case-sensitive)
	if cfg.auth && !cfg.tls {
		fmt.Fprintf(os.Stderr, "emulator: AUTH=true needs an https endpoint (ORDERFLOW_ENDPOINT=https://localhost:%s): "+
			"the CDK bootstrap bucket and the stack's queues and topics deny requests without TLS (aws:SecureTransport)\n", cfg.port)
		os.Exit(2)
	}
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch os.Args[1] {
	case "up":
		_, err = up(ctx, cfg)
	case "down":
		err = down(cfg)
	case "status":
		if !healthy(cfg, cfg.endpoint) {
			err = fmt.Errorf("no emulator answers on %s", cfg.endpoint)
		}
	case "run":
		err = run(ctx, cfg, os.Args[2:])
	case "env":
		if cfg.tls {
			var env []string
			if env, err = trustEnv(); err == nil {
				fmt.Println(strings.Join(env, "\n"))
			}
		}
	default:
		usage()
	}
	if err != nil {
		var exit commandExit
		if errors.As(err, &exit) {
			os.Exit(exit.code) // the command has said why
		}
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

// commandExit is the exit status of the command run ran: passed on as this command's own, without
// a message (the command has printed its own). Any other failure, a child process's (python3, pip)
// included, is printed with what this command was doing.
type commandExit struct{ code int }

func (e commandExit) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage() {
	fmt.Fprintln(os.Stderr, "usage: emulator up | down | status | env | run -- CMD [ARGS...]")
	os.Exit(2)
}

// up makes sure an emulator answers on the endpoint; started reports whether this call started it.
// What it starts and then cannot bring up (it exits, it is not healthy within 60 s, ctx ends:
// Ctrl-C) it stops again, pid file included.
func up(ctx context.Context, cfg config) (started bool, err error) {
	if cfg.tls {
		if _, err := ensureCertificate(); err != nil {
			return false, err
		}
	}
	if healthy(cfg, cfg.endpoint) {
		fmt.Printf("emulator: already running on %s\n", cfg.endpoint)
		return false, nil
	}
	if cfg.kind == "localstack" && cfg.tls {
		return false, fmt.Errorf("nothing answers on %s with the certificate this project makes: an https endpoint (AUTH=true, "+
			"which `make test` sets) is MiniStack behind this project's TLS proxy. With LocalStack, run the end-to-end "+
			"tests over http: EMULATOR=localstack make test-e2e", cfg.endpoint)
	}
	if cfg.kind == "localstack" {
		return false, fmt.Errorf("nothing answers on %s: start LocalStack first (it needs Docker and, since March 2026, "+
			"a token): docker run -d -p 4566:4566 -e LOCALSTACK_AUTH_TOKEN -v /var/run/docker.sock:/var/run/docker.sock localstack/localstack", cfg.endpoint)
	}
	if runtime.GOOS != "linux" {
		// MiniStack runs a Go function's bootstrap as a process of its own host, and the functions
		// are built for Linux (infra/function.go): on another OS every invoke would fail.
		return false, fmt.Errorf("MiniStack runs the functions' Linux binaries as its own subprocesses, so it needs a Linux host "+
			"(this is %s): run LocalStack (Docker) and EMULATOR=localstack instead", runtime.GOOS)
	}
	if !portFree(cfg.port) {
		// Starting anyway would leave a MiniStack whose proxy cannot listen, and its pid file in
		// place of the one of what holds the port, which `make down` could then not stop.
		return false, fmt.Errorf("port %s is taken, but no emulator answers on %s: one started in the other mode? "+
			"(`make demo` runs one over http without AUTH; `make test`, one over https with AUTH=true.) "+
			"Stop it (`make down`, same port) or choose another port (ENDPOINT=…)", cfg.port, cfg.endpoint)
	}
	if err := install(); err != nil {
		return false, err
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return false, err
	}
	logPath := filepath.Join(stateDir, "ministack-"+cfg.port+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return false, err
	}
	defer logFile.Close()

	// MiniStack listens on a free loopback port; the proxy (throttle.go, tls.go) faces clients on the
	// endpoint's port.
	gatewayPort, err := freePort()
	if err != nil {
		return false, err
	}
	local := "http://127.0.0.1:" + gatewayPort
	env := []string{
		// Functions inherit this, so their SDK calls reach the emulator rather than AWS: through
		// the proxy, so that over TLS they too count as aws:SecureTransport.
		"AWS_ENDPOINT_URL=" + cfg.endpoint,
		"MINISTACK_REGION=us-east-1",
		// No IoT here: otherwise every MiniStack binds 0.0.0.0:8883 (MQTT over mTLS), and a second one
		// (another port, another checkout) finds it taken.
		"IOT_MTLS_ENABLED=0",
		"BIND_HOST=127.0.0.1", // only the proxy faces clients
		"GATEWAY_PORT=" + gatewayPort,
		// The emulator's own credentials, whatever the shell holds: MiniStack hands its credentials
		// to every function it runs, and real ones have no business in local processes.
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
	}
	if cfg.tls {
		trust, err := trustEnv()
		if err != nil {
			return false, err
		}
		// Functions are subprocesses of MiniStack and inherit its environment: they trust the
		// certificate through these (a Go function otherwise fails with "x509: certificate
		// signed by unknown authority"). Set, not defaulted: CI machines often point them at
		// the system bundle already.
		env = append(env, trust...)
	}
	if cfg.auth {
		env = append(env, "AUTH=true")
	}
	cmd := exec.Command(filepath.Join(venvDir, "bin", "python"), "-m", "ministack")
	cmd.Env = append(withoutCredentials(os.Environ()), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // outlives this command; down stops the group
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start MiniStack: %w", err)
	}
	pid := cmd.Process.Pid
	abandon := func(err error) (bool, error) { // stop what this call started (a hung one too)
		stopGroup(pid)
		_ = os.Remove(cfg.pidFile())
		return false, err
	}
	if err := os.WriteFile(cfg.pidFile(), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return abandon(err)
	}
	exited := make(chan error, 2)
	go func() { exited <- cmd.Wait() }()
	self, err := os.Executable()
	if err != nil {
		return abandon(err)
	}
	proxyArgs := []string{"proxy", "-listen", "127.0.0.1:" + cfg.port, "-backend", local}
	if cfg.tls {
		proxyArgs = append(proxyArgs, "-cert", filepath.Join(tlsDir, "server.crt"), "-key", filepath.Join(tlsDir, "server.key"))
	}
	p := exec.Command(self, proxyArgs...)
	p.Stdout, p.Stderr = logFile, logFile
	// In MiniStack's process group: down stops both with one signal.
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pid}
	if err := p.Start(); err != nil {
		return abandon(fmt.Errorf("start the proxy: %w", err))
	}
	go func() { exited <- p.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !healthy(cfg, cfg.endpoint) {
		select {
		case err := <-exited:
			return abandon(fmt.Errorf("MiniStack or its proxy exited during start-up (%v); see %s", err, logPath))
		case <-ctx.Done():
			return abandon(fmt.Errorf("interrupted while MiniStack was starting: stopped it (%w)", ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return abandon(fmt.Errorf("MiniStack did not become healthy within 60s; see %s", logPath))
		}
	}
	mode := fmt.Sprintf(", proxy in front of 127.0.0.1:%s", gatewayPort)
	if cfg.tls {
		mode = fmt.Sprintf(", TLS proxy in front of 127.0.0.1:%s", gatewayPort)
	}
	if cfg.auth {
		mode += ", IAM enforced"
	}
	fmt.Printf("emulator: MiniStack running on %s (pid %d%s, log %s)\n", cfg.endpoint, pid, mode, logPath)
	return true, nil
}

// run brings the emulator up, runs args, and stops the emulator again if it started it (also when
// ctx ends: Ctrl-C, during start-up or while args run).
func run(ctx context.Context, cfg config, args []string) error {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		usage()
	}
	started, err := up(ctx, cfg)
	if err != nil {
		return err
	}
	if started {
		defer func() { _ = down(cfg) }()
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = os.Environ()
	if cfg.tls { // the command's clients (CDK CLI, SDK, net/http) trust the certificate
		trust, err := trustEnv()
		if err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, trust...)
	}
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return commandExit{exit.ExitCode()}
	}
	return err
}

func healthy(cfg config, endpoint string) bool {
	client := http.Client{Timeout: 2 * time.Second}
	if cfg.tls {
		pool := x509.NewCertPool()
		if pemBytes, err := os.ReadFile(filepath.Join(tlsDir, "server.crt")); err == nil {
			pool.AppendCertsFromPEM(pemBytes)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	for _, path := range []string{"/_ministack/health", "/_localstack/health"} {
		resp, err := client.Get(endpoint + path)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true
		}
	}
	return false
}

func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}
