package cot

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TypeCasevac is a TAK client's CASEVAC / MEDEVAC request (the 9-line).
const TypeCasevac = "b-r-f-h-c"

// CasevacIngest is the part of the pipeline that files CASEVAC requests. The
// server's Ingest provides it when it is the real pipeline; an Ingest without
// it relays CASEVAC events without filing them.
type CasevacIngest interface {
	RequestCasevac(ctx context.Context, by bluehelm.Principal, c *bluehelm.Casevac) (*bluehelm.Casevac, error)
}

// casevacRequest files the request a b-r-f-h-c event carries, once per event
// uid (ATAK resends the same uid when the request is edited; the first one
// stands and changes are made on the board).
func (s *Server) casevacRequest(ctx context.Context, c *conn, ev *Event) {
	ci, ok := s.cfg.Ingest.(CasevacIngest)
	if !ok {
		return
	}
	req := CasevacFromEvent(ev, s.now())
	req.Marking = c.marking
	got, err := ci.RequestCasevac(ctx, c.principal, req)
	if err != nil {
		c.reject("casevac_"+ingestReason(err), err)
		return
	}
	s.log.Info("TAK CASEVAC request filed", "who", c.who, "uid", ev.UID, "casevac", got.ID)
}

// CasevacFromEvent maps a b-r-f-h-c event to a request. The <_medevac_> detail
// ATAK's MEDLINE tool sends carries these attributes; those mapped are:
//
//	line 1  the event's point (lat, lon)
//	line 2  freq; the call sign is the event's contact callsign, else title
//	line 3  urgent, urgent_surgical, priority, routine, convenience
//	line 4  equipment_none, hoist, extraction_equipment, ventilator
//	        (equipment_other and equipment_detail go to the note)
//	line 5  litter, ambulatory
//	line 6  security: 0 no enemy, 1 possible enemy, 2 enemy, 3 armed escort
//	line 7  hlz_marking: 0 panels, 1 pyrotechnic, 2 smoke, 3 none, 4 other
//	        (marked_by, hlz_other to the note)
//	line 8  us_military → UN military, us_civilian → UN civilian,
//	        nonus_military → host-nation forces, nonus_civilian and child →
//	        civilian, epw → detainee (ATAK's labels are US-centric; a
//	        mission's own forces are the "us" columns)
//	line 9  terrain_none, terrain_slope (+ terrain_slope_dir), terrain_rough,
//	        terrain_loose, terrain_other (+ terrain_other_detail), obstacles
//	remarks medline_remarks, hlz_remarks, casevac (true: a casualty
//	        evacuation by a non-medical vehicle)
//
// ATAK sends no time of wounding: the event's time stands for it and the note
// says so. Not mapped: winds_are_from, friendlies, enemy, zone_prot_selection,
// nbc_contaminated and the zMist (injury) children.
func CasevacFromEvent(ev *Event, now time.Time) *bluehelm.Casevac {
	med, _ := ev.Detail.Find("_medevac_")
	num := func(name string) int {
		n, err := strconv.Atoi(strings.TrimSpace(med.Attr(name)))
		if err != nil {
			return 0
		}
		return n
	}
	yes := func(name string) bool { return strings.EqualFold(strings.TrimSpace(med.Attr(name)), "true") }
	c := &bluehelm.Casevac{Source: "cot", CoTUID: ev.UID}
	c.Location = bluehelm.Point{Lon: ev.Point.Lon, Lat: ev.Point.Lat}
	c.Frequency = strings.TrimSpace(med.Attr("freq"))
	c.CallSign = strings.TrimSpace(ev.Callsign())
	if c.CallSign == "" {
		c.CallSign = strings.TrimSpace(med.Attr("title"))
	}
	c.Patients = bluehelm.PatientCounts{Urgent: num("urgent"), UrgentSurgical: num("urgent_surgical"),
		Priority: num("priority"), Routine: num("routine"), Convenience: num("convenience")}
	switch {
	case yes("equipment_none"):
		c.Equipment = []string{"none"}
	default:
		for _, e := range []struct{ attr, code string }{{"hoist", "hoist"}, {"extraction_equipment", "extraction"}, {"ventilator", "ventilator"}} {
			if yes(e.attr) {
				c.Equipment = append(c.Equipment, e.code)
			}
		}
	}
	c.Litter, c.Ambulatory = num("litter"), num("ambulatory")
	if s := strings.TrimSpace(med.Attr("security")); s != "" {
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(bluehelm.PickupSecurity) {
			c.Security = bluehelm.PickupSecurity[i]
		}
	}
	if s := strings.TrimSpace(med.Attr("hlz_marking")); s != "" {
		if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(bluehelm.PickupMarkings) {
			c.PickupMarking = bluehelm.PickupMarkings[i]
		}
	}
	for _, k := range []struct {
		attrs []string
		cat   bluehelm.PatientCategory
	}{
		{[]string{"us_military"}, bluehelm.PatUNMilitary}, {[]string{"us_civilian"}, bluehelm.PatUNCivilian},
		{[]string{"nonus_military"}, bluehelm.PatHostForces}, {[]string{"nonus_civilian", "child"}, bluehelm.PatCivilian},
		{[]string{"epw"}, bluehelm.PatDetainee},
	} {
		for _, a := range k.attrs {
			if num(a) > 0 {
				c.Categories = append(c.Categories, k.cat)
				break
			}
		}
	}
	var terrain []string
	if yes("terrain_slope") {
		terrain = append(terrain, strings.TrimSpace("slope "+med.Attr("terrain_slope_dir")))
	}
	if yes("terrain_rough") {
		terrain = append(terrain, "rough")
	}
	if yes("terrain_loose") {
		terrain = append(terrain, "loose")
	}
	if yes("terrain_other") {
		terrain = append(terrain, strings.TrimSpace("other "+med.Attr("terrain_other_detail")))
	}
	if o := strings.TrimSpace(med.Attr("obstacles")); o != "" && !strings.EqualFold(o, "none") {
		terrain = append(terrain, "obstacles: "+o)
	}
	c.Terrain = clip(strings.Join(terrain, "; "), 500)
	var note []string
	if yes("casevac") {
		note = append(note, "CASEVAC (non-medical vehicle)")
	}
	for _, a := range []string{"equipment_detail", "marked_by", "hlz_other", "hlz_remarks", "medline_remarks"} {
		if v := strings.TrimSpace(med.Attr(a)); v != "" {
			note = append(note, strings.ReplaceAll(a, "_", " ")+": "+v)
		}
	}
	at := ev.Time
	if at.IsZero() || at.After(now) {
		at = now
	}
	c.WoundedAt = at.UTC()
	note = append(note, "time of wounding taken from the TAK report time")
	c.Note = clip(strings.Join(note, ". "), 2000)
	return c
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
