package cot

import (
	"bytes"
	"math/bits"
	"time"
	"unicode/utf8"
)

// Element is one element of Detail.XML: its name and its raw bytes, from '<' of
// the start tag to '>' of the end tag. It is a view for routing decisions, not a
// full DOM: methods read Raw on each call and never fail (malformed input, such
// as bytes a caller appended, reads as empty).
type Element struct {
	Name string
	Raw  []byte
}

// Attr returns the unescaped value of the attribute name, or "".
func (el Element) Attr(name string) string {
	if len(el.Raw) < 2 || el.Raw[0] != '<' {
		return ""
	}
	a := attrScan{b: el.Raw, i: scanName(el.Raw, 1)}
	for {
		n, v, ok := a.next()
		if !ok {
			return ""
		}
		if string(n) == name {
			return attrString(v)
		}
	}
}

// Text returns the character data directly inside the element (text and CDATA,
// not that of child elements), unescaped.
func (el Element) Text() string {
	b := el.Raw
	if len(b) < 2 || b[0] != '<' {
		return ""
	}
	end, self, ok := skipAttrs(b, scanName(b, 1))
	if !ok || self {
		return ""
	}
	var out []byte
	for i := end; i < len(b); {
		j := scanText(b, i)
		if j < 0 {
			return ""
		}
		out = appendUnescaped(out, b[i:j])
		if j+1 >= len(b) {
			break
		}
		i = j
		switch b[i+1] {
		case '/':
			return string(out) // our end tag (children are skipped whole)
		case '!', '?':
			k := skipMarkup(b, i, true)
			if k < 0 {
				return string(out)
			}
			if bytes.HasPrefix(b[i:], []byte("<![CDATA[")) {
				out = append(out, b[i+9:k-3]...)
			}
			i = k
		default:
			_, k, err := scanElement(b, i, 1)
			if err != nil {
				return string(out)
			}
			i = k
		}
	}
	return string(out)
}

// Each calls fn for each child element in order until fn returns false.
func (el Element) Each(fn func(Element) bool) {
	b := el.Raw
	if len(b) < 2 || b[0] != '<' {
		return
	}
	end, self, ok := skipAttrs(b, scanName(b, 1))
	if !ok || self {
		return
	}
	eachElement(b[end:], fn)
}

// eachSpan calls fn with the offsets of each element in b at the top level (its
// start, its end, and the end of its name); it stops at an end tag, at malformed
// input, or when fn returns false.
func eachSpan(b []byte, fn func(start, end, nameEnd int) bool) {
	for i := 0; i < len(b); {
		j := scanText(b, i)
		if j < 0 || j+1 >= len(b) {
			return
		}
		i = j
		switch b[i+1] {
		case '/':
			return
		case '!', '?':
			k := skipMarkup(b, i, true)
			if k < 0 {
				return
			}
			i = k
			continue
		}
		_, k, err := scanElement(b, i, 1)
		if err != nil {
			return
		}
		if !fn(i, k, scanName(b, i+1)) {
			return
		}
		i = k
	}
}

// eachElement calls fn for each element in b at the top level, as eachSpan.
func eachElement(b []byte, fn func(Element) bool) {
	eachSpan(b, func(start, end, nameEnd int) bool {
		return fn(Element{Name: intern(b[start+1 : nameEnd]), Raw: b[start:end:end]})
	})
}

// Each calls fn for each element of Detail.XML in order until fn returns false.
// The typed fields (Contact, Group, …) are not visited.
func (d *Detail) Each(fn func(Element) bool) { eachElement(d.XML, fn) }

// Find returns the first element of Detail.XML named name. The typed fields
// are not searched.
func (d *Detail) Find(name string) (Element, bool) {
	var found Element
	ok := false
	d.Each(func(el Element) bool {
		if el.Name == name {
			found, ok = el, true
			return false
		}
		return true
	})
	return found, ok
}

// Remove deletes every element of Detail.XML named name and reports whether
// there was one. The typed fields are left alone. Like every Detail method it
// builds a new slice and never writes to the bytes XML points to, which may be
// shared with a copy of the event.
func (d *Detail) Remove(name string) bool {
	var out []byte
	removed := false
	last := 0
	b := d.XML
	eachSpan(b, func(start, end, nameEnd int) bool {
		if string(b[start+1:nameEnd]) == name {
			out = append(out, b[last:start]...)
			last = end
			removed = true
		}
		return true
	})
	if !removed {
		return false
	}
	out = append(out, b[last:]...)
	d.XML = out[:len(out):len(out)]
	return true
}

// Append adds raw, which must be zero or more well-formed elements, to the end
// of Detail.XML (always into a new array, see Remove).
func (d *Detail) Append(raw []byte) {
	out := make([]byte, 0, len(d.XML)+len(raw))
	out = append(append(out, d.XML...), raw...)
	d.XML = out
}

const flowTags = "_flow-tags_"

