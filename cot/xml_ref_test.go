package cot

// refDecodeXML is the reference the fuzzer holds DecodeXML to: the same rules
// written over encoding/xml, which is slower but long fuzzed and trusted. Both
// may refuse different odd inputs (the reference is stricter about names, the
// fast one about references and whitespace between attributes); where both
// accept, they must agree exactly.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"time"
)

func refDecodeXML(b []byte) (*Event, error) {
	if len(b) > MaxEventSize {
		return nil, errTooLarge
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		e               = &Event{}
		stack           []xml.Name
		times           [3]*string
		point           []xml.Attr
		haveEvent, done bool
		childStart      int64 // offset of the current <detail> child
		childAttrs      []xml.Attr
		childEmpty      bool
		inDetail        int // depth of the <detail> being read, 0 if none
	)
	var xmlOut []byte
	off := d.InputOffset()
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		start := off
		off = d.InputOffset()
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				return nil, errors.New("data after </event>")
			}
			if len(stack) == 0 {
				if t.Name.Space != "" || t.Name.Local != "event" {
					return nil, errors.New("no <event>")
				}
				haveEvent = true
				for _, a := range t.Attr {
					if a.Name.Space != "" {
						continue
					}
					v := a.Value
					switch a.Name.Local {
					case "version":
						e.Version = v
					case "uid":
						e.UID = v
					case "type":
						e.Type = v
					case "how":
						e.How = v
					case "time":
						times[0] = &v
					case "start":
						times[1] = &v
					case "stale":
						times[2] = &v
					case "access":
						e.Access = v
					case "qos":
						e.QoS = v
					case "opex":
						e.Opex = v
					}
				}
			}
			stack = append(stack, t.Name)
			if len(stack) > MaxDepth {
				return nil, errTooDeep
			}
			switch {
			case len(stack) == 2 && t.Name.Space == "" && t.Name.Local == "point":
				point = t.Attr
			case len(stack) == 2 && t.Name.Space == "" && t.Name.Local == "detail":
				inDetail = 2
			case len(stack) == 3 && inDetail == 2:
				childStart, childAttrs, childEmpty = start, t.Attr, true
			case len(stack) > 3 && inDetail == 2:
				childEmpty = false
			}
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return nil, errors.New("mismatched end tag")
			}
			if len(stack) == 3 && inDetail == 2 {
				raw := b[childStart:off]
				if !refTyped(e, t.Name, childAttrs, childEmpty) {
					xmlOut = append(xmlOut, raw...)
				}
			}
			if len(stack) == 2 && inDetail == 2 {
				inDetail = 0
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				done = true
			}
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimLeft(t, " \t\r\n")) > 0 && !(off == int64(len(t)) && bytes.HasPrefix(t, []byte("\xef\xbb\xbf")) && len(bytes.TrimLeft(t[3:], " \t\r\n")) == 0) {
				return nil, errors.New("text outside <event>")
			}
			if len(stack) == 3 && inDetail == 2 {
				childEmpty = false
			}
		case xml.Comment, xml.ProcInst:
			if len(stack) == 3 && inDetail == 2 {
				childEmpty = false
			}
		case xml.Directive:
			return nil, errors.New("directive")
		}
	}
	if !haveEvent || !done {
		return nil, errors.New("no complete <event>")
	}
	if len(xmlOut) > 0 {
		e.Detail.XML = xmlOut
	}
	if e.Version == "" {
		e.Version = "2.0"
	}
	if e.UID == "" || e.Type == "" {
		return nil, errf("missing_field", "uid or type")
	}
	for k, dst := range []*time.Time{&e.Time, &e.Start, &e.Stale} {
		if times[k] == nil {
			return nil, errf("missing_field", "time")
		}
		t, err := time.Parse(time.RFC3339Nano, *times[k])
		if err != nil {
			// The reference takes what RFC3339 takes, plus the forms CoT adds.
			t, err = ParseTime(*times[k])
			if err != nil {
				return nil, errf("bad_time", err.Error())
			}
		}
		*dst = t.UTC().Truncate(time.Millisecond)
	}
	if point == nil {
		return nil, errf("missing_field", "point")
	}
	p := Point{HAE: Unknown, CE: Unknown, LE: Unknown}
	var haveLat, haveLon bool
	for _, a := range point {
		if a.Name.Space != "" {
			continue
		}
		var dst *float64
		switch a.Name.Local {
		case "lat":
			dst, haveLat = &p.Lat, true
		case "lon":
			dst, haveLon = &p.Lon, true
		case "hae":
			dst = &p.HAE
		case "ce":
			dst = &p.CE
		case "le":
			dst = &p.LE
		default:
			continue
		}
		if a.Value == "" && dst != &p.Lat && dst != &p.Lon {
			*dst = Unknown
			continue
		}
		v, err := strconv.ParseFloat(a.Value, 64)
		if err != nil || math.IsNaN(v) {
			return nil, errf("bad_point", a.Value)
		}
		*dst = v
	}
	if !haveLat || !haveLon {
		return nil, errf("missing_field", "lat/lon")
	}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 || math.IsNaN(p.Lat) || math.IsNaN(p.Lon) {
		return nil, errf("bad_point", "range")
	}
	for _, v := range []*float64{&p.HAE, &p.CE, &p.LE} {
		if math.IsInf(*v, -1) {
			return nil, errf("bad_point", "-inf")
		}
		if *v >= UnknownThreshold {
			*v = Unknown
		}
	}
	e.Point = p
	return e, nil
}

