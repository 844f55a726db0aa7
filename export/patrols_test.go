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
	"github.com/paulmach/orb"
)

func samplePatrols() []*bluehelm.Patrol {
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	return []*bluehelm.Patrol{
		{ID: 7, Version: 3, Name: "=BANBATT LRP 14", Type: bluehelm.PatrolLongRange, Status: bluehelm.PatrolApproved,
			Units: []string{"BANBATT-2/B", "FPU-1"}, Strength: 24, Women: 5,
			Route:        bluehelm.Geometry{Geometry: orb.LineString{{27.995, 7.703}, {27.989, 8.31}}},
			PlannedStart: start, PlannedEnd: start.Add(30 * time.Hour), CheckInMinutes: 30, Purpose: "Area domination <Kuajok>",
			PlannedBy: "lt.rahman", ApprovedBy: "maj.okafor", ApprovedAt: start.Add(-time.Hour),
			Risk: &bluehelm.RiskReport{LengthKm: 67.5, Score: 61, Level: bluehelm.RiskHigh,
				Medical: bluehelm.MedicalReach{Within1h: true, Within2h: false, RoadEstimated: true}},
			Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}}},
		{ID: 8, Version: 1, Name: "Town patrol", Type: bluehelm.PatrolFoot, Status: bluehelm.PatrolDraft, Units: []string{"FPU-1"}, Strength: 8,
			Route:        bluehelm.Geometry{Geometry: orb.LineString{{0, 0}, {0, 0.01}}},
			PlannedStart: start, PlannedEnd: start.Add(2 * time.Hour), CheckInMinutes: 15, PlannedBy: "sgt.diallo",
			Marking: bluehelm.Marking{Component: bluehelm.Police}},
	}
}

func TestWritePatrolsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WritePatrols(&b, CSV, samplePatrols()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want header + 2", len(rows))
	}
	cols := PatrolColumns()
	get := func(row int, col string) string {
		for i, c := range cols {
			if c == col {
				return rows[row][i]
			}
		}
		t.Fatalf("no column %s", col)
		return ""
	}
	for _, c := range []struct {
		row       int
		col, want string
	}{
		{1, "name", "'=BANBATT LRP 14"}, // formula defused
		{1, "units", "BANBATT-2/B;FPU-1"},
		{1, "women", "5"},
		{1, "planned_end", "2026-11-24T12:00:00Z"},
		{1, "risk_level", "high"},
		{1, "level2_within_2h", "false"},
		{1, "medical_estimate", "true"},
		{1, "route_km", "67.5"},
		{1, "classification", "CONFIDENTIAL"},
		{1, "releasable_to", "police"},
		{2, "deviation_meters", "1000"}, // the default is exported, not 0
		{2, "risk_level", ""},
		{2, "route_km", "1.1"}, // measured from the route when no risk report
	} {
		if got := get(c.row, c.col); got != c.want {
			t.Errorf("row %d %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
}

func TestWritePatrolsGeoJSONAndKML(t *testing.T) {
	var g bytes.Buffer
	if err := WritePatrols(&g, GeoJSON, samplePatrols()); err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			ID       int64 `json:"id"`
			Geometry struct {
				Type        string      `json:"type"`
				Coordinates [][]float64 `json:"coordinates"`
			} `json:"geometry"`
			Properties map[string]string `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(g.Bytes(), &fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) != 2 || fc.Features[0].ID != 7 || fc.Features[0].Geometry.Type != "LineString" ||
		len(fc.Features[0].Geometry.Coordinates) != 2 || fc.Features[0].Properties["name"] != "=BANBATT LRP 14" {
		t.Fatalf("geojson %s", g.String())
	}

	var k bytes.Buffer
	if err := WritePatrols(&k, KML, samplePatrols()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Placemarks []struct {
			ID          string `xml:"id,attr"`
			Name        string `xml:"name"`
			Description string `xml:"description"`
			Begin       string `xml:"TimeSpan>begin"`
			Coordinates string `xml:"LineString>coordinates"`
		} `xml:"Document>Placemark"`
	}
	if err := xml.Unmarshal(k.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Placemarks) != 2 || doc.Placemarks[0].ID != "patrol-7" || doc.Placemarks[0].Begin != "2026-11-23T06:00:00Z" ||
		doc.Placemarks[0].Coordinates != "27.995,7.703 27.989,8.31" || doc.Placemarks[0].Description != "Area domination <Kuajok>" {
		t.Fatalf("kml %+v", doc.Placemarks)
	}
	if !strings.Contains(k.String(), "&lt;Kuajok&gt;") {
		t.Error("purpose not escaped in the KML")
	}
	if err := WritePatrols(&k, "shp", nil); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("unknown format: %v", err)
	}
}

func TestWriteFigures(t *testing.T) {
	c7 := 0.25
	f := &bluehelm.PatrolFigures{Planned: 3, Completed: 2, WithWomen: 1, WomenShare: 0.1, TasksArrived: 2, MedianResponseSeconds: 900,
		Coverage7d: &c7, ByUnitWeek: []bluehelm.UnitWeek{{Unit: "=A", Week: "2026-W48", Planned: 3, Completed: 2, WithWomen: 1}}}
	var b bytes.Buffer
	if err := WriteFigures(&b, f); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		FigureColumns(),
		{"2026-W48", "'=A", "3", "2", "0", "1", "", "", "", "", "", ""},
		{"all", "all", "3", "2", "0", "1", "0.1000", "2", "900", "0", "0.2500", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
}
