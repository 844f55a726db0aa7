package ingest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// BenchmarkRecommendCasevac: the whole recommendation of one request as the API
// serves it (facilities and units read from SQLite, positions from the live
// picture, open evacuations checked) with 200 facilities and 50 assets.
func BenchmarkRecommendCasevac(b *testing.B) {
	e := newEnv(b)
	now := time.Now().UTC()
	mil := bluehelm.Marking{Component: bluehelm.Military}
	levels := bluehelm.MedicalLevels
	for i := range 200 {
		f := &bluehelm.MedicalFacility{Name: fmt.Sprintf("Facility %03d", i), Level: levels[i%len(levels)],
			Location: bluehelm.Point{Lon: 30 + float64(i%20)*0.15, Lat: 4 + float64(i/20)*0.3}, Marking: mil}
		if i%2 == 0 {
			f.HelicopterLandingSites = []bluehelm.Point{f.Location}
		}
		if err := e.p.CreateFacility(ctx, bluehelm.SystemPrincipal("bench"), f); err != nil {
			b.Fatal(err)
		}
	}
	var reports []ingest.Report
	for i := range 50 {
		m := bluehelm.MobilityMounted
		if i%3 == 0 {
			m = bluehelm.MobilityAir
		}
		uid := fmt.Sprintf("asset-%02d", i)
		if err := e.p.CreateUnit(ctx, joc, &bluehelm.Unit{Code: fmt.Sprintf("EVAC-%02d", i), Name: "Evacuation asset", Mobility: m, TrackUIDs: []string{uid}, Marking: mil}); err != nil {
			b.Fatal(err)
		}
		reports = append(reports, report(uid, now.Add(-time.Minute), 30+float64(i%10)*0.3, 4+float64(i/10)*0.6))
	}
	if err := e.p.Positions(ctx, joc, reports); err != nil {
		b.Fatal(err)
	}
	c, err := e.p.RequestCasevac(ctx, joc, &bluehelm.Casevac{
		NineLine: bluehelm.NineLine{Location: bluehelm.Point{Lon: 31.4, Lat: 5.3}, Frequency: "45.3", CallSign: "BENCH",
			Patients: bluehelm.PatientCounts{Urgent: 1}, Litter: 1}, WoundedAt: now.Add(-5 * time.Minute)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rec, err := e.p.RecommendCasevac(ctx, joc, c.ID)
		if err != nil || rec.Best == nil {
			b.Fatal(err, rec.Reason)
		}
	}
}
