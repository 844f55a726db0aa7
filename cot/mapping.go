package cot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/paulmach/orb"
)

// Event types the server itself acts on.
const (
	TypePing               = "t-x-c-t"
	TypePong               = "t-x-c-t-r"
	TypeDelete             = "t-x-d-d"
	TypeNegotiationOffer   = "t-x-takp-v"
	TypeNegotiationRequest = "t-x-takp-q"
	TypeNegotiationAnswer  = "t-x-takp-r"
	TypeChat               = "b-t-f"
	TypeEmergencyCancel    = "b-a-o-can"
	TypeSpotMarker         = "b-m-p-s-m"
	TypeShape              = "u-d-f"
	HowMachine             = "m-g"
	HowGIGO                = "h-g-i-g-o" // "garbage in, garbage out": not a position
)

// positionSource marks the positions that came from TAK devices.
const positionSource = "cot"

// ServerEndpoint is how a device reached through the server is addressed; TAK
// clients need it on every contact they get from a server for direct chat to work.
const ServerEndpoint = "*:-1:stcp"

// typeRE is the CoT type grammar (dash-separated atoms, an optional ;suffix), and
// the first atom must be one of the trees CoT defines.
var typeRE = regexp.MustCompile(`^[abtycru](-[A-Za-z0-9_.]+)*(;[^;]*)?$`)

func validType(t string) bool { return len(t) <= 100 && typeRE.MatchString(t) }

// affiliation returns the affiliation letter of an atom type (a-f-G → 'f'), or 0.
func affiliation(t string) byte {
	if len(t) >= 3 && t[0] == 'a' && t[1] == '-' {
		return t[2]
	}
	return 0
}

// isReportedMarker tells a marker a TAK user dropped for something seen — hostile,
// suspect, unknown, joker, faker — from a friendly or neutral position report.
func isReportedMarker(t string) bool {
	switch affiliation(t) {
	case 'h', 's', 'u', 'j', 'k':
		return true
	}
	return false
}

// selfReport reports whether ev is a device's own position report (SA): it carries
// the client software or a contact endpoint, which dropped markers do not.
func selfReport(ev *Event) bool {
	if affiliation(ev.Type) == 0 {
		return false
	}
	return ev.Detail.Takv != nil || (ev.Detail.Contact != nil && ev.Detail.Contact.Endpoint != "")
}

// SIDC turns a CoT atom type into a 15-character MIL-STD-2525C symbol code that
// symbol libraries (milsymbol) draw: a-f-G-U-C-I → SFGPUCI--------... Non-atom types
// give "".
func SIDC(t string) string {
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	parts := strings.Split(t, "-")
	if len(parts) < 3 || parts[0] != "a" || len(parts[1]) != 1 || len(parts[2]) != 1 {
		return ""
	}
	aff := strings.ToUpper(parts[1])
	switch aff {
	case "F", "H", "U", "N", "S", "A", "P", "J", "K":
	case "O":
		aff = "U"
	default:
		return ""
	}
	fn := strings.ToUpper(strings.Join(parts[3:], ""))
	if len(fn) > 6 {
		fn = fn[:6]
	}
	return "S" + aff + strings.ToUpper(parts[2]) + "P" + fn + strings.Repeat("-", 6-len(fn)) + "-----"
}

// kindOf guesses a track kind from its CoT type.
func kindOf(t string, device bool) bluehelm.TrackKind {
	parts := strings.Split(strings.SplitN(t, ";", 2)[0], "-")
	if len(parts) < 3 {
		return bluehelm.KindUnit
	}
	switch {
	case parts[2] == "A" && parts[len(parts)-1] == "Q":
		return bluehelm.KindUAV
	case parts[2] == "A":
		return bluehelm.KindAircraft
	case len(parts) >= 5 && parts[2] == "G" && parts[3] == "E" && parts[4] == "V":
		return bluehelm.KindVehicle
	case len(parts) >= 5 && parts[2] == "G" && parts[3] == "E" && parts[4] == "S":
		return bluehelm.KindSensor
	case device:
		return bluehelm.KindPerson
	}
	return bluehelm.KindUnit
}

