package federation

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

var (
	benchBacklog = flag.Int("federation.backlog", 60000, "position updates made while the link is cut (60,000 = 10 min at 100/s)")
	benchTracks  = flag.Int("federation.tracks", 100, "tracks reporting during the cut")
	benchLive    = flag.Duration("federation.live", 10*time.Second, "how long to measure the live link at 100 updates/s")
	// By default the backlog is made as fast as the camp's pipeline takes it;
	// with -federation.realtime it is made at 100 updates/s, so the link stays
	// cut for the whole time (10 minutes for the default backlog), as in the
	// field: the leaf connection's reconnect attempts and the heartbeats'
	// silence last that long too.
	benchRealtime = flag.Bool("federation.realtime", false, "make the backlog at 100 updates/s (a real cut of backlog/100 seconds)")
)

// BenchmarkLinkBacklog is issue 9's federation target: a camp reporting 100
// position updates a second through a 10-minute cut. The backlog is made
// quickly while the link is cut (the reports carry the times of those ten
// minutes), then the link is restored and the benchmark measures how long HQ
// takes to receive all of it and the bytes that crossed the link per update,
// both ways, counted by the proxy between the camp's leaf connection and
// HQ's leaf listener (NATS protocol, S2, heartbeats and acknowledgements
// included). It also measures the live link at 100 updates/s and the bytes
// per incident.
//
//	go test ./federation -run '^$' -bench LinkBacklog -benchtime 1x
func BenchmarkLinkBacklog(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// Production timings: a heartbeat and a live batch every second.
		hq, camp, px := pair(b, openLink(), openLink(), nodeOpts{heartbeat: time.Second, flush: time.Second})
		received := func() int {
			return int(counter(hq.fed.m.received, "camp1", "position"))
		}
		n, tracks := *benchBacklog, *benchTracks
		start := time.Now().UTC().Add(-time.Duration(n/tracks+60) * time.Second).Truncate(time.Second)
		// Vehicles on a random walk: each keeps a heading that drifts, a
		// speed of 0-15 m/s, GPS noise of a few metres, and reports about once
		// a second with the jitter of real devices, so that the encoding is
		// measured on data that does not compress for free.
		rng := rand.New(rand.NewPCG(9, 27))
		type veh struct{ lat, lon, heading, speed, hae float64 }
		vehs := make([]veh, tracks)
		for j := range vehs {
			vehs[j] = veh{lat: 4.6 + rng.Float64()*0.6, lon: 31.3 + rng.Float64()*0.6, heading: rng.Float64() * 360, speed: rng.Float64() * 15, hae: 440 + rng.Float64()*60}
		}
		report := func(k int, at time.Time) ingest.Report {
			v := &vehs[k%tracks]
			v.heading = math.Mod(v.heading+rng.NormFloat64()*10+360, 360)
			v.speed = math.Max(0, math.Min(15, v.speed+rng.NormFloat64()))
			v.lat += v.speed * math.Cos(v.heading*math.Pi/180) / 111320
			v.lon += v.speed * math.Sin(v.heading*math.Pi/180) / 111320
			v.hae += rng.NormFloat64()
			r := report(fmt.Sprintf("camp1-veh-%03d", k%tracks), at.Add(time.Duration(rng.IntN(400))*time.Millisecond), k)
			r.Position.Lat = v.lat + rng.NormFloat64()*3/111320
			r.Position.Lon = v.lon + rng.NormFloat64()*3/111320
			r.Position.HAE = v.hae
			r.Position.Course, r.Position.Speed = v.heading, v.speed
			r.Position.CE = 5 + float64(rng.IntN(10))
			return r
		}

		px.Cut()
		waitFor(b, 20*time.Second, "the cut to be seen", func() bool { return !camp.fed.LinkUp("hq") })
		made := time.Now()
		pace := time.NewTicker(time.Duration(tracks) * 10 * time.Millisecond) // 100 updates/s
		defer pace.Stop()
		for k := 0; k < n; k += tracks {
			if *benchRealtime {
				<-pace.C
			}
			batch := make([]ingest.Report, 0, tracks)
			for j := k; j < min(k+tracks, n); j++ {
				batch = append(batch, report(j, start.Add(time.Duration(j/tracks)*time.Second)))
			}
			if err := camp.p.Positions(testCtx, joc, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("backlog of %d updates made in %v while cut", n, time.Since(made).Round(time.Millisecond))
		if got := received(); got != 0 {
			b.Fatalf("%d updates crossed a cut link", got)
		}

		before := px.Bytes()
		b.StartTimer()
		restored := time.Now()
		px.Restore()
		waitFor(b, 5*time.Minute, "the backlog at HQ", func() bool { return received() >= n })
		drain := time.Since(restored)
		b.StopTimer()
		backlogBytes := px.Bytes() - before
		if got := received(); got != n {
			b.Fatalf("HQ received %d updates, want %d", got, n)
		}

		// The live link: 100 updates a second, as they come.
		before, base := px.Bytes(), received()
		live := 0
		tick := time.NewTicker(100 * time.Millisecond)
		end := time.Now().Add(*benchLive)
		for now := range tick.C {
			if now.After(end) {
				break
			}
			batch := make([]ingest.Report, 0, 10)
			for j := 0; j < 10; j++ {
				batch = append(batch, report(n+live, now.UTC()))
				live++
			}
			if err := camp.p.Positions(testCtx, joc, batch); err != nil {
				b.Fatal(err)
			}
		}
		tick.Stop()
		waitFor(b, time.Minute, "the live updates at HQ", func() bool { return received() >= base+live })
		liveBytes := px.Bytes() - before

		// Incidents, one by one on a live link.
		const incidents = 50
		before = px.Bytes()
		got0 := counter(hq.fed.m.received, "camp1", "incident")
		for k := 0; k < incidents; k++ {
			inc := newIncident(fmt.Sprintf("Armed clash reported near checkpoint %d", k), bluehelm.Marking{Component: bluehelm.Military})
			inc.Narrative = "A patrol reported small-arms fire near the checkpoint at dawn; two civilians injured, evacuated to the level 1 hospital. Armed group movement reported east of the river."
			inc.Casualties = []bluehelm.Casualty{{Group: "civilians", Kind: "injured", Low: 2, Best: 2, High: 3}}
			inc.Actors = []bluehelm.Actor{{Name: "Unidentified armed group", Type: "rebel_group", Side: "a"}}
			if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
				b.Fatal(err)
			}
		}
		waitFor(b, time.Minute, "the incidents at HQ", func() bool { return counter(hq.fed.m.received, "camp1", "incident") >= got0+incidents })
		incBytes := px.Bytes() - before

		b.ReportMetric(drain.Seconds(), "drain-s")
		b.ReportMetric(float64(backlogBytes)/float64(n), "B/update")
		b.ReportMetric(float64(liveBytes)/float64(live), "live-B/update")
		b.ReportMetric(float64(incBytes)/incidents, "B/incident")
		b.Logf("backlog %d updates: drained in %v, %d bytes on the link (%.1f B/update); live %d updates: %d bytes (%.1f B/update); %d incidents: %d bytes",
			n, drain.Round(time.Millisecond), backlogBytes, float64(backlogBytes)/float64(n), live, liveBytes, float64(liveBytes)/float64(live), incidents, incBytes)
	}
}
