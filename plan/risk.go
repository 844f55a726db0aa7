package plan

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// Surface is an early-warning surface: the probability of violence near p at
// time at, and whether the surface covers p at all.
type Surface interface {
	Probability(p bluehelm.Point, at time.Time) (float64, bool)
}

// Inputs is what a route is assessed against. Any part may be empty.
type Inputs struct {
	// Incidents is the incident history, indexed once for many assessments. The
	// caller builds it from the incidents the requester may see: the report
	// names incident IDs.
	Incidents *Index
	// Areas: only areas of kind restricted count; others are ignored, so a
	// caller may pass every area.
	Areas      []*bluehelm.Area
	Facilities []*bluehelm.MedicalFacility
	// Surface is the early-warning surface; nil when there is none. The report
	// says ForecastUsed only when the surface covered some point of the route.
	Surface Surface
	// Until is the end of the planned window. When set, air evacuation counts
	// only if helicopters may fly for the whole of [at, Until]: a patrol out at
	// night cannot count on a daytime helicopter.
	Until time.Time
	// Coverage is the CASEVAC coverage grid (CasevacCoverage: where the
	// evacuation assets meet 1 and 2 hours); nil leaves it out. A stretch whose
	// worst point lies in the grid but outside a standard there is beyond it
	// even when the facilities alone would be within it.
	Coverage *MedicalCoverage
}

// Score bands of the levels: below 25 low, below 50 moderate, below 75 high,
// then severe.
func levelOf(score float64) bluehelm.RiskLevel {
	switch {
	case score >= 75:
		return bluehelm.RiskSevere
	case score >= 50:
		return bluehelm.RiskHigh
	case score >= 25:
		return bluehelm.RiskModerate
	}
	return bluehelm.RiskLow
}

// maxSegments bounds the work of one assessment: 10,000 stretches of 2 km is
// farther than any patrol goes.
const maxSegments = 10000

// topIncidents is how many incident IDs a reason names.
const topIncidents = 5

// Assess computes the risk of a route for a patrol starting at at: per segment
// (the route cut into stretches of at most cfg.SegmentKm) and overall. A
// segment's score combines (a) the incident history near it, weighted by
// category, casualties, recency and distance, raised to at least
// NearRepeatFloor by a recent IED or attack within NearRepeatKm; (b) the
// early-warning probability, if a surface is given; (c) restricted areas it
// crosses, which raise it to at least RestrictedFloor; (d) points added when
// Level 1 care is beyond 1 hour or Level 2 beyond 2 hours at its worst point.
// The route's score is its worst segment's: a route is as dangerous as its most
// dangerous stretch, and the reasons say how many stretches share each concern.
//
// The report's ComputedAt is left for the caller to set from its clock; At
// says which time the route was assessed for.
func Assess(route orb.LineString, in Inputs, cfg Config, at time.Time) (*bluehelm.RiskReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	segs, total, err := cut(route, cfg.SegmentKm)
	if err != nil {
		return nil, err
	}
	a := assessor{cfg: cfg, in: in, at: at, atUnix: at.Unix(), considered: map[int64]float64{}}
	a.prepare()
	rep := &bluehelm.RiskReport{At: at, LengthKm: round(total, 3)}
	rep.Segments = make([]bluehelm.SegmentRisk, len(segs))
	for i, s := range segs {
		rep.Segments[i] = a.segment(s)
	}
	a.summarise(rep)
	rep.ForecastUsed = a.forecastSeen
	capitalise(rep.Reasons)
	for i := range rep.Segments {
		capitalise(rep.Segments[i].Reasons)
	}
	return rep, nil
}

// capitalise starts each reason's text with a capital, as a sentence.
func capitalise(rs []bluehelm.RiskReason) {
	for i := range rs {
		if t := rs[i].Text; t != "" && t[0] >= 'a' && t[0] <= 'z' {
			rs[i].Text = string(t[0]-'a'+'A') + t[1:]
		}
	}
}

// seg is a stretch of the route.
type seg struct {
	from, to          bluehelm.Point
	startKm, lengthKm float64
}

