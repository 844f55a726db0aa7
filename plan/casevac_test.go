package plan

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// TestRecommendWorkedExamples checks the destination choice against answers
// worked by hand (workedConfig: road 40 km/h × 1.5 detour + 10 min launch, air
// 200 km/h + 30 min launch). The casualty is at the origin, wounded 10 minutes
// before the request is decided.
//
//	Ambulance AMB-1 10 km north:   pick-up 10 + 10 × 1.5 / 40 × 60 = 32.5 min → 42.5 after wounding
//	Helicopter AVN-1 100 km east:  pick-up 30 + 100 / 200 × 60   = 60 min   → 70 after wounding
//	Helicopter AVN-2 50 km east:   pick-up 30 + 50 / 200 × 60    = 45 min   → 55 after wounding
//	Level 1 clinic (1) 20 km north, landing site: road leg 45 min, air leg 6 min
//	Level 2 hospital (2) 40 km east, no landing site: road leg 90 min
//	Level 2 hospital (3) 150 km west, landing site: road leg 337.5 min, air leg 45 min
//
//	A. AMB-1 + AVN-1 by day: road to 2 arrives 42.5 + 90 = 132.5 (1 h met, 2 h
//	   missed); air to 3 arrives 70 + 45 = 115 (1 h missed by 10 min, 2 h met).
//	   Nothing meets both; the 2-hour standard ranks first → air to 3.
//	B. AMB-1 + AVN-2 by day: air to 3 arrives 55 + 45 = 100, both met → air to 3.
//	C. A at night: no flying; road to 1 (87.5, Level 1) and road to 2 (132.5,
//	   Level 2) both meet 1 h only; the earliest care ranks first → road to 1.
//	D. C with an urgent-surgical patient: the surgical hospital ranks first →
//	   road to 2, missing 2 h by 12.5 min.
//	F. D with hospital 2 full: road to 3, 42.5 + 337.5 = 380 (2 h missed by 4 h 20).
//	E. No asset: no recommendation.
func TestRecommendWorkedExamples(t *testing.T) {
	cfg := workedConfig()
	west := func(km float64) bluehelm.Point { return bluehelm.Point{Lon: -km * 1000 / metresPerDegree} }
	amb := EvacAsset{Unit: "AMB-1", Mobility: bluehelm.MobilityMounted, Position: north(10)}
	avn1 := EvacAsset{Unit: "AVN-1", Mobility: bluehelm.MobilityAir, Position: east(100)}
	avn2 := EvacAsset{Unit: "AVN-2", Mobility: bluehelm.MobilityAir, Position: east(50)}
	foot := EvacAsset{Unit: "INF-1", Mobility: bluehelm.MobilityFoot, Position: north(1)}
	facs := func(fullHospital bool) []*bluehelm.MedicalFacility {
		clinic := facility(1, "1", north(20), true)
		clinic.Name = "Clinic"
		h2 := facility(2, "2", east(40), false)
		h2.Name = "East hospital"
		if fullHospital {
			zero := 0
			h2.BedsAvailable = &zero
		}
		h3 := facility(3, "2", west(150), true)
		h3.Name = "West hospital"
		return []*bluehelm.MedicalFacility{h3, h2, clinic}
	}
	cases := []struct {
		name     string
		now      time.Time
		assets   []EvacAsset
		full     bool
		surgical bool
		facility int64
		means    string
		pickup   float64
		arrive   float64
		misses   string
		reason   string
	}{
		{"A: nothing meets both, 2 h first", noon, []EvacAsset{foot, amb, avn1}, false, false, 3, MeansAir, 70, 115, "1h", "Misses the 1-hour standard by 10 min"},
		{"B: both met by air", noon, []EvacAsset{amb, avn2}, false, false, 3, MeansAir, 55, 100, "", "Meets the 1-hour and 2-hour standards"},
		{"C: night, earliest care", midnight, []EvacAsset{amb, avn1}, false, false, 1, MeansRoad, 42.5, 87.5, "2h", "helicopters do not fly at night"},
		{"D: night, surgical case to surgery", midnight, []EvacAsset{amb, avn1}, false, true, 2, MeansRoad, 42.5, 132.5, "2h", "misses the 2-hour standard by 13 min"},
		{"F: night, surgical, hospital full", midnight, []EvacAsset{amb, avn1}, true, true, 3, MeansRoad, 42.5, 380, "2h", "1 without a free bed"},
		{"E: no asset", noon, []EvacAsset{foot}, false, false, 0, "", 0, 0, "1h 2h", "no road ambulance or helicopter"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := CasevacQuery{Pickup: bluehelm.Point{}, WoundedAt: c.now.Add(-10 * time.Minute), Now: c.now, Patients: 1, Surgical: c.surgical}
			r := Recommend(q, facs(c.full), c.assets, cfg)
			if got := strings.Join(r.Misses, " "); got != c.misses {
				t.Errorf("misses = %q, want %q", got, c.misses)
			}
			if !strings.Contains(r.Reason, c.reason) {
				t.Errorf("reason %q does not say %q", r.Reason, c.reason)
			}
			if c.facility == 0 {
				if r.Best != nil {
					t.Fatalf("best = %+v, want none", r.Best)
				}
				return
			}
			b := r.Best
			if b == nil {
				t.Fatalf("no recommendation: %s", r.Reason)
			}
			if b.FacilityID != c.facility || b.Means != c.means {
				t.Fatalf("best = facility %d by %s, want %d by %s (%s)", b.FacilityID, b.Means, c.facility, c.means, r.Reason)
			}
			if !near(b.PickupMinutes, c.pickup) || !near(b.ArriveMinutes, c.arrive) {
				t.Errorf("pick-up %.2f arrive %.2f, want %.2f and %.2f", b.PickupMinutes, b.ArriveMinutes, c.pickup, c.arrive)
			}
			if want := q.Now.Add(minutes(c.arrive - 10)); !b.ArriveAt.Equal(want) {
				t.Errorf("arrive at %v, want %v", b.ArriveAt, want)
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 0.01 && b-a < 0.01 }

// TestRecommendSkipsClosedFacilities: the hospital that would be chosen is
// closed at the arrival time.
func TestRecommendSkipsClosedFacilities(t *testing.T) {
	h := facility(1, "2", east(20), false)
	h.Hours = &bluehelm.OpeningHours{Open: "06:00", Close: "12:30"}
	other := facility(2, "2", east(30), false)
	amb := EvacAsset{Unit: "AMB", Mobility: bluehelm.MobilityMounted, Position: bluehelm.Point{}}
	// Road: 10 + 30 = 40 min to hospital 1 → 12:40, after it closes.
	r := Recommend(CasevacQuery{WoundedAt: noon, Now: noon}, []*bluehelm.MedicalFacility{h, other}, []EvacAsset{amb}, workedConfig())
	if r.Best == nil || r.Best.FacilityID != 2 || !strings.Contains(r.Reason, "1 closed") {
		t.Fatalf("recommendation = %+v", r)
	}
}

// TestCasevacCoverageWorkedExample: a 100 × 100 km AOR at the equator in 10 km
// cells (centres at 5, 15, … 95 km), workedConfig.
//
//	Road ambulance and a Level 2 hospital (landing site) at the centre (50, 50):
//	  1 h: 10 + 2.25 d ≤ 60 → d ≤ 22.2 km; 2 h: 10 + 4.5 d ≤ 120 → d ≤ 24.4 km.
//	  The cells within are the 4 × 4 around the centre (21.2 km at the corner;
//	  the next, 25.5 km, is out): 16 cells each.
//	Helicopter at the south-west corner (0, 0), by day:
//	  1 h: 30 + 0.3 d ≤ 60 → d ≤ 100 km from the corner: by column 10, 10, 10,
//	  9, 9, 8, 8, 7, 5, 3 = 79 cells (the road 16 among them); 2 h: 30 + 0.3
//	  (d + d') ≤ 120 needs d + d' ≤ 300 km, true everywhere (at most 134 + 64).
//	By day: 21 cells outside 1 h, none outside 2 h. At night: no flying, 84 and 84.
func TestCasevacCoverageWorkedExample(t *testing.T) {
	area := []bluehelm.Geometry{{Geometry: orb.Polygon{ringKm(0, 0, 100, 100)}}}
	h := facility(1, "2", pt(50, 50), true)
	assets := []EvacAsset{
		{Unit: "AMB", Mobility: bluehelm.MobilityMounted, Position: pt(50, 50)},
		{Unit: "AVN", Mobility: bluehelm.MobilityAir, Position: pt(0, 0)},
	}
	for _, c := range []struct {
		name         string
		at           time.Time
		out1h, out2h int
	}{{"day", noon, 21, 0}, {"night", midnight, 84, 84}} {
		t.Run(c.name, func(t *testing.T) {
			g, err := CasevacCoverage(area, []*bluehelm.MedicalFacility{h}, assets, workedConfig(), c.at, 10)
			if err != nil {
				t.Fatal(err)
			}
			if g.Cols != 10 || g.Rows != 10 || g.Inside != 100 {
				t.Fatalf("grid %d × %d, %d inside", g.Cols, g.Rows, g.Inside)
			}
			if g.Outside1h != c.out1h || g.Outside2h != c.out2h {
				t.Fatalf("outside 1 h %d, 2 h %d; want %d and %d", g.Outside1h, g.Outside2h, c.out1h, c.out2h)
			}
			if !near(g.ShareOut1h, float64(c.out1h)/100) {
				t.Errorf("share outside 1 h %v", g.ShareOut1h)
			}
			one, two := g.Within(pt(52, 48))
			if !one || !two {
				t.Errorf("the centre is not covered")
			}
			if one, _ := g.Within(pt(98, 98)); one {
				t.Errorf("the far corner is within 1 h")
			}
			if one, _ := g.Within(pt(200, 200)); one {
				t.Errorf("outside the grid is covered")
			}
		})
	}
	if _, err := CasevacCoverage(nil, nil, nil, workedConfig(), noon, 1); bluehelm.ErrorField(err) != "area" {
		t.Errorf("no area: %v", err)
	}
	if _, err := CasevacCoverage(area, nil, nil, workedConfig(), noon, 0.01); bluehelm.ErrorField(err) != "cell_km" {
		t.Errorf("tiny cells: %v", err)
	}
}

// TestAssessWithCasevacCoverage: a route beside a Level 2 hospital is within
// 10-1-2 by the facilities alone; with a coverage grid where no asset reaches
// it, the stretch is outside the CASEVAC coverage (+10 and +15 points); a
// coverage that reaches it, or a route outside the grid, changes nothing.
func TestAssessWithCasevacCoverage(t *testing.T) {
	area := []bluehelm.Geometry{{Geometry: orb.Polygon{ringKm(-10, -10, 10, 10)}}}
	none, err := CasevacCoverage(area, nearHospital(), nil, workedConfig(), noon, 1)
	if err != nil {
		t.Fatal(err)
	}
	near, err := CasevacCoverage(area, nearHospital(), []EvacAsset{{Unit: "AVN", Mobility: bluehelm.MobilityAir, Position: pt(0, 0)}}, workedConfig(), noon, 1)
	if err != nil {
		t.Fatal(err)
	}
	far := line(pt(50, 50), pt(51, 50))
	farFacilities := []*bluehelm.MedicalFacility{facility(100, "2", pt(50, 50), true)}
	for _, c := range []struct {
		name  string
		route orb.LineString
		facs  []*bluehelm.MedicalFacility
		cov   *MedicalCoverage
		score float64
		codes []string
	}{
		{"no coverage given", shortRoute, nearHospital(), nil, 0, nil},
		{"no asset reaches it", shortRoute, nearHospital(), none, 25, []string{"casevac_outside_1h", "casevac_outside_2h"}},
		{"a helicopter reaches it", shortRoute, nearHospital(), near, 0, nil},
		{"outside the grid", far, farFacilities, none, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Assess(c.route, Inputs{Facilities: c.facs, Coverage: c.cov}, workedConfig(), noon)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Segments[0]
			if s.Score != c.score {
				t.Errorf("score %v, want %v (%v)", s.Score, c.score, reasonCodes(s.Reasons))
			}
			for _, code := range []string{"casevac_outside_1h", "casevac_outside_2h"} {
				want := slices.Contains(c.codes, code)
				if (reason(s.Reasons, code) != nil) != want || (reason(rep.Reasons, code) != nil) != want {
					t.Errorf("%s: segment %v, route %v", code, reasonCodes(s.Reasons), reasonCodes(rep.Reasons))
				}
			}
		})
	}
}
