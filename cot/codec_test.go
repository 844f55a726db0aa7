package cot

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// ev builds a minimal event with the given point attributes and detail content.
func ev(attrs, point, detail string) string {
	if attrs == "" {
		attrs = `uid="U" type="a-f-G" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z"`
	}
	if point == "" {
		point = `lat="1" lon="2"`
	}
	return `<event version="2.0" ` + attrs + `><point ` + point + `/><detail>` + detail + `</detail></event>`
}

func nest(n int) string { return strings.Repeat("<a>", n) + strings.Repeat("</a>", n) }

func TestDecodeXMLBad(t *testing.T) {
	okTimes := `time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z"`
	cases := []struct{ name, in, reason string }{
		{"empty", ``, "malformed"},
		{"not xml", `hello`, "malformed"},
		{"other root", `<evento uid="U"/>`, "malformed"},
		{"unclosed event", strings.TrimSuffix(ev("", "", ""), "</event>"), "malformed"},
		{"mismatched", ev("", "", "<a><b></a></b>"), "malformed"},
		{"bad entity", ev("", "", "<a>&nbsp;</a>"), "malformed"},
		{"bare ampersand", ev("", "", "<a>fish & chips</a>"), "malformed"},
		{"lt in attribute", ev("", "", `<a x="<"/>`), "malformed"},
		{"unquoted attribute", ev("", "", `<a x=1/>`), "malformed"},
		{"attribute without value", ev("", "", `<a x/>`), "malformed"},
		{"nul character", ev("", "", "<a>\x00</a>"), "malformed"},
		{"nul reference", ev("", "", "<a>&#0;</a>"), "malformed"},
		{"invalid utf-8", ev("", "", "<a>\xff</a>"), "malformed"},
		{"doctype", `<!DOCTYPE event [<!ENTITY x "y">]>` + ev("", "", ""), "malformed"},
		{"text after event", ev("", "", "") + "junk", "malformed"},
		{"two events", ev("", "", "") + ev("", "", ""), "malformed"},
		{"bad comment", ev("", "", "<!-- a -- b -->"), "malformed"},
		{"unterminated cdata", ev("", "", "<a><![CDATA[x</a>"), "malformed"},
		{"too deep", ev("", "", nest(MaxDepth-1)), "too_deep"},
		{"too large", ev("", "", "<r>"+strings.Repeat("x", MaxEventSize)+"</r>"), "too_large"},
		{"lat 91", ev("", `lat="91" lon="0"`, ""), "bad_point"},
		{"lon -181", ev("", `lat="0" lon="-181"`, ""), "bad_point"},
		{"lat NaN", ev("", `lat="NaN" lon="0"`, ""), "bad_point"},
		{"lon Inf", ev("", `lat="0" lon="+Inf"`, ""), "bad_point"},
		{"lat text", ev("", `lat="north" lon="0"`, ""), "bad_point"},
		{"lat empty", ev("", `lat="" lon="0"`, ""), "bad_point"},
		{"hae NaN", ev("", `lat="0" lon="0" hae="NaN"`, ""), "bad_point"},
		{"ce -Inf", ev("", `lat="0" lon="0" ce="-Inf"`, ""), "bad_point"},
		{"no lat", ev("", `lon="0"`, ""), "missing_field"},
		{"no point", `<event uid="U" type="t" ` + okTimes + `><detail/></event>`, "missing_field"},
		{"self-closed event", `<event uid="U" type="t" ` + okTimes + `/>`, "missing_field"},
		{"no uid", ev(`type="a" `+okTimes, "", ""), "missing_field"},
		{"empty uid", ev(`uid="" type="a" `+okTimes, "", ""), "missing_field"},
		{"no type", ev(`uid="U" `+okTimes, "", ""), "missing_field"},
		{"no stale", ev(`uid="U" type="a" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z"`, "", ""), "missing_field"},
		{"date only", ev(`uid="U" type="a" time="2026-11-27" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"month 13", ev(`uid="U" type="a" time="2026-13-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"feb 30", ev(`uid="U" type="a" time="2026-02-30T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"hour 24", ev(`uid="U" type="a" time="2026-11-27T24:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"empty fraction", ev(`uid="U" type="a" time="2026-11-27T10:00:00.Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"unix seconds", ev(`uid="U" type="a" time="1795773600" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
		{"trailing junk in time", ev(`uid="U" type="a" time="2026-11-27T10:00:00Zulu" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"`, "", ""), "bad_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := DecodeXML([]byte(c.in))
			if err == nil {
				t.Fatalf("accepted: %s", dumpEvent(e))
			}
			if got := Reason(err); got != c.reason {
				t.Errorf("reason %q (%v), want %q", got, err, c.reason)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("not a *DecodeError: %T", err)
			}
		})
	}
}

func TestDecodeXMLLenient(t *testing.T) {
	cases := []struct {
		name, in string
		check    func(*Event) bool
	}{
		{"exactly max depth", ev("", "", nest(MaxDepth-2)), func(e *Event) bool { return len(e.Detail.XML) > 0 }},
		{"no prologue, BOM, comments, trailing space",
			"\xef\xbb\xbf<!-- hi --><?xml version='1.0' encoding='utf-16'?>\n" + ev("", "", "") + "\r\n",
			func(e *Event) bool { return e.UID == "U" }},
		{"single quotes and references", ev(`uid='a&amp;b&#x41;&#66;' type="a-f-G" time="2026-11-27T10:00:00+00:00" start="2026-11-27T12:00:00+02:00" stale="2026-11-27T10:05:00"`, "", ""),
			func(e *Event) bool { return e.UID == "a&bAB" && e.Start.Equal(e.Time) }},
		{"missing hae/ce/le and huge values", ev("", `lat="-90" lon="180" hae="1e300" ce="999999"`, ""),
			func(e *Event) bool { return e.Point.HAE == Unknown && e.Point.CE == Unknown && e.Point.LE == Unknown }},
		{"empty hae", ev("", `lat="1" lon="2" hae=""`, ""), func(e *Event) bool { return e.Point.HAE == Unknown }},
		{"text and comments between detail children dropped", ev("", "", " x <!--c--><a/> \n<?pi?><![CDATA[y]]><b>t</b>"),
			func(e *Event) bool { return string(e.Detail.XML) == "<a/><b>t</b>" }},
		{"other event children dropped", `<event uid="U" type="a" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z">text<x><y/></x><point lat="1" lon="2"></point><detail><a/></detail><detail><b/></detail></event>`,
			func(e *Event) bool { return string(e.Detail.XML) == "<a/><b/>" }},
		{"typed only when plain", ev("", "", `<contact callsign="A"></contact><contact callsign="B"/><status battery="-1"/><track speed="1"/><takv device="x"> </takv><__group name="Red" name="Blue"/>`),
			func(e *Event) bool {
				return e.Detail.Contact != nil && e.Detail.Contact.Callsign == "A" && e.Detail.Status == nil && e.Detail.Track == nil && e.Detail.Takv == nil && e.Detail.Group == nil &&
					string(e.Detail.XML) == `<contact callsign="B"/><status battery="-1"/><track speed="1"/><takv device="x"> </takv><__group name="Red" name="Blue"/>`
			}},
		{"attribute line ends normalised", ev(`uid="a`+"\r\n"+`b&#xD;" type="t" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z"`, "", ""),
			func(e *Event) bool { return e.UID == "a\nb\r" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := DecodeXML([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(e) {
				t.Errorf("unexpected: %s", dumpEvent(e))
			}
			r, err := refDecodeXML([]byte(c.in))
			if err == nil {
				if d := eventDiff(e, r); d != "" {
					t.Errorf("reference differs:\n%s", d)
				}
			}
			e2, err := DecodeXML(e.AppendXML(nil))
			if err != nil {
				t.Fatalf("round trip: %v\n%s", err, e.AppendXML(nil))
			}
			if d := eventDiff(e, e2); d != "" {
				t.Errorf("round trip:\n%s", d)
			}
		})
	}
}

// cotEventMsg builds a TakMessage{cotEvent} by hand with the given extra fields.
func cotEventMsg(fields func(b []byte) []byte) []byte {
	var e []byte
	e = protowire.AppendTag(e, 1, protowire.BytesType)
	e = protowire.AppendString(e, "a-f-G")
	e = protowire.AppendTag(e, 5, protowire.BytesType)
	e = protowire.AppendString(e, "U")
	for n := protowire.Number(6); n <= 8; n++ {
		e = protowire.AppendTag(e, n, protowire.VarintType)
		e = protowire.AppendVarint(e, 1795773600000)
	}
	e = fields(e)
	var m []byte
	m = protowire.AppendTag(m, 2, protowire.BytesType)
	return protowire.AppendBytes(m, e)
}

func detailMsg(xmlDetail string) func([]byte) []byte {
	return func(b []byte) []byte {
		var d []byte
		d = protowire.AppendTag(d, 1, protowire.BytesType)
		d = protowire.AppendString(d, xmlDetail)
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		return protowire.AppendBytes(b, d)
	}
}

func double(num protowire.Number, f float64) func([]byte) []byte {
	return func(b []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(f))
	}
}

func TestDecodeProto(t *testing.T) {
	none := func(b []byte) []byte { return b }
	good := cotEventMsg(none)
	if e, c, err := DecodeProto(good); err != nil || c != nil || e.UID != "U" || e.Point.HAE != 0 || e.Version != "2.0" {
		t.Fatalf("%v %v %s", err, c, dumpEvent(e))
	}
	// Unknown fields (varint, fixed32, bytes, group) anywhere are skipped.
	unknown := func(b []byte) []byte {
		b = protowire.AppendTag(b, 99, protowire.VarintType)
		b = protowire.AppendVarint(b, 7)
		b = protowire.AppendTag(b, 100, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, 7)
		b = protowire.AppendTag(b, 101, protowire.BytesType)
		b = protowire.AppendString(b, "future")
		b = protowire.AppendTag(b, 102, protowire.StartGroupType)
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
		b = protowire.AppendTag(b, 102, protowire.EndGroupType)
		b = protowire.AppendTag(b, 5, protowire.VarintType) // uid with the wrong wire type
		return protowire.AppendVarint(b, 1)
	}
	msg := append(cotEventMsg(unknown), protowire.AppendTag(nil, 3, protowire.VarintType)...)
	msg = protowire.AppendVarint(msg, 1)
	if e, _, err := DecodeProto(msg); err != nil || e.UID != "U" {
		t.Fatalf("unknown fields: %v", err)
	}
	// xmlDetail: typed elements move to their fields, whitespace goes.
	e, _, err := DecodeProto(cotEventMsg(detailMsg(` <contact callsign="X"/> <remarks>r</remarks>`)))
	if err != nil || e.Detail.Contact == nil || e.Detail.Contact.Callsign != "X" || string(e.Detail.XML) != "<remarks>r</remarks>" {
		t.Fatalf("xmlDetail: %v %s", err, dumpEvent(e))
	}
	// TakControl alone.
	var ctl []byte
	ctl = protowire.AppendTag(ctl, 1, protowire.VarintType)
	ctl = protowire.AppendVarint(ctl, 1)
	ctl = protowire.AppendTag(ctl, 2, protowire.VarintType)
	ctl = protowire.AppendVarint(ctl, 1)
	ctl = protowire.AppendTag(ctl, 3, protowire.BytesType)
	ctl = protowire.AppendString(ctl, "ANDROID-1")
	if e, c, err := DecodeProto(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), ctl)); err != nil || e != nil ||
		*c != (Control{1, 1, "ANDROID-1"}) {
		t.Fatalf("control: %v %v %v", e, c, err)
	}

	bad := []struct {
		name   string
		in     []byte
		reason string
	}{
		{"empty message", nil, "missing_field"},
		{"truncated", good[:len(good)-3], "malformed"},
		{"bad tag", []byte{0x00}, "malformed"},
		{"too large", make([]byte, MaxEventSize+1), "too_large"},
		{"lat 100", cotEventMsg(double(10, 100)), "bad_point"},
		{"lon NaN", cotEventMsg(double(11, math.NaN())), "bad_point"},
		{"hae NaN", cotEventMsg(double(12, math.NaN())), "bad_point"},
		{"xmlDetail text only is fine but a stray < is not", cotEventMsg(detailMsg("<")), "malformed"},
		{"xmlDetail unclosed", cotEventMsg(detailMsg("<a>")), "malformed"},
		{"xmlDetail end tag", cotEventMsg(detailMsg("</a>")), "malformed"},
		{"xmlDetail too deep", cotEventMsg(detailMsg(nest(MaxDepth))), "too_deep"},
		{"xmlDetail bad char", cotEventMsg(detailMsg("<a>\x01</a>")), "malformed"},
		{"uid not utf-8", cotEventMsg(func(b []byte) []byte {
			b = protowire.AppendTag(b, 5, protowire.BytesType)
			return protowire.AppendString(b, "\xff")
		}), "malformed"},
		{"no uid", cotEventMsg(func(b []byte) []byte {
			b = protowire.AppendTag(b, 5, protowire.BytesType)
			return protowire.AppendString(b, "")
		}), "missing_field"},
		{"no time", cotEventMsg(func(b []byte) []byte {
			b = protowire.AppendTag(b, 6, protowire.VarintType)
			return protowire.AppendVarint(b, 0)
		}), "missing_field"},
		{"time beyond 9999", cotEventMsg(func(b []byte) []byte {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			return protowire.AppendVarint(b, 1<<62)
		}), "bad_time"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			e, _, err := DecodeProto(c.in)
			if err == nil {
				t.Fatalf("accepted: %s", dumpEvent(e))
			}
			if Reason(err) != c.reason {
				t.Errorf("reason %q (%v), want %q", Reason(err), err, c.reason)
			}
		})
	}
}

