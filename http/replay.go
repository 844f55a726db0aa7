package http

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Replay bounds. A week is what the time slider offers (24 h, 7 d or a custom
// window within it); the history beyond is for exports and analysis. The fix
// cap keeps an answer near 10 MB of JSON (about a third of that gzip-compressed):
// when the tracks in view times the steps of the window would exceed it, the step
// is widened and the answer says which step it used.
const (
	maxReplayWindow  = 7 * 24 * time.Hour
	defaultReplayWin = 24 * time.Hour
	defaultStep      = time.Minute
	maxReplayFixes   = 250000
	// replayChunk is the longest window one store call covers, and
	// replayChunkFixes the most fixes one is expected to return: long enough
	// that the hour of history the store reads before a window's start is a
	// small overhead, small enough to stay under its cap per call (100,000).
	replayChunk      = 6 * time.Hour
	replayChunkFixes = 50000
)

// trackLookup finds tracks' metadata and markings the way every history read
// does: the live picture has every track with a position and the newest
// metadata; the store is asked (once) for tracks the picture does not know.
type trackLookup struct {
	s      *Server
	ctx    context.Context
	stored map[string]bluehelm.Track
}

func (l *trackLookup) get(uid string) (bluehelm.Track, bool, error) {
	if st, ok := l.s.cfg.Picture.Get(uid); ok {
		return st.Track, true, nil
	}
	if l.stored == nil {
		tracks, err := l.s.cfg.Store.Tracks(l.ctx)
		if err != nil {
			return bluehelm.Track{}, false, err
		}
		l.stored = make(map[string]bluehelm.Track, len(tracks))
		for _, t := range tracks {
			l.stored[t.UID] = t
		}
	}
	t, ok := l.stored[uid]
	return t, ok, nil
}

// count returns how many tracks the picture and the store know, and how many of
// them p may see.
func (l *trackLookup) count(p bluehelm.Principal) (all, visible int, err error) {
	if _, _, err := l.get(""); err != nil { // "" is no uid: this loads the store's tracks
		return 0, 0, err
	}
	for uid, t := range l.stored {
		if st, ok := l.s.cfg.Picture.Get(uid); ok {
			t = st.Track
		}
		if p.CanSee(t.Marking) {
			visible++
		}
	}
	return len(l.stored), visible, nil
}

// parseStep reads a step as a Go duration ("90s", "5m") or whole seconds ("60").
func parseStep(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, invalid("step", "%q is not a duration such as 60s, 5m or 60", v)
	}
	return d, nil
}

type replayResponse struct {
	From      time.Time        `json:"from"`
	To        time.Time        `json:"to"`
	Step      int64            `json:"step"` // seconds, as used (may be wider than asked)
	Tracks    []bluehelm.Track `json:"tracks"`
	Fixes     json.RawMessage  `json:"fixes"`
	Truncated bool             `json:"truncated"`
}

// replayPositions is the track history of a window for the time slider: every
// track the caller may see, with at most one fix per track per step, in time
// order. Each fix is [trackIndex, unixSeconds, lon, lat, course], indexing
// "tracks": a tenth of the bytes of Position objects, for answers of 10^5 fixes.
func (s *Server) replayPositions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	q := newQuery(r)
	from, err := q.time("from")
	if err != nil {
		return err
	}
	to, err := q.time("to")
	if err != nil {
		return err
	}
	bbox, err := q.bbox("bbox")
	if err != nil {
		return err
	}
	step := defaultStep
	if v := q.get("step"); v != "" {
		if step, err = parseStep(v); err != nil {
			return err
		}
	}
	if err := q.done(); err != nil {
		return err
	}
	switch {
	case to.IsZero() && from.IsZero():
		to = s.now().UTC()
		from = to.Add(-defaultReplayWin)
	case to.IsZero():
		to = from.Add(defaultReplayWin)
		if now := s.now().UTC(); to.After(now) {
			to = now
		}
	case from.IsZero():
		from = to.Add(-defaultReplayWin)
	}
	if !from.Before(to) {
		return invalid("to", "must be after from")
	}
	if to.Sub(from) > maxReplayWindow {
		return invalid("from", "the window is %s; a replay covers at most 7 days (168h)", to.Sub(from).Round(time.Minute))
	}
	if step < time.Second || step > to.Sub(from) {
		return invalid("step", "must be from 1s to the window's length (%s)", to.Sub(from))
	}
	step = step.Truncate(time.Second)
	box := bluehelm.World
	if bbox != nil {
		box = *bbox
	}

	lookup := &trackLookup{s: s, ctx: r.Context()}
	all, visible, err := lookup.count(p)
	if err != nil {
		return err
	}
	// Widen the step until every visible track at every step fits the cap.
	steps := math.Ceil(float64(to.Sub(from)) / float64(step))
	if est := float64(visible) * steps; est > maxReplayFixes {
		secs := math.Ceil(to.Sub(from).Seconds() * float64(visible) / maxReplayFixes)
		step = time.Duration(secs) * time.Second
	}
	// Chunks are whole steps, so intervals counted from each chunk's start are
	// the intervals counted from the window's start. The store sees every
	// track, visible or not, so its share is sized by all of them.
	chunk := min(replayChunk.Truncate(step), step*time.Duration(replayChunkFixes/max(all, 1)))
	chunk = max(chunk, step)

	out := replayResponse{From: from, To: to, Step: int64(step / time.Second), Tracks: []bluehelm.Track{}}
	index := map[string]int{} // uid → index in out.Tracks; -1 when not visible
	fixes := make([]byte, 0, 4096)
	fixes = append(fixes, '[')
	count := 0
	for start := from; start.Before(to) && !out.Truncated; start = start.Add(chunk) {
		end := start.Add(chunk)
		if end.After(to) {
			end = to
		}
		limit := 2 * replayChunkFixes
		ps, err := s.cfg.Store.SamplePositions(r.Context(), bluehelm.PositionQuery{BBox: &box, From: start, To: end, Limit: limit}, step)
		if err != nil {
			return err
		}
		if len(ps) == limit {
			// More than expected (tracks appeared since they were counted):
			// what came is the chunk's earliest, and the answer ends here.
			out.Truncated = true
		}
		for _, pos := range ps {
			i, ok := index[pos.UID]
			if !ok {
				t, known, err := lookup.get(pos.UID)
				if err != nil {
					return err
				}
				i = -1
				if known && p.CanSee(t.Marking) {
					t.UpdatedAt = t.UpdatedAt.UTC()
					i = len(out.Tracks)
					out.Tracks = append(out.Tracks, t)
				}
				index[pos.UID] = i
			}
			if i < 0 {
				continue
			}
			if count == maxReplayFixes {
				out.Truncated = true
				break
			}
			if count > 0 {
				fixes = append(fixes, ',')
			}
			fixes = appendFix(fixes, i, pos)
			count++
		}
	}
	out.Fixes = append(fixes, ']')
	return writeJSON(w, http.StatusOK, out)
}

// appendFix writes [trackIndex, unixSeconds, lon, lat, course]. Coordinates keep
// six decimals (about 0.1 m) and the course whole degrees: more is noise on a
// replay and costs bytes.
func appendFix(b []byte, i int, p bluehelm.Position) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, p.Time.Unix(), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, math.Round(p.Lon*1e6)/1e6, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, math.Round(p.Lat*1e6)/1e6, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(math.Round(p.Course)), 10)
	return append(b, ']')
}
