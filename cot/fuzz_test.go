package cot

import (
	"bufio"
	"bytes"
	"testing"
)

func addCorpus(f *testing.F, conv func([]byte) []byte) {
	for _, b := range corpus(f) {
		f.Add(conv(b))
	}
}

// normalVersion returns e with the version v1 gives every event ("2.0").
func protoView(e *Event) *Event {
	c := e.Clone()
	c.Version = "2.0"
	return c
}

func protoOK(e *Event) bool {
	return e.Time.UnixMilli() != 0 && e.Start.UnixMilli() != 0 && e.Stale.UnixMilli() != 0
}

// checkRoundTrips checks that an accepted event survives our own XML and v1.
func checkRoundTrips(t *testing.T, e *Event) {
	x := e.AppendXML(nil)
	if len(x) <= MaxEventSize { // escaping can grow an event past the limit
		e2, err := DecodeXML(x)
		if err != nil {
			t.Fatalf("our XML refused: %v\n%s", err, x)
		}
		if d := eventDiff(e, e2); d != "" {
			t.Fatalf("XML round trip:\n%s\n%s", d, x)
		}
	}
	p := e.AppendProto(nil)
	if len(p) <= MaxEventSize && protoOK(e) {
		e3, _, err := DecodeProto(p)
		if err != nil {
			t.Fatalf("our v1 refused: %v\n%s", err, dumpEvent(e))
		}
		if d := eventDiff(protoView(e), e3); d != "" {
			t.Fatalf("v1 round trip:\n%s", d)
		}
	}
	if fr := e.AppendFramed(nil); !bytes.Equal(fr, AppendFrame(nil, p)) {
		t.Fatal("AppendFramed differs from AppendFrame")
	}
}

func FuzzDecodeXML(f *testing.F) {
	addCorpus(f, func(b []byte) []byte { return b })
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeXML(b)
		ref, rerr := refDecodeXML(b)
		if err == nil && rerr == nil {
			if d := eventDiff(e, ref); d != "" {
				t.Fatalf("fast and reference decoders differ:\n%s", d)
			}
		}
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("not a DecodeError: %v", err)
			}
			return
		}
		checkRoundTrips(t, e)
		// The detail view never panics on what we decoded.
		e.Detail.Each(func(el Element) bool {
			_ = el.Attr("uid") + el.Text()
			el.Each(func(Element) bool { return true })
			return true
		})
		_ = e.Callsign()
	})
}

func FuzzDecodeProto(f *testing.F) {
	addCorpus(f, func(b []byte) []byte {
		e, err := DecodeXML(b)
		if err != nil {
			f.Fatal(err)
		}
		return e.AppendProto(nil)
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, _, err := DecodeProto(b)
		if err != nil {
			if Reason(err) == "other" {
				t.Fatalf("not a DecodeError: %v", err)
			}
			return
		}
		if e != nil {
			checkRoundTrips(t, e)
		}
	})
}

func FuzzXMLReader(f *testing.F) {
	var all []byte
	for _, b := range corpus(f) {
		f.Add(b, uint16(64))
		all = append(all, b...)
	}
	f.Add(all, uint16(16))
	f.Add([]byte("junk<auth><cot username='a'/></auth>\n<event/><event a='>'></event >"), uint16(16))
	f.Fuzz(func(t *testing.T, b []byte, size uint16) {
		r := bufio.NewReaderSize(bytes.NewReader(b), int(size)) // at least 16
		x := NewXMLReader(r, 4096)
		rest := b
		for i := 0; ; i++ {
			if i > len(b)+1 {
				t.Fatal("no progress")
			}
			el, err := x.Next()
			if err != nil {
				if Reason(err) == "too_large" {
					continue
				}
				break
			}
			if len(el) > 4096 || !(bytes.HasPrefix(el, []byte("<event")) || bytes.HasPrefix(el, []byte("<auth"))) || el[len(el)-1] != '>' {
				t.Fatalf("bad element %q", el)
			}
			// Elements come from the input, in order, and the reader stops right after each.
			k := bytes.Index(rest, el)
			if k < 0 {
				t.Fatalf("element %q not in the rest of the input", el)
			}
			rest = rest[k+len(el):]
			if r.Buffered() > len(rest) {
				t.Fatal("read past the element")
			}
		}
	})
}

func FuzzFrameReader(f *testing.F) {
	var all []byte
	for _, b := range corpus(f) {
		e, err := DecodeXML(b)
		if err != nil {
			f.Fatal(err)
		}
		fr := e.AppendFramed(nil)
		f.Add(fr, uint16(16))
		all = append(append(all, fr...), 0)
	}
	f.Add(all, uint16(64))
	f.Add([]byte{0xbf, 0x00, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xbf, 0x02, 0x12, 0x00}, uint16(16))
	f.Fuzz(func(t *testing.T, b []byte, size uint16) {
		f := NewFrameReader(bufio.NewReaderSize(bytes.NewReader(b), int(size)), 1024)
		for i := 0; ; i++ {
			if i > len(b)+1 {
				t.Fatal("no progress")
			}
			p, err := f.Next()
			if err != nil {
				if Reason(err) != "other" {
					continue
				}
				break
			}
			if len(p) == 0 || len(p) > 1024 || !bytes.Contains(b, p) {
				t.Fatalf("bad payload %x", p)
			}
			DecodeProto(p)
		}
		if f.Skipped() > uint64(len(b)) {
			t.Fatalf("skipped %d of %d", f.Skipped(), len(b))
		}
	})
}

// FuzzDecodeXMLDetail fuzzes what varies most in real events, the detail
// content and attribute values, inside an otherwise valid event, so that most
// inputs are accepted and the fast and reference decoders are compared.
func FuzzDecodeXMLDetail(f *testing.F) {
	f.Add(`<contact callsign="A" endpoint="*:-1:stcp"/><uid Droid="A"/>`, `ANDROID-1`, `2026-11-27T10:00:00.842Z`, `1.5`)
	f.Add(`<track speed="1" course="2"></track><status battery="7"/><__group name="Red" role="x"/>`, `a&amp;b`, `2026-11-27T10:00:00+02:00`, `-0`)
	f.Add(`<a><![CDATA[x]]><!--c--><?p?>t&#x41;</a> <takv device="d"/>`, "a\r\nb", `2026-11-27T10:00:00.123456789Z`, `9999999`)
	f.Fuzz(func(t *testing.T, detail, uid, tm, hae string) {
		b := []byte(`<?xml version="1.0"?><event version="2.0" uid="` + uid + `" type="a-f-G" time="` + tm +
			`" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:05:00Z" how="m-g"><point lat="1" lon="2" hae="` + hae +
			`"/><detail>` + detail + `</detail></event>`)
		e, err := DecodeXML(b)
		ref, rerr := refDecodeXML(b)
		if err == nil && rerr == nil {
			if d := eventDiff(e, ref); d != "" {
				t.Fatalf("fast and reference decoders differ:\n%s", d)
			}
		}
		if err == nil {
			checkRoundTrips(t, e)
		}
	})
}
