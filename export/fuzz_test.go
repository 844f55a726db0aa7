package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// FuzzWrite feeds arbitrary text and coordinates through every format and checks
// that the output still parses, that no CSV text cell can start a formula, and
// that no incident text can put markup into a KML description.
func FuzzWrite(f *testing.F) {
	f.Add("=cmd|' /C calc'!A0", "<img src=x onerror=alert(1)>", "-Place", 30.5, -4.25)
	f.Add("Title\x00\x1b", "]]><![CDATA[ & </description>", "@", -180.0, 90.0)
	f.Add("\xff\xfe", "line\r\nline\rline\n", "\t", 0.0, 0.0)
	f.Fuzz(func(t *testing.T, title, narrative, place string, lon, lat float64) {
		inc := &bluehelm.Incident{
			ID: 7, ExternalID: "x:1", Title: title, Narrative: narrative, PlaceName: place, Admin1: place,
			Category: bluehelm.CatOther, Status: bluehelm.StatusDraft, OccurredStart: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			Location: bluehelm.Point{Lon: lon, Lat: lat},
			Actors:   []bluehelm.Actor{{Name: title, Side: "a"}, {Name: place, Side: "b"}},
			Sources:  []bluehelm.Source{{Name: place}},
			Marking:  bluehelm.Marking{Component: bluehelm.Civilian},
		}
		for _, format := range []Format{GeoJSON, CSV, KML} {
			var b bytes.Buffer
			err := Write(&b, format, from([]*bluehelm.Incident{inc}))
			if inc.Location.Validate() != nil {
				if err == nil {
					t.Fatalf("%s: invalid location %+v was exported", format, inc.Location)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			switch format {
			case GeoJSON:
				var fc featureCollection
				if err := json.Unmarshal(b.Bytes(), &fc); err != nil || len(fc.Features) != 1 {
					t.Fatalf("GeoJSON does not parse: %v\n%q", err, b.String())
				}
			case CSV:
				recs, err := csv.NewReader(&b).ReadAll()
				if err != nil || len(recs) != 2 || len(recs[1]) != len(Columns()) {
					t.Fatalf("CSV does not parse into header + 1 row: %v", err)
				}
				for i, cell := range recs[1] {
					name := recs[0][i]
					if name == "lon" || name == "lat" {
						continue // numbers may be negative
					}
					if cell != "" && strings.ContainsRune("=+-@\t", rune(cell[0])) {
						t.Fatalf("CSV cell %s = %q starts a formula", name, cell)
					}
				}
			case KML:
				var doc kmlDoc
				if err := xml.Unmarshal(b.Bytes(), &doc); err != nil || len(doc.Document.Placemarks) != 1 {
					t.Fatalf("KML does not parse: %v\n%q", err, b.String())
				}
				d := doc.Document.Placemarks[0].Description
				for _, tag := range []string{"<b>", "</b>", "<br>"} {
					d = strings.ReplaceAll(d, tag, "")
				}
				if strings.ContainsAny(d, "<>") {
					t.Fatalf("incident text put markup into the KML description: %q", d)
				}
			}
		}
	})
}
