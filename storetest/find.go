package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// collect pages through f with the given page size and returns the ids in the
// order served. It checks the paging rules: pages are at most limit long, a page
// with a NextCursor is full, and the last page has no NextCursor.
func collect(t *testing.T, s bluehelm.Store, f bluehelm.IncidentFilter, limit int) []int64 {
	t.Helper()
	f.Limit = limit
	want := limit
	if want == 0 {
		want = 100
	}
	var ids []int64
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("more than 10000 pages: the cursor does not advance")
		}
		page, err := s.FindIncidents(ctxOf(t), f)
		must(t, err, "FindIncidents")
		if len(page.Incidents) > want {
			t.Fatalf("page of %d incidents with limit %d", len(page.Incidents), limit)
		}
		for _, inc := range page.Incidents {
			ids = append(ids, inc.ID)
		}
		if page.NextCursor == "" {
			break
		}
		if len(page.Incidents) != want {
			t.Fatalf("page %d has %d incidents and a next cursor; with limit %d a page that is not the last must be full (was access or another filter applied after the query?)",
				pages, len(page.Incidents), limit)
		}
		f.Cursor = page.NextCursor
	}
	// Summaries are served in the same order, paged by the same cursors (their
	// default page is 1000). Their pages here are longer (4×limit+1, at least
	// 25), so page ends fall elsewhere and the suite does not double its time.
	f.Cursor = ""
	if limit == 0 {
		want = 1000
	} else {
		want = max(4*limit+1, 25)
		f.Limit = want
	}
	var sids []int64
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("more than 10000 pages of summaries: the cursor does not advance")
		}
		page, err := s.FindIncidentSummaries(ctxOf(t), f)
		must(t, err, "FindIncidentSummaries")
		if len(page.Summaries) > want || (page.NextCursor != "" && len(page.Summaries) != want) {
			t.Fatalf("summary page of %d with limit %d, cursor %q", len(page.Summaries), limit, page.NextCursor)
		}
		for _, sum := range page.Summaries {
			sids = append(sids, sum.ID)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if !slices.Equal(ids, sids) {
		t.Errorf("FindIncidentSummaries served %v, FindIncidents %v", sids, ids)
	}
	return ids
}

// checkIDs compares served ids to the oracle's, naming the first difference.
func checkIDs(t *testing.T, got, want []int64, what string) {
	t.Helper()
	seen := map[int64]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s: incident %d served twice: pages overlap", what, id)
			return
		}
		seen[id] = true
	}
	if slices.Equal(got, want) {
		return
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: %d incidents, want %d; first difference at %d: got id %d, want %d", what, len(got), len(want), i, got[i], want[i])
			return
		}
	}
	t.Errorf("%s: %d incidents, want %d (one list is a prefix of the other)", what, len(got), len(want))
}

