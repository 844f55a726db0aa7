package bluehelm

import (
	"math"
	"time"
)

// RollupResolution is the bucket length of a stored sensor roll-up.
type RollupResolution string

const (
	// RollupMinute buckets are kept for weeks: a dashboard's last days.
	RollupMinute RollupResolution = "minute"
	// RollupHour buckets are kept for years: trends and consumption history.
	RollupHour RollupResolution = "hour"
)

// Duration returns the bucket length (0 for an unknown resolution).
func (r RollupResolution) Duration() time.Duration {
	switch r {
	case RollupMinute:
		return time.Minute
	case RollupHour:
		return time.Hour
	}
	return 0
}

func (r RollupResolution) Valid() bool { return r.Duration() != 0 }

// ResolutionOf returns the resolution of a bucket length, or "" for any other.
func ResolutionOf(d time.Duration) RollupResolution {
	switch d {
	case time.Minute:
		return RollupMinute
	case time.Hour:
		return RollupHour
	}
	return ""
}

// SensorRollup is the stored aggregate of one sensor's readings over the
// bucket [Start, Start+Resolution). It is stored whole when its bucket closes,
// so writing it again replaces it rather than adding to it: a retried write
// must not count readings twice.
type SensorRollup struct {
	SensorID   int64            `json:"sensor_id"`
	Resolution RollupResolution `json:"resolution"`
	Start      time.Time        `json:"start"`
	Count      int              `json:"count"`
	Min        float64          `json:"min"`
	Max        float64          `json:"max"`
	Sum        float64          `json:"sum"`
	// Last is the value of the bucket's latest reading by reading time.
	Last     float64   `json:"last"`
	LastTime time.Time `json:"last_time"`
}

// Mean returns the mean of the bucket's readings (NaN when empty).
func (r SensorRollup) Mean() float64 {
	if r.Count == 0 {
		return math.NaN()
	}
	return r.Sum / float64(r.Count)
}

// Validate checks a roll-up before it is stored.
func (r *SensorRollup) Validate() error {
	if r.SensorID <= 0 {
		return Invalid("sensor_id", "is required")
	}
	d := r.Resolution.Duration()
	if d == 0 {
		return Invalid("resolution", "unknown resolution %q (want minute or hour)", r.Resolution)
	}
	if r.Start.IsZero() || !r.Start.Truncate(d).Equal(r.Start) {
		return Invalid("start", "must be the start of a %s", r.Resolution)
	}
	if r.Count <= 0 {
		return Invalid("count", "an empty bucket is not stored")
	}
	for _, v := range []float64{r.Min, r.Max, r.Sum, r.Last} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Invalid("value", "is not a number")
		}
	}
	if r.Min > r.Max {
		return Invalid("min", "is above max")
	}
	return nil
}
