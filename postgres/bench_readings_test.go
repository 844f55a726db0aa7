package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// BenchmarkInsertReadings stores batches of readings as the ingest pipeline
// does (InsertReadings: which were stored), a tenth of each batch a resend of
// the previous batch, and reports readings stored per second.
func BenchmarkInsertReadings(b *testing.B) {
	for _, size := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			db := pgtest.Open(b)
			const sensors = 100
			ids := make([]int64, sensors)
			for i := range ids {
				s := &bluehelm.Sensor{Code: fmt.Sprintf("CAMP1-S-%03d", i), Kind: bluehelm.SensorFuelLevel, CampID: 7,
					Unit: bluehelm.SensorFuelLevel.Spec().Unit, IntervalSeconds: 60, CreatedAt: sensorT0, UpdatedAt: sensorT0}
				if err := db.CreateSensor(ctx, s, sensorAudit("sensor.create")); err != nil {
					b.Fatal(err)
				}
				ids[i] = s.ID
			}
			batch := make([]bluehelm.Reading, size)
			step := 0
			fill := func() {
				resend := size / 10
				for i := range batch {
					s := step
					if i < resend && step > 0 {
						s = step - 1 // a resend of the previous batch: duplicates
					}
					batch[i] = bluehelm.Reading{SensorID: ids[i%sensors], Time: sensorT0.Add(time.Duration(s*size+i) * time.Millisecond), Value: float64(i)}
				}
				step++
			}
			stored := 0
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				fill()
				b.StartTimer()
				got, err := db.InsertReadings(ctx, batch)
				if err != nil {
					b.Fatal(err)
				}
				for _, ok := range got {
					if ok {
						stored++
					}
				}
			}
			b.ReportMetric(float64(stored)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}

// BenchmarkAppendReadings is the SQLite store's benchmark of the same name on
// PostgreSQL: batches of 1,000 readings from 5,000 sensors in turn, one
// durable transaction per batch, 1 or 4 concurrent callers.
func BenchmarkAppendReadings(b *testing.B) {
	for _, callers := range []int{1, 4} {
		b.Run(fmt.Sprintf("sensors=5000/batch=1000/callers=%d", callers), func(b *testing.B) {
			const sensorCount, batch = 5000, 1000
			ctx := context.Background()
			db := pgtest.Open(b)
			// Sensors are written directly: only their ids matter here, and
			// thousands of audited creates would dominate the set-up.
			if _, err := db.Pool().Exec(ctx, `INSERT INTO sensors (id, version, code, camp_id, doc)
				SELECT g, 1, 'S-' || g, 7, '{}' FROM generate_series(1, $1::int) AS g`, sensorCount); err != nil {
				b.Fatal(err)
			}
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			for range callers {
				wg.Go(func() {
					for {
						k := int(next.Add(1)) - 1
						if k >= b.N {
							return
						}
						rs := make([]bluehelm.Reading, batch)
						for i := range rs {
							n := k*batch + i
							rs[i] = bluehelm.Reading{SensorID: int64(n%sensorCount + 1),
								Time: sensorT0.Add(time.Duration(n/sensorCount) * time.Second), Value: float64(n % 97)}
						}
						stored, dups, err := db.AppendReadings(ctx, rs)
						if err != nil || stored != batch || dups != 0 {
							b.Errorf("AppendReadings: stored %d, duplicates %d, %v", stored, dups, err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "readings/s")
		})
	}
}