func testFind(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	incs := dataset(240, 1)
	// Known rows for edge cases: on the edge of a box, at From, at To.
	// 30.1 and 8.1 have no exact float32 form, so an index that stores float32
	// boxes must round outwards (or be re-checked) to keep this one.
	edge := newIncident("Edge of box", t0.Add(100*24*time.Hour), bluehelm.Point{Lon: 30.1, Lat: 8.1}, unclassified)
	atTo := newIncident("At To", t0.Add(200*24*time.Hour), bluehelm.Point{Lon: 30.5, Lat: 8.5}, unclassified)
	incs = append(incs, edge, atTo)
	// A group of simultaneous incidents inside the box: pages must break ties
	// by id consistently, or rows at a page boundary are skipped or repeated.
	for i := range 9 {
		tie := newIncident(fmt.Sprintf("Tie %d convoy", i), t0.Add(150*24*time.Hour), bluehelm.Point{Lon: 28 + float64(i)*0.1, Lat: 7}, unclassified)
		incs = append(incs, tie)
	}
	for _, inc := range incs {
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
	}

	box := &bluehelm.BBox{MinLon: 27, MinLat: 6, MaxLon: 31, MaxLat: 9}
	edgeBox := &bluehelm.BBox{MinLon: 30.1, MinLat: 8.1, MaxLon: 31, MaxLat: 9} // edge sits on its corner
	from, to := edge.OccurredStart, atTo.OccurredStart
	// Drawn areas: a triangle (half the box, cut on the diagonal) and an L, which
	// is concave, so its bounding box holds incidents it does not.
	triangle := bluehelm.Ring{{Lon: 27, Lat: 6}, {Lon: 31, Lat: 6}, {Lon: 27, Lat: 9}}
	ell := bluehelm.Ring{{Lon: 27, Lat: 6}, {Lon: 31, Lat: 6}, {Lon: 31, Lat: 7}, {Lon: 28, Lat: 7}, {Lon: 28, Lat: 9}, {Lon: 27, Lat: 9}, {Lon: 27, Lat: 6}}
	filters := []struct {
		name string
		f    bluehelm.IncidentFilter
	}{
		{"all", bluehelm.IncidentFilter{}},
		{"bbox", bluehelm.IncidentFilter{BBox: box}},
		{"bbox edges inclusive", bluehelm.IncidentFilter{BBox: edgeBox}},
		{"bbox world", bluehelm.IncidentFilter{BBox: &bluehelm.World}},
		{"bbox empty area", bluehelm.IncidentFilter{BBox: &bluehelm.BBox{MinLon: -10, MinLat: -10, MaxLon: -9, MaxLat: -9}}},
		{"within triangle", bluehelm.IncidentFilter{Within: triangle}},
		{"within concave", bluehelm.IncidentFilter{Within: ell}},
		{"within and bbox", bluehelm.IncidentFilter{Within: ell, BBox: &bluehelm.BBox{MinLon: 27.5, MinLat: 6, MaxLon: 31, MaxLat: 9}}},
		{"within and text time", bluehelm.IncidentFilter{Within: triangle, Text: "patrol", From: t0.Add(30 * 24 * time.Hour)}},
		{"within disjoint bbox", bluehelm.IncidentFilter{Within: triangle, BBox: &bluehelm.BBox{MinLon: -10, MinLat: -10, MaxLon: -9, MaxLat: -9}}},
		{"from", bluehelm.IncidentFilter{From: from}},
		{"to", bluehelm.IncidentFilter{To: to}},
		{"from to", bluehelm.IncidentFilter{From: from, To: to}},
		{"bbox from to", bluehelm.IncidentFilter{BBox: box, From: from, To: to.Add(300 * 24 * time.Hour)}},
		{"category", bluehelm.IncidentFilter{Categories: []bluehelm.Category{bluehelm.CatProtest}}},
		{"categories", bluehelm.IncidentFilter{Categories: []bluehelm.Category{bluehelm.CatProtest, bluehelm.CatRobbery}}},
		{"statuses", bluehelm.IncidentFilter{Statuses: []bluehelm.Status{bluehelm.StatusSubmitted, bluehelm.StatusVerified}}},
		{"text", bluehelm.IncidentFilter{Text: "convoy"}},
		{"text two words", bluehelm.IncidentFilter{Text: "market cattle"}},
		{"text place", bluehelm.IncidentFilter{Text: "Malakal"}},
		{"text actor", bluehelm.IncidentFilter{Text: "white army"}},
		{"text case and punctuation", bluehelm.IncidentFilter{Text: "CONVOY, river!"}},
		{"text no hit", bluehelm.IncidentFilter{Text: "zanzibar"}},
		{"text bbox time", bluehelm.IncidentFilter{Text: "patrol", BBox: box, From: t0.Add(30 * 24 * time.Hour)}},
		{"everything", bluehelm.IncidentFilter{BBox: box, From: t0, To: t0.Add(500 * 24 * time.Hour),
			Categories: categories[:3], Statuses: bluehelm.Statuses[:4], Text: "report"}},
	}
	for _, tc := range filters {
		tc.f.Viewer = sys
		want := expected(incs, tc.f)
		// A filter the oracle answers with nothing (or everything) could not
		// tell a wrong store from a right one.
		empty := tc.name == "bbox empty area" || tc.name == "text no hit" || tc.name == "within disjoint bbox"
		all := tc.name == "all" || tc.name == "bbox world"
		if (len(want) == 0) != empty || (len(want) == len(incs)) != all {
			t.Fatalf("test data: filter %q selects %d of %d incidents", tc.name, len(want), len(incs))
		}
		for _, limit := range []int{7, 100} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				checkIDs(t, collect(t, s, tc.f, limit), want, tc.name)
			})
		}
	}
	// The concave area must leave out part of its bounding box, or it tests
	// nothing a box would not.
	if b := ell.Bound(); len(expected(incs, bluehelm.IncidentFilter{Viewer: sys, Within: ell})) >= len(expected(incs, bluehelm.IncidentFilter{Viewer: sys, BBox: &b})) {
		t.Fatal("test data: the L-shaped area holds every incident of its bounding box")
	}
	// The edge cases are only tested if the oracle agrees they are edge cases.
	if !slices.Contains(expected(incs, bluehelm.IncidentFilter{Viewer: sys, BBox: edgeBox}), edge.ID) {
		t.Fatal("test data: the edge incident is not inside edgeBox")
	}
	if slices.Contains(expected(incs, bluehelm.IncidentFilter{Viewer: sys, From: from, To: to}), atTo.ID) {
		t.Fatal("test data: To is not exclusive in the oracle")
	}

	for _, f := range []bluehelm.IncidentFilter{{}, {BBox: box}, {Text: "convoy"}} {
		f.Viewer = sys
		for _, limit := range []int{1, 2, 4} {
			t.Run(fmt.Sprintf("small pages/%d", limit), func(t *testing.T) {
				checkIDs(t, collect(t, s, f, limit), expected(incs, f), "small pages")
			})
		}
	}

	t.Run("default limit", func(t *testing.T) {
		page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys})
		must(t, err, "FindIncidents")
		if len(page.Incidents) != 100 || page.NextCursor == "" {
			t.Errorf("limit 0: %d incidents, cursor %q; want 100 and a cursor", len(page.Incidents), page.NextCursor)
		}
	})

	t.Run("full documents", func(t *testing.T) {
		page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, Limit: 1000})
		must(t, err, "FindIncidents")
		byID := map[int64]*bluehelm.Incident{}
		for _, inc := range incs {
			byID[inc.ID] = inc
		}
		for _, got := range page.Incidents {
			sameJSON(t, got, byID[got.ID], "incident in a page")
		}
		sums, err := s.FindIncidentSummaries(ctx, bluehelm.IncidentFilter{Viewer: sys, Limit: 1000})
		must(t, err, "FindIncidentSummaries")
		if len(sums.Summaries) != len(page.Incidents) {
			t.Fatalf("%d summaries, %d incidents", len(sums.Summaries), len(page.Incidents))
		}
		for i, got := range sums.Summaries {
			want := page.Incidents[i].Summary()
			if !got.OccurredStart.Equal(want.OccurredStart) {
				t.Errorf("summary %d occurred %v, want %v", got.ID, got.OccurredStart, want.OccurredStart)
			}
			got.OccurredStart = want.OccurredStart
			sameJSON(t, got, want, "summary in a page")
		}
	})

	t.Run("bad cursor", func(t *testing.T) {
		_, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, Cursor: "not a cursor!"})
		wantCode(t, err, bluehelm.EINVALID, "FindIncidents with a forged cursor")
	})
}