func TestProtoSpecialValues(t *testing.T) {
	e := &Event{UID: "U", Type: "t", Time: time.UnixMilli(-1000).UTC(), Start: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Stale: time.UnixMilli(1).UTC(),
		Point:  Point{Lat: -0.0, Lon: 180, HAE: Unknown},
		Detail: Detail{Status: &Status{}, Track: &Track{}, Contact: &Contact{}}}
	got, _, err := DecodeProto(e.AppendProto(nil))
	if err != nil {
		t.Fatal(err)
	}
	e.Version = "2.0"
	if d := eventDiff(e, got); d != "" {
		t.Error(d)
	}
}

func readAll(t *testing.T, next func() ([]byte, error)) (out []string, errs []string) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		b, err := next()
		if err != nil {
			errs = append(errs, Reason(err)+":"+err.Error())
			var de *DecodeError
			if errors.As(err, &de) {
				continue
			}
			return out, errs
		}
		out = append(out, string(b))
	}
	t.Fatal("no end")
	return
}

func TestXMLReader(t *testing.T) {
	e1 := ev(`uid="A" type="a" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z"`, "", `<remarks a="x>y"/>`)
	e2 := `<event uid="B" x='/>' />`
	auth := `<auth><cot username="u" password="p&amp;" uid="A"/></auth>`
	big := `<event>` + strings.Repeat("x", 300) + `</event>`
	stream := "\x00\r\n" + `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + auth + "\n" + `<?xml version="1.0"?>` + e1 +
		"junk<eventually/></detail><!-- <event> -->" + e2 + big + `<event a="1">tail</event >` + "\n\n"
	for _, size := range []int{16, 64, 4096} {
		r := bufio.NewReaderSize(strings.NewReader(stream), size)
		x := NewXMLReader(r, 200)
		got, errs := readAll(t, x.Next)
		want := []string{auth, e1, e2, `<event a="1">tail</event >`}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("size %d: got\n%q\nwant\n%q", size, got, want)
		}
		if len(errs) != 2 || !strings.HasPrefix(errs[0], "too_large") || errs[1] != "other:EOF" {
			t.Errorf("size %d: errors %q", size, errs)
		}
	}
	// Mid-element EOF.
	for _, cut := range []string{`<event uid="A"`, `<event>abc</eve`, `<?xml version`, `<!-- x`, `<even`} {
		x := NewXMLReader(bufio.NewReaderSize(strings.NewReader(" "+cut), 16), 1000)
		if _, err := x.Next(); err != io.ErrUnexpectedEOF {
			t.Errorf("%q: %v, want ErrUnexpectedEOF", cut, err)
		}
	}
	// Junk alone is a clean end.
	x := NewXMLReader(bufio.NewReader(strings.NewReader(" <x> junk <")), 1000)
	if _, err := x.Next(); err != io.EOF {
		t.Errorf("junk only: %v", err)
	}
}

// After an XML event the reader must leave the next bytes (here: a v1 frame,
// which contains '<' and '>' bytes) untouched, and must not block waiting for
// more than the element.
func TestXMLReaderStopsAtElementEnd(t *testing.T) {
	e, err := DecodeXML(corpus(t)["takp-q"])
	if err != nil {
		t.Fatal(err)
	}
	frame := e.AppendFramed(nil)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(e.AppendXML(nil)) // the request; the peer now waits for the answer
		time.Sleep(50 * time.Millisecond)
		pw.Write(frame)
		pw.Close()
	}()
	r := bufio.NewReaderSize(pr, 16)
	x := NewXMLReader(r, MaxEventSize)
	done := make(chan error, 1)
	go func() {
		b, err := x.Next()
		if err == nil && !strings.HasSuffix(string(b), "</event>") {
			err = errors.New("wrong element")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(40 * time.Millisecond):
		t.Fatal("Next blocked waiting for bytes after </event>")
	}
	f := NewFrameReader(r, MaxEventSize)
	p, err := f.Next()
	if err != nil || f.Skipped() != 0 {
		t.Fatalf("%v skipped %d", err, f.Skipped())
	}
	if got, _, err := DecodeProto(p); err != nil || got.Type != "t-x-takp-q" {
		t.Fatalf("%v", err)
	}
}

func TestFrameReader(t *testing.T) {
	e, err := DecodeXML(corpus(t)["atak-sa"])
	if err != nil {
		t.Fatal(err)
	}
	frame := e.AppendFramed(nil)
	var s []byte
	s = append(s, frame...)
	s = append(s, 0x00) // goatak's extra byte
	s = append(s, frame...)
	s = append(s, 0x00)
	s = append(s, "junk"...)
	s = append(s, 0xbf, 0x00) // zero-length frame
	s = append(s, frame...)
	s = append(s, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) // varint overflow
	s = append(s, frame...)
	s = append(s, 0xbf, 0x90, 0x03) // 400 bytes: too large for max 300
	s = append(s, make([]byte, 400)...)
	s = append(s, frame...)
	for _, size := range []int{16, 4096} {
		f := NewFrameReader(bufio.NewReaderSize(bytes.NewReader(s), size), 300)
		got, errs := readAll(t, f.Next)
		if len(got) != 5 {
			t.Errorf("size %d: %d frames", size, len(got))
		}
		for _, p := range got {
			if p != string(frame[len(frame)-len(p):]) {
				t.Errorf("size %d: payload differs", size)
			}
		}
		want := []string{"bad_frame", "varint_overflow", "too_large", "other"}
		for i := range errs {
			errs[i] = strings.SplitN(errs[i], ":", 2)[0]
		}
		if strings.Join(errs, ",") != strings.Join(want, ",") {
			t.Errorf("size %d: errors %v, want %v", size, errs, want)
		}
		// 2 goatak zeros, "junk", the 0xbf of the overflowing varint and its 11 bytes.
		if f.Skipped() != 2+4+1+11 {
			t.Errorf("size %d: skipped %d", size, f.Skipped())
		}
	}
	// Truncated frames.
	for _, cut := range [][]byte{frame[:1], frame[:2], frame[:len(frame)-1], {0xbf, 0x80}} {
		f := NewFrameReader(bufio.NewReaderSize(bytes.NewReader(cut), 16), 1000)
		if _, err := f.Next(); err != io.ErrUnexpectedEOF {
			t.Errorf("%x: %v", cut, err)
		}
	}
	f := NewFrameReader(bufio.NewReader(bytes.NewReader([]byte{1, 2, 3})), 1000)
	if _, err := f.Next(); err != io.EOF || f.Skipped() != 3 {
		t.Errorf("junk only: %v %d", err, f.Skipped())
	}
}

func TestDetailHelpers(t *testing.T) {
	d := Detail{XML: []byte(`<a x="1"/><_flow-tags_ other="o"><NodeCoT>t</NodeCoT></_flow-tags_><b>te&amp;xt<![CDATA[<c>]]><c>no</c>!</b><a/>`)}
	shared := d.XML
	orig := string(shared)
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	d.StampFlowTag("bluehelm", t0)
	d.StampFlowTag("bluehelm", t0.Add(time.Second))
	if got, ok := d.FlowTag("bluehelm"); !ok || !got.Equal(t0.Add(time.Second).Truncate(time.Millisecond)) {
		t.Errorf("FlowTag %v %v", got, ok)
	}
	ft, _ := d.Find("_flow-tags_")
	if string(ft.Raw) != `<_flow-tags_ other="o" bluehelm="2026-11-27T10:00:01.123Z"><NodeCoT>t</NodeCoT></_flow-tags_>` {
		t.Errorf("flow tags: %s", ft.Raw)
	}
	b, _ := d.Find("b")
	if b.Text() != "te&xt<c>!" {
		t.Errorf("Text %q", b.Text())
	}
	if !d.Remove("a") || d.Remove("zz") {
		t.Error("Remove")
	}
	var names []string
	d.Each(func(el Element) bool { names = append(names, el.Name); return true })
	if strings.Join(names, ",") != "_flow-tags_,b" {
		t.Errorf("after Remove: %v", names)
	}
	d.Append([]byte(`<z/>`))
	if _, ok := d.Find("z"); !ok {
		t.Error("Append")
	}
	if string(shared) != orig {
		t.Error("a Detail method wrote into the shared array")
	}
	var empty Detail
	empty.StampFlowTag("k", t0)
	if string(empty.XML) != `<_flow-tags_ k="2026-11-27T10:00:00.123Z"/>` {
		t.Errorf("new flow tags: %s", empty.XML)
	}
	empty.StampFlowTag("bad key", t0)
	// Malformed raw XML reads as nothing and never panics.
	junk := Detail{XML: []byte(`<a x=">`)}
	junk.Each(func(Element) bool { t.Error("element from junk"); return true })
	_ = Element{Name: "a", Raw: []byte("<a")}.Text()
	_ = Element{Name: "a", Raw: []byte("<a b='")}.Attr("b")

	if got := string(AppendEscaped(nil, "a<b>&\"'\t\n\r\x00\xff€")); got != "a&lt;b&gt;&amp;&quot;&apos;&#x9;&#xA;&#xD;\uFFFD\uFFFD€" {
		t.Errorf("AppendEscaped %q", got)
	}
	ev := &Event{Detail: Detail{XML: []byte(`<uid Droid="D"/>`)}}
	if ev.Callsign() != "D" {
		t.Error("callsign from uid")
	}
	ev.Detail.XML = []byte(`<contact callsign="C" phone="1"/><uid Droid="D"/>`)
	if ev.Callsign() != "C" {
		t.Error("callsign from raw contact")
	}
	ev.Detail.Contact = &Contact{Callsign: "T"}
	c := ev.Clone()
	c.Detail.Contact.Callsign = "changed"
	c.Detail.XML[1] = 'X'
	if ev.Callsign() != "T" || ev.Detail.XML[1] != 'c' {
		t.Error("Clone shares memory")
	}
	if FormatTime(t0) != "2026-11-27T10:00:00.123Z" {
		t.Error(FormatTime(t0))
	}
}

