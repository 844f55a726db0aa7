package bluehelm

import (
	"slices"
	"sort"
	"strconv"
	"time"
)

// UnitWeek is one unit's patrols in one ISO week (by planned start).
type UnitWeek struct {
	Unit      string `json:"unit"`
	Week      string `json:"week"`      // ISO 8601 week, e.g. "2026-W48"
	Planned   int    `json:"planned"`   // approved or beyond: the plan the unit was held to
	Completed int    `json:"completed"` // completed
	Aborted   int    `json:"aborted"`
	WithWomen int    `json:"with_women"` // of Planned, with at least one woman
}

// PatrolFigures are the figures a commander asks of patrolling and response.
type PatrolFigures struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// ByUnitWeek is sorted by week, then unit.
	ByUnitWeek []UnitWeek `json:"by_unit_week"`
	Planned    int        `json:"planned"`
	Completed  int        `json:"completed"`
	Aborted    int        `json:"aborted"`
	// WithWomen counts planned patrols with at least one woman; WomenShare is
	// women over strength across them all (0–1).
	WithWomen  int     `json:"with_women"`
	WomenShare float64 `json:"women_share"`
	// Tasks that arrived on scene, and the median time from dispatch and from the
	// report to arrival, in seconds (0 when none arrived).
	TasksArrived          int `json:"tasks_arrived"`
	MedianResponseSeconds int `json:"median_response_seconds"`
	MedianFromReportSec   int `json:"median_from_report_seconds"`
	// Coverage is the share of the area of responsibility patrolled in the last
	// 7 and 30 days (0–1), when the caller computed it; nil otherwise.
	Coverage7d  *float64 `json:"coverage_7d,omitempty"`
	Coverage30d *float64 `json:"coverage_30d,omitempty"`
}

// ISOWeek names t's ISO 8601 week.
func ISOWeek(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	s := strconv.Itoa(w)
	if w < 10 {
		s = "0" + s
	}
	return strconv.Itoa(y) + "-W" + s
}

// Figures counts patrols whose planned start is in [from, to) and tasks assigned in
// it. Drafts and plans awaiting approval are not counted as planned: a unit is
// held to what was approved.
func Figures(patrols []*Patrol, tasks []*Task, from, to time.Time) PatrolFigures {
	f := PatrolFigures{From: from.UTC(), To: to.UTC()}
	rows := map[[2]string]*UnitWeek{}
	var women, strength int
	for _, p := range patrols {
		if p.PlannedStart.Before(from) || !p.PlannedStart.Before(to) {
			continue
		}
		if p.Status == PatrolDraft || p.Status == PatrolSubmitted {
			continue
		}
		week := ISOWeek(p.PlannedStart)
		f.Planned++
		women += p.Women
		strength += p.Strength
		if p.Women > 0 {
			f.WithWomen++
		}
		switch p.Status {
		case PatrolCompleted:
			f.Completed++
		case PatrolAborted:
			f.Aborted++
		}
		for _, u := range p.Units {
			k := [2]string{week, u}
			r := rows[k]
			if r == nil {
				r = &UnitWeek{Unit: u, Week: week}
				rows[k] = r
			}
			r.Planned++
			if p.Women > 0 {
				r.WithWomen++
			}
			switch p.Status {
			case PatrolCompleted:
				r.Completed++
			case PatrolAborted:
				r.Aborted++
			}
		}
	}
	if strength > 0 {
		f.WomenShare = float64(women) / float64(strength)
	}
	f.ByUnitWeek = make([]UnitWeek, 0, len(rows))
	for _, r := range rows {
		f.ByUnitWeek = append(f.ByUnitWeek, *r)
	}
	sort.Slice(f.ByUnitWeek, func(i, j int) bool {
		a, b := f.ByUnitWeek[i], f.ByUnitWeek[j]
		if a.Week != b.Week {
			return a.Week < b.Week
		}
		return a.Unit < b.Unit
	})

	var fromDispatch, fromReport []time.Duration
	for _, t := range tasks {
		if t.AssignedAt.Before(from) || !t.AssignedAt.Before(to) {
			continue
		}
		d, ok := t.ResponseTime()
		if !ok {
			continue
		}
		fromDispatch = append(fromDispatch, d)
		if !t.ReportedAt.IsZero() {
			fromReport = append(fromReport, t.OnSceneAt.Sub(t.ReportedAt))
		}
	}
	f.TasksArrived = len(fromDispatch)
	f.MedianResponseSeconds = int(median(fromDispatch).Seconds())
	f.MedianFromReportSec = int(median(fromReport).Seconds())
	return f
}

// median of ds (the mean of the middle two for an even count); 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
