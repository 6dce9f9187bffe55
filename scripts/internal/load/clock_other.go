//go:build !linux

package load

import (
	"errors"
	"time"
)

// ProcessCPU is a process's CPU clock: Linux only, as the /proc the measurement reads is.
func ProcessCPU(int) (time.Duration, error) { return 0, errors.ErrUnsupported }