func known(v float64) bool { return v < UnknownThreshold }

// toReport maps a position event to the ingest pipeline's report.
func toReport(ev *Event, mk bluehelm.Marking) ingest.Report {
	pos := bluehelm.Position{UID: ev.UID, Time: ev.Time, Lat: ev.Point.Lat, Lon: ev.Point.Lon, Source: positionSource}
	if known(ev.Point.HAE) {
		pos.HAE = ev.Point.HAE
	}
	if known(ev.Point.CE) {
		pos.CE = ev.Point.CE
	}
	if known(ev.Point.LE) {
		pos.LE = ev.Point.LE
	}
	if tr := ev.Detail.Track; tr != nil {
		pos.Course, pos.Speed = normCourse(tr.Course), max(tr.Speed, 0)
	}
	if st := ev.Detail.Status; st != nil && st.Battery <= 100 {
		pos.Battery = int(st.Battery)
	}
	return ingest.Report{
		Track: bluehelm.Track{UID: ev.UID, Callsign: ev.Callsign(), Kind: kindOf(ev.Type, ev.Detail.Takv != nil),
			CoTType: ev.Type, SIDC: SIDC(ev.Type), Marking: mk},
		Position: pos,
	}
}

// normCourse puts a course into [0, 360): devices send -1 for unknown and 360 for north.
func normCourse(c float64) float64 {
	if c < 0 || c != c {
		return 0
	}
	for c >= 360 {
		c -= 360
	}
	return c
}

// remarks returns the text of <remarks>.
func remarks(ev *Event) string {
	if el, ok := ev.Detail.Find("remarks"); ok {
		return strings.TrimSpace(el.Text())
	}
	return ""
}

// MarkerExternalID is the external id of the report a TAK marker was filed as.
func MarkerExternalID(uid string) string { return "tak:" + uid }

