package cot

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current encoders")

// dumpEvent renders every field of e, typed details dereferenced, for
// comparisons with a readable diff.
func dumpEvent(e *Event) string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "version=%q uid=%q type=%q how=%q access=%q qos=%q opex=%q\n", e.Version, e.UID, e.Type, e.How, e.Access, e.QoS, e.Opex)
	tf := func(t time.Time) string {
		return t.UTC().Format(time.RFC3339Nano) + fmt.Sprintf("(loc=%v)", t.Location())
	}
	fmt.Fprintf(&b, "time=%s start=%s stale=%s\n", tf(e.Time), tf(e.Start), tf(e.Stale))
	fmt.Fprintf(&b, "point=%+v\n", e.Point)
	d := e.Detail
	if d.Contact != nil {
		fmt.Fprintf(&b, "contact=%+v\n", *d.Contact)
	}
	if d.Group != nil {
		fmt.Fprintf(&b, "group=%+v\n", *d.Group)
	}
	if d.PrecisionLocation != nil {
		fmt.Fprintf(&b, "precisionlocation=%+v\n", *d.PrecisionLocation)
	}
	if d.Status != nil {
		fmt.Fprintf(&b, "status=%+v\n", *d.Status)
	}
	if d.Takv != nil {
		fmt.Fprintf(&b, "takv=%+v\n", *d.Takv)
	}
	if d.Track != nil {
		fmt.Fprintf(&b, "track=%+v\n", *d.Track)
	}
	fmt.Fprintf(&b, "xml(nil=%v)=%q\n", d.XML == nil, d.XML)
	return b.String()
}

func eventDiff(a, b *Event) string {
	da, db := dumpEvent(a), dumpEvent(b)
	if da == db {
		return ""
	}
	return "--- first\n" + da + "--- second\n" + db
}

func corpus(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("testdata/events/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	m := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[strings.TrimSuffix(filepath.Base(f), ".xml")] = b
	}
	return m
}

func hexLines(b []byte) []byte {
	var out bytes.Buffer
	for len(b) > 0 {
		n := min(32, len(b))
		out.WriteString(hex.EncodeToString(b[:n]))
		out.WriteByte('\n')
		b = b[n:]
	}
	return out.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what we emit now:\n got: %s\nwant: %s", path, got, want)
	}
}

// TestGolden decodes each event of the corpus, checks that XML and v1 carry it
// without loss, that the encoding/xml reference reads it the same, and that
// what we emit matches testdata/golden (-update rewrites it).
func TestGolden(t *testing.T) {
	for name, in := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			e, err := DecodeXML(in)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := refDecodeXML(in)
			if err != nil {
				t.Fatalf("reference decoder: %v", err)
			}
			if d := eventDiff(e, ref); d != "" {
				t.Errorf("fast and reference decoders differ:\n%s", d)
			}
			x := e.AppendXML(nil)
			e2, err := DecodeXML(x)
			if err != nil {
				t.Fatalf("re-decoding our XML: %v\n%s", err, x)
			}
			if d := eventDiff(e, e2); d != "" {
				t.Errorf("XML → Event → XML → Event changed:\n%s", d)
			}
			if x2 := e2.AppendXML(nil); !bytes.Equal(x, x2) {
				t.Errorf("encoding is not stable:\n%s\n%s", x, x2)
			}
			p := e.AppendProto(nil)
			e3, ctl, err := DecodeProto(p)
			if err != nil || ctl != nil {
				t.Fatalf("re-decoding our v1: %v %v", err, ctl)
			}
			if d := eventDiff(e, e3); d != "" {
				t.Errorf("XML → Event → v1 → Event changed:\n%s", d)
			}
			framed := e.AppendFramed(nil)
			if want := AppendFrame(nil, p); !bytes.Equal(framed, want) {
				t.Errorf("AppendFramed differs from AppendFrame(AppendProto)")
			}
			if c := e.Clone(); eventDiff(e, c) != "" {
				t.Errorf("Clone differs")
			}
			checkGolden(t, "testdata/golden/"+name+".xml", append(x, '\n'))
			checkGolden(t, "testdata/golden/"+name+".v1.hex", hexLines(framed))
		})
	}
}

