package http

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// BenchmarkDecodePositionBatch measures the strict decoding of a 1000-report batch,
// the HTTP share of the position ingest path (the pipeline and store have their own
// benchmarks).
func BenchmarkDecodePositionBatch(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"positions":[`)
	now := time.Now().UTC()
	for i := range 1000 {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"uid":"U%d","time":%q,"lat":%f,"lon":%f,"speed":3.5,"course":90,"callsign":"Unit %d","kind":"vehicle"}`,
			i, now.Format(time.RFC3339), 4+float64(i)/1000, 31+float64(i)/1000, i)
	}
	buf.WriteString(`]}`)
	body := buf.Bytes()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/api/v1/positions", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var batch positionBatch
		if err := decodeJSON(httptest.NewRecorder(), r, limitPositions, &batch); err != nil {
			b.Fatal(err)
		}
		if len(batch.Positions) != 1000 {
			b.Fatal(len(batch.Positions))
		}
	}
}

// BenchmarkGetIncident measures one authenticated read through the whole stack
// (bearer token lookup, store read, access check, JSON) over loopback.
func BenchmarkGetIncident(b *testing.B) {
	e := newEnv(b)
	e.user("viewer", bluehelm.RoleViewer, bluehelm.Police, bluehelm.Unclassified)
	inc := e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, "benchmark")
	path := fmt.Sprintf("%s/api/v1/incidents/%d", e.ts.URL, inc.ID)
	client := e.ts.Client()
	b.ReportAllocs()
	for b.Loop() {
		rq, _ := http.NewRequest("GET", path, nil)
		rq.Header.Set("Authorization", "Bearer "+e.tokens["viewer"])
		res, err := client.Do(rq)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode)
		}
	}
}

// seedIncidents imports n incidents of a realistic size (a narrative, actors,
// casualties, a source) spread over South Sudan and two years, a tenth of them
// CONFIDENTIAL to the military.
func seedIncidents(b *testing.B, e *testEnv, n int) {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	cats := bluehelm.Taxonomy
	incs := make([]*bluehelm.Incident, 0, n)
	for i := range n {
		m := bluehelm.Marking{Component: bluehelm.Military}
		if i%10 == 0 {
			m.Classification = bluehelm.Confidential
		}
		at := e.now.Add(-time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
		incs = append(incs, &bluehelm.Incident{
			ExternalID: fmt.Sprintf("bench:%d", i), Title: fmt.Sprintf("Incident %d reported near the market", i),
			Category: cats[i%len(cats)].Code, Status: bluehelm.StatusApproved,
			OccurredStart: at, ReportedAt: at, UpdatedAt: at, ReportedBy: "import",
			Location: bluehelm.Point{Lon: 24 + rng.Float64()*12, Lat: 3.5 + rng.Float64()*9},
			Country:  "South Sudan", Admin1: "Jonglei", PlaceName: "Bor",
			Actors: []bluehelm.Actor{{Name: "Armed group A", Type: "rebel_group", Side: "a"}, {Name: "Civilians", Type: "civilians", Side: "b"}},
			Casualties: []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 1, Best: 2, High: 3},
				{Group: "civilians", Kind: "injured", Low: 0, Best: 1, High: 4}},
			Sources:   []bluehelm.Source{{Name: "UNMISS patrol", Reliability: "B", Credibility: 2}},
			Narrative: strings.Repeat("Armed men fired on the market and looted shops before leaving to the east. ", 5),
			Marking:   m,
		})
	}
	for lo := 0; lo < n; lo += 5000 {
		if _, _, err := e.db.ImportIncidents(e.ctx, incs[lo:min(lo+5000, n)], bluehelm.NewAudit(bluehelm.SystemPrincipal("bench"), "import", "", nil)); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkGet measures one authenticated GET through the whole stack over
// loopback, the answer read and gzip-decoded by the client as a browser would.
func benchmarkGet(b *testing.B, e *testEnv, as, path string) {
	client := e.ts.Client()
	var size int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rq, _ := http.NewRequest("GET", e.ts.URL+path, nil)
		rq.Header.Set("Authorization", "Bearer "+e.tokens[as])
		rq.Header.Set("Accept-Encoding", "gzip")
		res, err := client.Do(rq)
		if err != nil {
			b.Fatal(err)
		}
		wire, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatal(res.StatusCode, string(wire))
		}
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		size = int64(len(wire))
		b.SetBytes(int64(len(body)))
	}
	b.ReportMetric(float64(size), "wire-bytes")
}

// BenchmarkIncidentsMap is GET /api/v1/incidents/map over 20,000 incidents (the
// issue's "20,000 incidents in view"): every visible incident as compact GeoJSON.
// The cleared officer gets all 20,000; the unclassified viewer the 18,000
// UNCLASSIFIED ones.
func BenchmarkIncidentsMap(b *testing.B) {
	e := newEnv(b)
	e.standardUsers()
	seedIncidents(b, e, 20000)
	b.Run("cleared", func(b *testing.B) { benchmarkGet(b, e, "ops1", "/api/v1/incidents/map") })
	b.Run("viewer", func(b *testing.B) { benchmarkGet(b, e, "viewer", "/api/v1/incidents/map") })
}

// BenchmarkIncidentStats is the dashboard's GET /api/v1/incidents/stats over the
// same 20,000 incidents and three areas.
func BenchmarkIncidentStats(b *testing.B) {
	e := newEnv(b)
	e.standardUsers()
	seedIncidents(b, e, 20000)
	for _, a := range []map[string]any{squareArea("Sector North", 28, 8, 3), squareArea("Sector South", 30, 4, 3), squareArea("Jonglei", 31, 6, 2)} {
		e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: a}, http.StatusCreated, nil)
	}
	benchmarkGet(b, e, "ops1", "/api/v1/incidents/stats")
}

// BenchmarkReplay is the time slider's GET /api/v1/positions/replay over the last
// 24 hours of 500 tracks reporting every 30 s (1.44 million stored reports),
// thinned to one fix a minute (720,000 fixes, more than the cap: the step is
// widened to fit 250,000 and the answer says so).
func BenchmarkReplay(b *testing.B) {
	e := newEnv(b)
	e.standardUsers()
	const tracks, every = 500, 30 * time.Second
	var ts []bluehelm.Track
	for k := range tracks {
		ts = append(ts, bluehelm.Track{UID: fmt.Sprintf("T%d", k), Callsign: fmt.Sprintf("Unit %d", k), Kind: bluehelm.KindVehicle,
			Marking: bluehelm.Marking{Component: bluehelm.Military}, UpdatedAt: e.now.Add(-25 * time.Hour)})
	}
	start := e.now.Add(-24 * time.Hour)
	for at := start; at.Before(e.now); at = at.Add(every * 20) {
		var ps []bluehelm.Position
		for i := range 20 {
			t := at.Add(time.Duration(i) * every)
			for k := range tracks {
				f := float64(t.Sub(start)) / float64(24*time.Hour)
				ps = append(ps, bluehelm.Position{UID: ts[k].UID, Time: t, Lon: 28 + float64(k%25)*0.3 + f, Lat: 5 + float64(k/25)*0.3 + f/2, Course: 45})
			}
		}
		if err := e.db.AppendPositions(e.ctx, ts, ps); err != nil {
			b.Fatal(err)
		}
	}
	q := "/api/v1/positions/replay?step=60s&from=" + start.Format(time.RFC3339) + "&to=" + e.now.Format(time.RFC3339)
	benchmarkGet(b, e, "ops1", q)
}
