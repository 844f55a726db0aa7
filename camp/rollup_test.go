package camp

import (
	"math"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TestRollups feeds one sensor, grace 30 s, and checks the aggregates by hand.
//
//	06:00:10 4, 06:00:50 8, 06:00:20 6 (late, minute 06:00 still open)
//	  → minute 06:00: count 3, min 4, max 8, sum 18, mean 6, last 8 (06:00:50 is
//	    the latest by time, though 6 arrived last).
//	06:01:20 10: minute 06:00 closes at its end + grace = 06:01:30, so it is still
//	  open, and 06:00:40 2 (late) is merged into it.
//	06:01:30 12: watermark reaches 06:01:30 = end + grace → minute 06:00 closes:
//	  count 4, min 2, max 8, sum 20, last 8.
//	06:00:59 100 (after the close) → quarantined, in neither roll-up.
//	The hour 06:00 holds everything merged: count 6, min 2, max 12, sum 42, last 12.
func TestRollups(t *testing.T) {
	ru := NewRollups(30 * time.Second)
	at := func(m, s int) time.Time { return time.Date(2026, 11, 16, 6, m, s, 0, time.UTC) }
	r := func(m, s int, v float64) bluehelm.Reading {
		return bluehelm.Reading{SensorID: 1, Time: at(m, s), Value: v}
	}
	steps := []struct {
		r      bluehelm.Reading
		late   bool
		closed []Aggregate
	}{
		{r(0, 10, 4), false, nil},
		{r(0, 50, 8), false, nil},
		{r(0, 20, 6), false, nil},
		{r(1, 20, 10), false, nil},
		{r(0, 40, 2), false, nil},
		{r(1, 30, 12), false, []Aggregate{{SensorID: 1, Resolution: Minute, Start: at(0, 0), Count: 4, Min: 2, Max: 8, Sum: 20, Last: 8, LastTime: at(0, 50)}}},
		{r(0, 59, 100), true, nil},
	}
	for i, s := range steps {
		closed, late := ru.Add(s.r)
		if late != s.late || !sameAggs(closed, s.closed) {
			t.Fatalf("step %d: closed %+v late %v, want %+v %v", i, closed, late, s.closed, s.late)
		}
	}
	if got := ru.Open(1, Minute); len(got) != 1 || got[0].Count != 2 || got[0].Mean() != 11 || got[0].Last != 12 {
		t.Fatalf("open minute %+v", got)
	}
	hour := ru.Open(1, Hour)
	want := Aggregate{SensorID: 1, Resolution: Hour, Start: at(0, 0), Count: 6, Min: 2, Max: 12, Sum: 42, Last: 12, LastTime: at(1, 30)}
	if !sameAggs(hour, []Aggregate{want}) {
		t.Fatalf("open hour %+v, want %+v", hour, want)
	}
	// a quiet sensor's buckets are closed by Flush
	if got := ru.Flush(at(1, 59)); len(got) != 0 {
		t.Fatalf("flush before 06:02:30 closed %+v", got)
	}
	got := ru.Flush(time.Date(2026, 11, 16, 7, 0, 30, 0, time.UTC))
	if len(got) != 2 || got[0].Resolution != Minute || got[0].Count != 2 || got[1].Resolution != Hour || got[1].Count != 6 {
		t.Fatalf("flush at 07:00:30: %+v", got)
	}
	if m := (Aggregate{}).Mean(); !math.IsNaN(m) {
		t.Fatalf("mean of nothing %v", m)
	}
}

// TestRollupsLateBucket: a late reading may open a minute before the newest
// open one, and the buckets stay in order.
func TestRollupsLateBucket(t *testing.T) {
	ru := NewRollups(0) // default 30 s
	base := time.Date(2026, 11, 16, 6, 0, 0, 0, time.UTC)
	for _, r := range []struct {
		d time.Duration
		v float64
	}{{70 * time.Second, 1}, {80 * time.Second, 2}, {50 * time.Second, 3}} {
		if _, late := ru.Add(bluehelm.Reading{SensorID: 2, Time: base.Add(r.d), Value: r.v}); late {
			t.Fatalf("reading at %s quarantined", r.d)
		}
	}
	got := ru.Open(2, Minute)
	if len(got) != 2 || !got[0].Start.Equal(base) || got[0].Count != 1 || !got[1].Start.Equal(base.Add(time.Minute)) || got[1].Count != 2 {
		t.Fatalf("open minutes %+v", got)
	}
	if ru.Open(3, Minute) != nil || ru.Open(2, time.Second) != nil {
		t.Fatal("open buckets of an unknown sensor or resolution")
	}
}

func sameAggs(a, b []Aggregate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.SensorID != y.SensorID || x.Resolution != y.Resolution || !x.Start.Equal(y.Start) || x.Count != y.Count ||
			x.Min != y.Min || x.Max != y.Max || x.Sum != y.Sum || x.Last != y.Last || !x.LastTime.Equal(y.LastTime) {
			return false
		}
	}
	return true
}