// cut splits a route into stretches of at most maxKm, each leg between two
// waypoints into equal parts. Repeated points are skipped.
func cut(route orb.LineString, maxKm float64) ([]seg, float64, error) {
	if len(route) < 2 {
		return nil, 0, bluehelm.Invalid("route", "needs at least two points")
	}
	for i, c := range route {
		if err := (bluehelm.Point{Lon: c[0], Lat: c[1]}).Validate(); err != nil {
			return nil, 0, bluehelm.PrefixField(fmt.Sprintf("route.coordinates[%d]", i), err)
		}
	}
	var segs []seg
	km := 0.0
	for i := 1; i < len(route); i++ {
		a := bluehelm.Point{Lon: route[i-1][0], Lat: route[i-1][1]}
		b := bluehelm.Point{Lon: route[i][0], Lat: route[i][1]}
		l := distanceKm(a, b)
		if l == 0 {
			continue
		}
		n := int(math.Ceil(l / maxKm))
		if len(segs)+n > maxSegments {
			return nil, 0, bluehelm.Invalid("route", "longer than %d stretches of %.1f km", maxSegments, maxKm)
		}
		prev := a
		for k := 1; k <= n; k++ {
			// Interpolating lon/lat linearly bends from the great circle by
			// metres over a leg of tens of km: well within what risk is judged at.
			t := float64(k) / float64(n)
			p := bluehelm.Point{Lon: a.Lon + (b.Lon-a.Lon)*t, Lat: a.Lat + (b.Lat-a.Lat)*t}
			if k == n {
				p = b
			}
			segs = append(segs, seg{from: prev, to: p, startKm: km + l*float64(k-1)/float64(n), lengthKm: l / float64(n)})
			prev = p
		}
		km += l
	}
	if len(segs) == 0 {
		return nil, 0, bluehelm.Invalid("route", "needs at least two distinct points")
	}
	return segs, km, nil
}

// restricted is a restricted area with its box, for quick rejection.
type restricted struct {
	area *bluehelm.Area
	box  bluehelm.BBox
}

// assessor carries what one assessment shares across segments.
type assessor struct {
	cfg     Config
	in      Inputs
	at      time.Time
	atUnix  int64
	weights [256]float64
	nearCat [256]bool
	areas   []restricted
	airOK   bool
	airWhy  string
	anyHLS  bool
	anyL1   bool
	anyL2   bool

	// Route-wide tallies.
	considered map[int64]float64 // incident → its largest weight on any segment
	nearRepeat map[int64]nearHit
	crossings  map[int64]*crossing
	maxProb    float64
	// forecastSeen says the surface covered some point of the route: only
	// then was it part of the score.
	forecastSeen bool
	probSegs     int
	beyond1h     int
	beyond2h     int
	covMiss1h    int // stretches outside the CASEVAC coverage's standards (Inputs.Coverage)
	covMiss2h    int
	worst1       bluehelm.MedicalReach
	worst2       bluehelm.MedicalReach
	worst1Min    float64
	worst2Min    float64
	medSet       bool
}

type nearHit struct {
	km   float64
	unix int64
}

type crossing struct {
	area         *bluehelm.Area
	fromKm, toKm float64
	segments     int
}

func (a *assessor) prepare() {
	for i := range a.weights {
		a.weights[i] = 0.1
	}
	for cat, i := range categories {
		w, ok := a.cfg.CategoryWeights[cat]
		if !ok {
			w = 0.1
		}
		a.weights[i] = w
	}
	a.nearCat[categories[bluehelm.CatExplosive]] = true
	a.nearCat[categories[bluehelm.CatAttackOnUN]] = true
	for _, ar := range a.in.Areas {
		if ar == nil || ar.Kind != bluehelm.AreaRestricted || ar.Geometry.Geometry == nil {
			continue
		}
		a.areas = append(a.areas, restricted{ar, ar.Geometry.Bound()})
	}
	// Areas in ID order, so that reasons come out in the same order whatever
	// order the caller passes.
	slices.SortStableFunc(a.areas, func(x, y restricted) int { return cmp.Compare(x.area.ID, y.area.ID) })
	if a.in.Until.IsZero() {
		a.airOK = a.cfg.airAllowed(a.at)
	} else {
		a.airOK = a.cfg.airAllowedDuring(a.at, a.in.Until)
	}
	if !a.airOK {
		a.airWhy = "no air evacuation: the patrol is out at night and night flying is not allowed"
	}
	for _, f := range a.in.Facilities {
		if f == nil || f.OutOfService || !f.Level.Valid() {
			continue
		}
		a.anyL1 = true
		a.anyL2 = a.anyL2 || f.Level.AtLeast(Level2)
		a.anyHLS = a.anyHLS || len(f.HelicopterLandingSites) > 0
	}
	if a.airOK && !a.anyHLS {
		a.airWhy = "no air evacuation: no facility in service has a helicopter landing site"
	}
	a.nearRepeat = map[int64]nearHit{}
	a.crossings = map[int64]*crossing{}
	a.worst1Min, a.worst2Min = -1, -1
}

