package cot

// A small XML 1.0 scanner over a byte slice, shared by the event decoder, the
// element view of Detail.XML and the checks of v1 xmlDetail. It checks what a
// non-validating parser must (names, quoting, references, nesting, comments,
// CDATA, processing instructions) and nothing a TAK event does not use: there is
// no DTD support, so a <!DOCTYPE …> is refused and only the five predefined
// entities and character references exist.

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

var nameStart, nameChar [256]bool

func init() {
	for c := 0; c < 256; c++ {
		s := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= 0x80
		nameStart[c] = s
		nameChar[c] = s || c >= '0' && c <= '9' || c == '-' || c == '.'
	}
}

// hasZeroByte is non-zero when one of the eight bytes of x is zero.
func hasZeroByte(x uint64) uint64 {
	return (x - 0x0101010101010101) &^ x & 0x8080808080808080
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

// scanName returns the end of the XML name starting at b[i], or i when there is none.
func scanName(b []byte, i int) int {
	if i >= len(b) || !nameStart[b[i]] {
		return i
	}
	i++
	for i < len(b) && nameChar[b[i]] {
		i++
	}
	return i
}

// checkChars reports whether b is valid UTF-8 holding only characters XML 1.0
// allows. It looks at 32 or eight bytes at a time and only slows down for control
// characters and non-ASCII text.
func checkChars(b []byte) bool {
	const lo, hi = 0x2020202020202020, 0x8080808080808080
	var high uint64
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w := b[i : i+32 : i+32]
		x0, x1 := binary.LittleEndian.Uint64(w), binary.LittleEndian.Uint64(w[8:])
		x2, x3 := binary.LittleEndian.Uint64(w[16:]), binary.LittleEndian.Uint64(w[24:])
		high |= x0 | x1 | x2 | x3
		if ((x0-lo)&^x0|(x1-lo)&^x1|(x2-lo)&^x2|(x3-lo)&^x3)&hi != 0 {
			for _, c := range w {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					return false
				}
			}
		}
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		high |= x
		if (x-lo)&^x&hi != 0 {
			for _, c := range b[i : i+8] {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					return false
				}
			}
		}
	}
	for _, c := range b[i:] {
		high |= uint64(c)
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	if high&hi == 0 {
		return true
	}
	// utf8.Valid refuses surrogates; XML also excludes U+FFFE and U+FFFF.
	return utf8.Valid(b) && !bytes.Contains(b, []byte("\xef\xbf\xbe")) && !bytes.Contains(b, []byte("\xef\xbf\xbf"))
}

func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// checkRef checks the reference starting with '&' at b[i] and returns its length
// and the character it stands for, or n < 0 when it is not valid.
func checkRef(b []byte, i int) (n int, r rune) {
	j := i + 1
	if j < len(b) && b[j] == '#' {
		j++
		hex := j < len(b) && b[j] == 'x'
		if hex {
			j++
		}
		start := j
		for ; j < len(b) && j-start < 8; j++ {
			c := b[j]
			switch {
			case c >= '0' && c <= '9':
				if hex {
					r = r<<4 | rune(c-'0')
				} else {
					r = r*10 + rune(c-'0')
				}
				continue
			case hex && c >= 'a' && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
				continue
			case hex && c >= 'A' && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
				continue
			}
			break
		}
		if j == start || j >= len(b) || b[j] != ';' || !isXMLChar(r) {
			return -1, 0
		}
		return j + 1 - i, r
	}
	e := scanName(b, j)
	if e >= len(b) || b[e] != ';' {
		return -1, 0
	}
	switch string(b[j:e]) {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		return -1, 0
	}
	return e + 1 - i, r
}

// appendUnescaped appends the character data v (already checked) with its
// references replaced and line ends normalised (\r\n and \r become \n), as XML
// parsers report it.
func appendUnescaped(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		switch c {
		case '&':
			n, r := checkRef(v, i)
			if n < 0 { // not reached for checked input
				dst = append(dst, c)
				i++
				continue
			}
			dst = utf8.AppendRune(dst, r)
			i += n
		case '\r':
			dst = append(dst, '\n')
			i++
			if i < len(v) && v[i] == '\n' {
				i++
			}
		default:
			j := i + 1
			for j < len(v) && v[j] != '&' && v[j] != '\r' {
				j++
			}
			dst = append(dst, v[i:j]...)
			i = j
		}
	}
	return dst
}

