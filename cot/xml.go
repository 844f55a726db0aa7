package cot

import (
	"math"
	"strconv"
	"time"
)

// eventBlock lets a decoder allocate an event and its typed details at once.
type eventBlock struct {
	ev      Event
	contact Contact
	group   Group
	pl      PrecisionLocation
	status  Status
	takv    Takv
	track   Track
	// xml holds a short Detail.XML (like a lone <uid Droid="…"/>), saving an
	// allocation; it fills the block to the 512-byte size class.
	xml [32]byte
}

// DecodeXML decodes one CoT event: b holds a single <event> element, possibly
// preceded by an XML declaration (whose encoding is ignored: the bytes are read
// as UTF-8), comments and white space, and followed by white space.
//
// Required are uid, type, time, start, stale and <point> with a finite lat in
// ±90 and lon in ±180. A missing hae, ce or le, or one at or above
// UnknownThreshold, becomes Unknown. Times are truncated to the millisecond.
// Children of <event> other than <point> and <detail> are checked and dropped,
// as are text, comments and processing instructions directly inside <detail>.
// Repeated attributes or <point> elements: the last one counts; several <detail>
// elements are read as one.
//
// The children of <detail> named contact, __group, precisionlocation, status,
// takv and track go to their typed fields when they are empty (<x …/> or
// <x …></x>), carry only the attributes TAK v1 knows, each once (status needs
// a uint32 battery, track a finite speed and course), and no earlier one took
// the field. Every other child is appended to Detail.XML byte for byte.
//
// Limits: len(b) ≤ MaxEventSize ("too_large"), nesting ≤ MaxDepth levels
// counting <event> as 1 ("too_deep"). The input must be well-formed XML 1.0 in
// UTF-8 without a DTD. Strings are shared with earlier events where possible
// (see intern); nothing returned points into b.
func DecodeXML(b []byte) (*Event, error) {
	if len(b) > MaxEventSize {
		return nil, errTooLarge
	}
	if !checkChars(b) {
		return nil, errMalformed("invalid UTF-8 or a character XML does not allow")
	}
	i := skipMisc(b, 0)
	if i+6 > len(b) || b[i] != '<' || string(b[i+1:scanName(b, i+1)]) != "event" {
		return nil, errMalformed("no <event> element")
	}
	blk := new(eventBlock)
	e := &blk.ev
	var (
		times    [3][]byte // time, start, stale
		timesEsc [3]bool   // holding a reference or \r (attrScan.esc)
	)
	a := attrScan{b: b, i: i + 6}
	for {
		name, val, ok := a.next()
		if !ok {
			break
		}
		switch string(name) {
		case "version":
			e.Version = a.value(val)
		case "uid":
			e.UID = a.value(val)
		case "type":
			e.Type = a.value(val)
		case "how":
			e.How = a.value(val)
		case "time":
			times[0], timesEsc[0] = val, a.esc
		case "start":
			times[1], timesEsc[1] = val, a.esc
		case "stale":
			times[2], timesEsc[2] = val, a.esc
		case "access":
			e.Access = a.value(val)
		case "qos":
			e.QoS = a.value(val)
		case "opex":
			e.Opex = a.value(val)
		}
	}
	if a.bad {
		return nil, errMalformed("bad <event> start tag")
	}
	var (
		havePoint bool
		rangesBuf [16][2]int
		ranges    = rangesBuf[:0] // Detail.XML pieces
		xmlLen    int
	)
	i = a.i
	if a.self {
		goto done
	}
	for {
		j := scanText(b, i)
		if j < 0 {
			return nil, errMalformed("bad character reference")
		}
		if j+1 >= len(b) {
			return nil, errMalformed("unclosed <event>")
		}
		i = j
		switch b[i+1] {
		case '/':
			ne := scanName(b, i+2)
			k := skipSpace(b, ne)
			if k >= len(b) || b[k] != '>' || string(b[i+2:ne]) != "event" {
				return nil, errMalformed("end tag does not match <event>")
			}
			i = k + 1
			goto done
		case '!', '?':
			k := skipMarkup(b, i, true)
			if k < 0 {
				return nil, errMalformed("bad comment, CDATA or processing instruction")
			}
			i = k
			continue
		}
		ne := scanName(b, i+1)
		switch string(b[i+1 : ne]) {
		case "point":
			pa := attrScan{b: b, i: ne}
			if err := e.Point.parse(&pa); err != nil {
				return nil, err
			}
			havePoint = true
			name := b[i+1 : ne]
			i = pa.i
			if !pa.self {
				end, err := scanContent(b, i, name, 2)
				if err != nil {
					return nil, err
				}
				i = end
			}
		case "detail":
			se, self, ok := skipAttrs(b, ne)
			if !ok {
				return nil, errMalformed("bad <detail> start tag")
			}
			i = se
			if self {
				continue
			}
			for {
				j := scanText(b, i)
				if j < 0 {
					return nil, errMalformed("bad character reference")
				}
				if j+1 >= len(b) {
					return nil, errMalformed("unclosed <detail>")
				}
				i = j
				if b[i+1] == '/' {
					ne := scanName(b, i+2)
					k := skipSpace(b, ne)
					if k >= len(b) || b[k] != '>' || string(b[i+2:ne]) != "detail" {
						return nil, errMalformed("end tag does not match <detail>")
					}
					i = k + 1
					break
				}
				if b[i+1] == '!' || b[i+1] == '?' {
					k := skipMarkup(b, i, true)
					if k < 0 {
						return nil, errMalformed("bad comment, CDATA or processing instruction")
					}
					i = k
					continue
				}
				end, raw, err := blk.detailChild(b, i)
				if err != nil {
					return nil, err
				}
				if raw {
					ranges = append(ranges, [2]int{i, end})
					xmlLen += end - i
				}
				i = end
			}
		default:
			_, end, err := scanElement(b, i, 2)
			if err != nil {
				return nil, err
			}
			i = end
		}
	}
done:
	if i = skipMisc(b, i); i != len(b) {
		return nil, errMalformed("data after </event>")
	}
	if xmlLen > 0 {
		var x []byte
		if xmlLen <= len(blk.xml) {
			x = blk.xml[:0:xmlLen]
		} else {
			x = make([]byte, 0, xmlLen)
		}
		for _, r := range ranges {
			x = append(x, b[r[0]:r[1]]...)
		}
		e.Detail.XML = x
	}
	if e.Version == "" {
		e.Version = "2.0"
	}
	if e.UID == "" {
		return nil, errf("missing_field", "event without uid")
	}
	if e.Type == "" {
		return nil, errf("missing_field", "event without type")
	}
	dsts := [3]*time.Time{&e.Time, &e.Start, &e.Stale}
	for k, dst := range dsts {
		if times[k] == nil {
			return nil, errf("missing_field", "event without "+[3]string{"time", "start", "stale"}[k])
		}
		if k > 0 && string(times[k]) == string(times[k-1]) { // start is usually time
			*dst = *dsts[k-1]
			continue
		}
		v := times[k]
		if timesEsc[k] {
			v = appendUnescaped(nil, v)
		}
		t, err := parseTime(v)
		if err != nil {
			return nil, errf("bad_time", strconv.Quote(string(times[k]))+": "+err.Error())
		}
		*dst = t
	}
	if !havePoint {
		return nil, errf("missing_field", "event without <point>")
	}
	if err := e.Point.check(); err != nil {
		return nil, err
	}
	return e, nil
}