type scored struct {
	w  float64
	id int64
	km float64 // for near repeats: distance from the segment
}

// pushTop keeps the n heaviest in top, ties to the lower ID.
func pushTop(top []scored, s scored, n int) []scored {
	i := len(top)
	for i > 0 && (top[i-1].w < s.w || (top[i-1].w == s.w && top[i-1].id > s.id)) {
		i--
	}
	if i >= n {
		return top
	}
	top = slices.Insert(top, i, s)
	if len(top) > n {
		top = top[:n]
	}
	return top
}

func ids(top []scored) []int64 {
	out := make([]int64, len(top))
	for i, s := range top {
		out[i] = s.id
	}
	return out
}

func (a *assessor) segment(s seg) bluehelm.SegmentRisk {
	cfg := a.cfg
	out := bluehelm.SegmentRisk{From: s.from, To: s.to, StartKm: round(s.startKm, 3), LengthKm: round(s.lengthKm, 3)}
	mid := bluehelm.Point{Lon: (s.from.Lon + s.to.Lon) / 2, Lat: (s.from.Lat + s.to.Lat) / 2}

	// (a) Incident history.
	fr := newFrame(mid.Lon, mid.Lat)
	ax, ay := fr.xy(s.from.Lon, s.from.Lat)
	bx, by := fr.xy(s.to.Lon, s.to.Lat)
	radiusM := cfg.RadiusKm * 1000
	dlon, dlat := degreesFor(radiusM, math.Max(math.Abs(s.from.Lat), math.Abs(s.to.Lat))+radiusM/metresPerDegree)
	minLon, maxLon := math.Min(s.from.Lon, s.to.Lon)-dlon, math.Max(s.from.Lon, s.to.Lon)+dlon
	minLat, maxLat := math.Min(s.from.Lat, s.to.Lat)-dlat, math.Max(s.from.Lat, s.to.Lat)+dlat
	lookback := int64(cfg.Lookback / time.Second)
	halfLife := cfg.RecencyHalfLife.Seconds()
	window := int64(cfg.NearRepeatWindow / time.Second)
	nearM := cfg.NearRepeatKm * 1000
	heat := 0.0
	count, grave := 0, 0
	var top, near []scored
	x := a.in.Incidents
	x.search(minLon, minLat, maxLon, maxLat, func(i int) {
		lon, lat := x.lon[i], x.lat[i]
		if lon < minLon || lon > maxLon || lat < minLat || lat > maxLat {
			return
		}
		age := a.atUnix - x.unix[i]
		if age < 0 || age > lookback {
			return
		}
		px, py := fr.xy(lon, lat)
		d := segDist(px, py, ax, ay, bx, by)
		if d > radiusM {
			return
		}
		c := x.cat[i]
		w := a.weights[c] * (1 + float64(min(x.casualty[i], 10))/10) *
			math.Exp2(-float64(age)/halfLife) * math.Exp2(-d/1000/cfg.DistanceHalfKm)
		id := x.id[i]
		if a.nearCat[c] && d <= nearM && age <= window {
			near = pushTop(near, scored{-float64(age), id, d / 1000}, topIncidents)
			if h, ok := a.nearRepeat[id]; !ok || d/1000 < h.km {
				a.nearRepeat[id] = nearHit{d / 1000, x.unix[i]}
			}
		}
		if w <= 0 {
			return
		}
		count++
		if a.nearCat[c] {
			grave++
		}
		heat += w
		top = pushTop(top, scored{w, id, 0}, topIncidents)
		if w > a.considered[id] {
			a.considered[id] = w
		}
	})
	incScore := 100 * (1 - math.Exp(-heat/cfg.HeatScale))
	if count > 0 {
		text := fmt.Sprintf("%d incident%s within %s km in the last %d days", count, plural(count), num(cfg.RadiusKm), days(cfg.Lookback))
		if grave > 0 {
			text += fmt.Sprintf(", %d of them IED, explosive or attacks on UN personnel", grave)
		}
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "incidents_nearby", Text: text, IncidentIDs: ids(top), Value: float64(count)})
	}

	// (b) Early warning: the worst of the stretch's ends and middle.
	prob := 0.0
	if a.in.Surface != nil {
		for _, p := range []bluehelm.Point{s.from, mid, s.to} {
			if v, ok := a.in.Surface.Probability(p, a.at); ok && !math.IsNaN(v) {
				a.forecastSeen = true
				prob = math.Max(prob, math.Min(1, math.Max(0, v)))
			}
		}
		if prob >= cfg.ForecastReasonMin {
			out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "forecast",
				Text: fmt.Sprintf("early-warning probability %.2f here", prob), Value: round(prob, 3)})
			a.probSegs++
		}
		a.maxProb = math.Max(a.maxProb, prob)
	}
	score := 100 * (1 - (1-incScore/100)*(1-prob))

	if len(near) > 0 {
		h := near[0]
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "near_repeat",
			Text: fmt.Sprintf("IED, explosive or attack on UN personnel %s km from the route %s ago (within %s km and %s): near-repeat risk is at its highest",
				num(round(h.km, 1)), ago(int64(-h.w)), num(cfg.NearRepeatKm), span(cfg.NearRepeatWindow)),
			IncidentIDs: ids(near), Value: float64(len(near))})
		score = math.Max(score, cfg.NearRepeatFloor)
	}

	// (c) Restricted areas.
	box := bluehelm.BBox{MinLon: math.Min(s.from.Lon, s.to.Lon), MinLat: math.Min(s.from.Lat, s.to.Lat),
		MaxLon: math.Max(s.from.Lon, s.to.Lon), MaxLat: math.Max(s.from.Lat, s.to.Lat)}
	pa, pb := orb.Point{s.from.Lon, s.from.Lat}, orb.Point{s.to.Lon, s.to.Lat}
	for _, r := range a.areas {
		if !r.box.Intersects(box) || !geometryMeetsSegment(r.area.Geometry.Geometry, pa, pb) {
			continue
		}
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "restricted_area",
			Text: fmt.Sprintf("crosses restricted area %q", r.area.Name), AreaID: r.area.ID})
		score = math.Max(score, cfg.RestrictedFloor)
		c := a.crossings[r.area.ID]
		if c == nil {
			c = &crossing{area: r.area, fromKm: s.startKm}
			a.crossings[r.area.ID] = c
		}
		c.toKm = s.startKm + s.lengthKm
		c.segments++
	}

	// (d) Medical reachability at the worst of the stretch's ends and middle,
	// each level at its own worst point.
	var w1, w2 bluehelm.MedicalReach
	m1, m2 := -1.0, -1.0
	for _, p := range []bluehelm.Point{s.from, mid, s.to} {
		r := reach(p, a.in.Facilities, cfg, a.airOK)
		if v := level1Minutes(r); v > m1 {
			m1, w1 = v, r
		}
		if v := level2Minutes(r); v > m2 {
			m2, w2 = v, r
		}
	}
	out.Medical = mergeReach(w1, w2)
	cov1, cov2 := a.coverageMisses(s.from, mid, s.to)
	if cov1 && out.Medical.Within1h {
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "casevac_outside_1h",
			Text: "no evacuation asset reaches part of this stretch within 1 hour (CASEVAC coverage)"})
		score += cfg.Beyond1hPoints
		a.covMiss1h++
	}
	if cov2 && out.Medical.Within2h {
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "casevac_outside_2h",
			Text: "no evacuation asset brings a casualty from part of this stretch to Level 2 care within 2 hours (CASEVAC coverage)"})
		score += cfg.Beyond2hPoints
		a.covMiss2h++
	}
	if !out.Medical.Within1h {
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "medical_beyond_1h",
			Text: a.medicalText("Level 1", w1.Level1RoadMinutes, w1.Level1AirMinutes, 1, a.anyL1), Value: minutesValue(m1)})
		score += cfg.Beyond1hPoints
		a.beyond1h++
	}
	if !out.Medical.Within2h {
		out.Reasons = append(out.Reasons, bluehelm.RiskReason{Code: "medical_beyond_2h",
			Text: a.medicalText("Level 2", w2.Level2RoadMinutes, w2.Level2AirMinutes, 2, a.anyL2), Value: minutesValue(m2)})
		score += cfg.Beyond2hPoints
		a.beyond2h++
	}
	if !a.medSet || m1 > a.worst1Min {
		a.worst1, a.worst1Min = w1, m1
	}
	if !a.medSet || m2 > a.worst2Min {
		a.worst2, a.worst2Min = w2, m2
	}
	a.medSet = true

	out.Score = round(math.Min(100, score), 1)
	out.Level = levelOf(out.Score)
	return out
}

