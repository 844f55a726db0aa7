package live

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// The benchmark mission: South Sudan-sized.
const (
	ssMinLon, ssMinLat, ssMaxLon, ssMaxLat = 24.0, 3.5, 36.0, 12.5
	benchTracks                            = 10000
)

// benchFleet is a set of tracks doing a random walk over the mission area.
type benchFleet struct {
	r      *rand.Rand
	tracks []bluehelm.TrackState
}

func newBenchFleet(n int) *benchFleet {
	f := &benchFleet{r: rand.New(rand.NewPCG(42, 1))}
	markings := []bluehelm.Marking{unclass, unclass, unclass, unclass, unclass, unclass, confMil, confMil, confPol, confPolRM}
	kinds := []bluehelm.TrackKind{bluehelm.KindUnit, bluehelm.KindVehicle, bluehelm.KindVehicle, bluehelm.KindPerson}
	for i := range n {
		uid := "track-" + strconv.Itoa(i)
		f.tracks = append(f.tracks, bluehelm.TrackState{
			Track: bluehelm.Track{UID: uid, Callsign: "C" + strconv.Itoa(i), Kind: kinds[i%len(kinds)], Marking: markings[i%len(markings)]},
			Position: bluehelm.Position{UID: uid, Time: t0,
				Lon: ssMinLon + f.r.Float64()*(ssMaxLon-ssMinLon), Lat: ssMinLat + f.r.Float64()*(ssMaxLat-ssMinLat)},
		})
	}
	return f
}

// step moves track i by up to ~1 km and ten seconds and returns its new state.
func (f *benchFleet) step(i int) bluehelm.TrackState {
	s := &f.tracks[i]
	s.Position.Time = s.Position.Time.Add(10 * time.Second)
	s.Position.Lon = clamp(s.Position.Lon+(f.r.Float64()-0.5)*0.02, ssMinLon, ssMaxLon)
	s.Position.Lat = clamp(s.Position.Lat+(f.r.Float64()-0.5)*0.02, ssMinLat, ssMaxLat)
	return *s
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func BenchmarkPictureApply(b *testing.B) {
	f := newBenchFleet(benchTracks)
	pc := NewPicture()
	pc.Load(f.tracks)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := f.step(i % benchTracks)
		if _, _, applied := pc.Apply(s.Track, s.Position); !applied {
			b.Fatal("not applied")
		}
		i++
	}
}

// BenchmarkPictureSearch is the snapshot a new subscriber gets: ~1% of the area.
func BenchmarkPictureSearch(b *testing.B) {
	f := newBenchFleet(benchTracks)
	pc := NewPicture()
	pc.Load(f.tracks)
	r := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		pc.Search(randomBox(r, 1), milC, func(bluehelm.TrackState) bool { n++; return true })
	}
	b.ReportMetric(float64(n)/float64(b.N), "tracks/op")
}

