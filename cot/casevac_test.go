package cot

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// atakCasevac is a CASEVAC event shaped like those ATAK's MEDLINE tool sends
// (attribute names as ATAK writes them; values made up for the test).
func atakCasevac(uid string, at time.Time, litter int) string {
	ts := at.UTC().Format("2006-01-02T15:04:05.000Z")
	stale := at.Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+
		`<event version="2.0" uid="%s" type="b-r-f-h-c" time="%s" start="%s" stale="%s" how="h-g-i-g-o">`+
		`<point lat="4.5" lon="31.5" hae="450" ce="9999999.0" le="9999999.0"/>`+
		`<detail><contact callsign="MED.27.1012"/><link uid="ANDROID-1" type="a-f-G-U-C" parent_callsign="ALPHA" relation="p-p"/>`+
		`<_medevac_ title="MED.27.1012" casevac="false" freq="45.300" urgent="1" urgent_surgical="1" priority="0" routine="1" convenience="0"`+
		` equipment_none="false" hoist="true" extraction_equipment="false" ventilator="true" equipment_other="false"`+
		` litter="%d" ambulatory="1" security="1" hlz_marking="2" marked_by="green smoke"`+
		` us_military="2" us_civilian="0" nonus_military="0" nonus_civilian="1" epw="0" child="0"`+
		` terrain_none="false" terrain_slope="true" terrain_slope_dir="N" terrain_rough="false" terrain_loose="true" terrain_other="false"`+
		` obstacles="wires &amp; trees" winds_are_from="W" friendlies="one section" enemy="none seen" zone_prot_selection="0"`+
		` medline_remarks="&lt;b&gt;approach from the south&lt;/b&gt;">`+
		`<zMistsMap><zMist z="1" m="IED" i="leg" s="bleeding" t="tourniquet" title="ZMIST1"/></zMistsMap></_medevac_>`+
		`</detail></event>`, uid, ts, ts, stale, litter)
}

func TestCasevacFromEvent(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ev, err := DecodeXML([]byte(atakCasevac("casevac-1", now.Add(-2*time.Minute), 2)))
	if err != nil {
		t.Fatal(err)
	}
	c := CasevacFromEvent(ev, now)
	want := bluehelm.Casevac{Source: "cot", CoTUID: "casevac-1", WoundedAt: now.Add(-2 * time.Minute),
		NineLine: bluehelm.NineLine{Location: bluehelm.Point{Lon: 31.5, Lat: 4.5}, Frequency: "45.300", CallSign: "MED.27.1012",
			Patients: bluehelm.PatientCounts{Urgent: 1, UrgentSurgical: 1, Routine: 1}, Equipment: []string{"hoist", "ventilator"},
			Litter: 2, Ambulatory: 1, Security: "possible_enemy", PickupMarking: "smoke",
			Categories: []bluehelm.PatientCategory{bluehelm.PatUNMilitary, bluehelm.PatCivilian},
			Terrain:    "slope N; loose; obstacles: wires & trees"}}
	if !reflectEqualCasevac(c, &want) {
		t.Fatalf("got  %+v\nwant %+v", *c, want)
	}
	if c.Note != "marked by: green smoke. medline remarks: <b>approach from the south</b>. time of wounding taken from the TAK report time" {
		t.Errorf("note %q", c.Note)
	}
	c.Marking = bluehelm.Marking{Component: bluehelm.Military}
	if err := c.Validate(now, nil); err != nil {
		t.Errorf("mapped request does not validate: %v", err)
	}
	// A device clock ahead of ours: the wounding is not in the future.
	ev.Time = now.Add(time.Hour)
	if c := CasevacFromEvent(ev, now); !c.WoundedAt.Equal(now) {
		t.Errorf("wounded at %v", c.WoundedAt)
	}
}

func reflectEqualCasevac(a, b *bluehelm.Casevac) bool {
	return a.Source == b.Source && a.CoTUID == b.CoTUID && a.WoundedAt.Equal(b.WoundedAt) && a.Location == b.Location &&
		a.Frequency == b.Frequency && a.CallSign == b.CallSign && a.Patients == b.Patients && slices.Equal(a.Equipment, b.Equipment) &&
		a.Litter == b.Litter && a.Ambulatory == b.Ambulatory && a.Security == b.Security && a.PickupMarking == b.PickupMarking &&
		slices.Equal(a.Categories, b.Categories) && a.Terrain == b.Terrain
}

// TestCasevacFromTAKClient: a TAK client on loopback sends a CASEVAC event; it
// is filed once through the pipeline (a resend of the uid files nothing more),
// relayed to the other devices, and a 9-line with impossible counts is refused.
func TestCasevacFromTAKClient(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.dialTCP(), ts.dialTCP()
	a.send(sa("A", "ALPHA", 4.5, 31.5))
	b.send(sa("B", "BRAVO", 4.5, 31.5))
	b.expect("a-f-G-U-C", "A")
	now := time.Now().UTC()
	a.write([]byte(atakCasevac("casevac-uid-1", now.Add(-time.Minute), 2)))
	b.expect(TypeCasevac, "casevac-uid-1")
	sys := bluehelm.SystemPrincipal("t")
	var got []*bluehelm.Casevac
	waitFor(t, "the request", func() bool {
		got, _ = ts.db.FindCasevacs(ts.ctx, bluehelm.CasevacFilter{Viewer: sys})
		return len(got) == 1
	})
	c := got[0]
	if c.Source != "cot" || c.CoTUID != "casevac-uid-1" || c.Patients.Total() != 3 || c.Status != bluehelm.CasevacRequested ||
		c.RequestedBy != "lab" || c.CallSign != "MED.27.1012" {
		t.Fatalf("request %+v", c)
	}
	a.write([]byte(atakCasevac("casevac-uid-1", now, 2)))
	b.expect(TypeCasevac, "casevac-uid-1")
	// Impossible counts: 3 by precedence, 5 + 1 by type.
	a.write([]byte(atakCasevac("casevac-uid-2", now, 5)))
	b.expect(TypeCasevac, "casevac-uid-2")
	a.send(sa("A", "ALPHA", 4.5, 31.5)) // the worker handles events in order: once this is relayed, both were acted on
	b.expect("a-f-G-U-C", "A")
	got, _ = ts.db.FindCasevacs(ts.ctx, bluehelm.CasevacFilter{Viewer: sys})
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
}
