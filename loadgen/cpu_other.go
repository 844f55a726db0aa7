//go:build !unix

package loadgen

import "time"

// cpuTime is not measured on this platform; reports show 0.
func cpuTime() time.Duration { return 0 }
