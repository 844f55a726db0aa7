package http

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestPostPositions(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	at := func(d time.Duration) string { return e.now.Add(d).Format(time.RFC3339) }

	var res struct{ Accepted int }
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{
		"uid": "PATROL-7", "time": at(-time.Minute), "lat": 4.86, "lon": 31.57, "speed": 3.2, "course": 90,
		"callsign": "Patrol 7", "kind": "unit", "battery": 80,
	}}, http.StatusOK, &res)
	if res.Accepted != 1 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	st, ok := e.picture.Get("PATROL-7")
	if !ok || st.Callsign != "Patrol 7" || st.Component != bluehelm.Military || st.Position.Speed != 3.2 {
		t.Fatalf("picture %+v", st)
	}

	batch := map[string]any{"positions": []map[string]any{
		{"uid": "PATROL-7", "time": at(-30 * time.Second), "lat": 4.87, "lon": 31.58},
		{"uid": "VEH-1", "time": at(-20 * time.Second), "lat": 4.9, "lon": 31.6, "kind": "vehicle", "classification": "CONFIDENTIAL", "component": "military"},
		{"uid": "VEH-1", "time": at(-10 * time.Second), "lat": 4.91, "lon": 31.61},
	}}
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: batch}, http.StatusOK, &res)
	if res.Accepted != 3 {
		t.Fatalf("accepted %d", res.Accepted)
	}
	// Durable when answered: the store has them.
	ps, err := e.db.Positions(e.ctx, bluehelm.PositionQuery{UID: "VEH-1"})
	if err != nil || len(ps) != 2 {
		t.Fatalf("stored %d positions, err %v", len(ps), err)
	}

	var latest struct{ Tracks []bluehelm.TrackState }
	e.ok(req{method: "GET", path: "/api/v1/positions/latest?bbox=31,4,32,5", as: "ops1"}, http.StatusOK, &latest)
	if len(latest.Tracks) != 2 {
		t.Fatalf("latest %+v", latest)
	}
	// The police viewer (UNCLASSIFIED clearance) sees only the unclassified track.
	e.ok(req{method: "GET", path: "/api/v1/positions/latest", as: "viewer"}, http.StatusOK, &latest)
	if len(latest.Tracks) != 1 || latest.Tracks[0].UID != "PATROL-7" || latest.Tracks[0].Position.Lat != 4.87 {
		t.Fatalf("viewer latest %+v", latest)
	}
	e.ok(req{method: "GET", path: "/api/v1/positions/latest?bbox=0,0,1,1", as: "ops1"}, http.StatusOK, &latest)
	if len(latest.Tracks) != 0 {
		t.Fatalf("empty box %+v", latest)
	}

	var hist struct {
		UID       string
		Positions []bluehelm.Position
	}
	e.ok(req{method: "GET", path: "/api/v1/tracks/PATROL-7/history", as: "viewer"}, http.StatusOK, &hist)
	if len(hist.Positions) != 2 || hist.Positions[0].Lat != 4.86 {
		t.Fatalf("history %+v", hist)
	}
	e.ok(req{method: "GET", path: "/api/v1/tracks/PATROL-7/history?limit=1&from=" + url.QueryEscape(at(-45*time.Second)), as: "viewer"}, http.StatusOK, &hist)
	if len(hist.Positions) != 1 || hist.Positions[0].Lat != 4.87 {
		t.Fatalf("history window %+v", hist)
	}
	// A track above the viewer is as absent as one that never existed.
	e.problem(req{method: "GET", path: "/api/v1/tracks/VEH-1/history", as: "viewer"}, http.StatusNotFound, "")
	e.problem(req{method: "GET", path: "/api/v1/tracks/NOPE/history", as: "viewer"}, http.StatusNotFound, "")
	e.ok(req{method: "GET", path: "/api/v1/tracks/VEH-1/history", as: "ops1"}, http.StatusOK, nil)
	e.problem(req{method: "GET", path: "/api/v1/tracks/VEH-1/history?from=last+week", as: "ops1"}, http.StatusBadRequest, "from")
	e.problem(req{method: "GET", path: "/api/v1/positions/latest?bbox=1,2,3", as: "ops1"}, http.StatusBadRequest, "bbox")
}

