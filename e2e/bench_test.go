package e2e

// The browser benchmark of issue 4's performance goals: with 2,000 live tracks
// updating every 10 s and 20,000 incidents, how long from opening the login page
// to the map idle with tracks and incidents drawn, how many bytes the page
// transfers, and whether applying the stream blocks the page.
//
//	go test -run '^$' -bench FirstPaint -benchtime=3x -timeout 30m ./e2e/
//
// Each iteration is a fresh browser with an empty profile (a cold cache), signed in
// as a JOC officer who may see everything seeded. Metrics:
//
//	ms/first-paint   navigation start of the login page → window.bluehelmMapReady
//	                 resolved, typing the credentials included (measured in the page)
//	ms/first-shown   … → the page's next task after that, which runs once the
//	                 frame has been composited: a map drawn hidden and then shown
//	                 pays for its pixels here
//	bytes/page       encoded bytes of every response until then (+1 s for
//	                 stragglers), basemap tiles (/basemap/) excluded; the WebSocket
//	                 is not counted
//	requests/page    requests in the same window
//	ms/longest-task  the longest task (PerformanceObserver "longtask", ≥ 50 ms) in the
//	                 30 s after first paint, while the stream applies updates
//	longtasks/30s    how many such tasks there were
//	tracks-moved/30s features of the "tracks" source whose position changed in
//	                 those 30 s (shows the stream was applied while measuring)
//	frames/s         animation frames the page ran in those 30 s (60 when idle; a
//	                 low figure means the main thread was busy)

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	benchIncidents = 20000
	benchTracks    = 2000
	benchEvery     = 10 * time.Second // each track reports this often
	benchWatch     = 30 * time.Second // how long long tasks are watched after first paint
	// benchReady bounds the wait for first paint. The map is ready at its first
	// "idle", which a map busy redrawing a stream may reach late: the figure, not a
	// timeout, should say so.
	benchReady = 5 * time.Minute
	// settleBrowser is how long a new browser is left alone before the page is opened.
	settleBrowser = 3 * time.Second
)

// South Sudan, roughly: where the seeded incidents and tracks are spread.
var benchArea = bluehelm.BBox{MinLon: 24.2, MinLat: 3.6, MaxLon: 35.2, MaxLat: 12.0}

// readyHook records when window.bluehelmMapReady resolves, in the page's own clock
// (milliseconds since the navigation started), so that the figure does not depend
// on how often the test polls.
const readyHook = `(() => {
	let p;
	Object.defineProperty(window, "bluehelmMapReady", {
		configurable: true,
		get() { return p; },
		set(v) { p = v; Promise.resolve(v).then(() => {
			window.__e2eReadyAt = performance.now();
			// The first task after it runs once the browser has composited the frame
			// (with a software renderer, after reading the map's pixels back).
			setTimeout(() => { window.__e2eShownAt = performance.now(); }, 0);
		}); },
	});
})();`

func BenchmarkFirstPaint(b *testing.B) {
	chromiumPath(b)
	s := startServer(b, serverOptions{})
	rng := rand.New(rand.NewPCG(4, 2026))
	seedBenchIncidents(b, s, rng)
	tracks := seedBenchTracks(b, s, rng)

	// The live load: every second a tenth of the tracks report, so each reports every
	// 10 s and the stream carries a steady flow rather than one burst.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		moveTracks(ctx, b, s, tracks, rng)
	}()
	b.Cleanup(func() { stop(); wg.Wait() })

	b.Run(fmt.Sprintf("tracks=%d/incidents=%d", benchTracks, benchIncidents), func(b *testing.B) {
		var paint, shown, bytes, reqs, longest, longCount, moved, fps float64
		for range b.N {
			r := firstPaint(b, s)
			paint += r.paintMS
			shown += r.shownMS
			bytes += r.bytes
			reqs += float64(r.requests)
			longest = max(longest, r.longestTask)
			longCount += float64(r.longTasks)
			moved += float64(r.moved)
			fps += r.fps
		}
		n := float64(b.N)
		b.ReportMetric(paint/n, "ms/first-paint")
		b.ReportMetric(shown/n, "ms/first-shown")
		b.ReportMetric(bytes/n, "bytes/page")
		b.ReportMetric(reqs/n, "requests/page")
		b.ReportMetric(longest, "ms/longest-task")
		b.ReportMetric(longCount/n, "longtasks/30s")
		b.ReportMetric(moved/n, "tracks-moved/30s")
		b.ReportMetric(fps/n, "frames/s")
	})
}

type paintResult struct {
	paintMS     float64
	shownMS     float64
	bytes       float64
	requests    int
	longestTask float64
	longTasks   int
	moved       int
	fps         float64
}