// benchAreas returns n rule-carrying polygons (32-gons, 1–20 km across) spread over
// the mission area, about as many as a mission's camps, sectors and no-go areas.
func benchAreas(n int) []*bluehelm.Area {
	r := rand.New(rand.NewPCG(5, 6))
	var out []*bluehelm.Area
	for i := range n {
		cx := ssMinLon + r.Float64()*(ssMaxLon-ssMinLon)
		cy := ssMinLat + r.Float64()*(ssMaxLat-ssMinLat)
		rad := 0.005 + r.Float64()*0.09
		ring := make(orb.Ring, 0, 33)
		for k := range 32 {
			a := 2 * math.Pi * float64(k) / 32
			ring = append(ring, orb.Point{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
		}
		ring = append(ring, ring[0])
		rules := []bluehelm.AreaRule{rule(bluehelm.TriggerEnter), rule(bluehelm.TriggerExit, bluehelm.KindVehicle)}
		if i%4 == 0 {
			rules = append(rules, dwell(600, bluehelm.KindPerson))
		}
		out = append(out, area(int64(i+1), orb.Polygon{ring}, rules...))
	}
	return out
}

func BenchmarkGeofenceCheck(b *testing.B) {
	g := NewGeofencer()
	for _, a := range benchAreas(200) {
		g.SetArea(a)
	}
	f := newBenchFleet(benchTracks)
	// Put a tenth of the tracks inside areas so that the exact test and the dwell
	// bookkeeping run, not just the R-tree miss.
	areas := benchAreas(200)
	for i := 0; i < benchTracks; i += 10 {
		c := areas[i%len(areas)].Geometry.Bound()
		f.tracks[i].Position.Lon, f.tracks[i].Position.Lat = (c.MinLon+c.MaxLon)/2, (c.MinLat+c.MaxLat)/2
	}
	b.ReportAllocs()
	i, crossings := 0, 0
	for b.Loop() {
		k := i % benchTracks
		prev := f.tracks[k]
		cur := f.step(k)
		crossings += len(g.Check(&prev, cur))
		i++
	}
	b.ReportMetric(float64(crossings)/float64(b.N), "crossings/op")
}

func BenchmarkGeofenceTick(b *testing.B) {
	g := NewGeofencer()
	areas := benchAreas(200)
	for _, a := range areas {
		g.SetArea(a)
	}
	// Ten thousand persons inside areas with dwell rules: the worst case for Tick.
	f := newBenchFleet(benchTracks)
	for i := range f.tracks {
		f.tracks[i].Kind = bluehelm.KindPerson
		c := areas[(i*4)%len(areas)].Geometry.Bound()
		f.tracks[i].Position.Lon, f.tracks[i].Position.Lat = (c.MinLon+c.MaxLon)/2, (c.MinLat+c.MaxLat)/2
		g.Check(nil, f.tracks[i])
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Tick(t0.Add(time.Second)) // nothing due: the steady state
	}
}

// BenchmarkHubFanout reproduces the live-picture target: 10,000 tracks each moving
// once every 10 s (1,000 position events/s) fanned out to 1,000 subscribers, each a
// goroutine draining on Ready and watching about 1% of a South Sudan-sized area,
// with a mix of viewers and markings. It records the publish-to-drain lag of every
// delivered event. Target: p99 ≤ 20 ms at the real rate.
//
//	rate=1000/s publishes b.N events at the real rate (use -benchtime=5000x for 5 s);
//	rate=max publishes as fast as one goroutine can, to show the headroom.
//
// ns/op is the publisher's cost per Publish call, not the pacing.
func BenchmarkHubFanout(b *testing.B) {
	for _, bc := range []struct {
		name string
		rate int // events per second; 0 = as fast as possible
	}{{"rate=1000/s", 1000}, {"rate=max", 0}} {
		b.Run(bc.name, func(b *testing.B) { benchFanout(b, bc.rate, 1000) })
	}
}

func benchFanout(b *testing.B, rate, subscribers int) {
	h := NewHub(HubOptions{})
	f := newBenchFleet(benchTracks)
	r := rand.New(rand.NewPCG(7, 8))
	viewers := []bluehelm.Principal{milC, milC, milC, polC, civU}

	type result struct {
		lags   []time.Duration
		lagged int
	}
	results := make([]result, subscribers)
	subs := make([]*Subscription, subscribers)
	var wg, started sync.WaitGroup
	for i := range subscribers {
		s := h.Subscribe(SubscribeOptions{Viewer: viewers[i%len(viewers)], BBox: randomBox(r, 1), Layers: []string{LayerTracks, LayerAlerts}})
		subs[i] = s
		wg.Add(1)
		started.Add(1)
		go func(res *result) {
			defer wg.Done()
			var buf []Event
			res.lags = make([]time.Duration, 0, 1024)
			started.Done()
			for range s.Ready() {
				var lagged bool
				buf, lagged = s.Drain(buf)
				if lagged {
					res.lagged++
				}
				for _, e := range buf {
					// A real consumer writes e.Data to its connection; the lag is
					// taken when the event is in the consumer's hands.
					res.lags = append(res.lags, s.Lag(e))
				}
			}
		}(&results[i])
	}

	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	var inPublish time.Duration
	// Start measuring with every consumer parked on Ready and a clean heap, so that
	// the setup's goroutine starts and garbage are not charged to the first events.
	started.Wait()
	runtime.GC()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if interval > 0 {
			// Pace against the schedule, not the previous event, so a late wake-up
			// is followed by a catch-up burst, as real traffic would be.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		s := f.step(i % benchTracks)
		ev := Event{Layer: LayerTracks, Key: s.UID, Marking: s.Marking,
			Where: pointBox(s.Position.Lon, s.Position.Lat), Coalesce: true,
			Data: encodeBenchPosition(s)}
		t := time.Now()
		h.Publish(ev)
		inPublish += time.Since(t)
	}
	elapsed := time.Since(start)
	b.StopTimer()

	// Let the consumers empty their queues, then stop them.
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range subs {
		for s.Len() > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	for _, s := range subs {
		s.Close()
	}
	wg.Wait()

	var all []time.Duration
	lagged := 0
	for _, res := range results {
		all = append(all, res.lags...)
		lagged += res.lagged
	}
	st := h.Stats()
	b.ReportMetric(float64(inPublish.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(len(all))/float64(b.N), "deliveries/event")
	b.ReportMetric(float64(st.Coalesced)/float64(b.N), "coalesced/event")
	b.ReportMetric(float64(st.Dropped), "dropped")
	b.ReportMetric(float64(lagged), "lagged")
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-ms")
}

// encodeBenchPosition stands in for the publisher's one encoding per event: about
// the size of the JSON a browser gets for a position.
func encodeBenchPosition(s bluehelm.TrackState) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"position","data":{"uid":"`...)
	b = append(b, s.UID...)
	b = append(b, `","callsign":"`...)
	b = append(b, s.Callsign...)
	b = append(b, `","kind":"`...)
	b = append(b, s.Kind...)
	b = append(b, `","position":{"time":"`...)
	b = s.Position.Time.AppendFormat(b, time.RFC3339)
	b = append(b, `","lat":`...)
	b = strconv.AppendFloat(b, s.Position.Lat, 'f', 6, 64)
	b = append(b, `,"lon":`...)
	b = strconv.AppendFloat(b, s.Position.Lon, 'f', 6, 64)
	b = append(b, `}}}`...)
	return b
}

// BenchmarkHubPublish measures Publish alone against 1,000 subscribers nobody
// drains (coalescing keeps their queues bounded): the matching and queueing cost.
func BenchmarkHubPublish(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := NewHub(HubOptions{})
			r := rand.New(rand.NewPCG(9, 10))
			for i := range n {
				h.Subscribe(SubscribeOptions{Viewer: []bluehelm.Principal{milC, polC, civU}[i%3], BBox: randomBox(r, 1)})
			}
			f := newBenchFleet(benchTracks)
			data := []byte(`{"type":"position"}`)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := f.step(i % benchTracks)
				h.Publish(Event{Layer: LayerTracks, Key: s.UID, Marking: s.Marking,
					Where: pointBox(s.Position.Lon, s.Position.Lat), Coalesce: true, Data: data})
				i++
			}
		})
	}
}