func TestPostPositionsRejectsBadInput(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	at := func(d time.Duration) string { return e.now.Add(d).Format(time.RFC3339) }
	good := func() map[string]any {
		return map[string]any{"uid": "P1", "time": at(-time.Minute), "lat": 4.8, "lon": 31.5}
	}
	with := func(k string, v any) map[string]any {
		m := good()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	batchOf := func(bad map[string]any) map[string]any {
		return map[string]any{"positions": []map[string]any{good(), good(), bad}}
	}
	big := make([]map[string]any, 0, 1001)
	for i := range 1001 {
		m := good()
		m["uid"] = fmt.Sprintf("P%d", i)
		big = append(big, m)
	}
	huge := `{"positions":[` + strings.Repeat(`{"uid":"P1","time":"`+at(-time.Minute)+`","lat":4.8,"lon":31.5},`, 8<<20/60) + `{}]}`
	cases := []struct {
		name   string
		as     string
		body   any
		status int
		field  string
	}{
		{"latitude out of range", "reporter", with("lat", 91.0), 400, "lat"},
		{"longitude out of range", "reporter", with("lon", -200.0), 400, "lon"},
		{"missing latitude", "reporter", with("lat", nil), 400, "lat"},
		{"far-future time", "reporter", with("time", at(24*time.Hour)), 400, "time"},
		{"missing time", "reporter", with("time", nil), 400, "time"},
		{"bad time", "reporter", with("time", "now"), 400, "time"},
		{"unknown field", "reporter", with("altitude", 100), 400, "altitude"},
		{"wrong type", "reporter", with("lat", "4.8"), 400, "lat"},
		{"bad uid", "reporter", with("uid", "has space"), 400, "uid"},
		{"bad speed", "reporter", with("speed", -1), 400, "speed"},
		{"bad kind", "reporter", with("kind", "submarine"), 400, "kind"},
		{"bad classification", "reporter", with("classification", "SECRET"), 400, "classification"},
		{"batch: bad latitude in the third", "reporter", batchOf(with("lat", 100.0)), 400, "positions[2].lat"},
		{"batch: wrong type in the third", "reporter", batchOf(with("battery", "full")), 400, "positions[2].battery"},
		{"batch: unknown field in the third", "reporter", batchOf(with("alt", 1)), 400, "positions[2].alt"},
		{"batch: bad time in the third", "reporter", batchOf(with("time", "noon")), 400, "positions[2].time"},
		{"batch: missing lon in the third", "reporter", batchOf(with("lon", nil)), 400, "positions[2].lon"},
		{"batch: extra top-level field", "reporter", map[string]any{"positions": []any{good()}, "source": "x"}, 400, "source"},
		{"batch: empty", "reporter", map[string]any{"positions": []any{}}, 400, "positions"},
		{"batch: over the pipeline limit", "reporter", map[string]any{"positions": big}, 413, ""},
		{"batch: over the body limit", "reporter", huge, 413, ""},
		{"malformed", "reporter", `{"uid":"P1",`, 400, ""},
		{"array", "reporter", `[{"uid":"P1"}]`, 400, ""},
		{"viewer may not post", "viewer", good(), 403, ""},
		{"marking above clearance", "reporter", with("classification", "STRICTLY CONFIDENTIAL"), 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.counts()
			e.problem(req{method: "POST", path: "/api/v1/positions", as: c.as, body: c.body}, c.status, c.field)
			e.sameCounts(before, c.name)
			if e.picture.Len() != 0 {
				t.Fatal("the live picture changed")
			}
		})
	}
}
