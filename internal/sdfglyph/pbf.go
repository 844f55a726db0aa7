package sdfglyph

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The glyph range file is this protobuf message (the schema MapLibre's parser reads, field
// numbers and wire types included):
//
//	message glyphs    { repeated fontstack stacks = 1; }
//	message fontstack { string name = 1; string range = 2; repeated glyph glyphs = 3; }
//	message glyph     { uint32 id = 1; bytes bitmap = 2; uint32 width = 3; uint32 height = 4;
//	                    sint32 left = 5; sint32 top = 6; uint32 advance = 7; }
//
// It is written with protowire by hand: three messages do not warrant generated code.
const (
	fieldStacks = 1

	fieldStackName   = 1
	fieldStackRange  = 2
	fieldStackGlyphs = 3

	fieldGlyphID      = 1
	fieldGlyphBitmap  = 2
	fieldGlyphWidth   = 3
	fieldGlyphHeight  = 4
	fieldGlyphLeft    = 5
	fieldGlyphTop     = 6
	fieldGlyphAdvance = 7
)

// Fontstack is one decoded fontstack message.
type Fontstack struct {
	Name   string
	Range  string
	Glyphs []Glyph
}

// EncodeRange writes the range file for glyphs of fontstack name covering start..end (the
// range string MapLibre puts in the URL, e.g. "0-255").
func EncodeRange(name string, start, end int, glyphs []Glyph) []byte {
	var stack []byte
	stack = protowire.AppendTag(stack, fieldStackName, protowire.BytesType)
	stack = protowire.AppendString(stack, name)
	stack = protowire.AppendTag(stack, fieldStackRange, protowire.BytesType)
	stack = protowire.AppendString(stack, fmt.Sprintf("%d-%d", start, end))
	for _, g := range glyphs {
		stack = protowire.AppendTag(stack, fieldStackGlyphs, protowire.BytesType)
		stack = protowire.AppendBytes(stack, encodeGlyph(g))
	}
	var out []byte
	out = protowire.AppendTag(out, fieldStacks, protowire.BytesType)
	return protowire.AppendBytes(out, stack)
}

func encodeGlyph(g Glyph) []byte {
	var b []byte
	b = protowire.AppendTag(b, fieldGlyphID, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(g.ID))
	if len(g.Bitmap) > 0 { // a blank glyph has no bitmap field at all
		b = protowire.AppendTag(b, fieldGlyphBitmap, protowire.BytesType)
		b = protowire.AppendBytes(b, g.Bitmap)
	}
	b = protowire.AppendTag(b, fieldGlyphWidth, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(g.Width))
	b = protowire.AppendTag(b, fieldGlyphHeight, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(g.Height))
	b = protowire.AppendTag(b, fieldGlyphLeft, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(g.Left)))
	b = protowire.AppendTag(b, fieldGlyphTop, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(g.Top)))
	b = protowire.AppendTag(b, fieldGlyphAdvance, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(g.Advance))
	return b
}

// Decode reads a range file back. It checks what MapLibre relies on (the bitmap size
// matches the box plus border) so that a test or the generator can verify its own output.
func Decode(b []byte) ([]Fontstack, error) {
	var stacks []Fontstack
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldStacks || typ != protowire.BytesType {
			return nil // unknown fields are skipped, as protobuf readers do
		}
		fs, err := decodeStack(v)
		if err != nil {
			return err
		}
		stacks = append(stacks, fs)
		return nil
	})
	return stacks, err
}

func decodeStack(b []byte) (Fontstack, error) {
	var fs Fontstack
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case fieldStackName:
			fs.Name = string(v)
		case fieldStackRange:
			fs.Range = string(v)
		case fieldStackGlyphs:
			g, err := decodeGlyph(v)
			if err != nil {
				return err
			}
			fs.Glyphs = append(fs.Glyphs, g)
		}
		return nil
	})
	return fs, err
}

func decodeGlyph(b []byte) (Glyph, error) {
	var g Glyph
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if num == fieldGlyphBitmap {
			if typ != protowire.BytesType {
				return errors.New("sdfglyph: bitmap is not bytes")
			}
			g.Bitmap = append([]byte(nil), v...)
			return nil
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case fieldGlyphID:
			g.ID = rune(x)
		case fieldGlyphWidth:
			g.Width = int(x)
		case fieldGlyphHeight:
			g.Height = int(x)
		case fieldGlyphLeft:
			g.Left = int(protowire.DecodeZigZag(x))
		case fieldGlyphTop:
			g.Top = int(protowire.DecodeZigZag(x))
		case fieldGlyphAdvance:
			g.Advance = int(x)
		}
		return nil
	})
	if err != nil {
		return g, err
	}
	if len(g.Bitmap) > 0 && len(g.Bitmap) != (g.Width+2*Buffer)*(g.Height+2*Buffer) {
		return g, fmt.Errorf("sdfglyph: glyph %U: bitmap has %d bytes, want (%d+%d)×(%d+%d)",
			g.ID, len(g.Bitmap), g.Width, 2*Buffer, g.Height, 2*Buffer)
	}
	return g, nil
}

// fields calls fn for each field of a message: v holds a length-delimited value, x a
// varint one.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("sdfglyph: bad tag: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("sdfglyph: bad field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
