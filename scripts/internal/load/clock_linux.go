package load

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// maxPID is the largest pid Linux gives (PID_MAX_LIMIT less one): a clock id holds pids that fit.
const maxPID = 1<<22 - 1

// ProcessCPU is process pid's CPU clock on Linux: clock_gettime of the clock id the kernel derives
// from a pid (clock_getcpuclockid(3): CPUCLOCK_SCHED of the whole process, every thread it has
// had), readable for any process. It fails once the process is gone (reaped).
func ProcessCPU(pid int) (time.Duration, error) {
	if pid <= 0 || pid > maxPID {
		return 0, fmt.Errorf("pid %d: out of range", pid)
	}
	const cpuClockSched, perProcess = 2, 0            // include/linux/posix-timers.h: MAKE_PROCESS_CPUCLOCK
	id := int32(^pid)<<3 | perProcess | cpuClockSched // a clockid_t, 32 bits
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(id), uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, errno
	}
	return time.Duration(ts.Nano()), nil
}
