package plan

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

const day = 24 * time.Hour

func pt(eastKm, northKm float64) bluehelm.Point {
	return bluehelm.Point{Lon: eastKm * 1000 / metresPerDegree, Lat: northKm * 1000 / metresPerDegree}
}

func line(ps ...bluehelm.Point) orb.LineString {
	ls := make(orb.LineString, len(ps))
	for i, p := range ps {
		ls[i] = orb.Point{p.Lon, p.Lat}
	}
	return ls
}

// shortRoute is one 1 km segment east from the origin, with a Level 2 hospital
// (and landing site) at its start so that medical reach adds nothing.
var shortRoute = line(pt(0, 0), pt(1, 0))

func nearHospital() []*bluehelm.MedicalFacility {
	return []*bluehelm.MedicalFacility{facility(100, "2", pt(0, 0), true)}
}

func reasonCodes(rs []bluehelm.RiskReason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func reason(rs []bluehelm.RiskReason, code string) *bluehelm.RiskReason {
	for i := range rs {
		if rs[i].Code == code {
			return &rs[i]
		}
	}
	return nil
}

// TestIncidentWeighting checks the incident part of the score by hand: one
// incident beside the middle of a 1 km segment at distance d and age a weighs
// category × (1 + min(casualties, 10)/10) × 2^(−a/90 days) × 2^(−d/1 km), and the
// score is 100 × (1 − e^(−weight/2)), rounded to 0.1.
func TestIncidentWeighting(t *testing.T) {
	cases := []struct {
		name       string
		cat        bluehelm.Category
		km         float64 // from the route
		age        time.Duration
		casualties int
		score      float64
		counted    bool
	}{
		{"armed clash on the route", bluehelm.CatArmedClash, 0, 0, 0, 25.9, true},                        // 0.6
		{"1 km off halves", bluehelm.CatArmedClash, 1, 0, 0, 13.9, true},                                 // 0.3
		{"2 km off quarters", bluehelm.CatArmedClash, 2, 0, 0, 7.2, true},                                // 0.15
		{"4.9 km off, inside the radius", bluehelm.CatArmedClash, 4.9, 0, 0, 1.0, true},                  // 0.6 × 2^−4.9
		{"5.1 km off, outside the radius", bluehelm.CatArmedClash, 5.1, 0, 0, 0, false},                  //
		{"90 days old halves", bluehelm.CatArmedClash, 0, 90 * day, 0, 13.9, true},                       // 0.3
		{"180 days old quarters", bluehelm.CatArmedClash, 0, 180 * day, 0, 7.2, true},                    // 0.15
		{"older than the lookback", bluehelm.CatArmedClash, 0, 366 * day, 0, 0, false},                   //
		{"after the assessment time", bluehelm.CatArmedClash, 0, -time.Hour, 0, 0, false},                //
		{"10 casualties double", bluehelm.CatArmedClash, 0, 0, 10, 45.1, true},                           // 1.2
		{"30 casualties cap at double", bluehelm.CatArmedClash, 0, 0, 30, 45.1, true},                    // 1.2
		{"3 casualties", bluehelm.CatArmedClash, 0, 0, 3, 32.3, true},                                    // 0.78
		{"a protest weighs little", bluehelm.CatProtest, 0, 0, 0, 4.9, true},                             // 0.1
		{"an IED 1.2 km off, a day old: no near repeat", bluehelm.CatExplosive, 1.2, day, 0, 19.4, true}, // 2^(−1/90) × 2^−1.2
		{"an IED 0.5 km off, 4 days old: no near repeat", bluehelm.CatExplosive, 0.5, 4 * day, 0, 29.0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx := NewIndex([]Incident{{ID: 7, Category: c.cat, At: noon.Add(-c.age), Location: pt(0.5, c.km), Casualties: c.casualties}})
			rep, err := Assess(shortRoute, Inputs{Incidents: idx, Facilities: nearHospital()}, Config{}, noon)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Segments) != 1 {
				t.Fatalf("%d segments", len(rep.Segments))
			}
			s := rep.Segments[0]
			if s.Score != c.score || rep.Score != c.score {
				t.Errorf("score %v (route %v), want %v", s.Score, rep.Score, c.score)
			}
			r := reason(s.Reasons, "incidents_nearby")
			if c.counted != (r != nil) || c.counted != (rep.IncidentsConsidered == 1) {
				t.Errorf("counted: reason %v, considered %d, want %v", r, rep.IncidentsConsidered, c.counted)
			}
			if r != nil && !slices.Equal(r.IncidentIDs, []int64{7}) {
				t.Errorf("incident ids %v", r.IncidentIDs)
			}
			if reason(s.Reasons, "near_repeat") != nil {
				t.Errorf("unexpected near repeat: %v", s.Reasons)
			}
			if want := levelOf(c.score); s.Level != want {
				t.Errorf("level %s, want %s", s.Level, want)
			}
		})
	}
}

