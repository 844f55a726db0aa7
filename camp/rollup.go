package camp

import (
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Roll-up resolutions: raw readings are kept for days, minute aggregates for
// weeks and hour aggregates for years, so a dashboard never scans raw readings.
const (
	Minute = time.Minute
	Hour   = time.Hour
)

// DefaultGrace is how long a bucket stays open after its end. Camp devices batch
// readings and radio links reorder them by seconds; half a minute covers that
// without holding every bucket open long.
const DefaultGrace = 30 * time.Second

// Aggregate is a roll-up of one sensor's readings over one bucket
// [Start, Start+Resolution).
type Aggregate struct {
	SensorID   int64         `json:"sensor_id"`
	Resolution time.Duration `json:"resolution"`
	Start      time.Time     `json:"start"`
	Count      int           `json:"count"`
	Min        float64       `json:"min"`
	Max        float64       `json:"max"`
	Sum        float64       `json:"sum"`
	// Last is the value of the latest reading by its time, not by arrival, so a
	// late reading does not overwrite a newer one.
	Last     float64   `json:"last"`
	LastTime time.Time `json:"last_time"`
}

// Mean returns the mean of the bucket's readings.
func (a Aggregate) Mean() float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return a.Sum / float64(a.Count)
}

func (a *Aggregate) add(t time.Time, v float64) {
	if a.Count == 0 || v < a.Min {
		a.Min = v
	}
	if a.Count == 0 || v > a.Max {
		a.Max = v
	}
	a.Count++
	a.Sum += v
	if a.Count == 1 || !t.Before(a.LastTime) {
		a.Last, a.LastTime = v, t
	}
}

// Rollups keeps minute and hour aggregates current, one reading at a time.
//
// Policy for late readings, per sensor: a bucket is open until the sensor's
// newest reading time (its watermark), or the time given to Flush, reaches the
// bucket's end plus the grace; then it is closed and handed back once for
// storage. A reading whose minute bucket is still open is merged exactly (count,
// min, max, sum; last by reading time), however out of order it arrived. A
// reading whose minute bucket is already closed is quarantined: it is not merged
// into any aggregate, because closed aggregates may already be stored and shown,
// and the caller keeps it as a raw reading flagged late. Both resolutions share
// the grace, so an hour bucket is always open while any of its minutes is, and a
// reading is in both roll-ups or in neither.
//
// Not safe for concurrent use; the ingest pipeline owns one per partition.
type Rollups struct {
	grace   time.Duration
	sensors map[int64]*series
}

type series struct {
	watermark time.Time
	// closedUntil is the end of the last closed minute bucket: readings before it
	// are quarantined.
	closedUntil time.Time
	open        [2][]Aggregate // minute, hour; oldest first, usually one each
}

var resolutions = [2]time.Duration{Minute, Hour}

// NewRollups returns roll-ups with the given grace (0 means DefaultGrace).
func NewRollups(grace time.Duration) *Rollups {
	if grace <= 0 {
		grace = DefaultGrace
	}
	return &Rollups{grace: grace, sensors: map[int64]*series{}}
}

// Add merges a validated reading. It returns the buckets the reading closed (its
// watermark moved past them) and whether the reading was quarantined as too late.
func (ru *Rollups) Add(r bluehelm.Reading) (closed []Aggregate, late bool) {
	s := ru.sensors[r.SensorID]
	if s == nil {
		s = &series{}
		ru.sensors[r.SensorID] = s
	}
	if r.Time.Before(s.closedUntil) {
		return nil, true
	}
	for i, res := range resolutions {
		start := r.Time.Truncate(res)
		b := s.open[i]
		j := len(b) - 1
		for j >= 0 && b[j].Start.After(start) {
			j--
		}
		if j < 0 || !b[j].Start.Equal(start) {
			// a new bucket, kept in start order (a late reading may open one
			// before the newest)
			b = append(b, Aggregate{})
			copy(b[j+2:], b[j+1:])
			b[j+1] = Aggregate{SensorID: r.SensorID, Resolution: res, Start: start}
			j++
		}
		b[j].add(r.Time, r.Value)
		s.open[i] = b
	}
	if r.Time.After(s.watermark) {
		s.watermark = r.Time
		closed = ru.close(s, s.watermark, nil)
	}
	return closed, false
}

// close closes the sensor's buckets whose end plus the grace is at or before at.
func (ru *Rollups) close(s *series, at time.Time, out []Aggregate) []Aggregate {
	for i, res := range resolutions {
		b := s.open[i]
		n := 0
		for n < len(b) && !b[n].Start.Add(res+ru.grace).After(at) {
			n++
		}
		if n == 0 {
			continue
		}
		out = append(out, b[:n]...)
		if i == 0 {
			s.closedUntil = b[n-1].Start.Add(res)
		}
		s.open[i] = append(b[:0], b[n:]...)
	}
	return out
}

// Flush closes every bucket whose end plus the grace is at or before now, for
// sensors that have gone quiet and so move no watermark.
func (ru *Rollups) Flush(now time.Time) []Aggregate {
	var out []Aggregate
	for _, s := range ru.sensors {
		out = ru.close(s, now, out)
	}
	return out
}

// Open returns the sensor's open buckets at a resolution (Minute or Hour),
// oldest first: the current figures a dashboard shows before they are stored.
func (ru *Rollups) Open(sensorID int64, res time.Duration) []Aggregate {
	s := ru.sensors[sensorID]
	if s == nil {
		return nil
	}
	for i, r := range resolutions {
		if r == res {
			return append([]Aggregate(nil), s.open[i]...)
		}
	}
	return nil
}