func TestParseTimeMatchesStdlib(t *testing.T) {
	for _, s := range []string{"2026-11-27T10:00:00Z", "2024-02-29T23:59:59.999999999Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z",
		"2026-11-27T10:00:00.5+05:30", "2026-11-27T01:00:00-03:00"} {
		got, err := ParseTime(s)
		want, err2 := time.Parse(time.RFC3339Nano, s)
		if err != nil || err2 != nil || !got.Equal(want.Truncate(time.Millisecond)) {
			t.Errorf("%s: %v %v / %v %v", s, got, err, want, err2)
		}
	}
	for _, s := range []string{"", "2026-11-27", "2026-11-27T10:00", "2026-11-27 10:00:00Z", "2026-11-27T10:00:00+0000", "2026-11-27T10:00:00Z ", "0000-01-01T00:00:00+01:00"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestDaysSinceEpoch(t *testing.T) {
	for y := 0; y <= 9999; y += 7 {
		for _, md := range [][2]int{{1, 1}, {2, 28}, {3, 1}, {12, 31}} {
			want := time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC).Unix() / 86400
			if got := daysSinceEpoch(y, md[0], md[1]); got != want {
				t.Fatalf("%d-%d-%d: %d, want %d", y, md[0], md[1], got, want)
			}
		}
	}
}

func TestParseSimpleFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "46.2044", "6.1432", "9999999.0", "-73.25", "0.1", "123456789012345", "1.23456789012345",
		"0.0000000000000000000001", "-179.99999999", "00012.500", "5", "90", "-90.000"} {
		got, ok := parseSimpleFloat([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s: %v %v, want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "-", ".", "5.", ".5", "1e5", "1.2.3", "+1", "1234567890123456", "0x10", "NaN", "1_0", "0.00000000000000000000001"} {
		if _, ok := parseSimpleFloat([]byte(s)); ok {
			t.Errorf("%q taken by the fast path", s)
		}
	}
}

func FuzzParseSimpleFloat(f *testing.F) {
	f.Add("46.2044")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseSimpleFloat([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: %v, strconv %v %v", s, got, want, err)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{46.2044, -73.25, 0.1, 9999998.5, 1e-6, 123456789012345, 0.3, 2.0 / 3, 1e15, -0.0} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if got, want := string(appendFloat(nil, v)), strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Fatalf("%v: %s, strconv %s", v, got, want)
		}
	})
}

