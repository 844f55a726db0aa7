package federation

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/klauspost/compress/zstd"
)

// The link encoding of a batch of positions. A satellite link is paid by the
// byte, so a batch names each track once (a small dictionary: uid, callsign,
// symbol, marking) and gives each report as varints: the track's index, the
// time since the previous report in milliseconds, and the move since the
// track's previous report in 1e-7 degrees (about a centimetre). Optional fields
// are quantised to what a map can show (0.1 m, 0.01 m/s, 0.01°). The whole is
// then compressed with zstd.
const (
	formatPositions byte = 1
	formatIncident  byte = 2
)

const (
	hasHAE = 1 << iota
	hasCE
	hasLE
	hasCourse
	hasSpeed
	hasBattery
)

// codec holds the compressors, which are safe for concurrent use.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec() *codec {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(1))
	if err != nil {
		panic(err) // only bad options fail
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		panic(err)
	}
	return &codec{enc: enc, dec: dec}
}

type wbuf []byte

func (b *wbuf) uvarint(v uint64) { *b = binary.AppendUvarint(*b, v) }
func (b *wbuf) varint(v int64)   { *b = binary.AppendVarint(*b, v) }
func (b *wbuf) str(s string)     { b.uvarint(uint64(len(s))); *b = append(*b, s...) }

type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) || n > 4096 {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *rbuf) byte1() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *rbuf) fail() {
	if r.err == nil {
		r.err = errors.New("federation: truncated or corrupt batch")
	}
	r.b = nil
}

func q(v, unit float64) int64 { return int64(math.Round(v / unit)) }

// maxBatchPositions bounds a decoded batch, so a corrupt or hostile count cannot
// make the receiver allocate without limit.
const maxBatchPositions = 100000

// encodePositions encodes states (in the order given) for the link.
func (c *codec) encodePositions(states []bluehelm.TrackState) []byte {
	idx := map[string]int{}
	var tracks []bluehelm.Track
	for _, s := range states {
		if _, ok := idx[s.Position.UID]; !ok {
			idx[s.Position.UID] = len(tracks)
			t := s.Track
			t.UID = s.Position.UID
			tracks = append(tracks, t)
		}
	}
	b := make(wbuf, 0, 64+len(tracks)*48+len(states)*16)
	b.uvarint(uint64(len(tracks)))
	for _, t := range tracks {
		b.str(t.UID)
		b.str(t.Callsign)
		b.str(string(t.Kind))
		b.str(t.CoTType)
		b.str(t.SIDC)
		b.str(t.Unit)
		b.str(t.Nationality)
		b.uvarint(uint64(t.Classification))
		b.str(string(t.Component))
		b.uvarint(uint64(len(t.Releasability)))
		for _, r := range t.Releasability {
			b.str(string(r))
		}
	}
	b.uvarint(uint64(len(states)))
	type last struct{ lat, lon int64 }
	prev := make([]last, len(tracks))
	var prevT int64
	for _, s := range states {
		p := s.Position
		i := idx[p.UID]
		b.uvarint(uint64(i))
		ms := p.Time.UnixMilli()
		b.varint(ms - prevT)
		prevT = ms
		lat, lon := q(p.Lat, 1e-7), q(p.Lon, 1e-7)
		b.varint(lat - prev[i].lat)
		b.varint(lon - prev[i].lon)
		prev[i] = last{lat, lon}
		var f byte
		for _, o := range []struct {
			set bool
			bit byte
		}{{p.HAE != 0, hasHAE}, {p.CE != 0, hasCE}, {p.LE != 0, hasLE}, {p.Course != 0, hasCourse}, {p.Speed != 0, hasSpeed}, {p.Battery != 0, hasBattery}} {
			if o.set {
				f |= o.bit
			}
		}
		b = append(b, f)
		if f&hasHAE != 0 {
			b.varint(q(p.HAE, 0.1))
		}
		if f&hasCE != 0 {
			b.varint(q(p.CE, 0.1))
		}
		if f&hasLE != 0 {
			b.varint(q(p.LE, 0.1))
		}
		if f&hasCourse != 0 {
			b.varint(q(p.Course, 0.01))
		}
		if f&hasSpeed != 0 {
			b.varint(q(p.Speed, 0.01))
		}
		if f&hasBattery != 0 {
			b.uvarint(uint64(p.Battery))
		}
	}
	return append([]byte{formatPositions}, c.enc.EncodeAll(b, nil)...)
}

