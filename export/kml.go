package export

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

const kmlNamespace = "http://www.opengis.net/kml/2.2"

// The KML elements we write, in the order the KML 2.2 schema requires within a
// Placemark: name, description, time primitive, ExtendedData, geometry.
type kmlPlacemark struct {
	XMLName      xml.Name      `xml:"Placemark"`
	ID           string        `xml:"id,attr,omitempty"`
	Name         string        `xml:"name"`
	Description  string        `xml:"description"`
	TimeStamp    *kmlTimeStamp `xml:"TimeStamp,omitempty"`
	TimeSpan     *kmlTimeSpan  `xml:"TimeSpan,omitempty"`
	ExtendedData []kmlData     `xml:"ExtendedData>Data"`
	Point        kmlPoint      `xml:"Point"`
}

type kmlTimeStamp struct {
	When string `xml:"when"`
}

type kmlTimeSpan struct {
	Begin string `xml:"begin"`
	End   string `xml:"end"`
}

type kmlData struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value"`
}

type kmlPoint struct {
	Coordinates string `xml:"coordinates"` // "lon,lat"
}

type kmlEncoder struct {
	w                  io.Writer
	enc                *xml.Encoder
	kmlStart, docStart xml.StartElement
}

func newKMLEncoder(w io.Writer) *kmlEncoder {
	return &kmlEncoder{
		w: w,
		// xml.NewEncoder reuses a *bufio.Writer it is given and Encode flushes it
		// after every element; hiding the type gives the encoder its own buffer, so
		// the caller's buffer still batches writes to the network or disk.
		enc:      xml.NewEncoder(struct{ io.Writer }{w}),
		kmlStart: xml.StartElement{Name: xml.Name{Local: "kml"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: kmlNamespace}}},
		docStart: xml.StartElement{Name: xml.Name{Local: "Document"}},
	}
}

func (e *kmlEncoder) begin() error {
	if _, err := io.WriteString(e.w, xml.Header); err != nil {
		return err
	}
	if err := e.enc.EncodeToken(e.kmlStart); err != nil {
		return err
	}
	if err := e.enc.EncodeToken(e.docStart); err != nil {
		return err
	}
	return e.enc.EncodeElement("bluehelm incidents", xml.StartElement{Name: xml.Name{Local: "name"}})
}

func kmlTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (e *kmlEncoder) write(inc *bluehelm.Incident) error {
	p := kmlPlacemark{
		Name:        inc.Title,
		Description: description(inc),
		Point:       kmlPoint{Coordinates: formatFloat(inc.Location.Lon) + "," + formatFloat(inc.Location.Lat)},
	}
	if inc.ID != 0 {
		p.ID = "incident-" + strconv.FormatInt(inc.ID, 10) // an XML ID: no ':' as in external ids
	}
	if inc.OccurredEnd != nil && !inc.OccurredEnd.Equal(inc.OccurredStart) {
		p.TimeSpan = &kmlTimeSpan{Begin: kmlTime(inc.OccurredStart), End: kmlTime(*inc.OccurredEnd)}
	} else {
		p.TimeStamp = &kmlTimeStamp{When: kmlTime(inc.OccurredStart)}
	}
	lo, best, hi := totals(inc.Casualties, "killed")
	for _, d := range []kmlData{
		{"id", strconv.FormatInt(inc.ID, 10)}, {"external_id", inc.ExternalID},
		{"category", string(inc.Category)}, {"subcategory", inc.Subcategory}, {"status", string(inc.Status)},
		{"classification", inc.Classification.String()}, {"component", string(inc.Component)},
		{"time_precision", string(inc.TimePrecision)}, {"geo_precision", string(inc.GeoPrecision)},
		{"killed_low", strconv.Itoa(lo)}, {"killed_best", strconv.Itoa(best)}, {"killed_high", strconv.Itoa(hi)},
	} {
		if d.Value != "" {
			p.ExtendedData = append(p.ExtendedData, d)
		}
	}
	return e.enc.Encode(p)
}

func (e *kmlEncoder) end() error {
	if err := e.enc.EncodeToken(e.docStart.End()); err != nil {
		return err
	}
	if err := e.enc.EncodeToken(e.kmlStart.End()); err != nil {
		return err
	}
	if err := e.enc.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(e.w, "\n")
	return err
}

// description is the Placemark's balloon text: an HTML fragment in which every
// piece of incident text is HTML-escaped (the XML encoder then escapes the whole
// fragment once more), so that "<script>" in a narrative is shown, not run.
func description(inc *bluehelm.Incident) string {
	var b strings.Builder
	line := func(label, value string) {
		if value == "" {
			return
		}
		if label != "" {
			b.WriteString("<b>" + html.EscapeString(label) + ":</b> ")
		}
		b.WriteString(strings.ReplaceAll(html.EscapeString(value), "\n", "<br>\n"))
		b.WriteString("<br>\n")
	}
	line("Classification", inc.Classification.String())
	cat := string(inc.Category)
	if inc.Subcategory != "" {
		cat += " / " + inc.Subcategory
	}
	line("Category", cat)
	line("Status", string(inc.Status))
	when := kmlTime(inc.OccurredStart)
	if inc.OccurredEnd != nil {
		when += " – " + kmlTime(*inc.OccurredEnd)
	}
	if inc.TimePrecision != "" {
		when += " (" + string(inc.TimePrecision) + ")"
	}
	line("When", when)
	var where []string
	for _, s := range []string{inc.PlaceName, inc.Admin3, inc.Admin2, inc.Admin1, inc.Country} {
		if s != "" {
			where = append(where, s)
		}
	}
	w := strings.Join(where, ", ")
	if inc.GeoPrecision != "" {
		w += " (" + string(inc.GeoPrecision) + ")"
	}
	line("Where", w)
	var actors []string
	for _, a := range inc.Actors {
		s := a.Name
		if a.Type != "" {
			s += " (" + a.Type + ")"
		}
		actors = append(actors, s)
	}
	line("Actors", strings.Join(actors, "; "))
	if lo, best, hi := totals(inc.Casualties, "killed"); best > 0 || hi > 0 {
		line("Killed", fmt.Sprintf("%d (%d–%d)", best, lo, hi))
	}
	line("Sources", sourceList(inc.Sources))
	line("", inc.Narrative)
	return b.String()
}
