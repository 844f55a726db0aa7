// Package routefile reads a planned route from the files patrol planners already
// have: GPX (from a GPS or a planning tool), KML (Google Earth, QGIS, ATAK's
// exports) and a TAK route event (CoT type b-m-r, as ATAK and WinTAK save and send
// routes). Each gives an ordered list of points; the first route found is used.
package routefile

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// Route is what a file yields: its name when it has one, and its points in order.
type Route struct {
	Name   string
	Format string // gpx, kml or cot
	Line   orb.LineString
}

// MaxSize is the largest file Parse reads: a day's GPS track at one fix a second
// is about 86,400 points, some 10 MB of GPX.
const MaxSize = 16 << 20

// Parse reads a route from a GPX, KML or CoT document, detected from its root
// element. Errors are bluehelm.Invalid with field "file", in words a planner can act on.
func Parse(r io.Reader) (*Route, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, bluehelm.Invalid("file", "larger than %d MB", MaxSize>>20)
	}
	root, err := rootElement(b)
	if err != nil {
		return nil, err
	}
	var rt *Route
	switch root {
	case "gpx":
		rt, err = parseGPX(b)
	case "kml":
		rt, err = parseKML(b)
	case "event":
		rt, err = parseCoT(b)
	default:
		return nil, bluehelm.Invalid("file", "a <%s> document is not a route file (want GPX, KML or a TAK route event)", root)
	}
	if err != nil {
		return nil, err
	}
	if len(rt.Line) < 2 {
		return nil, bluehelm.Invalid("file", "the %s file has %d point(s): a route needs at least two", strings.ToUpper(rt.Format), len(rt.Line))
	}
	for i, p := range rt.Line {
		if err := (bluehelm.Point{Lon: p[0], Lat: p[1]}).Validate(); err != nil {
			return nil, bluehelm.PrefixField(fmt.Sprintf("file.points[%d]", i), err)
		}
	}
	return rt, nil
}

func rootElement(b []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", bluehelm.Invalid("file", "not an XML document (GPX, KML or CoT): %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local, nil
		}
	}
}

func xmlError(format string, err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return bluehelm.Invalid("file", "%s is not well-formed XML at line %d: %s", format, se.Line, se.Msg)
	}
	return bluehelm.Invalid("file", "reading %s: %v", format, err)
}

// ---- GPX 1.0/1.1: a route (rte) is the plan; a track (trk) is a recorded way
// that can be reused as one; loose waypoints in file order are the last resort.

type gpxPoint struct {
	Lat float64 `xml:"lat,attr"`
	Lon float64 `xml:"lon,attr"`
}

type gpxDoc struct {
	Routes []struct {
		Name   string     `xml:"name"`
		Points []gpxPoint `xml:"rtept"`
	} `xml:"rte"`
	Tracks []struct {
		Name     string `xml:"name"`
		Segments []struct {
			Points []gpxPoint `xml:"trkpt"`
		} `xml:"trkseg"`
	} `xml:"trk"`
	Waypoints []gpxPoint `xml:"wpt"`
	Name      string     `xml:"metadata>name"`
}

func parseGPX(b []byte) (*Route, error) {
	var doc gpxDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, xmlError("GPX", err)
	}
	rt := &Route{Format: "gpx", Name: doc.Name}
	line := func(ps []gpxPoint) orb.LineString {
		ls := make(orb.LineString, 0, len(ps))
		for _, p := range ps {
			ls = append(ls, orb.Point{p.Lon, p.Lat})
		}
		return ls
	}
	switch {
	case len(doc.Routes) > 0:
		rt.Line = line(doc.Routes[0].Points)
		if doc.Routes[0].Name != "" {
			rt.Name = doc.Routes[0].Name
		}
	case len(doc.Tracks) > 0:
		for _, s := range doc.Tracks[0].Segments {
			rt.Line = append(rt.Line, line(s.Points)...)
		}
		if doc.Tracks[0].Name != "" {
			rt.Name = doc.Tracks[0].Name
		}
	default:
		rt.Line = line(doc.Waypoints)
	}
	return rt, nil
}