func firstPaint(b *testing.B, s *server) paintResult {
	b.StopTimer()
	br := newBrowser(b, s, "bench")
	if _, err := chromedp.Run(br.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: readyHook})
		return err
	})); err != nil {
		b.Fatal(err)
	}
	// A browser just started keeps busy for a second or two with its own pages
	// (Chromium 156 loads its omnibox popup's WebUI in a renderer of its own even
	// headless: ~1.2 s of CPU, measured with a trace). The timer is stopped while
	// the browser starts so that its start is not counted; this waits out the rest
	// of it, so that on two cores the page is not measured sharing them with it.
	br.do("letting the browser settle", stepTimeout, chromedp.Sleep(settleBrowser))
	br.mu.Lock()
	br.bytes, br.requests = 0, nil
	br.mu.Unlock()

	b.StartTimer()
	start := time.Now()
	br.open()
	br.submitLogin("ops", stepTimeout)
	br.waitFor("the map's first paint", benchReady, `window.__e2eReadyAt !== undefined`)
	wall := time.Since(start)
	b.StopTimer()

	var r paintResult
	r.paintMS = eval[float64](br, `window.__e2eReadyAt`)
	br.waitFor("the first picture shown", stepTimeout, `window.__e2eShownAt !== undefined`)
	r.shownMS = eval[float64](br, `window.__e2eShownAt`)
	// Where the time went: the map's own steps and the slowest requests, in the
	// page's clock, so that a regression can be placed without a profiler.
	b.Logf("timeline: %s", eval[string](br, timelineJS))
	br.do("stragglers", stepTimeout, chromedp.Sleep(time.Second))
	br.mu.Lock()
	r.bytes, r.requests = br.bytes, len(br.requests)
	br.mu.Unlock()

	nTracks := len(br.features("tracks"))
	nIncidents := len(br.features("incidents"))
	if nTracks < benchTracks || nIncidents < benchIncidents {
		b.Errorf("at first paint the page holds %d tracks and %d incidents, want %d and %d", nTracks, nIncidents, benchTracks, benchIncidents)
	}

	// Stream updates keep arriving: watch for long tasks while they are applied.
	before := trackPositions(br)
	eval[bool](br, `(() => {
		window.__e2eLong = [];
		new PerformanceObserver(list => { for (const e of list.getEntries()) window.__e2eLong.push(e.duration); })
			.observe({type: "longtask"});
		window.__e2eFrames = 0;
		const frame = () => { window.__e2eFrames++; requestAnimationFrame(frame); };
		requestAnimationFrame(frame);
		return true;
	})()`)
	br.do("watching the stream", benchWatch+stepTimeout, chromedp.Sleep(benchWatch))
	long := eval[[]float64](br, `window.__e2eLong`)
	r.fps = float64(eval[int](br, `window.__e2eFrames`)) / benchWatch.Seconds()
	after := trackPositions(br)
	for uid, p := range after {
		if q, ok := before[uid]; ok && q != p {
			r.moved++
		}
	}
	r.longTasks = len(long)
	for _, d := range long {
		r.longestTask = max(r.longestTask, d)
	}
	br.close()
	b.Logf("first paint %.0f ms in the page (shown %.0f, %.0f ms wall), %.0f bytes in %d requests, %d tracks and %d incidents; in %s: %d long tasks, longest %.0f ms, %d tracks moved, %.1f frames/s",
		r.paintMS, r.shownMS, float64(wall.Milliseconds()), r.bytes, r.requests, nTracks, nIncidents, benchWatch, r.longTasks, r.longestTask, r.moved, r.fps)
	return r
}

// timelineJS lists the bluehelm-map marks and the requests that took longest
// (start → end, ms since navigation), in the page's clock.
const timelineJS = `(() => {
	const r = (x) => Math.round(x);
	const marks = performance.getEntriesByType("mark").filter(m => m.name.startsWith("bluehelm-map:"))
		.map(m => m.name.slice(13) + "=" + r(m.startTime));
	const res = performance.getEntriesByType("resource").filter(e => e.startTime < window.__e2eReadyAt)
		.sort((a, b) => (b.responseEnd - b.startTime) - (a.responseEnd - a.startTime)).slice(0, 8)
		.map(e => new URL(e.name).pathname.replace(/^.*\//, "") + " " + r(e.startTime) + "→" + r(e.responseEnd));
	return marks.join(" ") + " | " + res.join(", ");
})()`

// trackPositions maps each track uid to its position in the tracks source.
func trackPositions(br *browser) map[string][2]float64 {
	out := map[string][2]float64{}
	for _, f := range br.features("tracks") {
		if len(f.Coords) >= 2 {
			out[f.UID] = [2]float64{f.Coords[0], f.Coords[1]}
		}
	}
	return out
}

