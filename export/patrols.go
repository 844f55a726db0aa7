package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb/geo"
)

// PatrolColumns returns the CSV header of a patrol plan export, in its stable
// order: the weekly patrol plan as a sector or the JOC files it.
func PatrolColumns() []string {
	return []string{
		"id", "version", "name", "type", "status", "units", "track_uids", "strength", "women",
		"planned_start", "planned_end", "check_in_minutes", "deviation_meters", "purpose",
		"route_km", "risk_level", "risk_score", "level1_within_1h", "level2_within_2h", "medical_estimate",
		"planned_by", "approved_by", "approved_at", "started_at", "ended_at", "abort_reason",
		"classification", "component", "releasable_to",
	}
}

// WritePatrols writes patrol plans (the caller has filtered them by access) with
// their routes: CSV rows, GeoJSON LineString features, or KML LineString
// placemarks with a TimeSpan of the planned window.
func WritePatrols(w io.Writer, format Format, patrols []*bluehelm.Patrol) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case CSV:
		err = patrolsCSV(bw, patrols)
	case GeoJSON:
		err = patrolsGeoJSON(bw, patrols)
	case KML:
		err = patrolsKML(bw, patrols)
	default:
		return bluehelm.Invalid("format", "unknown export format %q (want geojson, csv or kml)", format)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func patrolRow(p *bluehelm.Patrol) []string {
	rel := make([]string, len(p.Releasability))
	for i, c := range p.Releasability {
		rel[i] = string(c)
	}
	var level, score, in1, in2, est string
	if p.Risk != nil {
		level, score = string(p.Risk.Level), formatFloat(p.Risk.Score)
		in1, in2 = strconv.FormatBool(p.Risk.Medical.Within1h), strconv.FormatBool(p.Risk.Medical.Within2h)
		est = strconv.FormatBool(p.Risk.Medical.RoadEstimated)
	}
	return []string{
		strconv.FormatInt(p.ID, 10), strconv.Itoa(p.Version), text(p.Name), string(p.Type), string(p.Status),
		text(strings.Join(p.Units, ";")), text(strings.Join(p.TrackUIDs, ";")), strconv.Itoa(p.Strength), strconv.Itoa(p.Women),
		csvTime(p.PlannedStart), csvTime(p.PlannedEnd), strconv.Itoa(p.CheckInMinutes), strconv.Itoa(int(p.Deviation())), text(p.Purpose),
		strconv.FormatFloat(routeKm(p), 'f', 1, 64), level, score, in1, in2, est,
		text(p.PlannedBy), text(p.ApprovedBy), csvTime(p.ApprovedAt), csvTime(p.StartedAt), csvTime(p.EndedAt), text(p.AbortReason),
		p.Classification.String(), string(p.Component), strings.Join(rel, ";"),
	}
}

func routeKm(p *bluehelm.Patrol) float64 {
	if p.Risk != nil {
		return p.Risk.LengthKm
	}
	return geo.LengthHaversine(p.RouteLine()) / 1000
}

func patrolsCSV(w io.Writer, patrols []*bluehelm.Patrol) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(PatrolColumns())
	for _, p := range patrols {
		cw.Write(patrolRow(p))
	}
	cw.Flush()
	return cw.Error()
}

func patrolsGeoJSON(w io.Writer, patrols []*bluehelm.Patrol) error {
	type feature struct {
		Type       string            `json:"type"`
		ID         int64             `json:"id"`
		Geometry   bluehelm.Geometry `json:"geometry"`
		Properties map[string]string `json:"properties"`
	}
	fc := struct {
		Type     string    `json:"type"`
		Features []feature `json:"features"`
	}{Type: "FeatureCollection", Features: make([]feature, 0, len(patrols))}
	cols := PatrolColumns()
	for _, p := range patrols {
		props := map[string]string{}
		for i, v := range patrolRow(p) {
			if v != "" && cols[i] != "id" {
				props[cols[i]] = strings.TrimPrefix(v, "'") // no spreadsheet here to defuse
			}
		}
		fc.Features = append(fc.Features, feature{Type: "Feature", ID: p.ID, Geometry: p.Route, Properties: props})
	}
	return json.NewEncoder(w).Encode(fc)
}