// ---- KML: the first LineString of any Placemark (at any depth of Folders);
// without one, the Points of the Placemarks in document order.

func parseKML(b []byte) (*Route, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	var (
		path        []string
		lineCoords  string
		points      []string
		docName     string
		placemark   string
		lineName    string
		inPlacemark bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlError("KML", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			path = append(path, t.Name.Local)
			if t.Name.Local == "Placemark" {
				inPlacemark, placemark = true, ""
			}
		case xml.EndElement:
			if t.Name.Local == "Placemark" {
				inPlacemark = false
			}
			path = path[:len(path)-1]
		case xml.CharData:
			n := len(path)
			if n < 2 {
				continue
			}
			text := strings.TrimSpace(string(t))
			switch {
			case path[n-1] == "name" && inPlacemark && path[n-2] == "Placemark":
				placemark = text
			case path[n-1] == "name" && (path[n-2] == "Document" || path[n-2] == "Folder") && docName == "":
				docName = text
			case path[n-1] == "coordinates" && path[n-2] == "LineString" && lineCoords == "":
				lineCoords, lineName = text, placemark
			case path[n-1] == "coordinates" && path[n-2] == "Point":
				points = append(points, text)
			}
		}
	}
	rt := &Route{Format: "kml", Name: docName}
	var err error
	if lineCoords != "" {
		if lineName != "" {
			rt.Name = lineName
		}
		rt.Line, err = kmlCoordinates(lineCoords)
		return rt, err
	}
	for _, p := range points {
		ls, err := kmlCoordinates(p)
		if err != nil {
			return nil, err
		}
		rt.Line = append(rt.Line, ls...)
	}
	return rt, nil
}

// kmlCoordinates reads "lon,lat[,alt] lon,lat[,alt] …".
func kmlCoordinates(s string) (orb.LineString, error) {
	var ls orb.LineString
	for _, tuple := range strings.Fields(s) {
		parts := strings.Split(tuple, ",")
		if len(parts) < 2 {
			return nil, bluehelm.Invalid("file", "KML coordinate %q is not lon,lat[,alt]", tuple)
		}
		lon, err1 := strconv.ParseFloat(parts[0], 64)
		lat, err2 := strconv.ParseFloat(parts[1], 64)
		if err1 != nil || err2 != nil {
			return nil, bluehelm.Invalid("file", "KML coordinate %q is not lon,lat[,alt]", tuple)
		}
		ls = append(ls, orb.Point{lon, lat})
	}
	return ls, nil
}

// ---- CoT route: <event type="b-m-r"> with its waypoints and checkpoints as
// <link point="lat,lon[,hae]"/> elements in order.

type cotRoute struct {
	Type   string `xml:"type,attr"`
	Detail struct {
		Contact struct {
			Callsign string `xml:"callsign,attr"`
		} `xml:"contact"`
		Links []struct {
			Point string `xml:"point,attr"`
		} `xml:"link"`
	} `xml:"detail"`
}

func parseCoT(b []byte) (*Route, error) {
	var ev cotRoute
	if err := xml.Unmarshal(b, &ev); err != nil {
		return nil, xmlError("CoT", err)
	}
	if ev.Type != "b-m-r" {
		return nil, bluehelm.Invalid("file", "a CoT event of type %q is not a route (want b-m-r)", ev.Type)
	}
	rt := &Route{Format: "cot", Name: ev.Detail.Contact.Callsign}
	for i, l := range ev.Detail.Links {
		if l.Point == "" {
			continue // a link to the route's author, not a waypoint
		}
		parts := strings.Split(l.Point, ",")
		var lat, lon float64
		var err1, err2 error
		if len(parts) >= 2 {
			lat, err1 = strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
			lon, err2 = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		}
		if len(parts) < 2 || err1 != nil || err2 != nil {
			return nil, bluehelm.Invalid(fmt.Sprintf("file.link[%d]", i), "point %q is not lat,lon[,hae]", l.Point)
		}
		rt.Line = append(rt.Line, orb.Point{lon, lat})
	}
	return rt, nil
}
