package plan

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// EvacAsset is a unit that can carry casualties and where it is now: a road
// ambulance (mobility mounted) or a helicopter (mobility air). Other mobilities
// are not evacuation means and are ignored.
type EvacAsset struct {
	Unit     string            `json:"unit"`
	TrackUID string            `json:"track_uid,omitempty"`
	Mobility bluehelm.Mobility `json:"mobility"`
	Position bluehelm.Point    `json:"position"`
}

// Evacuation means.
const (
	MeansRoad = "road"
	MeansAir  = "air"
)

// means returns the evacuation means of a mobility ("" for none).
func means(m bluehelm.Mobility) string {
	switch m {
	case bluehelm.MobilityMounted:
		return MeansRoad
	case bluehelm.MobilityAir:
		return MeansAir
	}
	return ""
}

// CasevacQuery is what a destination is chosen for.
type CasevacQuery struct {
	Pickup    bluehelm.Point
	WoundedAt time.Time
	// Now is when the asset would launch.
	Now time.Time
	// Patients is how many beds the destination needs (0 counts as 1).
	Patients int
	// Surgical: a patient is urgent-surgical, so a Level 2 or higher
	// destination ranks before an earlier arrival at lesser care.
	Surgical bool
}

// EvacOption is one way to evacuate: an asset, by a means, to a facility. Minutes
// count from the wounding.
type EvacOption struct {
	FacilityID    int64                 `json:"facility_id"`
	FacilityName  string                `json:"facility_name"`
	FacilityLevel bluehelm.MedicalLevel `json:"facility_level"`
	Means         string                `json:"means"`
	AssetUnit     string                `json:"asset_unit"`
	AssetTrack    string                `json:"asset_track,omitempty"`
	// PickupMinutes and ArriveMinutes are after the wounding; PickupAt and
	// ArriveAt the estimated times.
	PickupMinutes float64   `json:"pickup_minutes"`
	ArriveMinutes float64   `json:"arrive_minutes"`
	PickupAt      time.Time `json:"pickup_at"`
	ArriveAt      time.Time `json:"arrive_at"`
	// Meets1h: the evacuation team reaches the casualty within 1 hour of the
	// wounding. Meets2h: the casualty is in a Level 2 or higher facility (damage
	// control surgery) within 2 hours.
	Meets1h bool `json:"meets_1h"`
	Meets2h bool `json:"meets_2h"`
}

// Recommendation is the destination and means chosen for a request.
type Recommendation struct {
	Best *EvacOption `json:"best,omitempty"` // nil when nothing can evacuate
	// Alternatives are the next best options with another facility or means
	// (at most 3).
	Alternatives []EvacOption `json:"alternatives,omitempty"`
	// Misses names the standards the best option misses ("1h", "2h").
	Misses []string `json:"misses,omitempty"`
	// Reason says why, in plain words.
	Reason string `json:"reason"`
	// Estimated is always true: times are straight-line estimates (no road network).
	Estimated bool `json:"estimated"`
}

// class ranks an option: both standards, then 2 h only, then 1 h only, then none.
func (o *EvacOption) class() int {
	switch {
	case o.Meets1h && o.Meets2h:
		return 0
	case o.Meets2h:
		return 1
	case o.Meets1h:
		return 2
	}
	return 3
}

// better orders options: by class, then (for a surgical case) a Level 2+
// destination, then the earliest arrival, the earliest pick-up, and for a
// stable answer the lower facility id and the asset's code.
func better(a, b *EvacOption, surgical bool) bool {
	if ca, cb := a.class(), b.class(); ca != cb {
		return ca < cb
	}
	if sa, sb := a.FacilityLevel.AtLeast(Level2), b.FacilityLevel.AtLeast(Level2); surgical && sa != sb {
		return sa
	}
	if a.ArriveMinutes != b.ArriveMinutes {
		return a.ArriveMinutes < b.ArriveMinutes
	}
	if a.PickupMinutes != b.PickupMinutes {
		return a.PickupMinutes < b.PickupMinutes
	}
	if a.FacilityID != b.FacilityID {
		return a.FacilityID < b.FacilityID
	}
	if a.Means != b.Means {
		return a.Means < b.Means
	}
	return a.AssetUnit < b.AssetUnit
}

