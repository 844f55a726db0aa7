package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Randomised differential tests: many random operations and queries, each
// answer compared with a plain Go model of the contract. They target the
// parts of this package that are clever for speed (the R*Tree top-k, plan
// switching, the position log and its compaction) across many shapes of data.

func TestFindRandomized(t *testing.T) {
	n, queries := 3000, 150
	if testing.Short() || raceEnabled {
		n, queries = 600, 40
	}
	for _, v := range []struct {
		name     string
		probeMax int
		textPlan string
	}{{"rtree", 4000, ""}, {"mixed", 60, ""}, {"time", 0, ""}, {"rtree text filter", 4000, "filter"}, {"time text filter", 0, "filter"}} {
		t.Run(v.name, func(t *testing.T) {
			o := defaults()
			o.rtreeProbeMax, o.textPlan = v.probeMax, v.textPlan
			db, err := open(filepath.Join(t.TempDir(), "db"), o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := t.Context()
			rng := rand.New(rand.NewPCG(7, uint64(v.probeMax)))
			incs := randomIncidents(rng, n)
			if _, _, err := db.ImportIncidents(ctx, incs, bluehelm.NewAudit(sys, "incident.import", "", nil)); err != nil {
				t.Fatal(err)
			}
			viewers := []bluehelm.Principal{sys, {},
				{Username: "p", Component: bluehelm.Police, Clearance: bluehelm.Confidential},
				{Username: "c", Component: bluehelm.Civilian, Clearance: bluehelm.StrictlyConfidential},
				{Username: "m", Component: bluehelm.Military, Clearance: bluehelm.Unclassified}}
			for q := range queries {
				f := bluehelm.IncidentFilter{Viewer: viewers[rng.IntN(len(viewers))], Limit: 1 + rng.IntN(120)}
				if rng.IntN(4) > 0 {
					lon, lat := 29+rng.Float64()*3, 6+rng.Float64()*3
					w, h := rng.Float64()*2, rng.Float64()*2
					f.BBox = &bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon + w, MaxLat: lat + h}
				}
				if rng.IntN(2) == 0 {
					f.From = t0.Add(time.Duration(rng.IntN(60)) * 24 * time.Hour)
				}
				if rng.IntN(2) == 0 {
					f.To = t0.Add(time.Duration(30+rng.IntN(60)) * 24 * time.Hour)
				}
				if rng.IntN(4) == 0 {
					f.Categories = []bluehelm.Category{bluehelm.CatArmedClash, bluehelm.CatProtest}[:1+rng.IntN(2)]
				}
				if rng.IntN(4) == 0 {
					f.Statuses = []bluehelm.Status{bluehelm.StatusDraft}
				}
				if rng.IntN(3) == 0 {
					f.Text = randomWords[rng.IntN(len(randomWords))]
				}
				want := oracleFind(incs, f)
				got := pageAll(t, db, f)
				if !slices.Equal(got, want) {
					t.Fatalf("query %d %+v (bbox %v): got %d ids, want %d\n got  %v\n want %v", q, f, f.BBox, len(got), len(want), head(got), head(want))
				}
			}
		})
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 12)] }

// randomIncidents spreads incidents over a box of about 4°×4° and 90 days, in
// whole hours, a fifth of them in three bursts, with random markings.
func randomIncidents(rng *rand.Rand, n int) []*bluehelm.Incident {
	out := make([]*bluehelm.Incident, n)
	for i := range out {
		at := t0.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
		if rng.IntN(5) == 0 {
			// Bursts of simultaneous incidents: more ties than a page, all
			// with the same R*Tree time bound, so only the id orders them.
			at = t0.Add(time.Duration(10+rng.IntN(3)*20) * 24 * time.Hour)
		}
		inc := testIncident(fmt.Sprintf("r%d %s", i, randomWords[rng.IntN(len(randomWords))]), at, 28.5+rng.Float64()*4, 5.5+rng.Float64()*4)
		inc.ExternalID = fmt.Sprintf("rand:%d", i)
		inc.Category = []bluehelm.Category{bluehelm.CatArmedClash, bluehelm.CatProtest, bluehelm.CatRobbery}[rng.IntN(3)]
		inc.Status = []bluehelm.Status{bluehelm.StatusDraft, bluehelm.StatusApproved}[rng.IntN(2)]
		inc.Classification = bluehelm.Classification(rng.IntN(3))
		inc.Component = bluehelm.Components[rng.IntN(4)]
		if rng.IntN(2) == 0 {
			inc.Releasability = []bluehelm.Component{bluehelm.Components[rng.IntN(4)]}
		}
		out[i] = inc
	}
	return out
}