// StampFlowTag sets the attribute key to t (FormatTime) on the <_flow-tags_>
// element of Detail.XML, adding the element when absent and replacing an
// attribute of that name. key must be an XML name; otherwise nothing changes.
func (d *Detail) StampFlowTag(key string, t time.Time) {
	if key == "" || scanName([]byte(key), 0) != len(key) {
		return
	}
	b := d.XML
	ne := -1
	eachSpan(b, func(start, end, nameEnd int) bool {
		if string(b[start+1:nameEnd]) == flowTags {
			ne = nameEnd
			return false
		}
		return true
	})
	if ne >= 0 {
		// Rebuild the start tag without key, then add key.
		out := make([]byte, 0, len(b)+len(key)+32)
		out = append(out, b[:ne]...)
		a := attrScan{b: b, i: ne}
		for {
			start := skipSpace(b, a.i)
			n, _, ok := a.next()
			if !ok {
				break
			}
			if string(n) != key {
				out = append(out, ' ')
				out = append(out, b[start:a.i]...)
			}
		}
		out = appendFlowAttr(out, key, t)
		if a.self {
			out = append(out, "/>"...)
		} else {
			out = append(out, '>')
		}
		out = append(out, b[a.i:]...)
		d.XML = out[:len(out):len(out)]
		return
	}
	out := make([]byte, 0, len(b)+len(flowTags)+len(key)+36)
	out = append(append(out, b...), '<')
	out = append(out, flowTags...)
	out = appendFlowAttr(out, key, t)
	out = append(out, "/>"...)
	d.XML = out
}

func appendFlowAttr(dst []byte, key string, t time.Time) []byte {
	dst = append(dst, ' ')
	dst = append(dst, key...)
	dst = append(dst, `="`...)
	dst = appendTime(dst, t)
	return append(dst, '"')
}

// FlowTag returns the time stamped under key on <_flow-tags_>, if any.
func (d *Detail) FlowTag(key string) (time.Time, bool) {
	el, ok := d.Find(flowTags)
	if !ok {
		return time.Time{}, false
	}
	v := el.Attr(key)
	if v == "" {
		return time.Time{}, false
	}
	t, err := ParseTime(v)
	return t, err == nil
}

// escapeStop marks the bytes AppendEscaped must look at: markup, controls, non-ASCII.
var escapeStop = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c >= 0x80 || escapes[c] != ""
	}
	return t
}()

var escapes = [256]string{
	'&': "&amp;", '<': "&lt;", '>': "&gt;", '"': "&quot;", '\'': "&apos;",
	'\t': "&#x9;", '\n': "&#xA;", '\r': "&#xD;",
}

// escapeMask marks (in the high bit of each byte) the bytes of x that
// escapeStop marks; the lowest marked byte is exact, those above it may not be.
func escapeMask(x uint64) uint64 {
	const ones, hi = 0x0101010101010101, 0x8080808080808080
	m := x&hi | (x-0x20*ones)&^x&hi // non-ASCII, controls
	return m | hasZeroByte(x^'&'*ones) | hasZeroByte(x^'<'*ones) | hasZeroByte(x^'>'*ones) |
		hasZeroByte(x^'"'*ones) | hasZeroByte(x^'\''*ones)
}

// load8 and load4 read the first eight or four bytes of s, little-endian.
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load4(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// AppendEscaped appends s escaped for an XML attribute value or text: the five
// markup characters and tab, newline and carriage return (so attribute values
// survive normalisation) become references. Invalid UTF-8 and characters XML
// cannot carry at all (such as NUL) become U+FFFD.
func AppendEscaped(dst []byte, s string) []byte {
	// Most values need nothing: look at eight bytes at a time (the last four
	// to seven as two overlapping halves) and copy s whole when that is so.
	i := 0
	for i+8 <= len(s) && escapeMask(load8(s[i:])) == 0 {
		i += 8
	}
	switch r := len(s) - i; {
	case r == 0:
		return append(dst, s...)
	case r >= 4 && r < 8:
		if escapeMask(load4(s[i:])|load4(s[len(s)-4:])<<32) == 0 {
			return append(dst, s...)
		}
	}
	last := 0
	for i < len(s) {
		c := s[i]
		if !escapeStop[c] {
			if i+8 > len(s) {
				i++
				continue
			}
			// Skip to the first byte escapeStop marks, eight bytes at a time.
			if m := escapeMask(load8(s[i:])); m == 0 {
				i += 8
			} else {
				i += bits.TrailingZeros64(m) >> 3
			}
			continue
		}
		if c < 0x80 {
			dst = append(dst, s[last:i]...)
			if r := escapes[c]; r != "" {
				dst = append(dst, r...)
			} else {
				dst = append(dst, "\uFFFD"...)
			}
			i++
			last = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			dst = append(dst, s[last:i]...)
			dst = append(dst, "\uFFFD"...)
			i += n
			last = i
			continue
		}
		i += n
	}
	return append(dst, s[last:]...)
}

// Callsign returns the sender's callsign: the contact's, else <uid Droid=…>.
func (e *Event) Callsign() string {
	if c := e.Detail.Contact; c != nil && c.Callsign != "" {
		return c.Callsign
	}
	if el, ok := e.Detail.Find("contact"); ok {
		if cs := el.Attr("callsign"); cs != "" {
			return cs
		}
	}
	if el, ok := e.Detail.Find("uid"); ok {
		return el.Attr("Droid")
	}
	return ""
}

// Clone returns a deep copy of the event.
func (e *Event) Clone() *Event {
	if e == nil {
		return nil
	}
	c := *e
	d := &c.Detail
	if x := e.Detail.Contact; x != nil {
		v := *x
		d.Contact = &v
	}
	if x := e.Detail.Group; x != nil {
		v := *x
		d.Group = &v
	}
	if x := e.Detail.PrecisionLocation; x != nil {
		v := *x
		d.PrecisionLocation = &v
	}
	if x := e.Detail.Status; x != nil {
		v := *x
		d.Status = &v
	}
	if x := e.Detail.Takv; x != nil {
		v := *x
		d.Takv = &v
	}
	if x := e.Detail.Track; x != nil {
		v := *x
		d.Track = &v
	}
	if e.Detail.XML != nil {
		d.XML = append(make([]byte, 0, len(e.Detail.XML)), e.Detail.XML...)
	}
	return &c
}