// Recommend chooses the destination facility and the means for a casualty at
// q.Pickup: the option that meets 10-1-2 if any can, else the best available,
// saying which deadline it misses.
//
// Road: the ambulance launches (RoadLaunchMinutes), drives to the pick-up site
// and on to the facility, each leg straight-line × Detour at RoadSpeedKmh. Air:
// the helicopter launches (AirLaunchMinutes), flies to the pick-up site and on
// to the facility's nearest landing site at AirSpeedKmh; a facility without a
// landing site is not reachable by air, and helicopters fly only if the whole
// flight is by day or NightFlying is set. A facility counts only if it is in
// service, open when the casualty arrives and has a free bed per patient (when
// it reports free beds).
//
// The best asset of a means is the one nearest the pick-up site whatever the
// destination (the legs add up), so the work is assets + facilities, not their
// product.
func Recommend(q CasevacQuery, facilities []*bluehelm.MedicalFacility, assets []EvacAsset, cfg Config) Recommendation {
	cfg = cfg.withDefaults()
	rec := Recommendation{Estimated: true}
	sinceWound := q.Now.Sub(q.WoundedAt).Minutes()
	if sinceWound < 0 {
		sinceWound = 0
	}
	need := max(q.Patients, 1)

	// The nearest asset of each means, and its time to the pick-up site.
	type pick struct {
		asset   *EvacAsset
		minutes float64
	}
	bestAsset := map[string]pick{}
	for i := range assets {
		a := &assets[i]
		m := means(a.Mobility)
		if m == "" {
			continue
		}
		var t float64
		if m == MeansRoad {
			t = cfg.RoadLaunchMinutes + distanceKm(a.Position, q.Pickup)*cfg.Detour/cfg.RoadSpeedKmh*60
		} else {
			t = cfg.AirLaunchMinutes + distanceKm(a.Position, q.Pickup)/cfg.AirSpeedKmh*60
		}
		if b, ok := bestAsset[m]; !ok || t < b.minutes || (t == b.minutes && a.Unit < b.asset.Unit) {
			bestAsset[m] = pick{a, t}
		}
	}

	var notes []string
	var closed, full int
	nightGrounded := false
	var options []EvacOption
	for _, m := range []string{MeansRoad, MeansAir} {
		p, ok := bestAsset[m]
		if !ok {
			continue
		}
		for _, f := range facilities {
			if f == nil || f.OutOfService || !f.Level.Valid() {
				continue
			}
			var leg float64
			if m == MeansRoad {
				leg = distanceKm(q.Pickup, f.Location) * cfg.Detour / cfg.RoadSpeedKmh * 60
			} else {
				leg = math.Inf(1)
				for _, h := range f.HelicopterLandingSites {
					leg = math.Min(leg, distanceKm(q.Pickup, h)/cfg.AirSpeedKmh*60)
				}
				if math.IsInf(leg, 1) {
					continue
				}
			}
			o := EvacOption{FacilityID: f.ID, FacilityName: f.Name, FacilityLevel: f.Level, Means: m,
				AssetUnit: p.asset.Unit, AssetTrack: p.asset.TrackUID,
				PickupMinutes: sinceWound + p.minutes, ArriveMinutes: sinceWound + p.minutes + leg}
			o.PickupAt = q.Now.Add(minutes(p.minutes))
			o.ArriveAt = q.Now.Add(minutes(p.minutes + leg))
			if m == MeansAir && !cfg.airAllowedDuring(q.Now, o.ArriveAt) {
				nightGrounded = true
				continue
			}
			if !f.OpenAt(o.ArriveAt, cfg.UTCOffset) {
				closed++
				continue
			}
			if !f.HasBeds(need) {
				full++
				continue
			}
			o.Meets1h = o.PickupMinutes <= 60
			o.Meets2h = o.ArriveMinutes <= 120 && f.Level.AtLeast(Level2)
			options = append(options, o)
		}
	}
	slices.SortFunc(options, func(a, b EvacOption) int {
		switch {
		case better(&a, &b, q.Surgical):
			return -1
		case better(&b, &a, q.Surgical):
			return 1
		}
		return 0
	})
	if nightGrounded {
		notes = append(notes, "helicopters do not fly at night")
	}
	if closed > 0 {
		notes = append(notes, fmt.Sprintf("%d closed when the casualty would arrive", closed))
	}
	if full > 0 {
		notes = append(notes, fmt.Sprintf("%d without a free bed", full))
	}
	if len(bestAsset) == 0 {
		notes = append(notes, "no road ambulance or helicopter has a known position")
	}
	if len(options) == 0 {
		rec.Misses = []string{"1h", "2h"}
		rec.Reason = "No evacuation is possible: " + strings.Join(append(notes, "no facility can be reached"), "; ") + "."
		return rec
	}
	best := options[0]
	rec.Best = &best
	seen := map[string]bool{key(best): true}
	for _, o := range options[1:] {
		if len(rec.Alternatives) == 3 {
			break
		}
		if !seen[key(o)] {
			seen[key(o)] = true
			rec.Alternatives = append(rec.Alternatives, o)
		}
	}
	if !best.Meets1h {
		rec.Misses = append(rec.Misses, "1h")
	}
	if !best.Meets2h {
		rec.Misses = append(rec.Misses, "2h")
	}
	rec.Reason = explain(best, notes)
	return rec
}