// TestNearRepeat checks the near-repeat window: an IED, explosive or attack on
// UN personnel within 1 km and 3 days raises the segment to at least 80.
func TestNearRepeat(t *testing.T) {
	cases := []struct {
		name  string
		cat   bluehelm.Category
		km    float64
		age   time.Duration
		near  bool
		score float64
	}{
		{"IED 0.5 km, 2 days", bluehelm.CatExplosive, 0.5, 2 * day, true, 80},
		{"IED 0.5 km, 71 hours", bluehelm.CatExplosive, 0.5, 71 * time.Hour, true, 80},
		{"IED 0.5 km, 4 days", bluehelm.CatExplosive, 0.5, 4 * day, false, 29.0},
		{"IED 1.2 km, 1 day", bluehelm.CatExplosive, 1.2, day, false, 19.4},
		{"attack on UN 0.9 km, 2 days", bluehelm.CatAttackOnUN, 0.9, 2 * day, true, 80},
		{"armed clash 0.1 km, 1 day", bluehelm.CatArmedClash, 0.1, day, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			idx := NewIndex([]Incident{{ID: 3, Category: c.cat, At: noon.Add(-c.age), Location: pt(0.5, c.km)}})
			rep, err := Assess(shortRoute, Inputs{Incidents: idx, Facilities: nearHospital()}, Config{}, noon)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Segments[0]
			r := reason(s.Reasons, "near_repeat")
			if (r != nil) != c.near || (reason(rep.Reasons, "near_repeat") != nil) != c.near {
				t.Fatalf("near repeat %v, want %v: %v", r, c.near, s.Reasons)
			}
			if c.near {
				if !slices.Equal(r.IncidentIDs, []int64{3}) {
					t.Errorf("ids %v", r.IncidentIDs)
				}
				if s.Score != c.score || s.Level != bluehelm.RiskSevere {
					t.Errorf("score %v %s, want %v severe", s.Score, s.Level, c.score)
				}
			} else if c.score != 0 && s.Score != c.score {
				t.Errorf("score %v, want %v", s.Score, c.score)
			}
		})
	}
}

func square(id int64, kind bluehelm.AreaKind, w, s, e, n float64) *bluehelm.Area {
	a, b, c, d := pt(w, s), pt(e, s), pt(e, n), pt(w, n)
	ring := orb.Ring{{a.Lon, a.Lat}, {b.Lon, b.Lat}, {c.Lon, c.Lat}, {d.Lon, d.Lat}, {a.Lon, a.Lat}}
	return &bluehelm.Area{ID: id, Name: "area", Kind: kind, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}}}
}

