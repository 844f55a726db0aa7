package cot

import (
	"bufio"
	"bytes"
	"io"
)

// XMLReader splits a CoT XML stream into elements: each top-level <event> and
// <auth>. It skips XML declarations, comments, white space and stray bytes
// between elements, and never consumes a byte past the end of the element it
// returns, so after protocol negotiation the same bufio.Reader can go on with a
// FrameReader. It never asks the bufio.Reader for more bytes than it needs to
// decide where the element ends, so it does not block on a peer that sent one
// event and waits for the answer.
//
// Like the TAK peers, it ends an element at the first "</event>" (or
// "</auth>", white space allowed before '>') after its start tag. Such a string
// can only appear inside a comment or CDATA section of a well-formed event, or
// as the end of an <event> nested in the detail, which TAK does not use; in
// those cases the event is cut short there, the decoder refuses it, and the
// rest is skipped as junk up to the next element.
type XMLReader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewXMLReader reads elements of at most max bytes from r.
func NewXMLReader(r *bufio.Reader, max int) *XMLReader {
	return &XMLReader{r: r, max: max}
}

// Next returns the next <event> or <auth> element (without any declaration
// before it). The bytes may point into the bufio.Reader's buffer: they are valid
// until the next read from it, by this reader or any other. A
// larger element than max is skipped whole and reported as a *DecodeError
// "too_large"; the stream can go on. At a clean end it returns io.EOF, in the
// middle of an element io.ErrUnexpectedEOF, and read errors as they are.
func (x *XMLReader) Next() ([]byte, error) {
	name, err := x.skip()
	if err != nil {
		return nil, err
	}
	return x.element(name)
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// peekSome returns at least one buffered byte, filling the buffer if empty.
func peekSome(r *bufio.Reader) ([]byte, error) {
	if r.Buffered() == 0 {
		if _, err := r.Peek(1); err != nil {
			return nil, err
		}
	}
	return r.Peek(r.Buffered())
}

// skip discards bytes up to the '<' of the next <event or <auth start tag and
// returns which one ("event" or "auth").
func (x *XMLReader) skip() (string, error) {
	r := x.r
outer:
	for {
		buf, err := peekSome(r)
		if err != nil {
			return "", err
		}
		i := bytes.IndexByte(buf, '<')
		if i < 0 {
			r.Discard(len(buf))
			continue
		}
		r.Discard(i)
		// Decide what starts here, peeking one byte more each time.
		var kind int
		for k := 2; ; k++ {
			p, err := r.Peek(k)
			kind = classify(p)
			if kind != kindMore {
				break
			}
			if err != nil {
				if err == io.EOF && len(p) > 1 {
					return "", io.ErrUnexpectedEOF
				}
				if err == io.EOF {
					r.Discard(len(p))
					continue outer
				}
				return "", err
			}
		}
		switch kind {
		case kindPI:
			if err := x.discardThrough("?>"); err != nil {
				return "", err
			}
		case kindComment:
			if err := x.discardThrough("-->"); err != nil {
				return "", err
			}
		case kindAuth:
			return "auth", nil
		case kindEvent:
			return "event", nil
		default:
			r.Discard(1) // a '<' of junk
		}
	}
}

const (
	kindJunk = iota
	kindMore // p is too short to tell
	kindPI
	kindComment
	kindEvent
	kindAuth
)

// classify tells what the bytes p, starting with '<', begin.
func classify(p []byte) int {
	more := false
	for _, c := range [...]struct {
		pat  string
		kind int
		name bool // a start tag: the name must end after pat
	}{{"<?", kindPI, false}, {"<!--", kindComment, false}, {"<event", kindEvent, true}, {"<auth", kindAuth, true}} {
		n := len(c.pat)
		if c.name {
			n++
		}
		if len(p) < n {
			more = more || bytes.HasPrefix([]byte(c.pat), p) || c.name && string(p) == c.pat
			continue
		}
		if string(p[:len(c.pat)]) == c.pat && (!c.name || isNameEnd(p[len(c.pat)])) {
			return c.kind
		}
	}
	if more {
		return kindMore
	}
	return kindJunk
}

func isNameEnd(c byte) bool { return isSpace(c) || c == '>' || c == '/' }

// discardThrough discards bytes through the next occurrence of term.
func (x *XMLReader) discardThrough(term string) error {
	r := x.r
	last := term[len(term)-1]
	var tail []byte // the last bytes discarded, to match term across buffers
	for {
		buf, err := peekSome(r)
		if err != nil {
			return eofUnexpected(err)
		}
		for i := 0; i < len(buf); i++ {
			j := bytes.IndexByte(buf[i:], last)
			if j < 0 {
				break
			}
			i += j
			var w []byte
			if i+1 >= len(term) {
				w = buf[i+1-len(term) : i+1]
			} else {
				w = append(append([]byte(nil), tail...), buf[:i+1]...)
				if len(w) >= len(term) {
					w = w[len(w)-len(term):]
				}
			}
			if string(w) == term {
				r.Discard(i + 1)
				return nil
			}
		}
		tail = append(tail, buf[max(0, len(buf)-len(term)):]...)
		tail = tail[max(0, len(tail)-len(term)):]
		r.Discard(len(buf))
	}
}

// element reads the element whose start tag begins at the reader's position.
func (x *XMLReader) element(name string) ([]byte, error) {
	r := x.r
	x.buf = x.buf[:0]
	var (
		inContent bool
		quote     byte
		prev      byte
		total     int
		tooLarge  bool
		need      = 1 // bytes to peek before scanning on
		first     = true
	)
	for {
		if need > 1 {
			if _, err := r.Peek(need); err != nil {
				if err == bufio.ErrBufferFull {
					return nil, err
				}
				return nil, eofUnexpected(err)
			}
		}
		buf, err := peekSome(r)
		if err != nil {
			return nil, eofUnexpected(err)
		}
		need = 1
		end := -1  // element ends before buf[end]
		stop := -1 // consume only buf[:stop] and peek more
		i := 0
		if first {
			i = 1 + len(name) // "<event" was seen by skip
		}
	scan:
		for i < len(buf) {
			if !inContent {
				c := buf[i]
				i++
				switch {
				case quote != 0:
					if c == quote {
						quote = 0
					}
				case c == '"' || c == '\'':
					quote = c
				case c == '>':
					if prev == '/' {
						end = i
						break scan
					}
					inContent = true
				}
				prev = c
				continue
			}
			j := bytes.IndexByte(buf[i:], '<')
			if j < 0 {
				break
			}
			i += j
			n, more := matchEndTag(buf[i:], name)
			switch {
			case n > 0:
				end = i + n
				break scan
			case more && len(buf)-i+1 <= r.Size():
				stop, need = i, len(buf)-i+1
				break scan
			}
			i++
		}
		n := len(buf)
		if end >= 0 {
			n = end
		} else if stop >= 0 {
			n = stop
		}
		if first && end >= 0 && n <= x.max {
			r.Discard(n) // the element was buffered whole: no copy
			return buf[:n:n], nil
		}
		first = false
		total += n
		if total > x.max {
			tooLarge = true
			x.buf = x.buf[:0]
		}
		if !tooLarge {
			x.buf = append(x.buf, buf[:n]...)
		}
		r.Discard(n)
		if end >= 0 {
			if tooLarge {
				return nil, errf("too_large", "element larger than the limit, skipped")
			}
			return x.buf, nil
		}
	}
}

// matchEndTag reports whether b starts with "</name" + white space + ">" and
// its length, or (more) that b is a prefix of one.
func matchEndTag(b []byte, name string) (n int, more bool) {
	if len(b) < 2+len(name) {
		return 0, bytes.HasPrefix([]byte("</"+name), b)
	}
	if b[1] != '/' || string(b[2:2+len(name)]) != name {
		return 0, false
	}
	i := skipSpace(b, 2+len(name))
	if i >= len(b) {
		return 0, true
	}
	if b[i] != '>' {
		return 0, false
	}
	return i + 1, false
}

// FrameReader reads TAK protocol v1 stream frames: 0xbf, a varint length, a
// TakMessage payload. Bytes before a 0xbf are skipped and counted (goatak sends
// a 0x00 after each frame), so the reader resynchronises after junk.
type FrameReader struct {
	r       *bufio.Reader
	max     int
	buf     []byte
	skipped uint64
}

// NewFrameReader reads frames of at most max payload bytes from r.
func NewFrameReader(r *bufio.Reader, max int) *FrameReader {
	return &FrameReader{r: r, max: max}
}

// Skipped returns the number of junk bytes skipped so far.
func (f *FrameReader) Skipped() uint64 { return f.skipped }

// Next returns the payload of the next frame. The bytes may point into the
// bufio.Reader's buffer: they are valid until the next read from it.
//
// Errors: io.EOF at a clean end (junk after the last frame included);
// io.ErrUnexpectedEOF in the middle of a frame; *DecodeError for one bad frame,
// after which the stream can go on: "varint_overflow" (a length of more than 10
// bytes or 64 bits; only the 0xbf is dropped and the scan resumes after it),
// "bad_frame" (a zero length), "too_large" (a length over max; the payload is
// skipped when it is at most 64×max, otherwise only the 0xbf is dropped, as
// such a length is more likely junk than a frame).
func (f *FrameReader) Next() ([]byte, error) {
	r := f.r
	for {
		buf, err := peekSome(r)
		if err != nil {
			return nil, err
		}
		i := bytes.IndexByte(buf, 0xbf)
		if i == 0 {
			break
		}
		if i < 0 {
			i = len(buf)
		}
		r.Discard(i)
		f.skipped += uint64(i)
	}
	// The varint: peek only as far as it goes.
	var length uint64
	hdr := 0
	for k := 0; ; k++ {
		if k == 10 {
			r.Discard(1)
			f.skipped++
			return nil, errf("varint_overflow", "frame length longer than 10 bytes")
		}
		p, err := r.Peek(2 + k)
		if err != nil {
			return nil, eofUnexpected(err)
		}
		c := p[1+k]
		if k == 9 && c > 1 {
			r.Discard(1)
			f.skipped++
			return nil, errf("varint_overflow", "frame length over 64 bits")
		}
		length |= uint64(c&0x7f) << (7 * k)
		if c < 0x80 {
			hdr = 2 + k
			break
		}
	}
	switch {
	case length == 0:
		r.Discard(hdr)
		return nil, errf("bad_frame", "zero-length frame")
	case length > uint64(f.max):
		if length > 64*uint64(f.max) {
			r.Discard(1)
			f.skipped++
		} else {
			r.Discard(hdr)
			if n, err := r.Discard(int(length)); n < int(length) {
				return nil, eofUnexpected(err)
			}
		}
		return nil, errf("too_large", "frame larger than the limit, skipped")
	}
	r.Discard(hdr)
	n := int(length)
	if n <= r.Size() {
		p, err := r.Peek(n)
		if err != nil {
			r.Discard(len(p))
			return nil, eofUnexpected(err)
		}
		r.Discard(n)
		return p[:n:n], nil
	}
	if cap(f.buf) < n {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(r, f.buf); err != nil {
		return nil, eofUnexpected(err)
	}
	return f.buf, nil
}
