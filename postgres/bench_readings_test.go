package postgres_test

import (
	"context"
	"fmt"
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
					Unit: bluehelm.SensorFuelLevel.Spec().Unit, IntervalSeconds: 60, CreatedAt: base, UpdatedAt: base}
				if err := db.CreateSensor(ctx, s, audit("sensor.create")); err != nil {
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
					batch[i] = bluehelm.Reading{SensorID: ids[i%sensors], Time: base.Add(time.Duration(s*size+i) * time.Millisecond), Value: float64(i)}
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