// parse reads the attributes of <point> from a (started after the name). The
// range checks come later (check), after the rest of the event was read.
func (p *Point) parse(a *attrScan) error {
	var have [5]bool
	vals := [5]*float64{&p.Lat, &p.Lon, &p.HAE, &p.CE, &p.LE}
	*p = Point{HAE: Unknown, CE: Unknown, LE: Unknown}
	for {
		name, val, ok := a.next()
		if !ok {
			break
		}
		k := -1
		switch string(name) {
		case "lat":
			k = 0
		case "lon":
			k = 1
		case "hae":
			k = 2
		case "ce":
			k = 3
		case "le":
			k = 4
		default:
			continue
		}
		have[k] = true
		if k >= 2 && len(val) == 0 {
			*vals[k] = Unknown
			continue
		}
		v, err := parseFloat(val)
		if err != nil || math.IsNaN(v) {
			return errf("bad_point", "<point "+string(name)+"="+strconv.Quote(string(val))+">: not a number")
		}
		*vals[k] = v
	}
	if a.bad {
		return errMalformed("bad <point> start tag")
	}
	if !have[0] || !have[1] {
		return errf("missing_field", "<point> without lat or lon")
	}
	return nil
}

// check validates lat and lon and maps large heights and errors to Unknown.
func (p *Point) check() error {
	if !(p.Lat >= -90 && p.Lat <= 90) || !(p.Lon >= -180 && p.Lon <= 180) {
		return errf("bad_point", "lat/lon "+strconv.FormatFloat(p.Lat, 'g', -1, 64)+","+strconv.FormatFloat(p.Lon, 'g', -1, 64)+" out of range")
	}
	for _, v := range [3]*float64{&p.HAE, &p.CE, &p.LE} {
		if math.IsNaN(*v) || math.IsInf(*v, -1) {
			return errf("bad_point", "hae, ce or le is not a number")
		}
		if *v >= UnknownThreshold {
			*v = Unknown
		}
	}
	return nil
}

