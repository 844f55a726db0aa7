package live

import (
	"slices"
	"sync"

	"github.com/bluehelm/bluehelm"
	"github.com/tidwall/rtree"
)

// Picture is the latest state of every track, indexed by place. It is the source of
// the snapshot a subscriber gets before its stream of changes, so it must answer a
// box query fast while positions keep arriving: a map by uid for updates and an
// R-tree of points for searches, both under one RWMutex.
//
// The zero value is not usable; call NewPicture.
type Picture struct {
	mu     sync.RWMutex
	tracks map[string]*pictureEntry
	// The index holds the entry pointers themselves: a search needs no map lookup,
	// and deleting compares pointers rather than strings.
	index rtree.RTreeG[*pictureEntry]
}

type pictureEntry struct {
	state bluehelm.TrackState
}

// NewPicture returns an empty picture.
func NewPicture() *Picture {
	return &Picture{tracks: make(map[string]*pictureEntry)}
}

func pointKey(p bluehelm.Position) [2]float64 { return [2]float64{p.Lon, p.Lat} }

// Apply records a position report for track t and returns the state it replaces.
// t.UID identifies the track (p.UID is set to it); t is the full description of the
// track, not a patch: merging a sparse report with what is known is the caller's
// job (Get gives what is known).
//
// A position older than the stored one is not applied — reports arrive out of order
// over radio links and federation, and an old one must not move a track backwards —
// and neither is an exact duplicate (same time and same values), which an
// at-least-once transport redelivers. Either way the track's metadata is still
// taken from t, unless t.UpdatedAt is older than the stored metadata's.
//
// had reports whether the uid was known (prev is then its previous state); applied
// reports whether the position was taken. Only an applied position should go on to
// geofencing and fan-out; a caller that also wants to announce a metadata-only
// change can compare prev.Track with t.
func (pc *Picture) Apply(t bluehelm.Track, p bluehelm.Position) (prev bluehelm.TrackState, had bool, applied bool) {
	p.UID = t.UID
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.applyLocked(t, p)
}

func (pc *Picture) applyLocked(t bluehelm.Track, p bluehelm.Position) (prev bluehelm.TrackState, had bool, applied bool) {
	e, had := pc.tracks[t.UID]
	if !had {
		// Clone so that the caller reusing its slice cannot change a stored marking.
		t.Releasability = slices.Clone(t.Releasability)
		e = &pictureEntry{state: bluehelm.TrackState{Track: t, Position: p}}
		pc.tracks[t.UID] = e
		k := pointKey(p)
		pc.index.Insert(k, k, e)
		return prev, false, true
	}
	prev = e.state
	if !t.UpdatedAt.Before(prev.UpdatedAt) {
		if sameTrackMeta(prev.Track, t) {
			e.state.UpdatedAt = t.UpdatedAt
		} else {
			t.Releasability = slices.Clone(t.Releasability)
			// Stored states are replaced, never mutated in place, so a copy handed
			// out earlier (sharing the old Releasability array) stays valid.
			e.state.Track = t
		}
	}
	if p.Time.Before(prev.Position.Time) || samePosition(p, prev.Position) {
		return prev, true, false
	}
	if ok, nk := pointKey(prev.Position), pointKey(p); ok != nk {
		pc.index.Delete(ok, ok, e)
		pc.index.Insert(nk, nk, e)
	}
	e.state.Position = p
	return prev, true, true
}

// sameTrackMeta compares everything but UpdatedAt, so that a report repeating the
// metadata does not copy the releasability list again.
func sameTrackMeta(a, b bluehelm.Track) bool {
	return a.UID == b.UID && a.Callsign == b.Callsign && a.Kind == b.Kind && a.CoTType == b.CoTType &&
		a.SIDC == b.SIDC && a.Unit == b.Unit && a.Nationality == b.Nationality &&
		a.Classification == b.Classification && a.Component == b.Component &&
		slices.Equal(a.Releasability, b.Releasability)
}

// samePosition reports an exact duplicate. Time is compared with Equal because the
// same instant decoded twice may carry a different location pointer.
func samePosition(a, b bluehelm.Position) bool {
	if !a.Time.Equal(b.Time) {
		return false
	}
	a.Time = b.Time
	return a == b
}

// Load merges stored states into the picture, typically once at start from the
// store's latest states. The same rules as Apply hold, so loading after positions
// have started to arrive cannot move a track backwards.
func (pc *Picture) Load(states []bluehelm.TrackState) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, s := range states {
		s.Position.UID = s.UID
		pc.applyLocked(s.Track, s.Position)
	}
}

// Get returns the latest state of one track, regardless of access: callers that
// show it check CanSee.
func (pc *Picture) Get(uid string) (bluehelm.TrackState, bool) {
	pc.mu.RLock()
	defer pc.mu.RUnlock()
	e, ok := pc.tracks[uid]
	if !ok {
		return bluehelm.TrackState{}, false
	}
	return e.state, true
}

// Search calls fn with the state of every track inside bbox (edges included) that
// viewer may see, until fn returns false. The zero BBox means the whole world.
//
// The matches are copied out under the read lock and fn runs after it is released:
// fn typically encodes to a slow network peer, and holding the lock meanwhile would
// stall every writer (and, with RWMutex, every later reader behind the writer).
// So fn may block and may call back into the picture; it sees a consistent
// snapshot of the moment of the search. The order is unspecified.
// States share their Releasability slice with the picture: do not modify it.
func (pc *Picture) Search(bbox bluehelm.BBox, viewer bluehelm.Principal, fn func(bluehelm.TrackState) bool) {
	bbox = orWorld(bbox)
	var found []bluehelm.TrackState
	pc.mu.RLock()
	pc.index.Search([2]float64{bbox.MinLon, bbox.MinLat}, [2]float64{bbox.MaxLon, bbox.MaxLat},
		func(_, _ [2]float64, e *pictureEntry) bool {
			if viewer.CanSee(e.state.Marking) {
				found = append(found, e.state)
			}
			return true
		})
	pc.mu.RUnlock()
	for _, s := range found {
		if !fn(s) {
			return
		}
	}
}

// Len returns the number of tracks.
func (pc *Picture) Len() int {
	pc.mu.RLock()
	defer pc.mu.RUnlock()
	return len(pc.tracks)
}

// Remove forgets a track (expired, deleted) and reports whether it was there.
// Remember to tell the Geofencer too (RemoveTrack), or its dwell clock keeps running.
func (pc *Picture) Remove(uid string) bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e, ok := pc.tracks[uid]
	if !ok {
		return false
	}
	k := pointKey(e.state.Position)
	pc.index.Delete(k, k, e)
	delete(pc.tracks, uid)
	return true
}

// orWorld makes the zero BBox mean "everywhere": a subscriber or a search that did
// not say where gets everything rather than the single point at 0°,0°.
func orWorld(b bluehelm.BBox) bluehelm.BBox {
	if b == (bluehelm.BBox{}) {
		return bluehelm.World
	}
	return b
}
