package interop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm/cot"
)

// TestCodecRoundTrip checks bluehelm's codecs against node-cot's in both
// directions, without a server: what node-cot writes (to_xml, to_proto(1)) our
// decoders read as the same event, and what our encoders write (AppendXML,
// AppendProto) node-cot reads back (new CoT(xml), CoT.from_proto) as intended.
func TestCodecRoundTrip(t *testing.T) {
	node := needNode(t)
	t.Run("node_to_go", func(t *testing.T) { nodeToGo(t, node) })
	t.Run("go_to_node", func(t *testing.T) { goToNode(t, node) })
}

func nodeToGo(t *testing.T, node string) {
	out := runScript(t, node, "codec.js", nil, nil, "emit")
	names := map[string]bool{}
	for _, line := range out.lines {
		var s struct {
			Step, Name, XML, Proto string
			Node                   struct {
				UID, Callsign string
				Position      []float64
			}
		}
		if err := remarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		if s.Step != "sample" {
			continue
		}
		names[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			xev, err := cot.DecodeXML([]byte(s.XML))
			if err != nil {
				t.Fatalf("DecodeXML(node-cot to_xml()): %v\n%s", err, s.XML)
			}
			raw, err := base64.StdEncoding.DecodeString(s.Proto)
			if err != nil {
				t.Fatal(err)
			}
			// node-cot 12.23.0's to_proto(1) is a bare TakMessage (field 2, cotEvent,
			// tag 0x12), not a stream frame: the 0xbf header is the caller's job.
			if len(raw) == 0 || raw[0] != 0x12 {
				t.Fatalf("node-cot to_proto(1) starts with % x, want a TakMessage with cotEvent (0x12)", raw[:min(len(raw), 4)])
			}
			pev, ctrl, err := cot.DecodeProto(raw)
			if err != nil {
				t.Fatalf("DecodeProto(node-cot to_proto(1)): %v", err)
			}
			if ctrl != nil {
				t.Errorf("node-cot wrote a TakControl: %+v", ctrl)
			}
			// Our reading of the XML agrees with node-cot's own view.
			if xev.UID != s.Node.UID || orUnknown(xev.Callsign()) != s.Node.Callsign ||
				len(s.Node.Position) != 2 || xev.Point.Lon != s.Node.Position[0] || xev.Point.Lat != s.Node.Position[1] {
				t.Errorf("XML decoded as uid %q callsign %q point %v,%v; node-cot says %+v",
					xev.UID, xev.Callsign(), xev.Point.Lat, xev.Point.Lon, s.Node)
			}
			// And the XML and protobuf encodings of the same node-cot event decode alike.
			if d := diffEvents(xev, pev); d != "" {
				t.Errorf("node-cot's XML and protobuf decode differently:\n%s\nXML: %s", d, s.XML)
			}
			checkSample(t, s.Name, xev)
		})
	}
	for _, want := range []string{"position", "chat", "shape", "geojson_point"} {
		if !names[want] {
			t.Errorf("codec.js emitted no %q sample", want)
		}
	}
}

// checkSample checks what matters in each node-cot sample beyond XML = protobuf.
func checkSample(t *testing.T, name string, ev *cot.Event) {
	t.Helper()
	find := func(n string) cot.Element { el, _ := ev.Detail.Find(n); return el }
	switch name {
	case "position":
		d := ev.Detail
		if ev.Type != "a-f-G-U-C" || d.Contact == nil || d.Contact.Endpoint != "*:-1:stcp" || d.Group == nil || d.Group.Name != "Cyan" ||
			d.Takv == nil || d.Takv.Platform != "node-cot" || d.Track == nil || d.Track.Course != 90 || d.Status == nil || d.Status.Battery != 77 ||
			find("usericon").Attr("iconsetpath") != "COT_MAPPING_2525B/a-f/a-f-G" || find("remarks").Text() != "NODE on patrol" {
			t.Errorf("position decoded as %+v, detail XML %s", ev, d.XML)
		}
	case "chat":
		var dest string
		find("marti").Each(func(el cot.Element) bool { dest = el.Attr("callsign"); return false })
		if ev.Type != cot.TypeChat || find("remarks").Text() != "Road block at <km 12> & heavy rain" || dest != "BRAVO" ||
			find("__chat").Attr("senderCallsign") != "ALPHA" || find("link").Attr("uid") != "ANDROID-alpha" {
			t.Errorf("chat decoded as %+v, detail XML %s", ev, ev.Detail.XML)
		}
	case "shape":
		var points []string
		ev.Detail.Each(func(el cot.Element) bool {
			if el.Name == "link" {
				points = append(points, el.Attr("point"))
			}
			return true
		})
		if ev.Type != cot.TypeShape || !slices.Equal(points, []string{"4.8,31.5", "4.8,31.6", "4.9,31.6", "4.8,31.5"}) ||
			find("strokeColor").Attr("value") != "-65536" || find("fillColor").Attr("value") == "" {
			t.Errorf("shape decoded with points %v, detail XML %s", points, ev.Detail.XML)
		}
	case "geojson_point":
		if ev.Type != "a-h-G" || ev.Point.HAE != 412 || ev.Detail.Track == nil || ev.Detail.Track.Course != 45 || ev.Detail.Track.Speed != 2 ||
			find("remarks").Text() != "technical" {
			t.Errorf("geojson point decoded as %+v, detail XML %s", ev, ev.Detail.XML)
		}
	}
}