// The facts a server relies on, spot-checked on the corpus.
func TestCorpusFacts(t *testing.T) {
	c := corpus(t)
	dec := func(name string) *Event {
		e, err := DecodeXML(c[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return e
	}
	sa := dec("atak-sa")
	if sa.Detail.Contact == nil || sa.Detail.Contact.Callsign != "WOLF-1" || sa.Detail.Contact.Endpoint != "*:-1:stcp" ||
		sa.Detail.Group == nil || *sa.Detail.Group != (Group{"Cyan", "Team Lead"}) ||
		sa.Detail.Status == nil || sa.Detail.Status.Battery != 87 ||
		sa.Detail.Track == nil || *sa.Detail.Track != (Track{Speed: 1.2, Course: 114.6}) ||
		sa.Detail.Takv == nil || sa.Detail.Takv.Platform != "ATAK-CIV" ||
		sa.Detail.PrecisionLocation == nil || sa.Detail.PrecisionLocation.AltSrc != "GPS" {
		t.Errorf("ATAK SA typed details: %s", dumpEvent(sa))
	}
	if string(sa.Detail.XML) != `<uid Droid="WOLF-1"/>` || sa.Point.LE != Unknown || sa.Point.HAE != 412.3 {
		t.Errorf("ATAK SA rest: %s", dumpEvent(sa))
	}
	if want := time.Date(2026, 11, 27, 10, 0, 0, 842e6, time.UTC); !sa.Time.Equal(want) {
		t.Errorf("time %v", sa.Time)
	}
	w := dec("wintak-sa")
	if w.Detail.Contact != nil || w.Callsign() != "OWL" || w.Detail.Track == nil || w.Point.HAE != Unknown {
		t.Errorf("WinTAK SA (contact with phone stays raw): %s", dumpEvent(w))
	}
	if !strings.HasPrefix(string(w.Detail.XML), `<contact callsign="OWL" endpoint="*:-1:stcp" phone="" />`) {
		t.Errorf("raw contact not byte for byte: %q", w.Detail.XML)
	}
	if _, ok := w.Detail.FlowTag("TAK-Server-5b1e2a"); !ok {
		t.Errorf("flow tag not read")
	}
	chat := dec("geochat-direct")
	marti, ok := chat.Detail.Find("marti")
	var dests []string
	marti.Each(func(el Element) bool { dests = append(dests, el.Name+":"+el.Attr("callsign")); return true })
	if !ok || strings.Join(dests, ",") != "dest:OWL" {
		t.Errorf("marti dest: %v %v", ok, dests)
	}
	rem, _ := chat.Detail.Find("remarks")
	if rem.Text() != "Need water resupply at grid 32T LN 9012 1234 <urgent>" || rem.Attr("to") != "S-1-5-21-3623811015-3361044348-30300820-1013" {
		t.Errorf("remarks: %q", rem.Text())
	}
	n9 := dec("time-9digit")
	if n9.Time.Nanosecond() != 123e6 || n9.Stale.Nanosecond() != 0 || !n9.Start.Equal(n9.Time) {
		t.Errorf("9 digits: %v %v %v", n9.Time, n9.Start, n9.Stale)
	}
	if n9.Detail.Track != nil || n9.Detail.Status != nil || n9.Detail.Contact == nil || n9.Access != "Unclassified" {
		t.Errorf("track with slope and status 101.5 must stay raw: %s", dumpEvent(n9))
	}
	if e := dec("time-1digit"); e.Time.Nanosecond() != 100e6 || e.Stale.Nanosecond() != 900e6 {
		t.Errorf("1 digit: %v", e.Time)
	}
	if e := dec("time-6digit"); e.Time.Nanosecond() != 123e6 || e.Point.HAE != -20.5 {
		t.Errorf("6 digits: %v", e.Time)
	}
}