// TestRestrictedAreas checks crossing by the segment, not by its ends: the
// route's ends (0 and 1 km east) are outside every square.
func TestRestrictedAreas(t *testing.T) {
	cases := []struct {
		name  string
		area  *bluehelm.Area
		cross bool
	}{
		{"small no-go area straddling the middle", square(5, bluehelm.AreaRestricted, 0.4, -0.1, 0.6, 0.1), true},
		{"beside the route", square(5, bluehelm.AreaRestricted, 0.4, 0.2, 0.6, 0.3), false},
		{"touching the route from above", square(5, bluehelm.AreaRestricted, 0.4, 0, 0.6, 0.3), true},
		{"an AOR is not a no-go area", square(5, bluehelm.AreaAOR, 0.4, -0.1, 0.6, 0.1), false},
		{"containing the whole route", square(5, bluehelm.AreaRestricted, -1, -1, 2, 1), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Assess(shortRoute, Inputs{Areas: []*bluehelm.Area{c.area}, Facilities: nearHospital()}, Config{}, noon)
			if err != nil {
				t.Fatal(err)
			}
			r := reason(rep.Segments[0].Reasons, "restricted_area")
			if (r != nil) != c.cross {
				t.Fatalf("crossing %v, want %v", r, c.cross)
			}
			if c.cross {
				if r.AreaID != 5 || rep.Segments[0].Score != 75 || reason(rep.Reasons, "restricted_area") == nil {
					t.Errorf("reason %+v score %v", r, rep.Segments[0].Score)
				}
			} else if rep.Score != 0 {
				t.Errorf("score %v", rep.Score)
			}
		})
	}
}

// TestAssessMedical checks the medical part: a Level 1 clinic and Level 2
// hospital 30 km north of a 1 km route, both with landing sites (worked
// configuration). By day the clinic is 30 + 30/200×60 = 39 min by air: within
// both targets. At night without night flying only the estimated road is left:
// 10 + 30.02 × 1.5/40 × 60 ≈ 77.5 min, beyond 1 hour (+10) but within 2 (+0).
func TestAssessMedical(t *testing.T) {
	fs := []*bluehelm.MedicalFacility{facility(1, "1", pt(0, 30), true), facility(2, "2", pt(0, 30), true)}
	cases := []struct {
		name     string
		at       time.Time
		until    time.Time
		fly      bool
		facs     []*bluehelm.MedicalFacility
		score    float64
		beyond1h bool
		beyond2h bool
	}{
		{"day", noon, time.Time{}, false, fs, 0, false, false},
		{"night, no night flying", midnight, time.Time{}, false, fs, 10, true, false},
		{"night with night flying", midnight, time.Time{}, true, fs, 0, false, false},
		{"day start, back after dark", noon.Add(4 * time.Hour), noon.Add(8 * time.Hour), false, fs, 10, true, false},
		{"no Level 2 registered", noon, time.Time{}, false, fs[:1], 15, false, true},
		{"nothing registered", noon, time.Time{}, false, nil, 25, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := workedConfig()
			cfg.NightFlying = c.fly
			rep, err := Assess(shortRoute, Inputs{Facilities: c.facs, Until: c.until}, cfg, c.at)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Segments[0]
			if s.Score != c.score {
				t.Errorf("score %v, want %v (%v)", s.Score, c.score, s.Reasons)
			}
			r1, r2 := reason(s.Reasons, "medical_beyond_1h"), reason(s.Reasons, "medical_beyond_2h")
			if (r1 != nil) != c.beyond1h || (r2 != nil) != c.beyond2h {
				t.Fatalf("reasons %v", reasonCodes(s.Reasons))
			}
			if c.beyond1h && c.facs != nil {
				if !strings.Contains(r1.Text, "estimated") || !strings.Contains(r1.Text, "night") {
					t.Errorf("text %q must call the road time an estimate and name the night", r1.Text)
				}
				if r1.Value < 77.5 || r1.Value > 77.6 {
					t.Errorf("minutes %v, want about 77.5", r1.Value)
				}
			}
			if s.Medical.Within1h == c.beyond1h || s.Medical.Within2h == c.beyond2h || !s.Medical.RoadEstimated {
				t.Errorf("medical %+v", s.Medical)
			}
			if c.facs != nil {
				est := reason(rep.Reasons, "medical_estimate")
				if est == nil || !strings.Contains(est.Text, "estimate") {
					t.Fatalf("no estimate reason: %v", rep.Reasons)
				}
				if !c.beyond1h && !c.beyond2h && !strings.Contains(est.Text, "not a confirmation") {
					t.Errorf("a route within the targets by estimate must say it is not confirmed: %q", est.Text)
				}
			}
			// No reason may say a target is met without calling it an estimate.
			for _, r := range append(slices.Clone(rep.Reasons), s.Reasons...) {
				if strings.Contains(r.Text, "meets") || (strings.Contains(r.Text, "road") && !strings.Contains(r.Text, "estimate")) {
					t.Errorf("reason %s: %q", r.Code, r.Text)
				}
			}
		})
	}
}