// typedNames are the detail elements TAK protocol v1 types; whether a decoder keeps
// one typed or raw, and where, does not matter, only its content.
var typedNames = map[string]bool{"contact": true, "__group": true, "precisionlocation": true, "status": true, "takv": true, "track": true}

// diffEvents compares two decoded events by content: header, point, the typed
// elements as a set, and the other detail elements in order. node-cot adds an empty
// <metadata/> to every to_proto xmlDetail (its own key/value extension); it is
// ignored.
func diffEvents(a, b *cot.Event) string {
	var d []string
	if a.UID != b.UID || a.Type != b.Type || a.How != b.How {
		d = append(d, fmt.Sprintf("uid/type/how %q %q %q vs %q %q %q", a.UID, a.Type, a.How, b.UID, b.Type, b.How))
	}
	for _, tt := range [][3]any{{"time", a.Time, b.Time}, {"start", a.Start, b.Start}, {"stale", a.Stale, b.Stale}} {
		if !tt[1].(time.Time).Equal(tt[2].(time.Time)) {
			d = append(d, fmt.Sprintf("%s %v vs %v", tt[0], tt[1], tt[2]))
		}
	}
	if a.Point != b.Point {
		d = append(d, fmt.Sprintf("point %+v vs %+v", a.Point, b.Point))
	}
	at, ao := canonDetail(a)
	bt, bo := canonDetail(b)
	if !slices.Equal(at, bt) {
		d = append(d, fmt.Sprintf("typed detail\n  %s\nvs\n  %s", strings.Join(at, "\n  "), strings.Join(bt, "\n  ")))
	}
	if !slices.Equal(ao, bo) {
		d = append(d, fmt.Sprintf("other detail\n  %s\nvs\n  %s", strings.Join(ao, "\n  "), strings.Join(bo, "\n  ")))
	}
	return strings.Join(d, "\n")
}

// canonDetail renders the event with AppendXML and returns its detail children in
// a canonical form (attributes sorted, white space trimmed): the typed ones sorted,
// the others in document order.
func canonDetail(ev *cot.Event) (typed, other []string) {
	dec := xml.NewDecoder(bytes.NewReader(ev.AppendXML(nil)))
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 { // event > detail > child
				s := canonElem(dec, tok)
				depth--
				switch {
				case typedNames[tok.Name.Local]:
					typed = append(typed, s)
				case s == "metadata{}":
				default:
					other = append(other, s)
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	sort.Strings(typed)
	return typed, other
}

// canonElem consumes the element started by start and returns it canonically.
func canonElem(dec *xml.Decoder, start xml.StartElement) string {
	var b strings.Builder
	b.WriteString(start.Name.Local)
	attrs := make([]string, 0, len(start.Attr))
	for _, a := range start.Attr {
		attrs = append(attrs, a.Name.Local+"="+normNum(a.Value))
	}
	sort.Strings(attrs)
	b.WriteString("{" + strings.Join(attrs, ",") + "}")
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			return b.String() + "!" + err.Error()
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			b.WriteString("[" + canonElem(dec, tok) + "]")
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			if s := strings.TrimSpace(text.String()); s != "" {
				b.WriteString(fmt.Sprintf("%q", s))
			}
			return b.String()
		}
	}
}

