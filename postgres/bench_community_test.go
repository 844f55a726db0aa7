package postgres_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// BenchmarkCommunityIntake: a flood of community alerts, each its own webhook
// call, from 1 and from 64 callers at once; alerts/s is what the intake
// sustains (one caller: one transaction per alert; many: group commits).
func BenchmarkCommunityIntake(b *testing.B) {
	for _, callers := range []int{1, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			db := pgtest.Open(b)
			ctx := b.Context()
			t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
			var (
				next atomic.Int64
				wg   sync.WaitGroup
			)
			b.ResetTimer()
			start := time.Now()
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						text := fmt.Sprintf("armed men seen near the market, report %d", i%50)
						a := &bluehelm.CommunityAlert{ReceivedAt: t0.Add(time.Duration(i) * time.Millisecond), Channel: bluehelm.ChannelSMS,
							Source: "sms:generic", ExternalID: fmt.Sprintf("m%d", i), Text: text, State: bluehelm.CommunityNew,
							Marking: bluehelm.CommunityMarking, SenderPseudonym: fmt.Sprintf("hmac-%d", i%200), SenderSealed: []byte("sealed")}
						g := bluehelm.CommunityGrouping{Window: time.Hour, TextKey: bluehelm.TextKey(text)}
						if _, err := db.CreateCommunityAlert(ctx, a, g, peopleEntry("community.receive")); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
		})
	}
}