// mergeReach takes the Level 1 figures of r1 and the Level 2 figures of r2.
func mergeReach(r1, r2 bluehelm.MedicalReach) bluehelm.MedicalReach {
	m := r1
	m.Level2RoadMinutes, m.Level2AirMinutes, m.Level2FacilityID, m.Within2h = r2.Level2RoadMinutes, r2.Level2AirMinutes, r2.Level2FacilityID, r2.Within2h
	m.Level1RoadMinutes, m.Level1AirMinutes = round(m.Level1RoadMinutes, 1), round(m.Level1AirMinutes, 1)
	m.Level2RoadMinutes, m.Level2AirMinutes = round(m.Level2RoadMinutes, 1), round(m.Level2AirMinutes, 1)
	return m
}

// medicalText explains why a level is beyond its target. Road times are
// always called estimates.
func (a *assessor) medicalText(level string, road, air float64, hours int, any bool) string {
	if !any {
		return fmt.Sprintf("no %s facility (or better) is registered in service: %s care is beyond the %d-hour target", level, level, hours)
	}
	var parts []string
	if road >= 0 {
		parts = append(parts, fmt.Sprintf("by road an estimated %.0f min (straight line × %s at %s km/h, not a road route)", road, num(a.cfg.Detour), num(a.cfg.RoadSpeedKmh)))
	}
	if air >= 0 {
		parts = append(parts, fmt.Sprintf("by air %.0f min", air))
	} else if a.airWhy != "" {
		parts = append(parts, a.airWhy)
	} else {
		parts = append(parts, "no air evacuation to such a facility (no helicopter landing site)")
	}
	return fmt.Sprintf("%s care is beyond the %d-hour target at the worst point: %s", level, hours, strings.Join(parts, "; "))
}

