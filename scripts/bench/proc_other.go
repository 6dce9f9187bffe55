//go:build !unix

package main

import (
	"os/exec"
	"time"
)

func ownProcessGroup(*exec.Cmd) {}

func stopProcessGroup(cmd *exec.Cmd, _ time.Duration) error {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil
}
