package cot

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Tests of the word-at-a-time fast paths against plain byte-by-byte versions.

// refAttrValue scans an attribute value one byte at a time from b[j], just past
// the opening quote q: the end of the value, whether it holds a reference or a
// \r, and whether it is bad.
func refAttrValue(b []byte, j int, q byte) (end int, esc, bad bool) {
	for j < len(b) {
		switch c := b[j]; {
		case c == q:
			return j, esc, false
		case c == '<':
			return 0, false, true
		case c == '&':
			n, _ := checkRef(b, j)
			if n < 0 {
				return 0, false, true
			}
			esc = true
			j += n
			continue
		case c == '\r':
			esc = true
		}
		j++
	}
	return 0, false, true
}

func TestAttrValueFast(t *testing.T) {
	specials := []string{`"`, `'`, `<`, `&amp;`, `&#x41;`, `&bad;`, `&`, "\r", "\r\n", `>`, "\t", "é", "\x00"}
	var cases []string
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				cases = append(cases, strings.Repeat("a", pre)+sp+strings.Repeat("b", post))
			}
		}
	}
	cases = append(cases, "", "x", strings.Repeat("y", 40), `a&lt;b&gt;c"d`, "a'b'c", `a"b"c`)
	for _, v := range cases {
		for _, q := range []byte{'"', '\''} {
			// The value, then its tag's end or the end of the input right away.
			for _, tail := range []string{"/>", ">", "", " x='1'/>"} {
				b := []byte(`<e a=` + string(q) + v + string(q) + tail)
				start := len(`<e `)
				a := attrScan{b: b, i: start}
				name, val, ok := a.next()
				end, esc, bad := refAttrValue(b, len(`<e a=`)+1, q)
				if bad {
					if ok || !a.bad {
						t.Errorf("%q: fast path took a bad value (%q)", b, val)
					}
					continue
				}
				if !ok || a.bad || string(name) != "a" || !bytes.Equal(val, b[len(`<e a=`)+1:end]) || a.esc != esc || a.i != end+1 {
					t.Errorf("%q: got %q %q ok=%v bad=%v esc=%v i=%d, want %q esc=%v i=%d",
						b, name, val, ok, a.bad, a.esc, a.i, b[len(`<e a=`)+1:end], esc, end+1)
				}
			}
		}
	}
}

// refEscape escapes s one rune at a time, as AppendEscaped documents.
func refEscape(s string) string {
	var out []byte
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case escapes[c] != "":
				out = append(out, escapes[c]...)
			case c < 0x20:
				out = append(out, "\uFFFD"...)
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

func TestAppendEscapedFast(t *testing.T) {
	specials := []string{"&", "<", ">", `"`, "'", "\t", "\n", "\r", "\x00", "\x1f", "\x7f", " ", "é", "\xff", "\xef\xbf\xbe", "\xed\xa0\x80", "\U0001F600"}
	var cases []string
	for _, sp := range specials {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				cases = append(cases, strings.Repeat("a", pre)+sp+strings.Repeat("z", post))
			}
		}
	}
	for n := 0; n <= 40; n++ {
		cases = append(cases, strings.Repeat("Az09 -.:_()/~`", 3)[:n])
	}
	cases = append(cases, "5.3.0.12 (a1b2c3d4).1730000000-CIV", "a&b<c>d\"e'f", "\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	for _, s := range cases {
		if got, want := string(AppendEscaped([]byte("pre"), s)), "pre"+refEscape(s); got != want {
			t.Errorf("AppendEscaped(%q) = %q, want %q", s, got, want)
		}
	}
}

