package postgres_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// Box queries read grid cells (0.25°, 1°, 4°) computed by the database for
// the rows and by the store for the query: points and box edges on cell
// boundaries, and a hair either side of them, must land on the same side in
// both.
func TestFindIncidentsCellBoundaries(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	sys := bluehelm.SystemPrincipal("test")
	rng := rand.New(rand.NewPCG(9, 27))
	// Coordinates on multiples of 0.25° (every cell boundary) and next to them,
	// few enough that points and box edges often coincide.
	coord := func(lo, hi float64) float64 {
		v := lo + float64(rng.IntN(int((hi-lo)*4)+1))*0.25
		// A hair either side as the cell arithmetic sees it: after adding
		// 180 (an ulp of v itself would round away there).
		switch rng.IntN(3) {
		case 1:
			v = math.Nextafter(v+180, math.Inf(1)) - 180
		case 2:
			v = math.Nextafter(v+180, math.Inf(-1)) - 180
		}
		return v
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var incs []*bluehelm.Incident
	for i := range 400 {
		inc := &bluehelm.Incident{
			Title: fmt.Sprintf("Boundary %d", i), Category: bluehelm.CatArmedClash, Status: bluehelm.StatusDraft,
			OccurredStart: t0.Add(time.Duration(rng.IntN(50)) * time.Hour), ReportedAt: t0, UpdatedAt: t0,
			Location: bluehelm.Point{Lon: coord(-2, 2), Lat: coord(-2, 2)},
			Marking:  bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}, ReportedBy: "test",
		}
		if err := s.CreateIncident(ctx, inc, bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		incs = append(incs, inc)
	}
	served := 0
	for k := range 120 {
		// Widths from a fraction of a fine cell to several coarse ones, so
		// every level (and the plain query past them) is used.
		w := []float64{0.25, 0.5, 1, 2, 3, 30}[k%6]
		x0, y0 := coord(-3, 2), coord(-3, 2)
		box := bluehelm.BBox{MinLon: x0, MinLat: y0, MaxLon: x0 + w, MaxLat: y0 + w*0.75}
		if rng.IntN(2) == 0 {
			box.MaxLon, box.MaxLat = coord(box.MaxLon, box.MaxLon), coord(box.MaxLat, box.MaxLat)
		}
		var want []int64
		for _, inc := range incs {
			if box.Contains(inc.Location) {
				want = append(want, inc.ID)
			}
		}
		slices.SortFunc(want, func(a, b int64) int {
			ia, ib := incs[slices.IndexFunc(incs, func(x *bluehelm.Incident) bool { return x.ID == a })], incs[slices.IndexFunc(incs, func(x *bluehelm.Incident) bool { return x.ID == b })]
			if c := ib.OccurredStart.Compare(ia.OccurredStart); c != 0 {
				return c
			}
			return int(b - a)
		})
		var got []int64
		f := bluehelm.IncidentFilter{Viewer: sys, BBox: &box, Limit: 7}
		for {
			page, err := s.FindIncidentSummaries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, sum := range page.Summaries {
				got = append(got, sum.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		served += len(got)
		if !slices.Equal(got, want) {
			t.Errorf("box %+v: got %d incidents %v, want %d %v", box, len(got), got, len(want), want)
		}
	}
	if served < 400 {
		t.Fatalf("test data: the boxes hold only %d incidents", served)
	}
}

// Words are cut as the suite's oracle cuts them, in any script, and a word
// followed by * is a prefix.
func TestFindIncidentsText(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	sys := bluehelm.SystemPrincipal("test")
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(title, narrative string) int64 {
		inc := &bluehelm.Incident{
			Title: title, Narrative: narrative, Category: bluehelm.CatArmedClash, Status: bluehelm.StatusDraft,
			OccurredStart: t0, ReportedAt: t0, UpdatedAt: t0, Location: bluehelm.Point{Lon: 30, Lat: 5},
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}, ReportedBy: "test",
		}
		if err := s.CreateIncident(ctx, inc, bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	market := mk("Attaque au marché", "Des hommes armés ont attaqué le marché.")
	arabic := mk("هجوم على السوق", "مسلحين في القرية")
	spla := mk("SPLA-IO patrol", "Contact: ops@example.org, 12km north.")
	for _, tc := range []struct {
		text string
		want []int64
	}{
		{"marché", []int64{market}},
		{"MARCHÉ armés", []int64{market}},
		{"march", nil},
		{"march*", []int64{market}},
		{"السوق", []int64{arabic}},
		{"spla io", []int64{spla}},
		{"spla-io", []int64{spla}},
		{"example", []int64{spla}},
		{"12km", []int64{spla}},
		{"ops@example.org", []int64{spla}},
		{"pat*", []int64{spla}},
	} {
		page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, Text: tc.text})
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		var got []int64
		for _, inc := range page.Incidents {
			got = append(got, inc.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("text %q: got %v, want %v", tc.text, got, tc.want)
		}
	}
	if _, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, Text: "!!"}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("text without words: %v, want EINVALID", err)
	}
}