type flatSurface float64

func (f flatSurface) Probability(bluehelm.Point, time.Time) (float64, bool) { return float64(f), true }

type noSurface struct{}

func (noSurface) Probability(bluehelm.Point, time.Time) (float64, bool) { return 0.9, false }

func TestForecast(t *testing.T) {
	cases := []struct {
		name   string
		s      Surface
		used   bool
		score  float64
		reason bool
	}{
		{"none", nil, false, 0, false},
		{"0.5", flatSurface(0.5), true, 50, true},
		{"below the reason threshold", flatSurface(0.05), true, 5, false},
		{"out of range is clamped", flatSurface(3), true, 100, true},
		{"not covering the route", noSurface{}, false, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Assess(shortRoute, Inputs{Surface: c.s, Facilities: nearHospital()}, Config{}, noon)
			if err != nil {
				t.Fatal(err)
			}
			if rep.ForecastUsed != c.used || rep.Score != c.score || (reason(rep.Segments[0].Reasons, "forecast") != nil) != c.reason {
				t.Errorf("used %v score %v reasons %v", rep.ForecastUsed, rep.Score, reasonCodes(rep.Segments[0].Reasons))
			}
		})
	}
}

// TestSegments checks the cut of a 200 km route with three waypoints: two
// legs of 100 km, each cut into 50 stretches of 2 km.
func TestSegments(t *testing.T) {
	route := line(pt(0, 0), pt(100, 0), pt(100, 100))
	rep, err := Assess(route, Inputs{Facilities: nearHospital()}, Config{}, noon)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Segments) != 100 || rep.LengthKm < 199.99 || rep.LengthKm > 200.01 {
		t.Fatalf("%d segments, %v km", len(rep.Segments), rep.LengthKm)
	}
	for i, s := range rep.Segments {
		if s.LengthKm > 2.0001 || s.LengthKm < 1.99 {
			t.Errorf("segment %d: %v km", i, s.LengthKm)
		}
		if want := 2 * float64(i); s.StartKm < want-0.01 || s.StartKm > want+0.01 {
			t.Errorf("segment %d starts at %v km, want %v", i, s.StartKm, want)
		}
		if i > 0 && s.From != rep.Segments[i-1].To {
			t.Errorf("segment %d does not start where %d ends", i, i-1)
		}
	}
	if rep.Segments[49].To != pt(100, 0) || rep.Segments[99].To != pt(100, 100) {
		t.Error("waypoints are not segment ends")
	}
	// The far end is √2 × 100 = 141.42 km from the hospital: by road an
	// estimated 10 + 141.42 × 1.4/40 × 60 = 306.98 min, by air 30 + 141.42/200 × 60
	// = 72.43 min: beyond 1 hour, within 2 hours by air only.
	last := rep.Segments[99].Medical
	if last.Within1h || !last.Within2h || last.Level1AirMinutes != 72.4 || last.Level1RoadMinutes != 307 {
		t.Errorf("far end: %+v", last)
	}
	if r := reason(rep.Reasons, "medical_beyond_1h"); r == nil || r.Value != 72.4 {
		t.Errorf("route reason %+v", r)
	}
}

