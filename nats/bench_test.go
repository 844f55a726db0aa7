package nats

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// BenchmarkFanOut measures the time from Publish on node A (after the position
// was applied there, as the pipeline does) to Drain by a hub subscriber on node C
// of a three-node cluster whose stream has three replicas, under a realistic
// load: 2,000 tracks reporting every 10 s (200 positions/s, evenly spread) plus,
// every 2 s, a burst of 500 reports arriving at once. Eight publishers, each
// owning a share of the uids (a track's reports are published in order, as the
// pipeline does), play the device connections. One op is one position.
//
//	go test ./nats -run '^$' -bench FanOut -benchtime 6000x
func BenchmarkFanOut(b *testing.B) {
	nodes := startCluster(b, 3, 3)
	a, c := nodes[0], nodes[2]
	ctx := context.Background()
	const (
		tracks     = 2000
		every      = 10 * time.Second
		burstEvery = 2 * time.Second
		burstSize  = 500
		workers    = 8
	)
	n := b.N
	base := time.Now()
	starts := make([]int64, n) // ns since base at Publish, by seq; written before the publish
	var (
		mu       sync.Mutex
		lat      []time.Duration
		ackLat   []time.Duration
		received int
	)

	sub := c.hub.Subscribe(live.SubscribeOptions{Viewer: bluehelm.SystemPrincipal("bench"), Layers: []string{live.LayerTracks}})
	defer sub.Close()
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		var buf []live.Event
		var pm positionMsg
		for range sub.Ready() {
			evs, _ := sub.Drain(buf)
			now := int64(time.Since(base))
			mu.Lock()
			for _, e := range evs {
				if err := json.Unmarshal(e.Data, &pm); err != nil {
					continue
				}
				seq, err := strconv.Atoi(pm.Data.Callsign)
				if err != nil || seq >= n {
					continue
				}
				lat = append(lat, time.Duration(now-starts[seq]))
				received++
			}
			mu.Unlock()
			buf = evs[:0]
		}
	}()

	type job struct {
		seq int
		uid int
	}
	queues := make([]chan job, workers)
	var wg sync.WaitGroup
	for w := range workers {
		queues[w] = make(chan job, tracks)
		wg.Go(func() {
			for j := range queues[w] {
				uid := "trk-" + strconv.Itoa(j.uid)
				at := t0.Add(time.Duration(j.seq) * time.Millisecond)
				st := bluehelm.TrackState{
					Track:    bluehelm.Track{UID: uid, Callsign: strconv.Itoa(j.seq), Marking: open, UpdatedAt: at},
					Position: bluehelm.Position{UID: uid, Time: at, Lon: 31 + float64(j.seq%1000)/1e4, Lat: 4.8, Source: "cot"},
				}
				data, _ := json.Marshal(positionMsg{Type: "position", Data: st})
				ev := live.Event{Layer: live.LayerTracks, Key: uid, Marking: open, Coalesce: true, Origin: "cot",
					Where: bluehelm.BBox{MinLon: st.Position.Lon, MinLat: 4.8, MaxLon: st.Position.Lon, MaxLat: 4.8}, Data: data}
				t := time.Now()
				mu.Lock()
				starts[j.seq] = int64(t.Sub(base))
				mu.Unlock()
				a.pic.Apply(st.Track, st.Position)
				if err := a.bus.PublishWait(ctx, ev); err != nil {
					b.Error(err)
				}
				d := time.Since(t)
				mu.Lock()
				ackLat = append(ackLat, d)
				mu.Unlock()
			}
		})
	}

	b.ResetTimer()
	interval := every / tracks
	tick := time.NewTicker(interval)
	nextBurst := time.Now().Add(burstEvery)
	seq, steady := 0, 0
	send := func(uid int) {
		queues[uid%workers] <- job{seq: seq, uid: uid}
		seq++
	}
	for seq < n {
		<-tick.C
		send(steady % tracks)
		steady++
		if time.Now().After(nextBurst) {
			for u := 0; u < burstSize && seq < n; u++ {
				send((steady + u*7) % tracks)
			}
			nextBurst = nextBurst.Add(burstEvery)
		}
	}
	tick.Stop()
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	// Wait for the tail to arrive; coalescing may merge a few, so stop when
	// nothing new came for a second.
	last, quiet := -1, time.Now()
	for time.Since(quiet) < time.Second {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		r := received
		mu.Unlock()
		if r == n {
			break
		}
		if r != last {
			last, quiet = r, time.Now()
		}
	}
	b.StopTimer()
	sub.Close()
	<-recvDone

	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		b.Fatal("nothing delivered")
	}
	slices.Sort(lat)
	slices.Sort(ackLat)
	q := func(s []time.Duration, p float64) float64 {
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lat, 0.50), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(lat, 1), "max-ms")
	b.ReportMetric(q(ackLat, 0.99), "ack-p99-ms")
	b.ReportMetric(float64(len(lat))/float64(n), "delivered/op")
}

// BenchmarkPublishSequential is the cost a cluster adds to the write path: one
// caller publishing positions one after another, each waiting for the stream's
// acknowledgement (3 replicas), as the pipeline does for the reports of one batch.
//
//	go test ./nats -run '^$' -bench PublishSequential -benchtime 5000x
func BenchmarkPublishSequential(b *testing.B) {
	nodes := startCluster(b, 3, 3)
	a := nodes[0]
	ctx := context.Background()
	evs := make([]live.Event, 1000)
	for i := range evs {
		evs[i] = positionEvent("seq-"+strconv.Itoa(i%100), open, t0.Add(time.Duration(i)*time.Millisecond), 31, 4)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := a.bus.PublishWait(ctx, evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPublishBatch is PublishSequential for the pipeline's batches of
// positions (PublishBatch): 1,000 events per call, acknowledgements awaited
// together.
//
//	go test ./nats -run '^$' -bench PublishBatch -benchtime 20x
func BenchmarkPublishBatch(b *testing.B) {
	nodes := startCluster(b, 3, 3)
	a := nodes[0]
	evs := make([]live.Event, 1000)
	b.ResetTimer()
	for i := range b.N {
		for k := range evs {
			evs[k] = positionEvent("batch-"+strconv.Itoa(k%100), open, t0.Add(time.Duration(i*len(evs)+k)*time.Millisecond), 31, 4)
		}
		a.bus.PublishBatch(evs)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
}
