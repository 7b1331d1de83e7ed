//go:build unix

package audit

import (
	"syscall"
	"time"
)

// cpuNow is the CPU time of the process so far.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
