package ingest_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
)

// wirePosition is the JSON a device or gateway posts; decoding it is part of the
// measured pipeline.
type wirePosition struct {
	UID      string    `json:"uid"`
	Time     time.Time `json:"time"`
	Lat      float64   `json:"lat"`
	Lon      float64   `json:"lon"`
	Course   float64   `json:"course"`
	Speed    float64   `json:"speed"`
	Callsign string    `json:"callsign"`
	Kind     string    `json:"kind"`
}

// BenchmarkPipelinePositions measures the full ingest path for position reports:
// JSON decode → validate → authorise → group-committed SQLite history (synchronous=FULL)
// → live picture → geofence check → encode once → hub fan-out to 20 subscribers.
// Workload: 10,000 tracks over a South Sudan-sized area, batches of 1,000 reports,
// 8 concurrent posters (as from several gateways and the CoT server).
func BenchmarkPipelinePositions(b *testing.B) {
	e := newEnv(b)
	for i := range 20 {
		lon := 24 + float64(i%5)*2.4
		lat := 3.5 + float64(i/5)*2.25
		s := e.hub.Subscribe(live.SubscribeOptions{Viewer: bluehelm.SystemPrincipal("bench"),
			BBox: bluehelm.BBox{MinLon: lon, MinLat: lat, MaxLon: lon + 2.4, MaxLat: lat + 2.25}, QueueSize: 1024})
		go func() {
			var buf []live.Event
			for range s.Ready() {
				buf, _ = s.Drain(buf[:0])
			}
		}()
		defer s.Close()
	}
	const tracks, batch, posters = 10000, 1000, 8
	start := time.Now().Add(-time.Hour)
	var seq atomic.Int64
	makeBatch := func() []byte {
		n := seq.Add(1)
		ws := make([]wirePosition, batch)
		for i := range ws {
			k := (int(n)*batch + i) % tracks
			ws[i] = wirePosition{UID: fmt.Sprintf("trk-%05d", k), Time: start.Add(time.Duration(n) * time.Millisecond),
				Lon: 24 + float64(k%120)/10, Lat: 3.5 + float64(k/120)/9.3, Course: 90, Speed: 5, Callsign: "T", Kind: "vehicle"}
		}
		out, _ := json.Marshal(ws)
		return out
	}
	pre := make([][]byte, 64)
	for i := range pre {
		pre[i] = makeBatch()
	}
	sys := bluehelm.SystemPrincipal("bench")
	var next atomic.Int64
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws []wirePosition
			reports := make([]ingest.Report, 0, batch)
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ws = ws[:0]
				if err := json.Unmarshal(pre[i%int64(len(pre))], &ws); err != nil {
					b.Error(err)
					return
				}
				// Every batch gets a new time so that nothing is a duplicate.
				ts := start.Add(time.Duration(i) * time.Millisecond)
				reports = reports[:0]
				for _, w := range ws {
					reports = append(reports, ingest.Report{
						Track:    bluehelm.Track{UID: w.UID, Callsign: w.Callsign, Kind: bluehelm.TrackKind(w.Kind)},
						Position: bluehelm.Position{UID: w.UID, Time: ts, Lat: w.Lat, Lon: w.Lon, Course: w.Course, Speed: w.Speed, Source: "bench"},
					})
				}
				if err := e.p.Positions(ctx, sys, reports); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	b.ReportMetric(float64(b.N*batch)/el.Seconds(), "positions/s")
	b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*batch), "ns/position")
}
