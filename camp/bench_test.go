package camp

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// The target: ≥ 20,000 sensor readings/s with rules evaluated and
// roll-ups kept current, alarm latency p99 ≤ 1 s, on this 2-core machine. These
// benchmarks cover the pure engine only (storage, MQTT and the HTTP batch
// endpoint add their own cost). Run with
//
//	go test -run '^$' -bench . ./camp/
//
// The workload: 5,000 sensors in 10 camps, every one reporting in turn (each
// sensor once per simulated second), values a random walk; each non-perimeter
// sensor has a threshold and a stale rule, tank levels a rate rule too, and every
// camp a perimeter rule over its 50 detectors, which trigger now and then. Tick and
// Flush run once per simulated second.

const benchSensors = 5000

type benchSet struct {
	sensors []*bluehelm.Sensor
	rules   []bluehelm.AlarmRule
	adj     [][2]int64
}

func benchWorkload(first, n int) benchSet {
	var w benchSet
	kinds := []bluehelm.SensorKind{bluehelm.SensorFuelLevel, bluehelm.SensorWaterLevel, bluehelm.SensorColdStoreTemp,
		bluehelm.SensorBatterySoC, bluehelm.SensorGeneratorKW, bluehelm.SensorSolarKW, bluehelm.SensorWaterFlow,
		bluehelm.SensorLoadKW, bluehelm.SensorWasteFillLevel, bluehelm.SensorPIR}
	camps := map[int64]bool{}
	for i := first; i < first+n; i++ {
		id := int64(i + 1)
		camp := int64(i%10 + 1)
		kind := kinds[(i/10)%len(kinds)]
		zone := camp*100 + int64(i%7)
		s := &bluehelm.Sensor{ID: id, Code: fmt.Sprintf("S-%d", id), Kind: kind, CampID: camp, ZoneID: zone,
			Unit: kind.Spec().Unit, IntervalSeconds: 1}
		w.sensors = append(w.sensors, s)
		if !camps[camp] {
			camps[camp] = true
			w.rules = append(w.rules, bluehelm.AlarmRule{ID: camp, Kind: bluehelm.AlarmPerimeter, CampID: camp, WindowSeconds: 60, Severity: bluehelm.SevInfo})
			for z := int64(0); z < 6; z++ {
				w.adj = append(w.adj, [2]int64{camp*100 + z, camp*100 + z + 1})
			}
		}
		if kind.Perimeter() {
			continue
		}
		spec := kind.Spec()
		w.rules = append(w.rules,
			bluehelm.AlarmRule{ID: 100 + id*3, Kind: bluehelm.AlarmThreshold, CampID: camp, SensorID: id, Side: bluehelm.SideHigh,
				Level: spec.Min + 0.9*(min(spec.Max, 100)-spec.Min), Hysteresis: 2, Severity: bluehelm.SevWarning},
			bluehelm.AlarmRule{ID: 101 + id*3, Kind: bluehelm.AlarmStale, CampID: camp, SensorID: id, Severity: bluehelm.SevWarning})
		if kind == bluehelm.SensorFuelLevel || kind == bluehelm.SensorWaterLevel {
			w.rules = append(w.rules, bluehelm.AlarmRule{ID: 102 + id*3, Kind: bluehelm.AlarmRate, CampID: camp, SensorID: id,
				Side: bluehelm.SideLow, Level: 5, Hysteresis: 2, WindowSeconds: 600, Severity: bluehelm.SevCritical})
		}
	}
	return w
}

// partition is what one core owns: an engine and roll-ups for its sensors.
type partition struct {
	w        benchSet
	e        *Engine
	ru       *Rollups
	vals     []float64
	rng      uint64
	lat      []time.Duration
	alarms   int
	readings int
}

func newPartition(first, n int) *partition {
	w := benchWorkload(first, n)
	p := &partition{w: w, e: NewEngine(Config{Sensors: w.sensors, Rules: w.rules, AdjacentZones: w.adj}),
		ru: NewRollups(0), vals: make([]float64, n), rng: uint64(first)*2654435761 + 1}
	for i := range p.vals {
		p.vals[i] = 50
	}
	return p
}

func (p *partition) next() uint64 {
	p.rng ^= p.rng << 13
	p.rng ^= p.rng >> 7
	p.rng ^= p.rng << 17
	return p.rng
}

// run feeds k readings, timing each Observe + Add.
func (p *partition) run(k int, base time.Time) {
	n := len(p.w.sensors)
	for j := range k {
		i := j % n
		if i == 0 && j > 0 {
			now := base.Add(time.Duration(j/n) * time.Second)
			p.alarms += len(p.e.Tick(now))
			p.ru.Flush(now)
		}
		s := p.w.sensors[i]
		var v float64
		if s.Kind.Perimeter() {
			if p.next()%2000 == 0 {
				v = 1
			}
		} else {
			v = p.vals[i] + float64(int64(p.next()%2001)-1000)/1000
			v = max(0, min(v, 100))
			p.vals[i] = v
		}
		r := bluehelm.Reading{SensorID: s.ID, Time: base.Add(time.Duration(j/n)*time.Second + time.Duration(i)*time.Microsecond), Value: v, Unit: s.Unit}
		t := time.Now()
		p.alarms += len(p.e.Observe(r))
		p.ru.Add(r)
		p.lat = append(p.lat, time.Since(t))
	}
	p.readings += k
}

func BenchmarkIngest(b *testing.B) {
	for _, parts := range []int{1, 2} {
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			if parts > runtime.GOMAXPROCS(0) {
				b.Skipf("needs %d cores", parts)
			}
			ps := make([]*partition, parts)
			for k := range ps {
				ps[k] = newPartition(k*benchSensors/parts, benchSensors/parts)
				ps[k].lat = make([]time.Duration, 0, b.N/parts+1)
			}
			base := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, p := range ps {
				wg.Go(func() { p.run(b.N/parts, base) })
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			var lat []time.Duration
			alarms, n := 0, 0
			for _, p := range ps {
				lat = append(lat, p.lat...)
				alarms += p.alarms
				n += p.readings
			}
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1000, "p99-µs")
				b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
			}
			b.ReportMetric(float64(n)/el.Seconds(), "readings/s")
			b.ReportMetric(float64(alarms)/float64(max(n, 1))*1000, "alarms/1k")
		})
	}
}
