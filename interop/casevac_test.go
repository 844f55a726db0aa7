package interop

import (
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/cot"
)

// TestCasevacFromNodeCoT: a CASEVAC event built with node-cot, in XML and in
// TAK protocol v1, maps to the same valid 9-line request.
func TestCasevacFromNodeCoT(t *testing.T) {
	node := needNode(t)
	out := runScript(t, node, "casevac.js", nil, nil)
	var s struct{ Step, XML, Proto string }
	for _, line := range out.lines {
		if err := remarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		if s.Step == "sample" {
			break
		}
	}
	xev, err := cot.DecodeXML([]byte(s.XML))
	if err != nil {
		t.Fatalf("DecodeXML: %v\n%s", err, s.XML)
	}
	raw, err := base64.StdEncoding.DecodeString(s.Proto)
	if err != nil {
		t.Fatal(err)
	}
	pev, _, err := cot.DecodeProto(raw)
	if err != nil {
		t.Fatalf("DecodeProto: %v", err)
	}
	now := time.Now().UTC().Add(time.Minute)
	for name, ev := range map[string]*cot.Event{"xml": xev, "proto": pev} {
		t.Run(name, func(t *testing.T) {
			if ev.Type != cot.TypeCasevac {
				t.Fatalf("type %q", ev.Type)
			}
			c := cot.CasevacFromEvent(ev, now)
			c.Marking = bluehelm.Marking{Component: bluehelm.Military}
			if err := c.Validate(now, nil); err != nil {
				t.Fatalf("request does not validate: %v (%+v)", err, c)
			}
			if c.CoTUID != "node-casevac-1" || c.CallSign != "MED.NODE.1" || c.Frequency != "38.90" ||
				c.Patients != (bluehelm.PatientCounts{Urgent: 2, Priority: 1}) || c.Litter != 2 || c.Ambulatory != 1 ||
				!slices.Equal(c.Equipment, []string{"extraction"}) || c.Security != "no_enemy" || c.PickupMarking != "panels" ||
				!slices.Equal(c.Categories, []bluehelm.PatientCategory{bluehelm.PatUNMilitary, bluehelm.PatDetainee}) ||
				c.Location != (bluehelm.Point{Lon: 31.56, Lat: 4.52}) {
				t.Errorf("mapped %+v", c)
			}
		})
	}
}