func patrolsKML(w io.Writer, patrols []*bluehelm.Patrol) error {
	type line struct {
		Coordinates string `xml:"coordinates"`
	}
	type placemark struct {
		XMLName      xml.Name     `xml:"Placemark"`
		ID           string       `xml:"id,attr,omitempty"`
		Name         string       `xml:"name"`
		Description  string       `xml:"description,omitempty"`
		TimeSpan     *kmlTimeSpan `xml:"TimeSpan,omitempty"`
		ExtendedData []kmlData    `xml:"ExtendedData>Data,omitempty"`
		LineString   line         `xml:"LineString"`
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(struct{ io.Writer }{w})
	kml := xml.StartElement{Name: xml.Name{Local: "kml"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: kmlNamespace}}}
	doc := xml.StartElement{Name: xml.Name{Local: "Document"}}
	if err := enc.EncodeToken(kml); err != nil {
		return err
	}
	if err := enc.EncodeToken(doc); err != nil {
		return err
	}
	if err := enc.EncodeElement("bluehelm patrol plan", xml.StartElement{Name: xml.Name{Local: "name"}}); err != nil {
		return err
	}
	cols := PatrolColumns()
	for _, p := range patrols {
		var coords strings.Builder
		for i, pt := range p.RouteLine() {
			if i > 0 {
				coords.WriteByte(' ')
			}
			coords.WriteString(formatFloat(pt[0]) + "," + formatFloat(pt[1]))
		}
		pm := placemark{ID: "patrol-" + strconv.FormatInt(p.ID, 10), Name: p.Name, Description: p.Purpose,
			TimeSpan:   &kmlTimeSpan{Begin: kmlTime(p.PlannedStart), End: kmlTime(p.PlannedEnd)},
			LineString: line{Coordinates: coords.String()}}
		for i, v := range patrolRow(p) {
			if v != "" && cols[i] != "name" && cols[i] != "purpose" {
				pm.ExtendedData = append(pm.ExtendedData, kmlData{Name: cols[i], Value: strings.TrimPrefix(v, "'")})
			}
		}
		if err := enc.Encode(pm); err != nil {
			return err
		}
	}
	if err := enc.EncodeToken(doc.End()); err != nil {
		return err
	}
	if err := enc.EncodeToken(kml.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// FigureColumns returns the CSV header of the commander's figures.
func FigureColumns() []string {
	return []string{"week", "unit", "planned", "completed", "aborted", "with_women",
		"women_share", "tasks_arrived", "median_response_seconds", "median_from_report_seconds", "coverage_7d", "coverage_30d"}
}

// WriteFigures writes the figures as CSV: one row per unit and ISO week, then a
// row "all","all" with the period's totals and the figures that only exist for the
// whole period (share of women, response times, coverage), which are empty on
// the unit rows.
func WriteFigures(w io.Writer, f *bluehelm.PatrolFigures) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(FigureColumns())
	for _, r := range f.ByUnitWeek {
		cw.Write([]string{r.Week, text(r.Unit), strconv.Itoa(r.Planned), strconv.Itoa(r.Completed), strconv.Itoa(r.Aborted), strconv.Itoa(r.WithWomen),
			"", "", "", "", "", ""})
	}
	share := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	women := f.WomenShare
	cw.Write([]string{"all", "all", strconv.Itoa(f.Planned), strconv.Itoa(f.Completed), strconv.Itoa(f.Aborted), strconv.Itoa(f.WithWomen),
		share(&women), strconv.Itoa(f.TasksArrived), strconv.Itoa(f.MedianResponseSeconds), strconv.Itoa(f.MedianFromReportSec),
		share(f.Coverage7d), share(f.Coverage30d)})
	cw.Flush()
	return cw.Error()
}
