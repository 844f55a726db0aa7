package cot

// TAK protocol v1: the protobuf TakMessage (package
// atakmap.commoncommo.protobuf.v1) written and read by hand with protowire, so
// there are no generated types and no reflection. Field numbers:
//
//	TakMessage{takControl=1 cotEvent=2}
//	TakControl{minProtoVersion=1 maxProtoVersion=2 contactUid=3}
//	CotEvent{type=1 access=2 qos=3 opex=4 uid=5 sendTime=6 startTime=7 staleTime=8
//	         how=9 lat=10 lon=11 hae=12 ce=13 le=14 detail=15}
//	Detail{xmlDetail=1 contact=2 group=3 precisionLocation=4 status=5 takv=6 track=7}
//	Contact{endpoint=1 callsign=2} Group{name=1 role=2}
//	PrecisionLocation{geopointsrc=1 altsrc=2} Status{battery=1}
//	Takv{device=1 platform=2 os=3 version=4} Track{speed=1 course=2}

import (
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Times TAK v1 can carry for us: year 0 to 9999 (what XML can write), as ms.
var (
	minMillis = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	maxMillis = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
)

// protoMsg walks the fields of one protobuf message.
type protoMsg struct {
	b   []byte
	err error
}

// next returns the next field. Varint and fixed64 values come in v, length
// delimited ones in s.
func (m *protoMsg) next() (num protowire.Number, typ protowire.Type, v uint64, s []byte, ok bool) {
	if len(m.b) == 0 || m.err != nil {
		return 0, 0, 0, nil, false
	}
	num, typ, n := protowire.ConsumeTag(m.b)
	if n < 0 {
		m.err = errMalformed("protobuf: bad tag")
		return 0, 0, 0, nil, false
	}
	m.b = m.b[n:]
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(m.b)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(m.b)
	case protowire.BytesType:
		s, n = protowire.ConsumeBytes(m.b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, m.b)
	}
	if n < 0 {
		m.err = errMalformed("protobuf: truncated or bad field")
		return 0, 0, 0, nil, false
	}
	m.b = m.b[n:]
	return num, typ, v, s, true
}

// str returns a string field, refusing what XML could not carry (invalid
// UTF-8, control characters), so every decoded event can be written as XML.
func (m *protoMsg) str(s []byte) string {
	if !checkChars(s) {
		if m.err == nil {
			m.err = errMalformed("protobuf: string is not valid UTF-8 XML text")
		}
		return ""
	}
	return intern(s)
}

