package routefile

import (
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name, doc  string
		format     string
		routeName  string
		line       orb.LineString
		errField   string // non-empty: an EINVALID error on this field
		errContain string
	}{
		{name: "gpx route wins over track and waypoints", format: "gpx", routeName: "Night patrol",
			doc: `<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="1" lon="1"/><rte><name>Night patrol</name><rtept lat="-1.5" lon="29.2"/><rtept lat="-1.6" lon="29.3"/></rte>
<trk><trkseg><trkpt lat="5" lon="5"/><trkpt lat="6" lon="6"/></trkseg></trk></gpx>`,
			line: orb.LineString{{29.2, -1.5}, {29.3, -1.6}}},
		{name: "gpx track segments joined", format: "gpx", routeName: "recorded",
			doc: `<gpx><trk><name>recorded</name><trkseg><trkpt lat="0" lon="10"/><trkpt lat="0.1" lon="10.1"/></trkseg>
<trkseg><trkpt lat="0.2" lon="10.2"/></trkseg></trk></gpx>`,
			line: orb.LineString{{10, 0}, {10.1, 0.1}, {10.2, 0.2}}},
		{name: "gpx waypoints as last resort", format: "gpx",
			doc:  `<gpx><wpt lat="2" lon="3"/><wpt lat="4" lon="5"/></gpx>`,
			line: orb.LineString{{3, 2}, {5, 4}}},
		{name: "kml line string in a folder", format: "kml", routeName: "MSR Alpha",
			doc: `<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>doc</name><Folder>
<Placemark><name>CP1</name><Point><coordinates>9,9</coordinates></Point></Placemark>
<Placemark><name>MSR Alpha</name><LineString><coordinates>
  29.1,-1.1,1500 29.2,-1.2,1510
  29.3,-1.3
</coordinates></LineString></Placemark></Folder></Document></kml>`,
			line: orb.LineString{{29.1, -1.1}, {29.2, -1.2}, {29.3, -1.3}}},
		{name: "kml points in order", format: "kml", routeName: "doc",
			doc: `<kml><Document><name>doc</name><Placemark><Point><coordinates>1,2,0</coordinates></Point></Placemark>
<Placemark><Point><coordinates>3,4</coordinates></Point></Placemark></Document></kml>`,
			line: orb.LineString{{1, 2}, {3, 4}}},
		{name: "tak route", format: "cot", routeName: "Route 7",
			doc: `<event version="2.0" uid="r1" type="b-m-r" how="h-e" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-28T10:00:00Z">
<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/><detail>
<link uid="w1" type="b-m-p-w" point="-1.5,29.2,1500" callsign="SP" relation="c"/>
<link uid="c1" type="b-m-p-c" point="-1.55,29.25" callsign="CP1" relation="c"/>
<link uid="w2" type="b-m-p-w" point="-1.6,29.3" callsign="VDO" relation="c"/>
<link uid="ANDROID-1" type="a-f-G-U-C" relation="p-p"/>
<contact callsign="Route 7"/></detail></event>`,
			line: orb.LineString{{29.2, -1.5}, {29.25, -1.55}, {29.3, -1.6}}},

		{name: "one point", doc: `<gpx><rte><rtept lat="1" lon="1"/></rte></gpx>`, errField: "file", errContain: "at least two"},
		{name: "not xml", doc: `lat,lon\n1,2`, errField: "file", errContain: "not an XML document"},
		{name: "other xml", doc: `<html><body/></html>`, errField: "file", errContain: "not a route file"},
		{name: "broken gpx", doc: `<gpx><rte><rtept lat="1" lon="1"></rte></gpx>`, errField: "file", errContain: "not well-formed"},
		{name: "latitude out of range", doc: `<gpx><rte><rtept lat="91" lon="1"/><rtept lat="1" lon="1"/></rte></gpx>`, errField: "file.points[0].lat"},
		{name: "bad kml tuple", doc: `<kml><Placemark><LineString><coordinates>1;2 3,4</coordinates></LineString></Placemark></kml>`, errField: "file", errContain: "not lon,lat"},
		{name: "cot not a route", doc: `<event type="a-f-G-U-C"><detail/></event>`, errField: "file", errContain: "not a route"},
		{name: "cot bad point", doc: `<event type="b-m-r"><detail><link point="north"/><link point="1,2"/></detail></event>`, errField: "file.link[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt, err := Parse(strings.NewReader(c.doc))
			if c.errField != "" {
				var e *bluehelm.Error
				if err == nil {
					t.Fatalf("parsed %+v, want an error on %s", rt, c.errField)
				}
				if e, _ = err.(*bluehelm.Error); e == nil || e.Code != bluehelm.EINVALID || e.Field != c.errField || !strings.Contains(e.Message, c.errContain) {
					t.Fatalf("error %v, want invalid %s containing %q", err, c.errField, c.errContain)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rt.Format != c.format || rt.Name != c.routeName || !orb.Equal(rt.Line, c.line) {
				t.Fatalf("got %s %q %v, want %s %q %v", rt.Format, rt.Name, rt.Line, c.format, c.routeName, c.line)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	doc := "<gpx>" + strings.Repeat(" ", MaxSize) + "</gpx>"
	if _, err := Parse(strings.NewReader(doc)); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Fatalf("err %v, want invalid", err)
	}
}
