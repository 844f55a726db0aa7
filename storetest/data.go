package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// Test data: deterministic (seeded) incidents spread over a South Sudan-sized
// box, with repeated times (to exercise the id tie-break) and a small vocabulary
// (so text queries hit known subsets).

var (
	t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	vocabulary = []string{"ambush", "convoy", "cattle", "market", "checkpoint", "patrol", "river", "airstrip", "clinic", "school"}
	places     = []string{"Bentiu", "Malakal", "Bor", "Yei", "Torit", "Wau", "Rumbek", "Aweil"}
	actorNames = []string{"SSPDF", "SPLA-IO", "NAS", "White Army", "Mundari youth"}
	categories = []bluehelm.Category{bluehelm.CatArmedClash, bluehelm.CatAttackOnUN, bluehelm.CatRobbery, bluehelm.CatProtest}
)

// newIncident returns a valid incident with the given marking.
func newIncident(title string, at time.Time, loc bluehelm.Point, m bluehelm.Marking) *bluehelm.Incident {
	return &bluehelm.Incident{
		Title:         title,
		Category:      bluehelm.CatArmedClash,
		Status:        bluehelm.StatusDraft,
		OccurredStart: at,
		TimePrecision: bluehelm.TimeExact,
		ReportedAt:    at.Add(time.Hour),
		UpdatedAt:     at.Add(time.Hour),
		Location:      loc,
		GeoPrecision:  bluehelm.GeoExact,
		Country:       "South Sudan",
		Admin1:        "Unity",
		PlaceName:     "Bentiu",
		Actors:        []bluehelm.Actor{{Name: "SSPDF", Type: "state_forces", Side: "a"}},
		Casualties:    []bluehelm.Casualty{{Group: "civilians", Kind: "killed", Low: 1, Best: 2, High: 3}},
		Sources:       []bluehelm.Source{{Name: "UNPOL patrol", Reliability: "B", Credibility: 2}},
		Narrative:     "Shots heard near the market.",
		Marking:       m,
		ReportedBy:    "reporter1",
	}
}

var unclassified = bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}

// dataset returns n incidents with varied fields. Every fifth incident shares
// its predecessor's occurred_start.
func dataset(n int, seed uint64) []*bluehelm.Incident {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]*bluehelm.Incident, 0, n)
	at := t0
	for i := range n {
		if i%5 != 0 {
			at = t0.Add(time.Duration(rng.IntN(2*365*24*60)) * time.Minute)
		}
		loc := bluehelm.Point{Lon: 24 + rng.Float64()*12, Lat: 3.5 + rng.Float64()*9}
		inc := newIncident(fmt.Sprintf("Incident %d %s", i, vocabulary[rng.IntN(len(vocabulary))]), at, loc, unclassified)
		inc.Narrative = fmt.Sprintf("Report %d: %s near the %s.", i, vocabulary[rng.IntN(len(vocabulary))], vocabulary[rng.IntN(len(vocabulary))])
		inc.PlaceName = places[rng.IntN(len(places))]
		inc.Actors = []bluehelm.Actor{{Name: actorNames[rng.IntN(len(actorNames))], Type: "unknown"}}
		inc.Category = categories[rng.IntN(len(categories))]
		inc.Status = bluehelm.Statuses[rng.IntN(len(bluehelm.Statuses))]
		out = append(out, inc)
	}
	return out
}

// allMarkings returns every classification × component × releasability subset.
func allMarkings() []bluehelm.Marking {
	var out []bluehelm.Marking
	for c := bluehelm.Unclassified; c <= bluehelm.StrictlyConfidential; c++ {
		for _, comp := range bluehelm.Components {
			for mask := range 1 << len(bluehelm.Components) {
				var rel []bluehelm.Component
				for i, r := range bluehelm.Components {
					if mask&(1<<i) != 0 {
						rel = append(rel, r)
					}
				}
				out = append(out, bluehelm.Marking{Classification: c, Component: comp, Releasability: rel})
			}
		}
	}
	return out
}

// viewers returns readers of every component and clearance, the system, a
// zero principal and readers without a component.
func viewers() []bluehelm.Principal {
	out := []bluehelm.Principal{sys, {}}
	for c := bluehelm.Unclassified; c <= bluehelm.StrictlyConfidential; c++ {
		for _, comp := range bluehelm.Components {
			out = append(out, bluehelm.Principal{Username: fmt.Sprintf("%s-%d", comp, c), Role: bluehelm.RoleViewer, Component: comp, Clearance: c})
		}
		out = append(out, bluehelm.Principal{Username: fmt.Sprintf("nocomponent-%d", c), Role: bluehelm.RoleAnalyst, Clearance: c})
	}
	return out
}

func viewerName(p bluehelm.Principal) string {
	switch {
	case p.System:
		return "system"
	case p.Username == "":
		return "zero"
	}
	return p.Username
}

// words splits text as a unicode61-style tokenizer does: lower-cased runs of
// letters and digits.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// matches is the oracle for IncidentFilter: what a correct store returns.
func matches(inc *bluehelm.Incident, f bluehelm.IncidentFilter) bool {
	if !f.Viewer.CanSee(inc.Marking) {
		return false
	}
	if f.BBox != nil && !f.BBox.Contains(inc.Location) {
		return false
	}
	if f.Within != nil && !f.Within.Contains(inc.Location) {
		return false
	}
	if !f.From.IsZero() && inc.OccurredStart.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !inc.OccurredStart.Before(f.To) {
		return false
	}
	if len(f.Categories) > 0 && !slices.Contains(f.Categories, inc.Category) {
		return false
	}
	if len(f.Statuses) > 0 && !slices.Contains(f.Statuses, inc.Status) {
		return false
	}
	if f.Text != "" {
		var doc []string
		doc = append(doc, words(inc.Title)...)
		doc = append(doc, words(inc.Narrative)...)
		for _, s := range []string{inc.PlaceName, inc.Admin1, inc.Admin2, inc.Admin3, inc.Country} {
			doc = append(doc, words(s)...)
		}
		for _, a := range inc.Actors {
			doc = append(doc, words(a.Name)...)
		}
		for _, w := range words(f.Text) {
			if !slices.Contains(doc, w) {
				return false
			}
		}
	}
	return true
}

// expected returns the ids of incs matching f in page order.
func expected(incs []*bluehelm.Incident, f bluehelm.IncidentFilter) []int64 {
	var hits []*bluehelm.Incident
	for _, inc := range incs {
		if matches(inc, f) {
			hits = append(hits, inc)
		}
	}
	slices.SortFunc(hits, func(a, b *bluehelm.Incident) int {
		if c := b.OccurredStart.Compare(a.OccurredStart); c != 0 {
			return c
		}
		return cmpInt(b.ID, a.ID)
	})
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// square returns a closed polygon ring around (lon, lat).
func square(lon, lat, d float64) bluehelm.Geometry {
	return bluehelm.Geometry{Geometry: orb.Polygon{{{lon - d, lat - d}, {lon + d, lat - d}, {lon + d, lat + d}, {lon - d, lat + d}, {lon - d, lat - d}}}}
}
