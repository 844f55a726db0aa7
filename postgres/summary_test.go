package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// everyCasualty is one casualty of every group and kind, each count distinct.
func everyCasualty(count func(i int) (low, best, high int)) []bluehelm.Casualty {
	var cs []bluehelm.Casualty
	for _, g := range bluehelm.CasualtyGroups {
		for _, k := range bluehelm.CasualtyKinds {
			low, best, high := count(len(cs))
			cs = append(cs, bluehelm.Casualty{Group: g, Kind: k, Low: low, Best: best, High: high})
		}
	}
	return cs
}

// Every casualty group and kind the domain knows has a number of its own in
// casualty_counts, and the codec gives back what it was given.
func TestCasualtyCountsCodec(t *testing.T) {
	cs := everyCasualty(func(i int) (int, int, int) { return i, 2 * i, 1000000 })
	v, err := postgres.CasualtyCounts(cs)
	if err != nil {
		t.Fatal(err)
	}
	groups, kinds := map[int32]string{}, map[int32]string{}
	for i := 0; i < len(v); i += 5 {
		g, k := cs[i/5].Group, cs[i/5].Kind
		if o, ok := groups[v[i]]; ok && o != g {
			t.Errorf("groups %s and %s share number %d", o, g, v[i])
		}
		if o, ok := kinds[v[i+1]]; ok && o != k {
			t.Errorf("kinds %s and %s share number %d", o, k, v[i+1])
		}
		groups[v[i]], kinds[v[i+1]] = g, k
	}
	back, err := postgres.CasualtiesFromCounts(v)
	if err != nil || !reflect.DeepEqual(back, cs) {
		t.Fatalf("round trip: %v %+v, want %+v", err, back, cs)
	}
	for _, bad := range [][]bluehelm.Casualty{
		{{Group: "cows", Kind: "killed"}},
		{{Group: "civilians", Kind: "eaten"}},
		{{Group: "civilians", Kind: "killed", Low: 3, Best: 2, High: 4}},
	} {
		if _, err := postgres.CasualtyCounts(bad); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("%+v: got %v, want EINVALID", bad, err)
		}
	}
	for _, bad := range [][]int32{{1, 1, 0, 0}, {1, 99, 0, 0, 0}, {0, 1, 0, 0, 0}} {
		if _, err := postgres.CasualtiesFromCounts(bad); err == nil {
			t.Errorf("%v decoded", bad)
		}
	}
}

// The map pages are index-only scans of indexes holding each incident's
// summary, and an index entry has a size limit (about 2.7 kB). The largest
// summary the validation allows is stored, changed and found.
func TestLargestSummaryFitsTheIndex(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	sys := bluehelm.SystemPrincipal("test")
	long := func(r string) string { return strings.Repeat(r, bluehelm.MaxTitle) }
	longestCat := bluehelm.Taxonomy[0].Code
	for _, c := range bluehelm.Taxonomy {
		if len(c.Code) > len(longestCat) {
			longestCat = c.Code
		}
	}
	longestStatus := slices.MaxFunc(bluehelm.Statuses, func(a, b bluehelm.Status) int { return len(a) - len(b) })
	t0 := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	inc := &bluehelm.Incident{
		// Four-byte characters, which no compression shrinks much.
		Title: long("\U00010348"), Admin1: long("\U0001F30D"), Category: longestCat, Status: longestStatus,
		OccurredStart: t0, ReportedAt: t0, UpdatedAt: t0, Location: bluehelm.Point{Lon: 29.123456789, Lat: -1.987654321},
		Casualties: everyCasualty(func(i int) (int, int, int) { return 999990 + i%3, 999995 + i%3, 1000000 }),
		Marking: bluehelm.Marking{Classification: bluehelm.StrictlyConfidential, Component: bluehelm.Civilian,
			Releasability: bluehelm.Components},
		ReportedBy: "test",
	}
	if err := inc.Validate(time.Now()); err != nil {
		t.Fatalf("the test incident must be valid: %v", err)
	}
	if err := s.CreateIncident(ctx, inc, bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
		t.Fatalf("create: %v", err)
	}
	inc.Title = long("\U0001F525")
	if err := s.UpdateIncident(ctx, inc, "edit", bluehelm.NewAudit(sys, "incident.edit", "", nil)); err != nil {
		t.Fatalf("update: %v", err)
	}
	// A box small enough for the finest cells, and one for each coarser level.
	for _, w := range []float64{0.1, 2, 12} {
		box := bluehelm.BBox{MinLon: 29.1 - w/2, MinLat: -2 - w/2, MaxLon: 29.1 + w/2, MaxLat: -2 + w/2}
		page, err := s.FindIncidentSummaries(ctx, bluehelm.IncidentFilter{Viewer: sys, BBox: &box})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Summaries) != 1 || !reflect.DeepEqual(page.Summaries[0], inc.Summary()) {
			t.Fatalf("box %v: got %+v, want %+v", box, page.Summaries, inc.Summary())
		}
	}
}

// Migration 2 turns the jsonb casualties of migration 1 into casualty_counts:
// summaries read after it give the counts written before it.
func TestMigrationCasualtyCounts(t *testing.T) {
	u := pgtest.URL(t)
	ctx := t.Context()
	schema := pgtest.Schema()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	for _, q := range []string{`CREATE SCHEMA ` + schema, `SET search_path = ` + schema + `, public`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := postgres.MigrateTo(ctx, conn, 1); err != nil {
		t.Fatal(err)
	}
	all := everyCasualty(func(i int) (int, int, int) { return i, i + 1, 1000000 - i })
	cases := [][]bluehelm.Casualty{all, {all[5]}, {}, nil}
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, cs := range cases {
		var js any // as migration 1 stored them: NULL when none
		if cs != nil {
			js = cs
		}
		if _, err := conn.Exec(ctx, `INSERT INTO incidents (id, version, occurred_start, geom, category, status,
			classification, component, title, casualties) VALUES ($1, 1, $2, ST_SetSRID(ST_MakePoint(30, 5), 4326),
			'armed_clash', 'draft', 0, 'military', $3, $4)`, i+1, t0.Add(time.Duration(i)*time.Hour), fmt.Sprint("incident ", i), js); err != nil {
			t.Fatal(err)
		}
	}
	db := pgtest.OpenSchema(t, schema) // applies migration 2
	box := bluehelm.BBox{MinLon: 29, MinLat: 4, MaxLon: 31, MaxLat: 6}
	page, err := db.FindIncidentSummaries(ctx, bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("test"), BBox: &box})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Summaries) != len(cases) {
		t.Fatalf("got %d summaries, want %d", len(page.Summaries), len(cases))
	}
	for _, sum := range page.Summaries {
		want := cases[sum.ID-1]
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(sum.Casualties, want) {
			t.Errorf("incident %d: casualties %+v, want %+v", sum.ID, sum.Casualties, want)
		}
	}
}