func minutesValue(m float64) float64 {
	if math.IsInf(m, 1) || m < 0 {
		return -1
	}
	return round(m, 1)
}

// summarise fills the route's score, level, medical reach and reasons.
func (a *assessor) summarise(rep *bluehelm.RiskReport) {
	cfg := a.cfg
	for _, s := range rep.Segments {
		rep.Score = math.Max(rep.Score, s.Score)
	}
	rep.Level = levelOf(rep.Score)
	rep.IncidentsConsidered = len(a.considered)
	rep.Medical = mergeReach(a.worst1, a.worst2)
	n := len(rep.Segments)

	if len(a.nearRepeat) > 0 {
		var top []scored
		for id, h := range a.nearRepeat {
			top = pushTop(top, scored{float64(h.unix), id, h.km}, topIncidents)
		}
		h := a.nearRepeat[top[0].id]
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "near_repeat",
			Text: fmt.Sprintf("%d IED, explosive or attack%s on UN personnel within %s km of the route in the last %s (the latest %s ago): near-repeat risk is at its highest",
				len(a.nearRepeat), plural(len(a.nearRepeat)), num(cfg.NearRepeatKm), span(cfg.NearRepeatWindow), ago(a.atUnix-h.unix)),
			IncidentIDs: ids(top), Value: float64(len(a.nearRepeat))})
	}
	crossed := make([]*crossing, 0, len(a.crossings))
	for _, c := range a.crossings {
		crossed = append(crossed, c)
	}
	slices.SortFunc(crossed, func(x, y *crossing) int { return cmp.Compare(x.area.ID, y.area.ID) })
	for _, c := range crossed {
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "restricted_area",
			Text:   fmt.Sprintf("the route crosses restricted area %q between km %.1f and %.1f", c.area.Name, c.fromKm, c.toKm),
			AreaID: c.area.ID, Value: float64(c.segments)})
	}
	if len(a.considered) > 0 {
		var top []scored
		for id, w := range a.considered {
			top = pushTop(top, scored{w, id, 0}, topIncidents)
		}
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "incidents_nearby",
			Text:        fmt.Sprintf("%d incident%s within %s km of the route in the last %d days", len(a.considered), plural(len(a.considered)), num(cfg.RadiusKm), days(cfg.Lookback)),
			IncidentIDs: ids(top), Value: float64(len(a.considered))})
	}
	if a.probSegs > 0 {
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "forecast",
			Text:  fmt.Sprintf("early-warning probability up to %.2f (%d of %d stretches at %.2f or more)", a.maxProb, a.probSegs, n, cfg.ForecastReasonMin),
			Value: round(a.maxProb, 3)})
	}
	if a.beyond2h > 0 {
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "medical_beyond_2h",
			Text:  fmt.Sprintf("%d of %d stretches are beyond 2 hours from Level 2 care (road times estimated); the worst: %s", a.beyond2h, n, worstText(rep.Medical.Level2RoadMinutes, rep.Medical.Level2AirMinutes)),
			Value: minutesValue(a.worst2Min)})
	}
	if a.beyond1h > 0 {
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "medical_beyond_1h",
			Text:  fmt.Sprintf("%d of %d stretches are beyond 1 hour from Level 1 care (road times estimated); the worst: %s", a.beyond1h, n, worstText(rep.Medical.Level1RoadMinutes, rep.Medical.Level1AirMinutes)),
			Value: minutesValue(a.worst1Min)})
	}
	for _, m := range []struct {
		code string
		n    int
		what string
	}{{"casevac_outside_1h", a.covMiss1h, "no evacuation asset reaches them within 1 hour"},
		{"casevac_outside_2h", a.covMiss2h, "no evacuation asset brings a casualty to Level 2 care within 2 hours"}} {
		if m.n > 0 {
			rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: m.code,
				Text: fmt.Sprintf("%d of %d stretches are outside the CASEVAC coverage: %s", m.n, n, m.what), Value: float64(m.n)})
		}
	}
	if a.anyL1 {
		verdict := "by this estimate Level 1 care is within 1 hour and Level 2 within 2 hours along the whole route, which is an estimate, not a confirmation of 10-1-2"
		if a.beyond1h > 0 || a.beyond2h > 0 || a.covMiss1h > 0 || a.covMiss2h > 0 {
			verdict = "by this estimate parts of the route are beyond the 10-1-2 targets"
		}
		if !a.airOK || !a.anyHLS {
			verdict += "; " + a.airWhy
		}
		rep.Reasons = append(rep.Reasons, bluehelm.RiskReason{Code: "medical_estimate",
			Text: fmt.Sprintf("road times to care are estimated: straight-line distance × %s at %s km/h plus %s min to set off, not routed on roads; %s",
				num(cfg.Detour), num(cfg.RoadSpeedKmh), num(cfg.RoadLaunchMinutes), verdict)})
	}
}