// The decoder parses start only when it differs from time; both ways must
// give what parseTime gives.
func TestDecodeRepeatedTimes(t *testing.T) {
	for _, tc := range [][3]string{
		{"2026-11-27T10:00:00.842Z", "2026-11-27T10:00:00.842Z", "2026-11-27T10:06:00.842Z"},
		{"2026-11-27T10:00:00.842Z", "2026-11-27T10:00:00.843Z", "2026-11-27T10:00:00.843Z"},
		{"2026-11-27T10:00:00Z", "2026-11-27T12:00:00+02:00", "2026-11-27T12:00:00+02:00"},
		{"2026-11-27T10:00:00.5&#x5A;", "2026-11-27T10:00:00.5&#x5A;", "2026-11-27T10:00:00.5Z"},
	} {
		doc := `<event version="2.0" uid="u" type="t" time="` + tc[0] + `" start="` + tc[1] + `" stale="` + tc[2] +
			`"><point lat="1" lon="2"/></event>`
		e, err := DecodeXML([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		for k, got := range []time.Time{e.Time, e.Start, e.Stale} {
			want, err := parseTime(string(appendUnescaped(nil, []byte(tc[k]))))
			if err != nil || !got.Equal(want) {
				t.Errorf("%s: time %d = %v, want %v (%v)", doc, k, got, want, err)
			}
		}
	}
	// A bad start that equals a good time cannot happen; a bad repeated time
	// is reported like any other.
	doc := `<event uid="u" type="t" time="x" start="x" stale="x"><point lat="1" lon="2"/></event>`
	if _, err := DecodeXML([]byte(doc)); Reason(err) != "bad_time" {
		t.Errorf("bad repeated time: %v", err)
	}
}

// The encoder copies time for start when they are the same instant, even in
// different locations.
func TestAppendXMLRepeatedTimes(t *testing.T) {
	tm := time.Date(2026, 11, 27, 10, 0, 0, 842e6, time.UTC)
	for _, start := range []time.Time{tm, tm.In(time.FixedZone("x", 3600)), tm.Add(time.Millisecond), tm.Add(-time.Hour)} {
		e := &Event{UID: "u", Type: "t", Time: tm, Start: start, Stale: tm}
		x := string(e.AppendXML(nil))
		want := `start="` + string(appendTime(nil, start)) + `"`
		if !strings.Contains(x, want) {
			t.Errorf("%v: %s lacks %s", start, x, want)
		}
	}
}

// Short Detail.XML lives in the event's own allocation; it must hold exactly
// the bytes (no room to append into the rest of the block) and not change
// when the input does.
func TestDetailXMLInline(t *testing.T) {
	for n := 0; n <= 40; n++ {
		el := `<x a="` + strings.Repeat("v", n) + `"/>`
		doc := []byte(`<event uid="u" type="t" time="2026-11-27T10:00:00Z" start="2026-11-27T10:00:00Z" stale="2026-11-27T10:00:00Z"><point lat="1" lon="2"/><detail>` +
			el + `<contact callsign="c"/></detail></event>`)
		e, err := DecodeXML(doc)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Detail.XML) != el || cap(e.Detail.XML) != len(el) {
			t.Fatalf("XML %q cap %d, want %q", e.Detail.XML, cap(e.Detail.XML), el)
		}
		for i := range doc {
			doc[i] = 'Z'
		}
		x := append(e.Detail.XML, "<more/>"...)
		if string(e.Detail.XML) != el || string(x) != el+"<more/>" || e.Detail.Contact.Callsign != "c" {
			t.Fatalf("XML %q after changing the input and appending", e.Detail.XML)
		}
	}
}

// refSimpleFloat is the one-loop form parseSimpleFloat had: which inputs the
// fast path takes must not change.
func refSimpleFloat(v []byte) (float64, bool) {
	i := 0
	neg := false
	if len(v) > 0 && v[0] == '-' {
		neg = true
		i = 1
	}
	var m uint64
	digits, frac := 0, 0
	start := i
	dot := false
	for ; i < len(v); i++ {
		c := v[i]
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if m != 0 || c != '0' {
			digits++
		}
		m = m*10 + uint64(c-'0')
		if dot {
			frac++
		}
	}
	if digits > 15 || frac > 22 || i == start {
		return 0, false
	}
	if dot && (v[start] == '.' || v[len(v)-1] == '.') {
		return 0, false
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

func TestParseSimpleFloatForms(t *testing.T) {
	cases := []string{"", "-", ".", "-.", "0", "-0", "00", "0.0", "0.", ".0", "1000000.0", "9999999.0", "46.2044", "-179.99999999",
		"0.0000000000000000000001", "0.00000000000000000000001", "0.0000000000000000000010", "100000000000000", "1000000000000000",
		"100000000000000.0", "123456789012345", "1234567890123456", "0.123456789012345", "0.1234567890123456", "000000000000000000000000001",
		"1.000000000000000", "1.0000000000000000", "00012.500", "1.2.3", "1..2", "-1-", "1e5", "+1", "1_0", " 1", "1 ", "12a", "9.", "-5", "--5",
		"18446744073709551616", "99999999999999999999.5", "0.000000000000000000000000000001"}
	for _, s := range cases {
		got, ok := parseSimpleFloat([]byte(s))
		want, wok := refSimpleFloat([]byte(s))
		if ok != wok || ok && math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%q: %v %v, want %v %v", s, got, ok, want, wok)
		}
		if ok {
			if f, err := strconv.ParseFloat(s, 64); err != nil || math.Float64bits(f) != math.Float64bits(got) {
				t.Errorf("%q: %v, strconv %v %v", s, got, f, err)
			}
		}
	}
}

func TestParseTimeMillis(t *testing.T) {
	cases := []string{"2026-11-27T10:00:00.842Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z",
		"2024-02-29T12:00:00.000Z", "2023-02-29T12:00:00.000Z", "2100-02-29T12:00:00.000Z", "2000-02-29T12:00:00.000Z",
		"2026-04-31T00:00:00.000Z", "2026-00-10T00:00:00.000Z", "2026-13-10T00:00:00.000Z", "2026-11-00T00:00:00.000Z",
		"2026-11-27T24:00:00.000Z", "2026-11-27T23:60:00.000Z", "2026-11-27T23:59:60.000Z", "2026-11-27T10:00:00.84Z0",
		"2026-11-27t10:00:00.842Z", "2026-11-27T10:00:00,842Z", "2026-11-27T10:00:00.842z", "2026/11-27T10:00:00.842Z",
		"2026-11-27T10:00:00.8421Z", "2026-11-27T10:00:00.84Z", "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.842+00:00"}
	// Every digit place holding each non-digit neighbour of the digits.
	base := "2026-11-27T10:00:00.842Z"
	for k := range base {
		for _, c := range []byte{'/', ':', '0', '9', 'a', ' ', 0, 0xff} {
			b := []byte(base)
			b[k] = c
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		want, werr := parseTimeAny(s)
		got, ok := parseTimeMillis([]byte(s))
		if ok && (werr != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Errorf("%q: %v, general %v %v", s, got, want, werr)
		}
		if !ok && werr == nil && len(s) == 24 && s[19] == '.' && s[23] == 'Z' {
			t.Errorf("%q: not taken, general %v", s, want)
		}
		if got, err := parseTime(s); err != nil != (werr != nil) || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v %v, general %v %v", s, got, err, want, werr)
		}
	}
	for d := time.Date(1899, 12, 25, 23, 59, 58, 999e6, time.UTC); d.Year() < 2102; d = d.Add(97*time.Hour + 13*time.Minute + 7*time.Second + 3*time.Millisecond) {
		s := string(appendTime(nil, d))
		got, ok := parseTimeMillis(s)
		if !ok || !got.Equal(d) {
			t.Fatalf("%q: %v %v, want %v", s, got, ok, d)
		}
	}
}
