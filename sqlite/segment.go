package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bluehelm/bluehelm"
)

// A segment is a run of one track's reports packed into one row of
// position_segments: strictly increasing times, at most segmentMaxPoints
// reports spanning at most segmentMaxSpan.
//
// Encoding (version 1), all integers little endian or varint:
//
//	byte     version (1)
//	uvarint  n, the number of reports
//	uvarint  k, the number of distinct sources, then k × (uvarint length, bytes)
//	n × report:
//	  uvarint  time − previous time in ms (the first: − t_min, so 0)
//	  7 × 8 bytes  lat, lon, hae, ce, le, course, speed as float64 bits (exact)
//	  varint   battery
//	  uvarint  index of the source
const (
	segmentVersion   = 1
	segmentMaxPoints = 1024
	// segmentMaxSpan bounds how far before a query's start a segment holding
	// reports in the query's window can begin (queries look back this far).
	segmentMaxSpan = time.Hour
)

var errSegment = errors.New("corrupt position segment")

// point is a report inside the store: a position of a known track at a whole
// millisecond.
type point struct {
	t       int64 // unix ms
	lat     float64
	lon     float64
	hae     float64
	ce      float64
	le      float64
	course  float64
	speed   float64
	battery int
	source  string
}

func pointOf(p bluehelm.Position) point {
	return point{t: p.Time.UnixMilli(), lat: p.Lat, lon: p.Lon, hae: p.HAE, ce: p.CE, le: p.LE,
		course: p.Course, speed: p.Speed, battery: p.Battery, source: p.Source}
}

func (p point) position(uid string) bluehelm.Position {
	return bluehelm.Position{UID: uid, Time: time.UnixMilli(p.t).UTC(), Lat: p.lat, Lon: p.lon, HAE: p.hae, CE: p.ce, LE: p.le,
		Course: p.course, Speed: p.speed, Battery: p.battery, Source: p.source}
}

// encodeSegment packs ps, which must be sorted by strictly increasing time.
func encodeSegment(ps []point) []byte {
	var srcs []string
	idx := map[string]uint64{}
	for _, p := range ps {
		if _, ok := idx[p.source]; !ok {
			idx[p.source] = uint64(len(srcs))
			srcs = append(srcs, p.source)
		}
	}
	b := make([]byte, 0, 8+len(ps)*62)
	b = append(b, segmentVersion)
	b = binary.AppendUvarint(b, uint64(len(ps)))
	b = binary.AppendUvarint(b, uint64(len(srcs)))
	for _, s := range srcs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	prev := ps[0].t
	for _, p := range ps {
		b = binary.AppendUvarint(b, uint64(p.t-prev))
		prev = p.t
		for _, f := range [...]float64{p.lat, p.lon, p.hae, p.ce, p.le, p.course, p.speed} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		b = binary.AppendVarint(b, int64(p.battery))
		b = binary.AppendUvarint(b, idx[p.source])
	}
	return b
}

// decodeSegment appends the reports of a segment starting at tMin to dst.
func decodeSegment(dst []point, data []byte, tMin int64) ([]point, error) {
	if len(data) == 0 || data[0] != segmentVersion {
		return dst, fmt.Errorf("%w: unknown version", errSegment)
	}
	b := data[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	n, ok1 := uv()
	k, ok2 := uv()
	if !ok1 || !ok2 || n > segmentMaxPoints*4 || k > n {
		return dst, fmt.Errorf("%w: bad header", errSegment)
	}
	srcs := make([]string, k)
	for i := range srcs {
		l, ok := uv()
		if !ok || l > uint64(len(b)) {
			return dst, fmt.Errorf("%w: bad source", errSegment)
		}
		srcs[i], b = string(b[:l]), b[l:]
	}
	dst = slices.Grow(dst, int(n))
	t := tMin
	for range n {
		d, ok := uv()
		if !ok || len(b) < 7*8 {
			return dst, fmt.Errorf("%w: truncated", errSegment)
		}
		t += int64(d)
		var f [7]float64
		for i := range f {
			f[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		}
		bat, m := binary.Varint(b)
		if m <= 0 {
			return dst, fmt.Errorf("%w: truncated", errSegment)
		}
		b = b[m:]
		si, ok := uv()
		if !ok || si >= uint64(len(srcs)) {
			return dst, fmt.Errorf("%w: bad source index", errSegment)
		}
		dst = append(dst, point{t: t, lat: f[0], lon: f[1], hae: f[2], ce: f[3], le: f[4], course: f[5], speed: f[6], battery: int(bat), source: srcs[si]})
	}
	if len(b) != 0 {
		return dst, fmt.Errorf("%w: %d trailing bytes", errSegment, len(b))
	}
	return dst, nil
}

// splitSegments cuts points sorted by strictly increasing time into runs that
// respect segmentMaxPoints and segmentMaxSpan.
func splitSegments(ps []point) [][]point {
	var out [][]point
	span := segmentMaxSpan.Milliseconds()
	for start := 0; start < len(ps); {
		end := start + 1
		for end < len(ps) && end-start < segmentMaxPoints && ps[end].t-ps[start].t <= span {
			end++
		}
		out = append(out, ps[start:end])
		start = end
	}
	return out
}

// appendLogPoint encodes the fields of a log row's data: the seven floats as
// float64 bits, the battery as a varint and the source as a uvarint length and
// bytes.
func appendLogPoint(b []byte, p point) []byte {
	for _, f := range [...]float64{p.lat, p.lon, p.hae, p.ce, p.le, p.course, p.speed} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	b = binary.AppendVarint(b, int64(p.battery))
	b = binary.AppendUvarint(b, uint64(len(p.source)))
	return append(b, p.source...)
}

// decodeLogPoint fills the fields appendLogPoint encoded.
func decodeLogPoint(b []byte, p *point) error {
	if len(b) < 7*8 {
		return fmt.Errorf("%w: short log row", errSegment)
	}
	f := [7]*float64{&p.lat, &p.lon, &p.hae, &p.ce, &p.le, &p.course, &p.speed}
	for i := range f {
		*f[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	bat, m := binary.Varint(b)
	if m <= 0 {
		return fmt.Errorf("%w: bad log row", errSegment)
	}
	b = b[m:]
	l, m := binary.Uvarint(b)
	if m <= 0 || l != uint64(len(b)-m) {
		return fmt.Errorf("%w: bad log row", errSegment)
	}
	p.battery, p.source = int(bat), string(b[m:])
	return nil
}