// markerIncident turns a hostile or unknown marker a TAK user dropped into an
// incident report submitted for the JOC to triage.
func markerIncident(ev *Event, c *conn) *bluehelm.Incident {
	cat, what := bluehelm.Category("threat"), "Unknown"
	switch affiliation(ev.Type) {
	case 'h':
		cat, what = "armed_movement", "Hostile"
	case 's', 'j', 'k':
		what = "Suspect"
	}
	name := ev.Callsign()
	if name == "" {
		name = ev.UID
	}
	by := c.principal.Username
	if c.callsign != "" {
		by = c.callsign + " (" + by + ")"
	}
	inc := &bluehelm.Incident{
		ExternalID:    MarkerExternalID(ev.UID),
		Title:         truncate(fmt.Sprintf("%s marker %s reported by %s", what, name, by), 200),
		Category:      cat,
		Status:        bluehelm.StatusSubmitted,
		OccurredStart: ev.Time,
		Location:      bluehelm.Point{Lon: ev.Point.Lon, Lat: ev.Point.Lat},
		Narrative: truncate(strings.TrimSpace(fmt.Sprintf("Marker dropped on a TAK device (CoT type %s, symbol %s). %s",
			ev.Type, SIDC(ev.Type), remarks(ev))), 10000),
		Sources: []bluehelm.Source{{Name: "TAK device " + c.who}},
		Marking: c.marking,
	}
	if inc.OccurredStart.After(time.Now().Add(bluehelm.MaxClockSkew)) {
		inc.OccurredStart = time.Now().UTC()
	}
	return inc
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// newEvent starts an event made by bluehelm itself.
func newEvent(uid, typ, how string, now time.Time, stale time.Duration) *Event {
	return &Event{Version: "2.0", UID: uid, Type: typ, How: how, Time: now, Start: now, Stale: now.Add(stale),
		Point: Point{HAE: Unknown, CE: Unknown, LE: Unknown}}
}

// deleteEvent tells devices to forget uid (a device that disconnected, a resolved
// alert, a rejected incident, a deleted area).
func deleteEvent(uid, typ string, now time.Time) *Event {
	ev := newEvent(uid+"-delete", TypeDelete, HowGIGO, now, 20*time.Second)
	ev.Detail.XML = fmt.Appendf(nil, `<link uid="%s" relation="p-p" type="%s"/><__forcedelete/>`, escape(uid), escape(orDefault(typ, "a-f-G")))
	return ev
}

func escape(s string) string { return string(AppendEscaped(nil, s)) }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// trackEvent presents a bluehelm track (a simulated unit, a vehicle reported over
// the API) to TAK devices as a position report.
func trackEvent(ts bluehelm.TrackState, stale time.Duration) *Event {
	typ := ts.CoTType
	if !validType(typ) {
		typ = map[bluehelm.TrackKind]string{bluehelm.KindVehicle: "a-f-G-E-V", bluehelm.KindAircraft: "a-f-A",
			bluehelm.KindUAV: "a-f-A-M-F-Q", bluehelm.KindSensor: "a-f-G-E-S"}[ts.Kind]
		if typ == "" {
			typ = "a-f-G-U-C"
		}
	}
	p := ts.Position
	ev := newEvent(ts.UID, typ, HowMachine, p.Time, stale)
	ev.Point = Point{Lat: p.Lat, Lon: p.Lon, HAE: Unknown, CE: Unknown, LE: Unknown}
	if p.HAE != 0 {
		ev.Point.HAE = p.HAE
	}
	if p.CE != 0 {
		ev.Point.CE = p.CE
	}
	if p.LE != 0 {
		ev.Point.LE = p.LE
	}
	ev.Detail.Contact = &Contact{Callsign: orDefault(ts.Callsign, ts.UID)}
	ev.Detail.Track = &Track{Speed: p.Speed, Course: p.Course}
	if p.Battery > 0 {
		ev.Detail.Status = &Status{Battery: uint32(p.Battery)}
	}
	if ts.Unit != "" {
		ev.Detail.XML = fmt.Appendf(ev.Detail.XML, `<remarks>%s</remarks>`, escape(ts.Unit))
	}
	return ev
}

// Colours (ARGB as signed 32-bit, as ATAK writes them) by incident category.
var categoryColour = map[bluehelm.Category]uint32{
	"armed_clash": 0xffff0000, "attack_on_un": 0xffb00000, "explosive": 0xffff6600,
	"violence_against_civilians": 0xff9900cc, "kidnapping": 0xffcc00cc, "armed_robbery": 0xffcc6600,
	"protest": 0xffffcc00, "armed_movement": 0xffff3333, "threat": 0xffffff00, "arrest": 0xff3366ff,
	"displacement": 0xff00cccc, "humanitarian_access": 0xff00aa88, "drone": 0xff666699,
	"accident": 0xff999999, "natural_hazard": 0xff3399ff, "other": 0xffffffff,
}

func argb(c uint32) string { return strconv.Itoa(int(int32(c))) }

// IncidentUID and friends name bluehelm's records in CoT.
func IncidentUID(id int64) string { return "bluehelm-incident-" + strconv.FormatInt(id, 10) }
func AlertUID(id int64) string    { return "bluehelm-alert-" + strconv.FormatInt(id, 10) }
func AreaUID(id int64) string     { return "bluehelm-area-" + strconv.FormatInt(id, 10) }

// incidentEvent presents an incident as a spot marker coloured by category, with
// its casualties and narrative in the remarks.
func incidentEvent(inc *bluehelm.Incident, now time.Time) *Event {
	ev := newEvent(IncidentUID(inc.ID), TypeSpotMarker, "h-e", now, 24*time.Hour)
	ev.Point.Lat, ev.Point.Lon = inc.Location.Lat, inc.Location.Lon
	killed := 0
	for _, c := range inc.Casualties {
		if c.Kind == "killed" {
			killed += c.Best
		}
	}
	label := fmt.Sprintf("INC-%d %s", inc.ID, inc.Title)
	if killed > 0 {
		label += fmt.Sprintf(" [%d killed]", killed)
	}
	ev.Detail.Contact = &Contact{Callsign: truncate(label, 80)}
	text := fmt.Sprintf("%s · %s · %s · %s\n%s", inc.Category, inc.Status, inc.OccurredStart.UTC().Format("2006-01-02 15:04Z"),
		inc.Classification, inc.Narrative)
	ev.Detail.XML = fmt.Appendf(nil, `<color argb="%s"/><remarks>%s</remarks><archive/>`,
		argb(categoryColour[inc.Category]), escape(truncate(text, 2000)))
	return ev
}

// alertEvent presents an open alert with a place as a red spot marker.
func alertEvent(a *bluehelm.Alert, now time.Time) *Event {
	ev := newEvent(AlertUID(a.ID), TypeSpotMarker, "h-e", now, 24*time.Hour)
	ev.Point.Lat, ev.Point.Lon = a.Location.Lat, a.Location.Lon
	ev.Detail.Contact = &Contact{Callsign: truncate("ALERT "+a.Title, 80)}
	colour := uint32(0xffff0000)
	if a.Severity != bluehelm.SevCritical {
		colour = 0xffff9900
	}
	ev.Detail.XML = fmt.Appendf(nil, `<color argb="%s"/><remarks>%s</remarks>`, argb(colour),
		escape(truncate(string(a.Severity)+" · "+string(a.State)+"\n"+a.Detail, 2000)))
	return ev
}

// areaEvent presents an area as a TAK drawing: a closed polygon (u-d-f) with its
// vertices as links, red for restricted areas, or a line for routes.
func areaEvent(a *bluehelm.Area, now time.Time) *Event {
	var ring orb.Ring
	closed := true
	switch g := a.Geometry.Geometry.(type) {
	case orb.Polygon:
		if len(g) > 0 {
			ring = g[0]
		}
	case orb.MultiPolygon:
		if len(g) > 0 && len(g[0]) > 0 {
			ring = g[0][0] // TAK drawings have one outline; the first polygon stands for the area
		}
	case orb.LineString:
		ring, closed = orb.Ring(g), false
	}
	if len(ring) < 2 {
		return nil
	}
	ev := newEvent(AreaUID(a.ID), TypeShape, "h-e", now, 7*24*time.Hour)
	c := a.Geometry.Bound()
	ev.Point.Lat, ev.Point.Lon = (c.MinLat+c.MaxLat)/2, (c.MinLon+c.MaxLon)/2
	ev.Detail.Contact = &Contact{Callsign: truncate(a.Name, 80)}
	stroke, fill := uint32(0xff0066ff), uint32(0x220066ff)
	switch a.Kind {
	case bluehelm.AreaRestricted:
		stroke, fill = 0xffff0000, 0x44ff0000
	case bluehelm.AreaCamp, bluehelm.AreaCampZone:
		stroke, fill = 0xff00aa00, 0x2200aa00
	}
	b := ev.Detail.XML
	pts := ring
	if closed && len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1] // ATAK closes the shape itself
	}
	for _, p := range pts {
		b = fmt.Appendf(b, `<link point="%s,%s"/>`, strconv.FormatFloat(p[1], 'f', -1, 64), strconv.FormatFloat(p[0], 'f', -1, 64))
	}
	b = fmt.Appendf(b, `<strokeColor value="%s"/><strokeWeight value="3.0"/>`, argb(stroke))
	if closed {
		b = fmt.Appendf(b, `<fillColor value="%s"/>`, argb(fill))
	}
	b = fmt.Appendf(b, `<labels_on value="true"/><remarks>%s</remarks><archive/>`, escape(truncate(string(a.Kind)+": "+a.Description, 2000)))
	ev.Detail.XML = b
	return ev
}