func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// goSamples are events built in Go, as bluehelm sends them to devices.
func goSamples() map[string]*cot.Event {
	now := time.Now().UTC().Truncate(time.Millisecond)
	ev := func(uid, typ, how string, stale time.Duration) *cot.Event {
		return &cot.Event{Version: "2.0", UID: uid, Type: typ, How: how, Time: now, Start: now, Stale: now.Add(stale),
			Point: cot.Point{Lat: 4.8512345, Lon: 31.5823456, HAE: 421.25, CE: 4.5, LE: cot.Unknown}}
	}
	pos := ev("ANDROID-go", "a-f-G-U-C", "m-g", 2*time.Minute)
	pos.Detail = cot.Detail{
		Contact:           &cot.Contact{Callsign: "GOLF", Endpoint: cot.ServerEndpoint},
		Group:             &cot.Group{Name: "Dark Blue", Role: "Team Lead"},
		PrecisionLocation: &cot.PrecisionLocation{GeoPointSrc: "GPS", AltSrc: "GPS"},
		Status:            &cot.Status{Battery: 64},
		Takv:              &cot.Takv{Device: "bluehelm", Platform: "bluehelm", OS: "linux", Version: "1.0"},
		Track:             &cot.Track{Speed: 3.25, Course: 271.5},
		XML:               []byte(`<usericon iconsetpath="COT_MAPPING_2525B/a-f/a-f-G"/><remarks>Checkpoint 4 &amp; bridge &lt;north&gt;</remarks>`),
	}
	chat := ev("GeoChat.ANDROID-go.CHARLIE.m-1", cot.TypeChat, "h-g-i-g-o", 24*time.Hour)
	chat.Point = cot.Point{HAE: cot.Unknown, CE: cot.Unknown, LE: cot.Unknown}
	chat.Detail.XML = []byte(`<__chat parent="RootContactGroup" groupOwner="false" messageId="m-1" chatroom="CHARLIE" id="ANDROID-charlie" senderCallsign="GOLF"><chatgrp uid0="ANDROID-go" uid1="ANDROID-charlie" id="ANDROID-charlie"/></__chat>` +
		`<link uid="ANDROID-go" type="a-f-G-U-C" relation="p-p"/><remarks source="BAO.F.ATAK.ANDROID-go" to="ANDROID-charlie" time="` + cot.FormatTime(now) + `">Water point is dry — use the river</remarks>` +
		`<marti><dest callsign="CHARLIE"/></marti>`)
	shape := ev("bluehelm-area-7", cot.TypeShape, "h-e", time.Hour)
	shape.Detail.Contact = &cot.Contact{Callsign: "Restricted: airfield"}
	shape.Detail.XML = []byte(`<link point="4.8,31.5"/><link point="4.8,31.6"/><link point="4.9,31.6"/><link point="4.8,31.5"/>` +
		`<strokeColor value="-65536"/><strokeWeight value="3.0"/><fillColor value="1358888960"/><labels_on value="true"/>`)
	return map[string]*cot.Event{"position": pos, "chat": chat, "shape": shape}
}

func goToNode(t *testing.T, node string) {
	samples := goSamples()
	type in struct {
		Name  string `json:"name"`
		XML   string `json:"xml"`
		Proto string `json:"proto"` // base64 TakMessage
	}
	var input []in
	for name, ev := range samples {
		input = append(input, in{name, string(ev.AppendXML(nil)), base64.StdEncoding.EncodeToString(ev.AppendProto(nil))})
	}
	stdin, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	out := runScript(t, node, "codec.js", nil, stdin, "decode")
	got := map[string]map[string]*nodeCoT{} // sample → "xml"/"proto" → what node-cot read
	for _, line := range out.lines {
		var s struct {
			Step, Name, From string
			CoT              *nodeCoT
		}
		if err := remarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		if s.Step != "decoded" {
			continue
		}
		if got[s.Name] == nil {
			got[s.Name] = map[string]*nodeCoT{}
		}
		got[s.Name][s.From] = s.CoT
	}
	for name, ev := range samples {
		for _, from := range []string{"xml", "proto"} {
			t.Run(name+"/"+from, func(t *testing.T) {
				c := got[name][from]
				if c == nil {
					t.Fatalf("node-cot printed nothing for %s from %s", name, from)
				}
				checkNodeRead(t, ev, c, from)
			})
		}
	}
}

