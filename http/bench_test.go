package http

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
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