func parseFloat(v []byte) (float64, error) {
	if f, ok := parseSimpleFloat(v); ok {
		return f, nil
	}
	if needsUnescape(v) {
		var buf [64]byte
		v = appendUnescaped(buf[:0], v)
	}
	return strconv.ParseFloat(string(v), 64)
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseSimpleFloat reads the common [-]digits[.digits] form when the result is
// exact: at most 15 significant digits and 22 decimals, so both the integer
// mantissa and the power of ten are exact doubles and one division rounds
// correctly (the fast path strconv takes too, without its generality).
// Anything else reports false and goes to strconv.
func parseSimpleFloat(v []byte) (float64, bool) {
	i := 0
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		i = 1
	}
	start := i
	for i < len(v) && v[i] == '0' { // leading zeros are not significant
		i++
	}
	sig := i
	var m uint64
	for i < len(v) && v[i]-'0' <= 9 {
		m = m*10 + uint64(v[i]-'0')
		i++
	}
	digits := i - sig
	frac := 0
	if i < len(v) && v[i] == '.' {
		if i == start || i+1 == len(v) {
			return 0, false // ".5" and "5." are for strconv to judge
		}
		i++
		fs := i
		if m == 0 { // nor are zeros after the point before the first other digit
			for i < len(v) && v[i] == '0' {
				i++
			}
		}
		sig = i
		for i < len(v) && v[i]-'0' <= 9 {
			m = m*10 + uint64(v[i]-'0')
			i++
		}
		frac = i - fs
		digits += i - sig
	}
	if i != len(v) || i == start || digits > 15 || frac > 22 {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// detailChild reads the child of <detail> whose start tag begins at b[i] and
// returns the position past it and whether it goes to Detail.XML (raw) rather
// than into a typed field.
func (blk *eventBlock) detailChild(b []byte, i int) (end int, raw bool, err error) {
	if end, ok := blk.typed(b, i); ok {
		return end, false, nil
	}
	_, end, err = scanElement(b, i, 3)
	return end, true, err
}

// typed moves the contact, __group, precisionlocation, status, takv or track
// element at b[i] into its typed field when it is empty, carries only the
// attributes TAK v1 knows, and the field is not yet set. Otherwise it reports
// false and the caller checks and keeps the element as raw XML.
func (blk *eventBlock) typed(b []byte, i int) (int, bool) {
	ne := scanName(b, i+1)
	d := &blk.ev.Detail
	name := b[i+1 : ne]
	const (
		kContact = iota
		kGroup
		kPL
		kStatus
		kTakv
		kTrack
	)
	var kind int
	switch string(name) {
	case "contact":
		kind = kContact
		if d.Contact != nil {
			return 0, false
		}
	case "__group":
		kind = kGroup
		if d.Group != nil {
			return 0, false
		}
	case "precisionlocation":
		kind = kPL
		if d.PrecisionLocation != nil {
			return 0, false
		}
	case "status":
		kind = kStatus
		if d.Status != nil {
			return 0, false
		}
	case "takv":
		kind = kTakv
		if d.Takv != nil {
			return 0, false
		}
	case "track":
		kind = kTrack
		if d.Track != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	var (
		vals [4][]byte
		esc  [4]bool
		seen uint
	)
	a := attrScan{b: b, i: ne}
	for {
		an, val, ok := a.next()
		if !ok {
			break
		}
		k := -1
		switch kind {
		case kContact:
			switch string(an) {
			case "callsign":
				k = 0
			case "endpoint":
				k = 1
			}
		case kGroup:
			switch string(an) {
			case "name":
				k = 0
			case "role":
				k = 1
			}
		case kPL:
			switch string(an) {
			case "geopointsrc":
				k = 0
			case "altsrc":
				k = 1
			}
		case kStatus:
			if string(an) == "battery" {
				k = 0
			}
		case kTakv:
			switch string(an) {
			case "device":
				k = 0
			case "platform":
				k = 1
			case "os":
				k = 2
			case "version":
				k = 3
			}
		case kTrack:
			switch string(an) {
			case "speed":
				k = 0
			case "course":
				k = 1
			}
		}
		if k < 0 || seen&(1<<k) != 0 {
			return 0, false // unknown or repeated attribute
		}
		seen |= 1 << k
		vals[k], esc[k] = val, a.esc
	}
	if a.bad {
		return 0, false
	}
	end := a.i
	if !a.self { // only <x …></x> is empty
		if end+1 >= len(b) || b[end] != '<' || b[end+1] != '/' {
			return 0, false
		}
		e2 := scanName(b, end+2)
		k := skipSpace(b, e2)
		if string(b[end+2:e2]) != string(name) || k >= len(b) || b[k] != '>' {
			return 0, false
		}
		end = k + 1
	}
	str := func(k int) string {
		if esc[k] {
			return attrString(vals[k])
		}
		return intern(vals[k])
	}
	switch kind {
	case kContact:
		blk.contact = Contact{Callsign: str(0), Endpoint: str(1)}
		d.Contact = &blk.contact
	case kGroup:
		blk.group = Group{Name: str(0), Role: str(1)}
		d.Group = &blk.group
	case kPL:
		blk.pl = PrecisionLocation{GeoPointSrc: str(0), AltSrc: str(1)}
		d.PrecisionLocation = &blk.pl
	case kTakv:
		blk.takv = Takv{Device: str(0), Platform: str(1), OS: str(2), Version: str(3)}
		d.Takv = &blk.takv
	case kStatus:
		if seen != 1 {
			return 0, false
		}
		v := vals[0]
		if esc[0] {
			v = appendUnescaped(nil, v)
		}
		n, err := strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			return 0, false
		}
		blk.status.Battery = uint32(n)
		d.Status = &blk.status
	case kTrack:
		if seen != 3 {
			return 0, false
		}
		sp, err1 := parseFloat(vals[0])
		co, err2 := parseFloat(vals[1])
		if err1 != nil || err2 != nil || math.IsNaN(sp) || math.IsInf(sp, 0) || math.IsNaN(co) || math.IsInf(co, 0) {
			return 0, false
		}
		blk.track = Track{Speed: sp, Course: co}
		d.Track = &blk.track
	}
	return end, true
}

// AppendXML appends the event as an XML document: the declaration
// <?xml version="1.0" encoding="UTF-8" standalone="yes"?> directly followed by the
// <event>, with no line breaks. Times are UTC milliseconds, unknown heights and
// errors 9999999.0, typed details come first in <detail>, then Detail.XML as is.
func (e *Event) AppendXML(dst []byte) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><event version="`...)
	if e.Version == "" {
		dst = append(dst, "2.0"...)
	} else {
		dst = AppendEscaped(dst, e.Version)
	}
	dst = append(dst, `" uid="`...)
	dst = AppendEscaped(dst, e.UID)
	dst = append(dst, `" type="`...)
	dst = AppendEscaped(dst, e.Type)
	if e.How != "" {
		dst = append(dst, `" how="`...)
		dst = AppendEscaped(dst, e.How)
	}
	dst = append(dst, `" time="`...)
	ts := len(dst)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `" start="`...)
	if e.Start.Equal(e.Time) { // the usual case: copy what we just wrote
		dst = append(dst, dst[ts:len(dst)-len(`" start="`)]...)
	} else {
		dst = appendTime(dst, e.Start)
	}
	dst = append(dst, `" stale="`...)
	dst = appendTime(dst, e.Stale)
	dst = appendAttr(dst, "access", e.Access)
	dst = appendAttr(dst, "qos", e.QoS)
	dst = appendAttr(dst, "opex", e.Opex)
	dst = append(dst, `"><point lat="`...)
	dst = appendFloat(dst, e.Point.Lat)
	dst = append(dst, `" lon="`...)
	dst = appendFloat(dst, e.Point.Lon)
	dst = append(dst, `" hae="`...)
	dst = appendMeasure(dst, e.Point.HAE)
	dst = append(dst, `" ce="`...)
	dst = appendMeasure(dst, e.Point.CE)
	dst = append(dst, `" le="`...)
	dst = appendMeasure(dst, e.Point.LE)
	dst = append(dst, `"/><detail>`...)
	dst = e.Detail.appendTyped(dst)
	dst = append(dst, e.Detail.XML...)
	return append(dst, "</detail></event>"...)
}

