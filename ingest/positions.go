package ingest

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// Report is one position report with what the sender knows of the track. Empty track
// fields keep what bluehelm already knows of that uid.
type Report struct {
	Track    bluehelm.Track
	Position bluehelm.Position
}

// Positions ingests a batch of reports from one sender. The batch is validated whole
// first: if any report is bad, nothing is written and the error names it
// ("positions[3].lat"). It returns once the batch is durable.
func (p *Pipeline) Positions(ctx context.Context, by bluehelm.Principal, reports []Report) error {
	if err := by.Require(bluehelm.ActPostPosition); err != nil {
		return p.reject("position", err)
	}
	if len(reports) == 0 {
		return p.reject("position", bluehelm.Invalid("positions", "no positions in the request"))
	}
	if len(reports) > p.opts.MaxBatch {
		return p.reject("position", bluehelm.Errorf(bluehelm.ETOOLARGE, "%d positions in one batch; the limit is %d", len(reports), p.opts.MaxBatch))
	}
	now := p.now()
	tracks := make([]bluehelm.Track, 0, 8)
	merged := make(map[string]int, 8) // uid → index in tracks
	positions := make([]bluehelm.Position, len(reports))
	for i, r := range reports {
		field := "positions[" + strconv.Itoa(i) + "]"
		pos := r.Position
		if pos.UID == "" {
			pos.UID = r.Track.UID
		}
		if pos.Source == "" {
			pos.Source = "api"
		}
		if err := pos.Validate(now); err != nil {
			return p.reject("position", bluehelm.PrefixField(field, err))
		}
		positions[i] = pos

		j, seen := merged[pos.UID]
		var t bluehelm.Track
		if seen {
			t = tracks[j]
		} else if st, ok := p.picture.Get(pos.UID); ok {
			t = st.Track
		} else {
			// A new track belongs to the sender's component and is unclassified
			// unless the report says otherwise.
			t = bluehelm.Track{UID: pos.UID, Marking: bluehelm.Marking{Component: by.Component}}
			if by.System && t.Component == "" {
				t.Component = bluehelm.Military
			}
		}
		if !seen && !by.CanSee(t.Marking) {
			// Do not reveal that a track the sender cannot see exists.
			return p.reject("position", bluehelm.Errorf(bluehelm.EFORBIDDEN, "%s: you may not report for track %q", field, pos.UID))
		}
		next := mergeTrack(t, r.Track)
		next.UID = pos.UID
		if err := next.Validate(); err != nil {
			return p.reject("position", bluehelm.PrefixField(field, err))
		}
		if !by.CanSee(next.Marking) {
			return p.reject("position", bluehelm.Errorf(bluehelm.EFORBIDDEN, "%s: marking above your clearance", field))
		}
		if pos.Time.After(next.UpdatedAt) {
			next.UpdatedAt = pos.Time
		}
		if seen {
			tracks[j] = next
		} else {
			merged[pos.UID] = len(tracks)
			tracks = append(tracks, next)
		}
	}

	start := time.Now()
	if err := p.store.AppendPositions(ctx, tracks, positions); err != nil {
		p.log.Error("storing positions", "err", err, "count", len(positions))
		return p.reject("position", err)
	}
	p.timed("append_positions", start)

	byUID := make(map[string]bluehelm.Track, len(tracks))
	for _, t := range tracks {
		byUID[t.UID] = t
	}
	// Apply in time order so that a batch carrying a track's history moves it
	// forward once per report and geofence crossings are seen in sequence.
	sort.SliceStable(positions, func(a, b int) bool { return positions[a].Time.Before(positions[b].Time) })
	evs := make([]live.Event, 0, len(positions))
	for _, pos := range positions {
		t := byUID[pos.UID]
		prev, had, applied := p.picture.Apply(t, pos)
		if !applied {
			continue
		}
		cur := bluehelm.TrackState{Track: t, Position: pos}
		var prevp *bluehelm.TrackState
		where := pointBox(pos.Point())
		if had {
			prevp = &prev
			// Span the move, so a subscriber whose view the track just left learns it.
			where = live.MoveExtent(prev.Position.Point(), pos.Point())
		}
		for _, c := range p.fence.Check(prevp, cur) {
			p.raiseCrossing(ctx, c)
		}
		for _, f := range p.monitor.Observe(prevp, cur) {
			p.handleFinding(ctx, f)
		}
		evs = append(evs, live.Event{
			Layer: live.LayerTracks, Key: pos.UID, Marking: t.Marking,
			Where: where, Coalesce: true, Origin: pos.Source,
			Data: encode("position", cur),
		})
	}
	// Once per batch: a cluster bus then waits for one round of
	// acknowledgements, not one per report.
	publishAll(p.out, evs)
	p.tally(by, positions)
	p.m.positions.WithLabelValues(positions[0].Source).Add(float64(len(positions)))
	return nil
}

// mergeTrack overlays the non-empty fields of in on t.
func mergeTrack(t, in bluehelm.Track) bluehelm.Track {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&t.Callsign, in.Callsign)
	set(&t.CoTType, in.CoTType)
	set(&t.SIDC, in.SIDC)
	set(&t.Unit, in.Unit)
	set(&t.Nationality, in.Nationality)
	if in.Kind != "" {
		t.Kind = in.Kind
	}
	if in.Component != "" {
		t.Marking = in.Marking
	} else if in.Classification > t.Classification {
		// A report may raise a track's classification but never silently lower it.
		t.Classification = in.Classification
	}
	return t
}

func (p *Pipeline) tally(by bluehelm.Principal, ps []bluehelm.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.pending[by.Username]
	if t == nil {
		t = &positionTally{First: ps[0].Time, Last: ps[0].Time, Source: ps[0].Source, trackSet: map[string]struct{}{}}
		p.pending[by.Username] = t
	}
	for _, pos := range ps {
		t.Count++
		if pos.Time.Before(t.First) {
			t.First = pos.Time
		}
		if pos.Time.After(t.Last) {
			t.Last = pos.Time
		}
		if len(t.trackSet) < 100000 {
			t.trackSet[pos.UID] = struct{}{}
		}
	}
	t.Tracks = len(t.trackSet)
}

// FlushAudit writes one audit entry per sender summarising the position reports
// accepted since the last flush.
func (p *Pipeline) FlushAudit(ctx context.Context) {
	p.mu.Lock()
	pending := p.pending
	p.pending = map[string]*positionTally{}
	p.mu.Unlock()
	names := make([]string, 0, len(pending))
	for n := range pending {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := bluehelm.NewAudit(bluehelm.Principal{Username: n}, "positions.batch", "positions", pending[n])
		e.At = p.now()
		if err := p.store.AppendAudit(ctx, e); err != nil {
			p.log.Error("auditing position reports", "err", err, "user", n)
		}
	}
}