func TestAppendFloat(t *testing.T) {
	for _, v := range []float64{46.2044, 6.1432, -179.99999999, 0.000001, 0.00000123, 1.5e-7, 412.3, 4.9, 114.6, 1.2, 0, math.Copysign(0, -1),
		99999999999999.9, 123456789.123456, 0.1 + 0.2, 1e15 - 1, 1e300, math.Inf(1), math.NaN(), 5e-324} {
		if got, want := string(appendFloat(nil, v)), strconv.FormatFloat(v, 'f', -1, 64); got != want {
			t.Errorf("%v: %s, strconv %s", v, got, want)
		}
	}
}

// Short decimals (what coordinates, heights and speeds are) written back must
// match strconv exactly.
func TestAppendFloatShortDecimals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 300000
	if testing.Short() {
		n = 10000
	}
	for i := 0; i < n; i++ {
		digits := 1 + rng.IntN(15)
		m := rng.Int64N(int64(math.Pow10(digits)))
		d := rng.IntN(16)
		v := float64(m) / math.Pow10(d)
		if rng.IntN(2) == 0 {
			v = -v
		}
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if got := string(appendFloat(nil, v)); got != s {
			t.Fatalf("%v: %s, strconv %s", v, got, s)
		}
		p, _ := strconv.ParseFloat(s, 64)
		if q, ok := parseSimpleFloat([]byte(s)); ok && q != p {
			t.Fatalf("parse %s: %v, strconv %v", s, q, p)
		}
	}
}
