// Package export writes incidents as GeoJSON, CSV or KML for GIS tools,
// spreadsheets and Google Earth / ATAK.
//
// Write streams: it pulls incidents one at a time from a next function, so an
// export of the whole store is never held in memory. It does not decide who may
// see what: the caller hands it only incidents the requester may see (a store
// query with a Viewer), and records the export in the audit log.
//
// Formats:
//
//   - GeoJSON (RFC 7946): a FeatureCollection; each Feature has the incident's
//     location as a Point geometry, the incident's ID (or, for an unsaved
//     incident, its ExternalID) as id, and every other incident field, named as
//     in the JSON API, as properties.
//   - CSV (RFC 4180, CRLF line ends, header row): one row per incident, columns
//     in the order of Columns. Casualties are flattened: killed_low/best/high,
//     injured_… and abducted_… sum all groups, and <group>_<kind>_best gives each
//     group's best estimate. Text cells that begin with = + - @, tab or carriage
//     return get a leading ' so that spreadsheet programs do not run them as
//     formulas (CSV injection); numeric and time columns are never altered, and a
//     reader who needs the original text strips that one quote.
//   - KML 2.2: a Document with one Placemark per incident: name (title),
//     description, TimeStamp (or TimeSpan when the incident has an end), the
//     main fields as ExtendedData, and a Point. The description is HTML-escaped
//     before it is XML-escaped, because KML viewers render descriptions as HTML
//     and incident text comes from reporters and open sources.
package export

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
)

// Format is an export file format.
type Format string

const (
	GeoJSON Format = "geojson"
	CSV     Format = "csv"
	KML     Format = "kml"
)

// ParseFormat reads a format name, case-insensitively.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case GeoJSON, CSV, KML:
		return f, nil
	}
	return "", bluehelm.Invalid("format", "unknown export format %q (want geojson, csv or kml)", s)
}

// ContentType is the media type to serve a format with; "" for an unknown format.
func ContentType(f Format) string {
	switch f {
	case GeoJSON:
		return "application/geo+json" // RFC 7946 §12
	case CSV:
		return "text/csv; charset=utf-8; header=present" // RFC 4180, RFC 7111
	case KML:
		return "application/vnd.google-earth.kml+xml"
	}
	return ""
}

// Extension is the file name extension of a format, with its dot; "" for an
// unknown format.
func Extension(f Format) string {
	switch f {
	case GeoJSON:
		return ".geojson"
	case CSV:
		return ".csv"
	case KML:
		return ".kml"
	}
	return ""
}

// encoder writes one format: a header, one record per incident, a trailer.
type encoder interface {
	begin() error
	write(inc *bluehelm.Incident) error
	end() error
}

// Write writes every incident that next returns, in the given format, until next
// returns io.EOF. Any other error from next stops the export and is returned; the
// output written so far is then incomplete and must not be offered as a whole
// export.
func Write(w io.Writer, format Format, next func() (*bluehelm.Incident, error)) error {
	bw := bufio.NewWriter(w)
	var enc encoder
	switch format {
	case GeoJSON:
		enc = &geojsonEncoder{w: bw}
	case CSV:
		enc = newCSVEncoder(bw)
	case KML:
		enc = newKMLEncoder(bw)
	default:
		return bluehelm.Invalid("format", "unknown export format %q (want geojson, csv or kml)", format)
	}
	if err := enc.begin(); err != nil {
		return err
	}
	for n := 0; ; n++ {
		inc, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if inc == nil {
			return bluehelm.Errorf(bluehelm.EINTERNAL, "export: incident %d is nil", n)
		}
		if err := inc.Location.Validate(); err != nil {
			// A NaN would make invalid JSON and a meaningless KML point; the store
			// validates on write, so this is a bug upstream and not worth hiding.
			return bluehelm.PrefixField("incident "+label(inc)+" location", err)
		}
		if err := enc.write(inc); err != nil {
			return err
		}
	}
	if err := enc.end(); err != nil {
		return err
	}
	return bw.Flush()
}

// label names an incident in an error message.
func label(inc *bluehelm.Incident) string {
	if inc.ID != 0 {
		return strconv.FormatInt(inc.ID, 10)
	}
	return inc.ExternalID
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// totals sums casualties of one kind over all groups.
func totals(cs []bluehelm.Casualty, kind string) (low, best, high int) {
	for _, c := range cs {
		if c.Kind == kind {
			low, best, high = low+c.Low, best+c.Best, high+c.High
		}
	}
	return
}

// sides splits actors into side a (including actors with no side) and side b.
func sides(actors []bluehelm.Actor) (a, b []bluehelm.Actor) {
	for _, x := range actors {
		if x.Side == "b" {
			b = append(b, x)
		} else {
			a = append(a, x)
		}
	}
	return a, b
}

// sourceList renders sources as "Name [B2]; Name".
func sourceList(ss []bluehelm.Source) string {
	parts := make([]string, 0, len(ss))
	for _, s := range ss {
		p := s.Name
		if s.Reliability != "" || s.Credibility != 0 {
			p += " [" + s.Reliability
			if s.Credibility != 0 {
				p += strconv.Itoa(s.Credibility)
			}
			p += "]"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}