func needsUnescape(v []byte) bool {
	for _, c := range v {
		if c == '&' || c == '\r' {
			return true
		}
	}
	return false
}

// attrString returns the unescaped attribute value v as a (possibly interned) string.
func attrString(v []byte) string {
	if !needsUnescape(v) {
		return intern(v)
	}
	var buf [128]byte
	return intern(appendUnescaped(buf[:0], v))
}

// attrScan walks the attributes of a start tag. Start it just past the element
// name; next returns attributes until the tag ends (then i is just past '>' and
// self tells whether it was "/>") or something is wrong (bad).
type attrScan struct {
	b    []byte
	i    int
	self bool
	bad  bool
	esc  bool // the last value holds a reference or a \r (see attrValue)
}

// value returns the unescaped value v that next just returned.
func (a *attrScan) value(v []byte) string {
	if !a.esc {
		return intern(v)
	}
	return attrString(v)
}

func (a *attrScan) next() (name, val []byte, ok bool) {
	b := a.b
	i := skipSpace(b, a.i)
	if i >= len(b) {
		a.bad = true
		return nil, nil, false
	}
	switch b[i] {
	case '>':
		a.i = i + 1
		return nil, nil, false
	case '/':
		if i+1 < len(b) && b[i+1] == '>' {
			a.i = i + 2
			a.self = true
		} else {
			a.bad = true
		}
		return nil, nil, false
	}
	ne := scanName(b, i)
	if ne == i { // no name (like encoding/xml, no space is needed after a value)
		a.bad = true
		return nil, nil, false
	}
	name = b[i:ne]
	i = skipSpace(b, ne)
	if i >= len(b) || b[i] != '=' {
		a.bad = true
		return nil, nil, false
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '"' && b[i] != '\'' {
		a.bad = true
		return nil, nil, false
	}
	q := b[i]
	vs := i + 1
	j := vs
	a.esc = false
	// Find the next quote, '<', '&' or '\r' eight bytes at a time (the lowest
	// marked byte of hasZeroByte is the first match); the last few bytes of b
	// go one by one. The other quote needs no attention.
	const ones = 0x0101010101010101
	qq := uint64(q) * ones
	for {
		if j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			m := hasZeroByte(x^qq) | hasZeroByte(x^('<'*ones)) | hasZeroByte(x^('&'*ones)) | hasZeroByte(x^('\r'*ones))
			if m == 0 {
				j += 8
				continue
			}
			j += bits.TrailingZeros64(m) >> 3
		} else {
			for j < len(b) && b[j] != q && b[j] != '<' && b[j] != '&' && b[j] != '\r' {
				j++
			}
			if j >= len(b) {
				break
			}
		}
		c := b[j]
		if c == q {
			break
		}
		if c == '<' {
			a.bad = true
			return nil, nil, false
		}
		if c == '&' {
			n, _ := checkRef(b, j)
			if n < 0 {
				a.bad = true
				return nil, nil, false
			}
			a.esc = true
			j += n
			continue
		}
		a.esc = true // '\r'
		j++
	}
	if j >= len(b) {
		a.bad = true
		return nil, nil, false
	}
	a.i = j + 1
	return name, b[vs:j], true
}

// skipAttrs checks the attributes of a start tag from b[i] (just past the name)
// and returns the position past the tag and whether it closed itself.
func skipAttrs(b []byte, i int) (end int, self, ok bool) {
	a := attrScan{b: b, i: i}
	for {
		if _, _, more := a.next(); !more {
			break
		}
	}
	return a.i, a.self, !a.bad
}

// scanText checks character data from b[i] and returns the position of the next
// '<' (or len(b)), or -1 for a bad reference.
func scanText(b []byte, i int) int {
	if i < len(b) && b[i] == '<' { // no text, the common case between tags
		return i
	}
	j := bytes.IndexByte(b[i:], '<')
	if j < 0 {
		j = len(b)
	} else {
		j += i
	}
	for {
		k := bytes.IndexByte(b[i:j], '&')
		if k < 0 {
			return j
		}
		n, _ := checkRef(b, i+k)
		if n < 0 {
			return -1
		}
		i += k + n
	}
}

