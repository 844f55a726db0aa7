//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// cpuTime is the user+system CPU time of this process so far, so a report can say
// what the load generator itself cost (the server, when separate, is not in it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