func appendAttr(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, `" `...)
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	return AppendEscaped(dst, v)
}

func appendMeasure(dst []byte, v float64) []byte {
	if v >= UnknownThreshold {
		return append(dst, "9999999.0"...)
	}
	return appendFloat(dst, v)
}

// appendFloat writes v as strconv.AppendFloat(dst, v, 'f', -1, 64) does, with a
// fast path for what positions are made of: at most 15 significant digits and
// 15 decimals. It finds the fewest decimals d for which m/10^d, m = round(v·10^d),
// is exactly v again (the division of exact doubles rounds correctly, so a
// reader gets v back); that is the shortest form, and it is what strconv
// writes (FuzzAppendFloat compares them).
func appendFloat(dst []byte, v float64) []byte {
	a := math.Abs(v)
	if a != 0 && a < 1e15 && a >= 1e-6 {
		for d := 0; d <= 15; d++ {
			x := a * pow10[d]
			if x >= 1<<53 {
				break
			}
			m := math.Round(x)
			if m/pow10[d] != a {
				continue
			}
			if v < 0 {
				dst = append(dst, '-')
			}
			var buf [24]byte
			digits := strconv.AppendUint(buf[:0], uint64(m), 10)
			if d == 0 {
				return append(dst, digits...)
			}
			if len(digits) <= d { // 0.000ddd
				dst = append(dst, '0', '.')
				for k := len(digits); k < d; k++ {
					dst = append(dst, '0')
				}
				return append(dst, digits...)
			}
			dst = append(dst, digits[:len(digits)-d]...)
			dst = append(dst, '.')
			return append(dst, digits[len(digits)-d:]...)
		}
	}
	return strconv.AppendFloat(dst, v, 'f', -1, 64)
}