func key(o EvacOption) string { return fmt.Sprint(o.FacilityID, "/", o.Means) }

func minutes(m float64) time.Duration { return time.Duration(math.Round(m * float64(time.Minute))) }

// explain says in plain words what the option does against 10-1-2.
func explain(o EvacOption, notes []string) string {
	var b strings.Builder
	vehicle := "road ambulance"
	if o.Means == MeansAir {
		vehicle = "helicopter"
	}
	fmt.Fprintf(&b, "%s %s to %s (Level %s): pick-up %s after wounding, arrival %s after wounding. ",
		vehicle, o.AssetUnit, o.FacilityName, o.FacilityLevel, hm(o.PickupMinutes), hm(o.ArriveMinutes))
	switch {
	case o.Meets1h && o.Meets2h:
		b.WriteString("Meets the 1-hour and 2-hour standards.")
	case o.Meets2h:
		fmt.Fprintf(&b, "Misses the 1-hour standard by %s; meets the 2-hour standard; no option meets both.", hm(o.PickupMinutes-60))
	case o.Meets1h && !o.FacilityLevel.AtLeast(Level2):
		b.WriteString("Meets the 1-hour standard; misses the 2-hour standard: no Level 2 facility can be reached within 2 hours, so the casualty goes to the earliest care.")
	case o.Meets1h:
		fmt.Fprintf(&b, "Meets the 1-hour standard; misses the 2-hour standard by %s (no option meets it).", hm(o.ArriveMinutes-120))
	default:
		b.WriteString("No option meets the 1-hour or the 2-hour standard; this is the earliest care available.")
	}
	if len(notes) > 0 {
		b.WriteString(" Not counted: " + strings.Join(notes, "; ") + ".")
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// hm writes minutes as "1 h 05 min" or "45 min".
func hm(m float64) string {
	n := int(math.Round(math.Round(m*1e6) / 1e6)) // 12.4999999 from float sums is 12.5
	if n < 60 {
		return fmt.Sprintf("%d min", n)
	}
	return fmt.Sprintf("%d h %02d min", n/60, n%60)
}