// skipMarkup skips the comment, CDATA section or processing instruction at b[i]
// ('<' followed by '!' or '?') and returns the position past it, or -1.
func skipMarkup(b []byte, i int, cdataOK bool) int {
	rest := b[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		k := bytes.Index(rest[4:], []byte("--"))
		if k < 0 || 4+k+2 >= len(rest) || rest[4+k+2] != '>' {
			return -1
		}
		return i + 4 + k + 3
	case cdataOK && bytes.HasPrefix(rest, []byte("<![CDATA[")):
		k := bytes.Index(rest[9:], []byte("]]>"))
		if k < 0 {
			return -1
		}
		return i + 9 + k + 3
	case len(rest) > 1 && rest[1] == '?':
		ne := scanName(rest, 2)
		if ne == 2 {
			return -1
		}
		if ne < len(rest) && !isSpace(rest[ne]) && rest[ne] != '?' {
			return -1
		}
		k := bytes.Index(rest[ne:], []byte("?>"))
		if k < 0 {
			return -1
		}
		return i + ne + k + 2
	}
	return -1
}

// skipMisc skips what may stand outside the root element: a UTF-8 byte order
// mark (at the start), white space, comments and processing instructions such
// as the <?xml …?> declaration.
func skipMisc(b []byte, i int) int {
	if i == 0 && bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	for {
		i = skipSpace(b, i)
		if i+1 >= len(b) || b[i] != '<' || b[i+1] != '!' && b[i+1] != '?' {
			return i
		}
		j := skipMarkup(b, i, false)
		if j < 0 {
			return i
		}
		i = j
	}
}

// scanElement checks the element whose start tag begins at b[i] ('<') and
// returns the end of its start tag and the position just past the element.
// depth is the element's nesting level (<event> is 1).
func scanElement(b []byte, i, depth int) (startEnd, end int, err error) {
	if depth > MaxDepth {
		return 0, 0, errTooDeep
	}
	ne := scanName(b, i+1)
	if ne == i+1 {
		return 0, 0, errMalformed("bad element name")
	}
	startEnd, self, ok := skipAttrs(b, ne)
	if !ok {
		return 0, 0, errMalformed("bad start tag <" + string(b[i+1:ne]) + ">")
	}
	if self {
		return startEnd, startEnd, nil
	}
	end, err = scanContent(b, startEnd, b[i+1:ne], depth)
	return startEnd, end, err
}

// scanContent checks the content of the element name (nesting level depth)
// from b[i], just past its start tag, and returns the position past its end tag.
func scanContent(b []byte, i int, name []byte, depth int) (int, error) {
	var stack [MaxDepth][]byte
	stack[0] = name
	sp := 1
	for {
		j := scanText(b, i)
		if j < 0 {
			return 0, errMalformed("bad character reference")
		}
		if j+1 >= len(b) {
			return 0, errMalformed("unclosed <" + string(stack[sp-1]) + ">")
		}
		i = j
		switch b[i+1] {
		case '/':
			ne := scanName(b, i+2)
			k := skipSpace(b, ne)
			if k >= len(b) || b[k] != '>' || !bytes.Equal(b[i+2:ne], stack[sp-1]) {
				return 0, errMalformed("end tag does not match <" + string(stack[sp-1]) + ">")
			}
			i = k + 1
			sp--
			if sp == 0 {
				return i, nil
			}
		case '!', '?':
			k := skipMarkup(b, i, true)
			if k < 0 {
				return 0, errMalformed("bad comment, CDATA or processing instruction")
			}
			i = k
		default:
			if depth+sp > MaxDepth {
				return 0, errTooDeep
			}
			ne := scanName(b, i+1)
			if ne == i+1 {
				return 0, errMalformed("bad element name")
			}
			end, self, ok := skipAttrs(b, ne)
			if !ok {
				return 0, errMalformed("bad start tag <" + string(b[i+1:ne]) + ">")
			}
			if !self {
				stack[sp] = b[i+1 : ne]
				sp++
			}
			i = end
		}
	}
}