func TestAssessBadRoutes(t *testing.T) {
	cases := []struct {
		name  string
		route orb.LineString
	}{
		{"no points", nil},
		{"one point", line(pt(0, 0))},
		{"the same point twice", line(pt(1, 1), pt(1, 1))},
		{"off the Earth", orb.LineString{{0, 0}, {0, 95}}},
	}
	for _, c := range cases {
		if _, err := Assess(c.route, Inputs{}, Config{}, noon); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := Assess(shortRoute, Inputs{}, Config{Detour: 9}, noon); bluehelm.ErrorField(err) != "detour" {
		t.Errorf("bad config: %v", err)
	}
}

// TestDeterministic checks that the order of the inputs does not change the
// report, and that incidents near two segments are counted once.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cats := []bluehelm.Category{bluehelm.CatExplosive, bluehelm.CatArmedClash, bluehelm.CatAttackOnUN, bluehelm.CatProtest}
	var incs []Incident
	for i := range 2000 {
		incs = append(incs, Incident{ID: int64(i + 1), Category: cats[rng.IntN(len(cats))],
			At:       noon.Add(-time.Duration(rng.Int64N(int64(400 * day)))),
			Location: pt(rng.Float64()*40-5, rng.Float64()*20-10), Casualties: rng.IntN(5)})
	}
	route := line(pt(0, 0), pt(15, 3), pt(30, -2))
	areas := []*bluehelm.Area{square(2, bluehelm.AreaRestricted, 20, -1, 21, 1), square(1, bluehelm.AreaRestricted, 5, 0, 6, 2)}
	fs := []*bluehelm.MedicalFacility{facility(1, "1", pt(10, 5), false), facility(2, "2", pt(-20, 0), true)}
	in := Inputs{Incidents: NewIndex(incs), Areas: areas, Facilities: fs}
	a, err := Assess(route, in, Config{}, noon)
	if err != nil {
		t.Fatal(err)
	}
	rng.Shuffle(len(incs), func(i, j int) { incs[i], incs[j] = incs[j], incs[i] })
	slices.Reverse(areas)
	slices.Reverse(fs)
	b, err := Assess(route, Inputs{Incidents: NewIndex(incs), Areas: areas, Facilities: fs}, Config{}, noon)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the report depends on the order of the inputs")
	}
	sum := 0
	for _, s := range a.Segments {
		if r := reason(s.Reasons, "incidents_nearby"); r != nil {
			sum += int(r.Value)
		}
	}
	if a.IncidentsConsidered == 0 || a.IncidentsConsidered >= sum {
		t.Errorf("considered %d, per-segment sum %d: an incident near two segments must count once", a.IncidentsConsidered, sum)
	}
	if got := reasonCodes(a.Reasons); !slices.Contains(got, "restricted_area") || !slices.Contains(got, "incidents_nearby") {
		t.Errorf("route reasons %v", got)
	}
	if r := reason(a.Reasons, "restricted_area"); r.AreaID != 1 {
		t.Errorf("areas must come in ID order: %+v", r)
	}
	max := 0.0
	for _, s := range a.Segments {
		max = maxf(max, s.Score)
	}
	if a.Score != max || a.Level != levelOf(max) {
		t.Errorf("route score %v, worst segment %v", a.Score, max)
	}
}

func maxf(a, b float64) float64 {
	if a > b {
		return a
	}
	return b
}

func TestIndexSummaries(t *testing.T) {
	sums := []*bluehelm.IncidentSummary{
		{ID: 1, Category: bluehelm.CatExplosive, Status: bluehelm.StatusSubmitted, OccurredStart: noon, Location: pt(0, 0),
			Casualties: []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Best: 2}, {Group: "un_military", Kind: "injured", Best: 3}, {Group: "civilians", Kind: "abducted", Best: 4}}},
		{ID: 2, Category: bluehelm.CatExplosive, Status: bluehelm.StatusRejected, OccurredStart: noon, Location: pt(0, 0)},
		nil,
	}
	if got := IncidentOf(sums[0]).Casualties; got != 5 {
		t.Errorf("casualties %d, want 5 (killed and injured)", got)
	}
	if n := IndexSummaries(sums).Len(); n != 1 {
		t.Errorf("indexed %d, want 1 (rejected left out)", n)
	}
}
