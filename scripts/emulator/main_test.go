package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// up starts the proxy as this binary's "proxy" command: so does the test binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		proxy(os.Args[2:])
		return
	}
	os.Exit(m.Run())
}

// checkout is a working directory whose MiniStack is a stand-in: .venv/bin/python has pip, and as
// "python -m ministack" (named as the real one is) it writes its pid to ministack.pid and its
// environment to ministack.env,
// runs the shell commands in ministack.sh if there is one (a trap), and sleeps, never answering.
func checkout(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	for path, content := range map[string]string{
		venvDir + "/bin/python":             "#!/bin/sh\n[ \"$2\" = pip ] && exit 0\necho $$ > ministack.pid\nenv > ministack.env\n[ -f ministack.sh ] && . ./ministack.sh\nsleep 120\n",
		requirements:                        "ministack==0\n",
		constraints:                         "ministack==0\n",
		venvDir + "/requirements.installed": "ministack==0\nministack==0\n",
	} {
		if err := os.MkdirAll(path[:strings.LastIndex(path, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// group starts name's command line in a process group of its own, stopped when the test ends.
func group(t *testing.T, name string, args ...string) int {
	t.Helper()
	c := exec.Command(name, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) })
	return c.Process.Pid
}

func freeTestPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func gone(pid int) bool {
	for range 40 {
		if syscall.Kill(-pid, 0) != nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// `make demo` left an emulator over http on the port; `make test` wants one over https there.
// up refuses, and the running emulator's pid file and log stay as they were.
func TestUpRefusesAPortTakenByAnotherEmulator(t *testing.T) {
	checkout(t)
	l, err := net.Listen("tcp", "127.0.0.1:0") // what holds the port answers nothing up recognises
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	cfg := config{endpoint: "http://127.0.0.1:" + port, port: port, kind: "ministack"}
	if err := os.WriteFile(cfg.pidFile(), []byte("4242"), 0o644); err != nil {
		t.Fatal(err)
	}
	started, err := up(context.Background(), cfg)
	if started || err == nil || !strings.Contains(err.Error(), "port "+port+" is taken") {
		t.Fatalf("up = %v, %v; want a refusal naming the port", started, err)
	}
	if b, _ := os.ReadFile(cfg.pidFile()); string(b) != "4242" {
		t.Errorf("pid file now %q: the running emulator's was replaced", b)
	}
	if _, err := os.Stat(stateDir + "/ministack-" + port + ".log"); err == nil {
		t.Error("a log was written over the running emulator's")
	}
}

// Ctrl-C while MiniStack starts stops it, its proxy and its pid file with it.
func TestUpInterruptedStopsWhatItStarted(t *testing.T) {
	checkout(t)
	port := freeTestPort(t)
	cfg := config{endpoint: "http://127.0.0.1:" + port, port: port, kind: "ministack"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	started, err := up(ctx, cfg)
	if started || err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("up = %v, %v; want interrupted", started, err)
	}
	if _, err := os.Stat(cfg.pidFile()); err == nil {
		t.Error("the pid file of the MiniStack it stopped is left")
	}
	for range 40 {
		if portFree(port) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("port %s still taken: the proxy outlived the interrupted start", port)
}

// A MiniStack that does not stop on SIGTERM (hung while starting) is killed, not left running with
// its pid file gone; it is started without the shell's AWS credentials, which it would hand to
// every function it runs.
func TestUpStopsAHungStartAndKeepsCredentialsOut(t *testing.T) {
	checkout(t)
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 300 * time.Millisecond
	if err := os.WriteFile("ministack.sh", []byte("trap '' TERM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAREALKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
	t.Setenv("AWS_SESSION_TOKEN", "real-token")
	t.Setenv("AWS_PROFILE", "production")
	port := freeTestPort(t)
	cfg := config{endpoint: "http://127.0.0.1:" + port, port: port, kind: "ministack"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if started, err := up(ctx, cfg); started || err == nil {
		t.Fatalf("up = %v, %v; want interrupted", started, err)
	}
	pid, err := os.ReadFile("ministack.pid")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(pid))); n == 0 || !gone(n) {
		_ = syscall.Kill(-n, syscall.SIGKILL)
		t.Errorf("MiniStack (pid %s) ignored SIGTERM and was left running", pid)
	}
	env, err := os.ReadFile("ministack.env")
	if err != nil {
		t.Fatal(err)
	}
	for _, leaked := range []string{"AKIAREALKEY", "real-secret", "real-token", "production"} {
		if bytes.Contains(env, []byte(leaked)) {
			t.Errorf("MiniStack's environment holds the shell's %q", leaked)
		}
	}
	if !bytes.Contains(env, []byte("AWS_ACCESS_KEY_ID=test\n")) || !bytes.Contains(env, []byte("AWS_SECRET_ACCESS_KEY=test\n")) {
		t.Errorf("MiniStack's environment lacks the emulator's test credentials:\n%s", env)
	}
}

// LocalStack behind an https endpoint (make test's AUTH=true) is not what this project supports:
// up says so, rather than "start LocalStack" to someone whose LocalStack is running.
func TestUpExplainsLocalStackOverTLS(t *testing.T) {
	checkout(t)
	port := freeTestPort(t)
	cfg := config{endpoint: "https://localhost:" + port, port: port, kind: "localstack", tls: true, auth: true}
	_, err := up(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "EMULATOR=localstack make test-e2e") {
		t.Fatalf("up = %v; want the way to run LocalStack's tests", err)
	}
}

// down stops the MiniStack its pid file names, and nothing else: a pid file whose process ended
// (its pid now another program's) is removed without a signal.
func TestDownStopsOnlyMiniStack(t *testing.T) {
	checkout(t)
	cfg := config{endpoint: "http://127.0.0.1:4599", port: "4599", kind: "ministack"}

	downOn := func(pid int) { // down, with pid in the pid file
		t.Helper()
		if err := os.WriteFile(cfg.pidFile(), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := down(cfg); err != nil {
			t.Fatal(err)
		}
	}

	other := group(t, "sleep", "120") // a shell job that got the pid of an ended MiniStack
	downOn(other)
	if syscall.Kill(-other, 0) != nil {
		t.Error("down signalled a process group that is not MiniStack's")
	}
	if _, err := os.Stat(cfg.pidFile()); err == nil {
		t.Error("the stale pid file is left")
	}

	// MiniStack ended, its proxy did not: the proxy, in MiniStack's process group, is stopped.
	leader := exec.Command("sh", "-c", "sleep 120 & exit 0") // the leader exits, its child stays in the group
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leader.Run(); err != nil {
		t.Fatal(err)
	}
	orphans := leader.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-orphans, syscall.SIGKILL) })
	downOn(orphans)
	if !gone(orphans) {
		t.Error("down left the proxy of an ended MiniStack running")
	}

	ministack := group(t, venvDir+"/bin/python", "-m", "ministack")
	// Start returns once the exec has begun, before the kernel has set the new program's
	// arguments: /proc/<pid>/cmdline can still read empty (down would take it for another
	// program). The fake's first act, its pid file, says it runs as "python -m ministack".
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat("ministack.pid"); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatal("the fake MiniStack did not start")
		}
	}
	downOn(ministack)
	if !gone(ministack) {
		t.Error("down left MiniStack running")
	}
}

// The certificate is made once, and made again when it is about to end.
func TestCertificateRenewedBeforeItEnds(t *testing.T) {
	t.Chdir(t.TempDir())
	path, err := ensureCertificate()
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	if _, err := ensureCertificate(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
		t.Fatal("a certificate two years from its end was made again")
	}
	if !expiresBefore(path, time.Now().AddDate(2, 0, 1)) || expiresBefore(path, time.Now().AddDate(1, 11, 0)) {
		t.Fatal("expiresBefore does not read the certificate's end")
	}
	if err := os.WriteFile(path, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureCertificate(); err != nil {
		t.Fatal(err)
	}
	if renewed, _ := os.ReadFile(path); bytes.Equal(renewed, []byte("not a certificate")) || expiresBefore(path, time.Now().AddDate(1, 11, 0)) {
		t.Error("an unreadable certificate was kept")
	}
	// Another start's key beside this certificate (two starts at once): both are made again.
	keyPath := filepath.Join(tlsDir, "server.key")
	if err := os.WriteFile(keyPath, []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureCertificate(); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(path, keyPath); err != nil {
		t.Errorf("the certificate and key still do not pair: %v", err)
	}
}