func seedBenchIncidents(b *testing.B, s *server, rng *rand.Rand) {
	b.Helper()
	cats := []bluehelm.Category{bluehelm.CatArmedClash, bluehelm.CatAttackOnUN, bluehelm.CatExplosive, bluehelm.CatViolenceCivs,
		bluehelm.CatKidnapping, bluehelm.CatRobbery, bluehelm.CatProtest, bluehelm.CatMovement, bluehelm.CatThreat, bluehelm.CatArrest,
		bluehelm.CatDisplacement, bluehelm.CatHumanitarian, bluehelm.CatDrone, bluehelm.CatAccident, bluehelm.CatNaturalHazard, bluehelm.CatOther}
	groups := []string{"civilians", "un_military", "host_forces", "armed_groups"}
	now := time.Now().UTC()
	incs := make([]*bluehelm.Incident, benchIncidents)
	for i := range incs {
		cat := cats[i%len(cats)]
		inc := &bluehelm.Incident{
			ExternalID: fmt.Sprintf("bench:%d", i+1),
			Title:      fmt.Sprintf("Bench incident %d (%s)", i+1, cat),
			Category:   cat, Status: bluehelm.StatusApproved,
			// Within the last day, so that any default time window of the page shows them.
			OccurredStart: now.Add(-time.Duration(rng.Int64N(int64(20 * time.Hour)))).Truncate(time.Minute),
			Location:      randomPoint(rng), Country: "South Sudan",
			Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military},
		}
		if i%3 == 0 {
			n := rng.IntN(5) + 1
			inc.Casualties = []bluehelm.Casualty{{Group: groups[i%len(groups)], Kind: "killed", Low: n, Best: n, High: n + 1}}
		}
		incs[i] = inc
	}
	start := time.Now()
	if _, _, err := s.pipeline.ImportIncidents(context.Background(), bluehelm.SystemPrincipal("bench"), "bench", incs); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d incidents in %s", len(incs), time.Since(start).Round(time.Millisecond))
}

type benchTrack struct {
	track    bluehelm.Track
	lon, lat float64
	course   float64
}

func seedBenchTracks(b *testing.B, s *server, rng *rand.Rand) []*benchTrack {
	b.Helper()
	kinds := []struct {
		kind bluehelm.TrackKind
		sidc string
	}{
		{bluehelm.KindUnit, "SFGPUCI----D"}, {bluehelm.KindUnit, "SFGPUCR----D"}, {bluehelm.KindVehicle, "SFGPEVA----"},
		{bluehelm.KindVehicle, "SNGPEVA----"}, {bluehelm.KindAircraft, "SFAPMH-----"}, {bluehelm.KindUAV, "SFAPMFQ----"},
	}
	tracks := make([]*benchTrack, benchTracks)
	for i := range tracks {
		k := kinds[i%len(kinds)]
		p := randomPoint(rng)
		tracks[i] = &benchTrack{
			track: bluehelm.Track{UID: fmt.Sprintf("bench-%04d", i+1), Callsign: fmt.Sprintf("BENCH %d", i+1), Kind: k.kind, SIDC: k.sidc,
				Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}},
			lon: p.Lon, lat: p.Lat, course: rng.Float64() * 360,
		}
	}
	if err := s.pipeline.Positions(context.Background(), bluehelm.SystemPrincipal("bench"), benchReports(tracks, rng, time.Now())); err != nil {
		b.Fatal(err)
	}
	return tracks
}

// moveTracks reports a tenth of the tracks every second until ctx ends.
func moveTracks(ctx context.Context, b *testing.B, s *server, tracks []*benchTrack, rng *rand.Rand) {
	const slices = 10
	tick := time.NewTicker(benchEvery / slices)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			part := tracks[i%slices*len(tracks)/slices : (i%slices+1)*len(tracks)/slices]
			if err := s.pipeline.Positions(ctx, bluehelm.SystemPrincipal("bench"), benchReports(part, rng, now)); err != nil && ctx.Err() == nil {
				b.Logf("moving tracks: %v", err)
			}
		}
	}
}

// benchReports moves each track about 100 m along a wandering course.
func benchReports(tracks []*benchTrack, rng *rand.Rand, now time.Time) []ingest.Report {
	out := make([]ingest.Report, len(tracks))
	for i, t := range tracks {
		t.course = mod360(t.course + (rng.Float64()-0.5)*40)
		t.lon = clamp(t.lon+0.001*sinDeg(t.course), benchArea.MinLon, benchArea.MaxLon)
		t.lat = clamp(t.lat+0.001*cosDeg(t.course), benchArea.MinLat, benchArea.MaxLat)
		out[i] = ingest.Report{Track: t.track, Position: bluehelm.Position{UID: t.track.UID, Time: now.UTC(),
			Lon: t.lon, Lat: t.lat, Course: t.course, Speed: 10, CE: 10, Source: "bench"}}
	}
	return out
}

func randomPoint(rng *rand.Rand) bluehelm.Point {
	return bluehelm.Point{
		Lon: benchArea.MinLon + rng.Float64()*(benchArea.MaxLon-benchArea.MinLon),
		Lat: benchArea.MinLat + rng.Float64()*(benchArea.MaxLat-benchArea.MinLat),
	}
}

func sinDeg(d float64) float64        { return math.Sin(d * math.Pi / 180) }
func cosDeg(d float64) float64        { return math.Cos(d * math.Pi / 180) }
func mod360(d float64) float64        { return math.Mod(d+360, 360) }
func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