// DecodeProto decodes a TakMessage payload (without the 0xbf stream header).
// Either result may be nil: a message may carry a TakControl, a CotEvent or
// both; with neither it is an error. The event is checked like DecodeXML checks
// one: uid, type, the three times (zero means absent) and lat/lon are required,
// xmlDetail must be well-formed elements within the depth limit (text between
// them is dropped), and elements in it that qualify for a typed field whose
// submessage is absent are moved there, so an event reads the same from XML and
// from v1. Unknown fields are skipped. A field repeated on the wire replaces the
// earlier one (no merging of messages).
func DecodeProto(b []byte) (*Event, *Control, error) {
	if len(b) > MaxEventSize {
		return nil, nil, errTooLarge
	}
	var (
		ev  *Event
		ctl *Control
		err error
	)
	m := protoMsg{b: b}
	for {
		num, typ, _, s, ok := m.next()
		if !ok {
			break
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			ctl, err = decodeControl(s)
		case 2:
			ev, err = decodeCotEvent(s)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if m.err != nil {
		return nil, nil, m.err
	}
	if ev == nil && ctl == nil {
		return nil, nil, errf("missing_field", "TakMessage with neither takControl nor cotEvent")
	}
	return ev, ctl, nil
}

func decodeControl(b []byte) (*Control, error) {
	c := new(Control)
	m := protoMsg{b: b}
	for {
		num, typ, v, s, ok := m.next()
		if !ok {
			break
		}
		switch {
		case num == 1 && typ == protowire.VarintType:
			c.MinProtoVersion = uint32(v)
		case num == 2 && typ == protowire.VarintType:
			c.MaxProtoVersion = uint32(v)
		case num == 3 && typ == protowire.BytesType:
			c.ContactUID = m.str(s)
		}
	}
	return c, m.err
}

func decodeCotEvent(b []byte) (*Event, error) {
	blk := new(eventBlock)
	e := &blk.ev
	e.Version = "2.0"
	var ms [3]uint64
	var detail []byte
	m := protoMsg{b: b}
	for {
		num, typ, v, s, ok := m.next()
		if !ok {
			break
		}
		switch typ {
		case protowire.BytesType:
			switch num {
			case 1:
				e.Type = m.str(s)
			case 2:
				e.Access = m.str(s)
			case 3:
				e.QoS = m.str(s)
			case 4:
				e.Opex = m.str(s)
			case 5:
				e.UID = m.str(s)
			case 9:
				e.How = m.str(s)
			case 15:
				detail = s
			}
		case protowire.VarintType:
			if num >= 6 && num <= 8 {
				ms[num-6] = v
			}
		case protowire.Fixed64Type:
			f := math.Float64frombits(v)
			switch num {
			case 10:
				e.Point.Lat = f
			case 11:
				e.Point.Lon = f
			case 12:
				e.Point.HAE = f
			case 13:
				e.Point.CE = f
			case 14:
				e.Point.LE = f
			}
		}
	}
	if m.err != nil {
		return nil, m.err
	}
	if e.UID == "" {
		return nil, errf("missing_field", "cotEvent without uid")
	}
	if e.Type == "" {
		return nil, errf("missing_field", "cotEvent without type")
	}
	for k, dst := range [3]*time.Time{&e.Time, &e.Start, &e.Stale} {
		v := int64(ms[k])
		if v == 0 {
			return nil, errf("missing_field", "cotEvent without "+[3]string{"sendTime", "startTime", "staleTime"}[k])
		}
		if v < minMillis || v > maxMillis {
			return nil, errf("bad_time", "time outside years 0-9999")
		}
		*dst = time.UnixMilli(v).UTC()
	}
	if err := e.Point.check(); err != nil {
		return nil, err
	}
	if detail != nil {
		if err := blk.decodeDetail(detail); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (blk *eventBlock) decodeDetail(b []byte) error {
	d := &blk.ev.Detail
	var xmlDetail []byte
	m := protoMsg{b: b}
	for {
		num, typ, _, s, ok := m.next()
		if !ok {
			break
		}
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case 1:
			xmlDetail = s
		case 2:
			blk.contact = Contact{}
			d.Contact = &blk.contact
			m.pairs(s, &blk.contact.Endpoint, &blk.contact.Callsign)
		case 3:
			blk.group = Group{}
			d.Group = &blk.group
			m.pairs(s, &blk.group.Name, &blk.group.Role)
		case 4:
			blk.pl = PrecisionLocation{}
			d.PrecisionLocation = &blk.pl
			m.pairs(s, &blk.pl.GeoPointSrc, &blk.pl.AltSrc)
		case 5:
			blk.status = Status{}
			d.Status = &blk.status
			sm := protoMsg{b: s}
			for {
				num, typ, v, _, ok := sm.next()
				if !ok {
					break
				}
				if num == 1 && typ == protowire.VarintType {
					blk.status.Battery = uint32(v)
				}
			}
			if sm.err != nil && m.err == nil {
				m.err = sm.err
			}
		case 6:
			blk.takv = Takv{}
			d.Takv = &blk.takv
			m.pairs(s, &blk.takv.Device, &blk.takv.Platform, &blk.takv.OS, &blk.takv.Version)
		case 7:
			blk.track = Track{}
			d.Track = &blk.track
			sm := protoMsg{b: s}
			for {
				num, typ, v, _, ok := sm.next()
				if !ok {
					break
				}
				if typ == protowire.Fixed64Type && (num == 1 || num == 2) {
					f := math.Float64frombits(v)
					if math.IsNaN(f) || math.IsInf(f, 0) {
						if m.err == nil {
							m.err = errf("malformed", "track speed or course is not finite")
						}
					}
					if num == 1 {
						blk.track.Speed = f
					} else {
						blk.track.Course = f
					}
				}
			}
			if sm.err != nil && m.err == nil {
				m.err = sm.err
			}
		}
	}
	if m.err != nil {
		return m.err
	}
	if len(xmlDetail) == 0 {
		return nil
	}
	if len(xmlDetail) > MaxEventSize {
		return errTooLarge
	}
	if !checkChars(xmlDetail) {
		return errMalformed("xmlDetail: invalid UTF-8 or a character XML does not allow")
	}
	return blk.detailChildren(xmlDetail)
}

// pairs reads a message whose fields 1..len(dst) are strings.
func (m *protoMsg) pairs(b []byte, dst ...*string) {
	sm := protoMsg{b: b}
	for {
		num, typ, _, s, ok := sm.next()
		if !ok {
			break
		}
		if typ == protowire.BytesType && num >= 1 && int(num) <= len(dst) {
			*dst[num-1] = sm.str(s)
		}
	}
	if sm.err != nil && m.err == nil {
		m.err = sm.err
	}
}

// detailChildren reads x, the content of a <detail> (checked characters), into
// typed fields and Detail.XML, as DecodeXML does.
func (blk *eventBlock) detailChildren(x []byte) error {
	var (
		rangesBuf [16][2]int
		ranges    = rangesBuf[:0]
		n         int
	)
	for i := 0; ; {
		j := scanText(x, i)
		if j < 0 {
			return errMalformed("xmlDetail: bad character reference")
		}
		if j >= len(x) {
			break
		}
		i = j
		if j+1 >= len(x) {
			return errMalformed("xmlDetail: stray '<'")
		}
		switch x[i+1] {
		case '/':
			return errMalformed("xmlDetail: end tag without start tag")
		case '!', '?':
			k := skipMarkup(x, i, true)
			if k < 0 {
				return errMalformed("xmlDetail: bad comment, CDATA or processing instruction")
			}
			i = k
			continue
		}
		end, raw, err := blk.detailChild(x, i)
		if err != nil {
			return err
		}
		if raw {
			ranges = append(ranges, [2]int{i, end})
			n += end - i
		}
		i = end
	}
	if n > 0 {
		out := make([]byte, 0, n)
		for _, r := range ranges {
			out = append(out, x[r[0]:r[1]]...)
		}
		blk.ev.Detail.XML = out
	}
	return nil
}

// AppendProto appends the event as a TakMessage{cotEvent} payload.
func (e *Event) AppendProto(dst []byte) []byte {
	n := e.cotEventSize()
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(n))
	return e.appendCotEvent(dst)
}

// AppendFrame appends a TAK protocol v1 stream frame: 0xbf, the payload length
// as a varint, the payload.
func AppendFrame(dst, payload []byte) []byte {
	dst = append(dst, 0xbf)
	dst = protowire.AppendVarint(dst, uint64(len(payload)))
	return append(dst, payload...)
}

// AppendFramed appends the event as a complete v1 stream frame, writing the
// payload in place (its size is computed first).
func (e *Event) AppendFramed(dst []byte) []byte {
	n := e.cotEventSize()
	payload := protowire.SizeTag(2) + protowire.SizeBytes(n)
	dst = append(dst, 0xbf)
	dst = protowire.AppendVarint(dst, uint64(payload))
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(n))
	return e.appendCotEvent(dst)
}

func sizeStr(s string) int {
	if s == "" {
		return 0
	}
	return 1 + protowire.SizeBytes(len(s))
}

func sizeMillis(t time.Time) int {
	v := uint64(t.UnixMilli())
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

// Like protobuf-go, a proto3 double is left out only when its bits are zero
// (so -0 is written).
func sizeDouble(f float64) int {
	if math.Float64bits(f) == 0 {
		return 0
	}
	return 9 // tag (fields 10-15 fit one byte) + 8
}

func (e *Event) cotEventSize() int {
	n := sizeStr(e.Type) + sizeStr(e.Access) + sizeStr(e.QoS) + sizeStr(e.Opex) + sizeStr(e.UID) +
		sizeMillis(e.Time) + sizeMillis(e.Start) + sizeMillis(e.Stale) + sizeStr(e.How) +
		sizeDouble(e.Point.Lat) + sizeDouble(e.Point.Lon) + sizeDouble(e.Point.HAE) +
		sizeDouble(e.Point.CE) + sizeDouble(e.Point.LE)
	if d := e.Detail.size(); d > 0 {
		n += 1 + protowire.SizeBytes(d)
	}
	return n
}

func appendStr(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

func appendMillis(dst []byte, num protowire.Number, t time.Time) []byte {
	v := uint64(t.UnixMilli())
	if v == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.VarintType)
	return protowire.AppendVarint(dst, v)
}

func appendDouble(dst []byte, num protowire.Number, f float64) []byte {
	if math.Float64bits(f) == 0 {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(dst, math.Float64bits(f))
}

func (e *Event) appendCotEvent(dst []byte) []byte {
	dst = appendStr(dst, 1, e.Type)
	dst = appendStr(dst, 2, e.Access)
	dst = appendStr(dst, 3, e.QoS)
	dst = appendStr(dst, 4, e.Opex)
	dst = appendStr(dst, 5, e.UID)
	dst = appendMillis(dst, 6, e.Time)
	dst = appendMillis(dst, 7, e.Start)
	dst = appendMillis(dst, 8, e.Stale)
	dst = appendStr(dst, 9, e.How)
	dst = appendDouble(dst, 10, e.Point.Lat)
	dst = appendDouble(dst, 11, e.Point.Lon)
	dst = appendDouble(dst, 12, e.Point.HAE)
	dst = appendDouble(dst, 13, e.Point.CE)
	dst = appendDouble(dst, 14, e.Point.LE)
	if d := e.Detail.size(); d > 0 {
		dst = protowire.AppendTag(dst, 15, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(d))
		dst = e.Detail.appendProto(dst)
	}
	return dst
}

func sizeSub(n int) int { return 1 + protowire.SizeBytes(n) }

func (d *Detail) sizes() (contact, group, pl, status, takv, track int) {
	if c := d.Contact; c != nil {
		contact = sizeStr(c.Endpoint) + sizeStr(c.Callsign)
	}
	if g := d.Group; g != nil {
		group = sizeStr(g.Name) + sizeStr(g.Role)
	}
	if p := d.PrecisionLocation; p != nil {
		pl = sizeStr(p.GeoPointSrc) + sizeStr(p.AltSrc)
	}
	if s := d.Status; s != nil && s.Battery != 0 {
		status = 1 + protowire.SizeVarint(uint64(s.Battery))
	}
	if t := d.Takv; t != nil {
		takv = sizeStr(t.Device) + sizeStr(t.Platform) + sizeStr(t.OS) + sizeStr(t.Version)
	}
	if t := d.Track; t != nil {
		track = sizeDouble(t.Speed) + sizeDouble(t.Course)
	}
	return
}

func (d *Detail) size() int {
	c, g, p, s, k, t := d.sizes()
	n := 0
	if len(d.XML) > 0 {
		n += 1 + protowire.SizeBytes(len(d.XML))
	}
	if d.Contact != nil {
		n += sizeSub(c)
	}
	if d.Group != nil {
		n += sizeSub(g)
	}
	if d.PrecisionLocation != nil {
		n += sizeSub(p)
	}
	if d.Status != nil {
		n += sizeSub(s)
	}
	if d.Takv != nil {
		n += sizeSub(k)
	}
	if d.Track != nil {
		n += sizeSub(t)
	}
	return n
}

func appendSub(dst []byte, num protowire.Number, n int) []byte {
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendVarint(dst, uint64(n))
}

func (d *Detail) appendProto(dst []byte) []byte {
	c, g, p, s, k, t := d.sizes()
	if len(d.XML) > 0 {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendBytes(dst, d.XML)
	}
	if x := d.Contact; x != nil {
		dst = appendSub(dst, 2, c)
		dst = appendStr(dst, 1, x.Endpoint)
		dst = appendStr(dst, 2, x.Callsign)
	}
	if x := d.Group; x != nil {
		dst = appendSub(dst, 3, g)
		dst = appendStr(dst, 1, x.Name)
		dst = appendStr(dst, 2, x.Role)
	}
	if x := d.PrecisionLocation; x != nil {
		dst = appendSub(dst, 4, p)
		dst = appendStr(dst, 1, x.GeoPointSrc)
		dst = appendStr(dst, 2, x.AltSrc)
	}
	if x := d.Status; x != nil {
		dst = appendSub(dst, 5, s)
		if x.Battery != 0 {
			dst = protowire.AppendTag(dst, 1, protowire.VarintType)
			dst = protowire.AppendVarint(dst, uint64(x.Battery))
		}
	}
	if x := d.Takv; x != nil {
		dst = appendSub(dst, 6, k)
		dst = appendStr(dst, 1, x.Device)
		dst = appendStr(dst, 2, x.Platform)
		dst = appendStr(dst, 3, x.OS)
		dst = appendStr(dst, 4, x.Version)
	}
	if x := d.Track; x != nil {
		dst = appendSub(dst, 7, t)
		dst = appendDouble(dst, 1, x.Speed)
		dst = appendDouble(dst, 2, x.Course)
	}
	return dst
}