// decodePositions reverses encodePositions. Every report gets source src.
func (c *codec) decodePositions(data []byte, src string) ([]bluehelm.TrackState, error) {
	if len(data) == 0 || data[0] != formatPositions {
		return nil, errors.New("federation: not a position batch")
	}
	raw, err := c.dec.DecodeAll(data[1:], nil)
	if err != nil {
		return nil, fmt.Errorf("federation: position batch: %w", err)
	}
	r := &rbuf{b: raw}
	nt := r.uvarint()
	if nt > maxBatchPositions {
		return nil, errors.New("federation: batch names too many tracks")
	}
	tracks := make([]bluehelm.Track, 0, nt)
	for i := uint64(0); i < nt && r.err == nil; i++ {
		t := bluehelm.Track{UID: r.str(), Callsign: r.str(), Kind: bluehelm.TrackKind(r.str()), CoTType: r.str(),
			SIDC: r.str(), Unit: r.str(), Nationality: r.str()}
		t.Classification = bluehelm.Classification(r.uvarint())
		t.Component = bluehelm.Component(r.str())
		nr := r.uvarint()
		if nr > 8 {
			r.fail()
		}
		for j := uint64(0); j < nr && r.err == nil; j++ {
			t.Releasability = append(t.Releasability, bluehelm.Component(r.str()))
		}
		tracks = append(tracks, t)
	}
	np := r.uvarint()
	if np > maxBatchPositions {
		return nil, errors.New("federation: batch too large")
	}
	type last struct{ lat, lon int64 }
	prev := make([]last, len(tracks))
	out := make([]bluehelm.TrackState, 0, np)
	var t int64
	for k := uint64(0); k < np && r.err == nil; k++ {
		i := r.uvarint()
		if i >= uint64(len(tracks)) {
			r.fail()
			break
		}
		t += r.varint()
		lat := prev[i].lat + r.varint()
		lon := prev[i].lon + r.varint()
		prev[i] = last{lat, lon}
		p := bluehelm.Position{UID: tracks[i].UID, Time: time.UnixMilli(t).UTC(), Lat: float64(lat) * 1e-7, Lon: float64(lon) * 1e-7, Source: src}
		f := r.byte1()
		if f&hasHAE != 0 {
			p.HAE = float64(r.varint()) * 0.1
		}
		if f&hasCE != 0 {
			p.CE = float64(r.varint()) * 0.1
		}
		if f&hasLE != 0 {
			p.LE = float64(r.varint()) * 0.1
		}
		if f&hasCourse != 0 {
			p.Course = float64(r.varint()) * 0.01
		}
		if f&hasSpeed != 0 {
			p.Speed = float64(r.varint()) * 0.01
		}
		if f&hasBattery != 0 {
			p.Battery = int(r.uvarint())
		}
		out = append(out, bluehelm.TrackState{Track: tracks[i], Position: p})
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// incidentMsg is an incident change on the link. Origin and OriginID name the
// incident on the node that filed it, the identity both sides agree on;
// Version is the sender's own version of its copy and Base the receiver's
// version the sender had merged last (0: none), which is how the receiver
// tells a fast-forward from an edit on both sides during a cut.
type incidentMsg struct {
	Origin   string             `json:"o"`
	OriginID int64              `json:"oid"`
	From     string             `json:"f"`
	Version  int                `json:"v"`
	Base     int                `json:"b"`
	Incident *bluehelm.Incident `json:"inc,omitempty"`
	// Withdraw, without content, tells the peer that a record it received
	// was since marked beyond what the link may carry: its copy is then
	// restricted (STRICTLY CONFIDENTIAL, originating component only).
	Withdraw bool `json:"w,omitempty"`
}

func (c *codec) encodeIncident(m *incidentMsg) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("federation: encoding an incident: " + err.Error())
	}
	return append([]byte{formatIncident}, c.enc.EncodeAll(b, nil)...)
}

func (c *codec) decodeIncident(data []byte) (*incidentMsg, error) {
	if len(data) == 0 || data[0] != formatIncident {
		return nil, errors.New("federation: not an incident message")
	}
	raw, err := c.dec.DecodeAll(data[1:], nil)
	if err != nil {
		return nil, fmt.Errorf("federation: incident message: %w", err)
	}
	var m incidentMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("federation: incident message: %w", err)
	}
	if (m.Incident == nil) != m.Withdraw || !ValidName(m.Origin) || m.OriginID <= 0 || m.Version <= 0 {
		return nil, errors.New("federation: incident message without identity")
	}
	return &m, nil
}

// jsonMessage encodes a live event's envelope as the pipeline does.
func jsonMessage(typ string, data any) ([]byte, error) {
	if typ == "" {
		return json.Marshal(data)
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
}