// checkNodeRead checks that node-cot read ev (sent as from: "xml" or "proto") right.
func checkNodeRead(t *testing.T, ev *cot.Event, c *nodeCoT, from string) {
	t.Helper()
	if c.UID != ev.UID || c.Type != ev.Type || c.How != ev.How || c.Callsign != orUnknown(ev.Callsign()) {
		t.Errorf("header: uid %q type %q how %q callsign %q", c.UID, c.Type, c.How, c.Callsign)
	}
	for _, tt := range []struct {
		name string
		got  string
		want time.Time
	}{{"time", c.Time, ev.Time}, {"start", c.Start, ev.Start}, {"stale", c.Stale, ev.Stale}} {
		if g, err := time.Parse(time.RFC3339Nano, tt.got); err != nil || !g.Equal(tt.want) {
			t.Errorf("%s = %q, want %s", tt.name, tt.got, cot.FormatTime(tt.want))
		}
	}
	if c.Lat != ev.Point.Lat || c.Lon != ev.Point.Lon || c.HAE != ev.Point.HAE || c.CE != ev.Point.CE || c.LE != ev.Point.LE {
		t.Errorf("point = %v,%v hae %v ce %v le %v, want %+v", c.Lat, c.Lon, c.HAE, c.CE, c.LE, ev.Point)
	}
	want := map[string]string{} // "element/attr" or "element/#text" → value
	d := ev.Detail
	if d.Contact != nil {
		want["contact/callsign"] = d.Contact.Callsign
		want["contact/endpoint"] = d.Contact.Endpoint
	}
	if d.Group != nil {
		want["__group/name"], want["__group/role"] = d.Group.Name, d.Group.Role
	}
	if d.PrecisionLocation != nil && from == "xml" {
		// node-cot 12.23.0 looks for "precisionlocation" in the decoded protobuf,
		// whose field is precisionLocation, so from_proto drops it (and to_proto
		// never writes it): checked on XML only.
		want["precisionlocation/geopointsrc"] = d.PrecisionLocation.GeoPointSrc
		want["precisionlocation/altsrc"] = d.PrecisionLocation.AltSrc
	}
	if d.Status != nil {
		want["status/battery"] = fmt.Sprint(d.Status.Battery)
	}
	if d.Takv != nil {
		want["takv/device"], want["takv/platform"], want["takv/os"], want["takv/version"] = d.Takv.Device, d.Takv.Platform, d.Takv.OS, d.Takv.Version
	}
	if d.Track != nil {
		want["track/speed"], want["track/course"] = scalar(d.Track.Speed), scalar(d.Track.Course)
	}
	// The untyped elements, as Go reads them, must reach node-cot as they are
	// (repeated ones are checked below).
	count := map[string]int{}
	d.Each(func(el cot.Element) bool { count[el.Name]++; return true })
	d.Each(func(el cot.Element) bool {
		if count[el.Name] > 1 {
			return true
		}
		for _, a := range attrNames(el.Raw) {
			want[el.Name+"/"+a] = el.Attr(a)
		}
		if txt := el.Text(); txt != "" {
			want[el.Name+"/#text"] = txt
		}
		return true
	})
	for k, v := range want {
		name, attr, _ := strings.Cut(k, "/")
		var g string
		if attr == "#text" {
			g = c.text(name)
		} else {
			g = c.attr(attr, name)
		}
		if normNum(g) != normNum(v) {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	// Children and repeated elements: chatgrp, marti/dest, the polygon's points.
	switch ev.Type {
	case cot.TypeChat:
		if c.attr("uid1", "__chat", "chatgrp") != "ANDROID-charlie" || c.attr("callsign", "marti", "dest") != "CHARLIE" {
			t.Errorf("chat detail = %v", c.Detail)
		}
	case cot.TypeShape:
		links, _ := c.Detail["link"].([]any)
		var points []string
		for _, l := range links {
			a, _ := l.(map[string]any)["_attributes"].(map[string]any)
			points = append(points, scalar(a["point"]))
		}
		if !slices.Equal(points, []string{"4.8,31.5", "4.8,31.6", "4.9,31.6", "4.8,31.5"}) {
			t.Errorf("polygon points = %v", points)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "UNKNOWN" // node-cot's callsign() for an event without one
	}
	return s
}

// attrNames lists the attribute names of the start tag in raw.
func attrNames(raw []byte) []string {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return nil
		}
		if st, ok := tok.(xml.StartElement); ok {
			var names []string
			for _, a := range st.Attr {
				names = append(names, a.Name.Local)
			}
			return names
		}
	}
}