// refTyped is the typed-detail rule written again, over encoding/xml attributes.
func refTyped(e *Event, name xml.Name, attrs []xml.Attr, empty bool) bool {
	if !empty || name.Space != "" {
		return false
	}
	known := map[string][]string{
		"contact": {"callsign", "endpoint"}, "__group": {"name", "role"},
		"precisionlocation": {"geopointsrc", "altsrc"}, "status": {"battery"},
		"takv": {"device", "platform", "os", "version"}, "track": {"speed", "course"},
	}[name.Local]
	if known == nil {
		return false
	}
	v := map[string]string{}
	for _, a := range attrs {
		if a.Name.Space != "" {
			return false
		}
		if _, dup := v[a.Name.Local]; dup {
			return false
		}
		ok := false
		for _, k := range known {
			ok = ok || k == a.Name.Local
		}
		if !ok {
			return false
		}
		v[a.Name.Local] = a.Value
	}
	d := &e.Detail
	switch name.Local {
	case "contact":
		if d.Contact != nil {
			return false
		}
		d.Contact = &Contact{Callsign: v["callsign"], Endpoint: v["endpoint"]}
	case "__group":
		if d.Group != nil {
			return false
		}
		d.Group = &Group{Name: v["name"], Role: v["role"]}
	case "precisionlocation":
		if d.PrecisionLocation != nil {
			return false
		}
		d.PrecisionLocation = &PrecisionLocation{GeoPointSrc: v["geopointsrc"], AltSrc: v["altsrc"]}
	case "takv":
		if d.Takv != nil {
			return false
		}
		d.Takv = &Takv{Device: v["device"], Platform: v["platform"], OS: v["os"], Version: v["version"]}
	case "status":
		s, ok := v["battery"]
		if d.Status != nil || !ok {
			return false
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return false
		}
		d.Status = &Status{Battery: uint32(n)}
	case "track":
		sp, ok1 := v["speed"]
		co, ok2 := v["course"]
		if d.Track != nil || !ok1 || !ok2 {
			return false
		}
		s, err1 := strconv.ParseFloat(sp, 64)
		c, err2 := strconv.ParseFloat(co, 64)
		if err1 != nil || err2 != nil || math.IsNaN(s) || math.IsInf(s, 0) || math.IsNaN(c) || math.IsInf(c, 0) {
			return false
		}
		d.Track = &Track{Speed: s, Course: c}
	}
	return true
}