func worstText(road, air float64) string {
	var parts []string
	if road >= 0 {
		parts = append(parts, fmt.Sprintf("an estimated %.0f min by road", road))
	}
	if air >= 0 {
		parts = append(parts, fmt.Sprintf("%.0f min by air", air))
	}
	if len(parts) == 0 {
		return "no means reaches such care"
	}
	return strings.Join(parts, ", ")
}

func round(v float64, places int) float64 {
	if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// num formats a configured number without trailing zeros.
func num(v float64) string { return fmt.Sprintf("%g", v) }

func days(d time.Duration) int { return int(d.Hours() / 24) }

// span writes a duration as days or hours.
func span(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", days(d))
	}
	return fmt.Sprintf("%.0f hours", d.Hours())
}

// ago writes an age in seconds as hours or days.
func ago(sec int64) string {
	h := float64(sec) / 3600
	if h < 48 {
		return fmt.Sprintf("%.0f hours", h)
	}
	return fmt.Sprintf("%.0f days", h/24)
}

// coverageMisses reports whether any of the points lies in the CASEVAC
// coverage grid but outside its 1-hour or 2-hour standard. Points outside the
// grid say nothing.
func (a *assessor) coverageMisses(ps ...bluehelm.Point) (miss1h, miss2h bool) {
	c := a.in.Coverage
	if c == nil {
		return false, false
	}
	for _, p := range ps {
		if c.Cell(p)&CellInside == 0 {
			continue
		}
		one, two := c.Within(p)
		miss1h, miss2h = miss1h || !one, miss2h || !two
	}
	return miss1h, miss2h
}
