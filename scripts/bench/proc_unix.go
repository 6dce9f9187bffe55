//go:build unix

package main

import (
	"errors"
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup starts cmd in a process group of its own, so that stopping it also stops the
// bootstrap it runs.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup asks cmd's process group (the RIE and the function it started) to end,
// waits up to grace, then kills the group. An exit caused by the signal is not an error.
func stopProcessGroup(cmd *exec.Cmd, grace time.Duration) error {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-done
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // whatever the RIE left behind
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil
	}
	return err
}
