package main

// MiniStack's process: its install into the project's virtualenv, and the process group up starts
// and down stops.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// install creates the project-local virtualenv and installs the pinned MiniStack, once.
func install() error {
	python := filepath.Join(venvDir, "bin", "python")
	// A venv whose creation failed half-way (Debian without python3-venv leaves bin/python and no
	// pip) is made again, not used.
	if exec.Command(python, "-m", "pip", "--version").Run() != nil {
		fmt.Println("emulator: creating", venvDir)
		if err := sh("python3", "-m", "venv", "--clear", venvDir); err != nil {
			return fmt.Errorf("create virtualenv (is python3 with venv installed? on Debian: apt-get install python3-venv): %w", err)
		}
	}
	want, err := os.ReadFile(requirements)
	if err != nil {
		return err
	}
	pinned, err := os.ReadFile(constraints)
	if err != nil {
		return err
	}
	want = append(want, pinned...)
	stamp := filepath.Join(venvDir, "requirements.installed")
	if have, err := os.ReadFile(stamp); err == nil && string(have) == string(want) {
		return nil
	}
	fmt.Println("emulator: installing the packages of", requirements, "with the versions of", constraints)
	if err := sh(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements, "-c", constraints); err != nil {
		return fmt.Errorf("install MiniStack: %w", err)
	}
	return os.WriteFile(stamp, want, 0o644)
}

// portFree reports whether nothing listens on the loopback port.
func portFree(port string) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// isMiniStack reports whether the process group pid is still the one up started: its leader runs
// the ministack module, or, the leader gone, members of its group (the proxy) still run (Linux
// reuses no pid while a group bears it). Where /proc cannot tell (not Linux), a live leader is
// taken for MiniStack.
func isMiniStack(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return syscall.Kill(-pid, 0) == nil // MiniStack ended, its proxy may not have
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		_, noProc := os.Stat("/proc/self")
		return noProc != nil
	}
	return bytes.Contains(cmdline, []byte("ministack"))
}

// pidFile records the MiniStack this command started on the configured port.
func (c config) pidFile() string { return filepath.Join(stateDir, "ministack-"+c.port+".pid") }

// down stops the MiniStack that up started (and its TLS proxy, in the same process group).
func down(cfg config) error {
	pidFile := cfg.pidFile()
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("emulator: nothing to stop (no MiniStack started by this project)")
		return nil
	} else if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("%s: %w", pidFile, err)
	}
	if !isMiniStack(pid) {
		// It ended (a reboot, a crash), its group with it, and its pid may name another program
		// now: signal nothing.
		fmt.Printf("emulator: MiniStack (pid %d) no longer runs; removed its stale %s\n", pid, pidFile)
		return os.Remove(pidFile)
	}
	stopGroup(pid)
	fmt.Printf("emulator: stopped MiniStack (pid %d)\n", pid)
	return os.Remove(pidFile)
}

// stopGrace is how long a stopped MiniStack has to exit before it is killed.
var stopGrace = 10 * time.Second

// stopGroup stops the process group pid leads: SIGTERM, stopGrace to exit, then SIGKILL.
func stopGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for deadline := time.Now().Add(stopGrace); time.Now().Before(deadline) && syscall.Kill(-pid, 0) == nil; {
		time.Sleep(50 * time.Millisecond) // wait for the process group to exit
	}
	if syscall.Kill(-pid, 0) == nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// withoutCredentials is env without the AWS credentials and profile a shell may hold.
func withoutCredentials(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE":
			return true
		}
		return false
	})
}
