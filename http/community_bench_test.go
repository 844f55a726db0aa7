package http

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sms"
)

// BenchmarkCommunityWebhook is the community intake target of issue 8 (500 messages/s
// with triage grouping): SMS gateways post to the generic webhook over HTTP (bearer
// secret), each message is parsed, annotated (language, keyword hints in three
// languages, place matched against the scenario's places), its sender pseudonymised
// and sealed, grouped against the last two hours (same sender; near-identical text
// about the same place) and stored with its audit entry in one durable SQLite
// transaction (synchronous=FULL) on a temporary directory. 2,000 senders, 30 texts in
// English, French and Arabic about 20 places, so that groups form throughout.
func BenchmarkCommunityWebhook(b *testing.B) {
	e := newEnv(b, func(c *Config) {
		c.Community = &CommunityOptions{Secrets: map[sms.Gateway]string{sms.Generic: "bench-secret"}}
	})
	keys, err := sender.New(bytes.Repeat([]byte{3}, sender.KeySize))
	if err != nil {
		b.Fatal(err)
	}
	places := bluehelm.NewPlaceMatcher(sim.CommunityPlaces())
	e.srv.cfg.Community.Intake = ingest.NewCommunity(e.pipeline, ingest.CommunityConfig{Keys: keys, NoAck: true,
		Places: func() *bluehelm.PlaceMatcher { return places }})
	towns := []string{"Juba", "Bor", "Malakal", "Bentiu", "Wau", "Yei", "Torit", "Pibor", "Rumbek", "Leer", "Akobo", "Nasir", "Kodok", "Mayom", "Rubkona", "Yambio", "Kuajok", "Terekeka", "Mingkaman", "Jur River"}
	templates := []string{
		"Armed men near the market in %s this morning", "Shooting heard east of %s, people running", "Houses burning in a village near %s",
		"Two children kidnapped on the road to %s", "Families displaced from %s arriving at the church", "Cattle raiders moving towards %s with guns",
		"Des hommes armés près de %s ce matin", "Attaque contre le marché de %s, des blessés", "Des familles déplacées quittent %s",
		"Enlèvement de deux femmes près de %s", "Incendie dans le quartier sud de %s", "Coups de feu entendus à %s cette nuit",
		"مسلحين قرب السوق في %s", "هجوم على قرية قرب %s", "حريق في حي %s", "اختطاف طفلين على طريق %s", "نازحين من %s إلى الكنيسة",
		"Soldiers threatening women collecting firewood outside %s", "Roadblock on the %s road, cars turned back", "Drone flying low over %s",
		"Protest at the %s county office", "Looting of the %s clinic", "Bomb found near the school in %s",
		"Militia gathering at the river crossing by %s", "Menaces contre les commerçants de %s", "Manifestation devant la mairie de %s",
		"Pillage du dépôt de vivres à %s", "انفجار قرب مدرسة %s", "نهب المحلات في %s", "Fighting between two groups near %s",
	}
	var seq atomic.Int64
	url := e.ts.URL + "/api/v1/community/sms/generic"
	client := e.ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.SetParallelism(8) // 16 concurrent gateway connections on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(uint64(seq.Add(1)), 7))
		for pb.Next() {
			n := seq.Add(1)
			text := fmt.Sprintf(templates[r.IntN(len(templates))], towns[r.IntN(len(towns))])
			body, _ := json.Marshal(map[string]string{
				"id": fmt.Sprintf("m%d", n), "from": fmt.Sprintf("+21195%07d", r.IntN(2000)), "text": text,
			})
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer bench-secret")
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	all, err := e.db.FindCommunityAlerts(e.ctx, bluehelm.CommunityFilter{Limit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	groups := map[int64]bool{}
	for _, a := range all {
		groups[a.GroupID] = true
	}
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/float64(len(groups)), "msgs/group(last1000)")
	}
}