// randomWords are the title words of random incidents: a few common, one rare.
var randomWords = []string{"convoy", "convoy", "convoy", "market", "market", "cattle", "checkpoint", "airstrip"}

func oracleFind(incs []*bluehelm.Incident, f bluehelm.IncidentFilter) []int64 {
	var hits []*bluehelm.Incident
	for _, inc := range incs {
		switch {
		case f.Text != "" && !slices.Contains(strings.Fields(inc.Title), f.Text):
			continue
		case !f.Viewer.CanSee(inc.Marking),
			f.BBox != nil && !f.BBox.Contains(inc.Location),
			!f.From.IsZero() && inc.OccurredStart.Before(f.From),
			!f.To.IsZero() && !inc.OccurredStart.Before(f.To),
			len(f.Categories) > 0 && !slices.Contains(f.Categories, inc.Category),
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, inc.Status):
			continue
		}
		hits = append(hits, inc)
	}
	slices.SortFunc(hits, func(a, b *bluehelm.Incident) int {
		if c := b.OccurredStart.Compare(a.OccurredStart); c != 0 {
			return c
		}
		return cmpInt64(b.ID, a.ID)
	})
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

func pageAll(t *testing.T, db *DB, f bluehelm.IncidentFilter) []int64 {
	t.Helper()
	var ids []int64
	for range 10000 {
		page, err := db.FindIncidents(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range page.Incidents {
			ids = append(ids, inc.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		if len(page.Incidents) != f.Limit {
			t.Fatalf("a page with a next cursor has %d incidents, limit %d", len(page.Incidents), f.Limit)
		}
		f.Cursor = page.NextCursor
	}
	t.Fatal("cursor does not advance")
	return nil
}

// TestPositionsRandomized appends random batches (out of order, with
// duplicates, some replayed with other values) while the log is compacted at
// random points and the store is reopened with reports still in the log, and
// checks every answer against a model where the first stored copy of a (uid,
// time) wins.
func TestPositionsRandomized(t *testing.T) {
	rounds := 30
	if testing.Short() || raceEnabled {
		rounds = 12
	}
	rng := rand.New(rand.NewPCG(11, 12))
	path := filepath.Join(t.TempDir(), "db")
	uids := []string{"a", "b", "c", "d", "e", "f", "g"}
	type key struct {
		uid string
		t   int64
	}
	model := map[key]bluehelm.Position{}
	var db *DB
	reopen := func() {
		if db != nil {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
		o := defaults()
		o.compactRows, o.compactMax, o.keepLog = 1+rng.IntN(300), 1+rng.IntN(200), rng.IntN(2) == 0
		if rng.IntN(3) == 0 {
			o.compactRows = 1 << 30 // this session only appends to the log
		}
		var err error
		if db, err = open(path, o); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	defer func() { db.Close() }()
	ctx := context.Background()
	for round := range rounds {
		if rng.IntN(5) == 0 {
			reopen()
		}
		batch := make([]bluehelm.Position, 1+rng.IntN(150))
		for i := range batch {
			// Times on a 5 s grid over 3 hours: repeats within and across
			// batches, and runs longer than a segment may span.
			p := bluehelm.Position{
				UID: uids[rng.IntN(len(uids))], Time: t0.Add(time.Duration(5*rng.IntN(2160)) * time.Second),
				Lat: 6 + rng.Float64()*2, Lon: 30 + rng.Float64()*2, Speed: float64(rng.IntN(30)), Battery: rng.IntN(101),
				Source: []string{"api", "cot", ""}[rng.IntN(3)],
			}
			if rng.IntN(10) == 0 && len(model) > 0 {
				// A replay of a stored time with other values.
				for k := range model {
					p.UID, p.Time = k.uid, time.UnixMilli(k.t).UTC()
					break
				}
			}
			batch[i] = p
		}
		if err := db.AppendPositions(ctx, nil, batch); err != nil {
			t.Fatal(err)
		}
		for _, p := range batch {
			k := key{p.UID, p.Time.UnixMilli()}
			if _, ok := model[k]; !ok {
				model[k] = p
			}
		}
		all := make([]bluehelm.Position, 0, len(model))
		for _, p := range model {
			all = append(all, p)
		}
		slices.SortFunc(all, func(a, b bluehelm.Position) int {
			if c := a.Time.Compare(b.Time); c != 0 {
				return c
			}
			return cmpString(a.UID, b.UID)
		})
		for range 5 {
			q := bluehelm.PositionQuery{Limit: 1 + rng.IntN(len(all)+5)}
			if rng.IntN(2) == 0 {
				q.UID = uids[rng.IntN(len(uids))]
			}
			if q.UID == "" || rng.IntN(3) == 0 {
				lon, lat := 30+rng.Float64()*1.5, 6+rng.Float64()*1.5
				q.BBox = &bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon + rng.Float64(), MaxLat: lat + rng.Float64()}
				if rng.IntN(4) == 0 {
					q.BBox = &bluehelm.BBox{MinLon: 0, MinLat: 0, MaxLon: 60, MaxLat: 60} // too many cells to list
				}
			}
			if rng.IntN(2) == 0 {
				q.From = t0.Add(time.Duration(rng.IntN(10800)) * time.Second)
			}
			if rng.IntN(2) == 0 {
				q.To = t0.Add(time.Duration(rng.IntN(10800)) * time.Second)
			}
			var want []bluehelm.Position
			for _, p := range all {
				if (q.UID == "" || p.UID == q.UID) && (q.BBox == nil || q.BBox.Contains(p.Point())) &&
					(q.From.IsZero() || !p.Time.Before(q.From)) && (q.To.IsZero() || p.Time.Before(q.To)) {
					want = append(want, p)
				}
			}
			want = want[:min(len(want), q.Limit)]
			got, err := db.Positions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if !samePositions(got, want) {
				t.Fatalf("round %d query %+v bbox %v: got %d positions, want %d\n got  %v\n want %v", round, q, q.BBox, len(got), len(want), got[:min(len(got), 5)], want[:min(len(want), 5)])
			}
		}
		states, err := db.LatestStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		latest := map[string]bluehelm.Position{}
		for _, p := range all {
			latest[p.UID] = p // all is in time order; equal times: one per (uid, time)
		}
		if len(states) != len(latest) {
			t.Fatalf("round %d: %d latest states, want %d", round, len(states), len(latest))
		}
		for _, s := range states {
			if !samePositions([]bluehelm.Position{s.Position}, []bluehelm.Position{latest[s.UID]}) {
				t.Fatalf("round %d: latest of %s is %+v, want %+v", round, s.UID, s.Position, latest[s.UID])
			}
		}
	}
	// Close first: the committer owns compactErr until it has exited.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db.pw.compactErr != nil {
		t.Errorf("a compaction failed: %v", db.pw.compactErr)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func samePositions(a, b []bluehelm.Position) bool {
	return slices.EqualFunc(a, b, func(x, y bluehelm.Position) bool {
		return x.UID == y.UID && x.Time.Equal(y.Time) && x.Lat == y.Lat && x.Lon == y.Lon && x.HAE == y.HAE && x.CE == y.CE &&
			x.LE == y.LE && x.Course == y.Course && x.Speed == y.Speed && x.Battery == y.Battery && x.Source == y.Source
	})
}