// appendOpt writes name="v" (with a leading space) when v is not empty.
func appendOpt(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, `="`...)
	dst = AppendEscaped(dst, v)
	return append(dst, '"')
}

// appendTyped writes the typed details as elements; empty attributes are left out.
func (d *Detail) appendTyped(dst []byte) []byte {
	if t := d.Takv; t != nil {
		dst = append(dst, "<takv"...)
		dst = appendOpt(dst, "device", t.Device)
		dst = appendOpt(dst, "platform", t.Platform)
		dst = appendOpt(dst, "os", t.OS)
		dst = appendOpt(dst, "version", t.Version)
		dst = append(dst, "/>"...)
	}
	if c := d.Contact; c != nil {
		dst = append(dst, "<contact"...)
		dst = appendOpt(dst, "callsign", c.Callsign)
		dst = appendOpt(dst, "endpoint", c.Endpoint)
		dst = append(dst, "/>"...)
	}
	if p := d.PrecisionLocation; p != nil {
		dst = append(dst, "<precisionlocation"...)
		dst = appendOpt(dst, "geopointsrc", p.GeoPointSrc)
		dst = appendOpt(dst, "altsrc", p.AltSrc)
		dst = append(dst, "/>"...)
	}
	if g := d.Group; g != nil {
		dst = append(dst, "<__group"...)
		dst = appendOpt(dst, "name", g.Name)
		dst = appendOpt(dst, "role", g.Role)
		dst = append(dst, "/>"...)
	}
	if s := d.Status; s != nil {
		dst = append(dst, `<status battery="`...)
		dst = strconv.AppendUint(dst, uint64(s.Battery), 10)
		dst = append(dst, `"/>`...)
	}
	if t := d.Track; t != nil {
		dst = append(dst, `<track speed="`...)
		dst = appendFloat(dst, t.Speed)
		dst = append(dst, `" course="`...)
		dst = appendFloat(dst, t.Course)
		dst = append(dst, `"/>`...)
	}
	return dst
}