// TestCursorStable is separate because it writes between pages.
func testCursorStable(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	incs := dataset(30, 3)
	for _, inc := range incs {
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
	}
	f := bluehelm.IncidentFilter{Viewer: sys, Limit: 10}
	var got []int64
	for {
		page, err := s.FindIncidents(ctx, f)
		must(t, err, "FindIncidents")
		for _, inc := range page.Incidents {
			got = append(got, inc.ID)
		}
		if page.NextCursor == "" {
			break
		}
		// A newer incident arrives between pages: it belongs before the
		// cursor, so it must neither appear later nor shift the pages.
		newer := newIncident("breaking", t0.Add(10*365*24*time.Hour), bluehelm.Point{Lon: 30, Lat: 7}, unclassified)
		must(t, s.CreateIncident(ctx, newer, entry("incident.create")), "CreateIncident")
		f.Cursor = page.NextCursor
	}
	checkIDs(t, got, expected(incs, bluehelm.IncidentFilter{Viewer: sys}), "pages while incidents arrive")
}

func testFindAccess(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	var incs []*bluehelm.Incident
	for i, m := range allMarkings() {
		// Interleave times so each viewer's visible rows are scattered.
		at := t0.Add(time.Duration((i*37)%193) * time.Hour)
		inc := newIncident(fmt.Sprintf("Marked %d", i), at, bluehelm.Point{Lon: 25 + float64(i%10), Lat: 4 + float64(i%8)}, m)
		inc.Narrative = "Access test narrative"
		incs = append(incs, inc)
	}
	_, _, err := s.ImportIncidents(ctx, withExternalIDs(incs, "access"), entry("incident.import"))
	must(t, err, "ImportIncidents")

	variants := []struct {
		name string
		f    bluehelm.IncidentFilter
	}{
		{"plain", bluehelm.IncidentFilter{}},
		{"bbox", bluehelm.IncidentFilter{BBox: &bluehelm.BBox{MinLon: 20, MinLat: 0, MaxLon: 40, MaxLat: 15}}},
		{"time", bluehelm.IncidentFilter{From: t0, To: t0.Add(1000 * time.Hour)}},
		{"text", bluehelm.IncidentFilter{Text: "narrative"}},
	}
	for _, p := range viewers() {
		for _, v := range variants {
			t.Run(viewerName(p)+"/"+v.name, func(t *testing.T) {
				f := v.f
				f.Viewer = p
				want := expected(incs, f)
				if len(want) == 0 && p.System {
					t.Fatal("test data: system sees nothing")
				}
				checkIDs(t, collect(t, s, f, 10), want, "visible incidents")
			})
		}
	}
}

// withExternalIDs gives incs external ids and returns them.
func withExternalIDs(incs []*bluehelm.Incident, prefix string) []*bluehelm.Incident {
	for i, inc := range incs {
		inc.ExternalID = fmt.Sprintf("%s:%d", prefix, i)
	}
	return incs
}
