package sqlite

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestFTSQuery(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"convoy", `"convoy"`},
		{"  convoy   ambush ", `"convoy" "ambush"`},
		{`"unbalanced`, `"unbalanced"`},
		{"AND OR NOT NEAR", `"AND" "OR" "NOT" "NEAR"`}, // operators become plain words
		{"col:value", `"col" "value"`},
		{"bent*", `"bent"*`},
		{"*", ""},
		{"()!?", ""},
		{"Malakal, Upper-Nile!", `"Malakal" "Upper-Nile"`},
		{"Juba's", `"Juba's"`},
		{"Bōr", `"Bōr"`},
	} {
		if got := ftsQuery(tc.in); got != tc.want {
			t.Errorf("ftsQuery(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCeilMillis(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Time
		want int64
	}{
		{base, base.UnixMilli()},
		{base.Add(time.Nanosecond), base.UnixMilli() + 1},
		{base.Add(999 * time.Microsecond), base.UnixMilli() + 1},
		{base.Add(time.Millisecond), base.UnixMilli() + 1},
		{time.Date(1960, 1, 1, 0, 0, 0, 500, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() + 1},
	} {
		if got := ceilMillis(tc.in); got != tc.want {
			t.Errorf("ceilMillis(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestCursor(t *testing.T) {
	for _, c := range []cursor{{0, 0}, {1718000000000, 42}, {-800000000000, math.MaxInt64}} {
		s := encodeCursor(c)
		got, err := decodeCursor(s)
		if err != nil || got != c {
			t.Errorf("round trip of %v via %q = %v, %v", c, s, got, err)
		}
	}
	for _, bad := range []string{"x", "!!!!", encodeCursor(cursor{1, 2}) + "AA", "AAAA"} {
		if _, err := decodeCursor(bad); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("decodeCursor(%q): %v, want EINVALID", bad, err)
		}
	}
}

func TestCells(t *testing.T) {
	for _, tc := range []struct {
		lat, lon float64
		row, col int64
	}{
		{-90, -180, 0, 0},
		{90, 180, cellRows - 1, cellCols - 1},
		{0, 0, 900, 1800},
		{-0.05, -0.05, 899, 1799},
		{3.5, 24, 935, 2040},
		{12.49, 35.99, 1024, 2159},
	} {
		if r, c := cellIndex(tc.lat, tc.lon); r != tc.row || c != tc.col {
			t.Errorf("cellIndex(%v, %v) = %d, %d; want %d, %d", tc.lat, tc.lon, r, c, tc.row, tc.col)
		}
	}
	// A box's cell list must cover every point inside it, edges included.
	b := bluehelm.BBox{MinLon: 30.05, MinLat: 7.1, MaxLon: 30.3, MaxLat: 7.3}
	args := cellList(b)
	if args == nil {
		t.Fatal("small box has no cell list")
	}
	in := map[int64]bool{}
	for _, a := range args {
		in[a.(int64)] = true
	}
	for lat := b.MinLat; lat <= b.MaxLat; lat += 0.01 {
		for lon := b.MinLon; lon <= b.MaxLon; lon += 0.01 {
			if !in[cellOf(lat, lon)] {
				t.Fatalf("point (%v, %v) in the box is in cell %d, not in the list", lat, lon, cellOf(lat, lon))
			}
		}
	}
	for _, p := range [][2]float64{{b.MaxLat, b.MaxLon}, {b.MinLat, b.MinLon}} {
		if !in[cellOf(p[0], p[1])] {
			t.Errorf("corner %v not covered", p)
		}
	}
	if cellList(bluehelm.World) != nil {
		t.Error("world box has a cell list, want none (too many cells)")
	}
}

func TestReleasability(t *testing.T) {
	for _, tc := range [][]bluehelm.Component{nil, {bluehelm.Police}, {bluehelm.Police, bluehelm.Civilian, bluehelm.Support}} {
		enc := releasability(tc)
		if got := components(enc); len(got) != len(tc) || (len(tc) > 0 && strings.Join(compStrings(got), ",") != strings.Join(compStrings(tc), ",")) {
			t.Errorf("components(releasability(%v)) = %v via %q", tc, got, enc)
		}
	}
	if releasability(nil) != "" {
		t.Error(`an empty list must encode as "", which no ",component," pattern matches`)
	}
}

func compStrings(cs []bluehelm.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// TestQueryPlans pins the plans FindIncidents and Positions rely on for speed:
// a regression here is a latency regression on a large database.
func TestQueryPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	viewer := bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	fq, err := newFindQuery(bluehelm.IncidentFilter{
		Viewer: viewer, BBox: &bluehelm.BBox{MinLon: 30, MinLat: 5, MaxLon: 31.2, MaxLat: 5.9},
		From: t0, To: t0.Add(90 * 24 * time.Hour), Cursor: encodeCursor(cursor{t0.UnixMilli(), 5}),
		Categories: []bluehelm.Category{bluehelm.CatProtest}, Text: "convoy",
	}, 100, 1000)
	if err != nil {
		t.Fatal(err)
	}
	explain := func(q string, args ...any) string {
		t.Helper()
		rows, err := db.r.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	probe, probeArgs := fq.candidates(100)
	textQ, textArgs := fq.sql(planText, "")
	rtQ, rtArgs := fq.sql(planRTree, "[1,2,3]")
	timeQ, timeArgs := fq.sql(planTime, "")
	const revisionByKey = "SEARCH v USING INTEGER PRIMARY KEY (rowid=?)"
	segPlan := func(q bluehelm.PositionQuery) string {
		sq, args := segmentQuery(q, 1, 0, 1, 2)
		return explain(sq, args...)
	}
	for _, tc := range []struct {
		name    string
		plan    string
		want    []string
		wantNot []string
	}{
		// R*Tree index 2 with all six constraints: the box and the time window.
		{"candidates", explain(probe, probeArgs...), []string{"SCAN r VIRTUAL TABLE INDEX 2:D1B0D3B2D5B4"}, nil},
		// The candidates looked up by id.
		{"rtree", explain(rtQ, rtArgs...), []string{"SEARCH i USING INTEGER PRIMARY KEY (rowid=?)", "LIST SUBQUERY"}, []string{"SCAN i\n"}},
		{"text", explain(textQ, textArgs...), []string{"SCAN incidents_fts VIRTUAL TABLE INDEX 0:M", "SEARCH i USING INTEGER PRIMARY KEY"}, []string{"SCAN i\n"}},
		// Walks the index in page order: no sort, stops after the page.
		{"time", explain(timeQ, timeArgs...), []string{"SEARCH i USING INDEX incidents_time (occurred_start>? AND occurred_start<?)"}, []string{"TEMP B-TREE"}},
		{"documents", explain(sqlFetchDocs, "[1,2]"), []string{"SCAN j VIRTUAL TABLE", revisionByKey}, []string{"SCAN v\n"}},
		{"segments by box", segPlan(bluehelm.PositionQuery{BBox: &bluehelm.BBox{MinLon: 30, MinLat: 7, MaxLon: 30.2, MaxLat: 7.2}}),
			[]string{"SEARCH position_segment_cells USING PRIMARY KEY (cell=? AND t_min>? AND t_min<?)", "SEARCH s USING INTEGER PRIMARY KEY"}, []string{"SCAN s\n"}},
		{"segments by track", segPlan(bluehelm.PositionQuery{UID: "x"}),
			[]string{"SEARCH position_segments USING INDEX position_segments_track (track_id=? AND t_min>? AND t_min<?)"}, []string{"TEMP B-TREE"}},
		{"segments by time", segPlan(bluehelm.PositionQuery{BBox: &bluehelm.World}),
			[]string{"SEARCH s USING INDEX position_segments_time (t_min>? AND t_min<?)"}, []string{"TEMP B-TREE"}},
		{"latest states", explain(`SELECT uid FROM tracks ORDER BY uid`), []string{"sqlite_autoindex_tracks_1"}, []string{"TEMP B-TREE"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.plan, w) {
				t.Errorf("%s plan lacks %q:\n%s", tc.name, w, tc.plan)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(tc.plan, w) {
				t.Errorf("%s plan has %q:\n%s", tc.name, w, tc.plan)
			}
		}
	}
}
