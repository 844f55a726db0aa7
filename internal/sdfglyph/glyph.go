package sdfglyph

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Glyph is one character's field and metrics, in pixels at Size px per em, as MapLibre reads
// them: Left places the box's left edge relative to the pen; Top is the height of the box's
// top edge above the baseline minus the font's ascender at Size px (node-fontnik's convention,
// which MapLibre's shaping offsets assume: without the ascender every label sits about a line
// too high); Bitmap has (Width+2·Buffer)×(Height+2·Buffer) bytes. A
// glyph with no outline (a space) has a zero box, no bitmap and only an advance.
type Glyph struct {
	ID            rune
	Width, Height int
	Left, Top     int
	Advance       int
	Bitmap        []byte
}

// Renderer draws glyph fields from one font. It is not safe for concurrent use (it reuses
// the font's parsing buffer).
type Renderer struct {
	font *sfnt.Font
	buf  sfnt.Buffer
	// ascent is the font's ascender at Size px, rounded up as FreeType does.
	ascent int
	// Oversample is how many times finer than the output the outline is rasterised before
	// the distance transform, so that distances are measured to within a fraction of a
	// pixel. 1 works (it is what a browser-side generator does); 4 gives cleaner curves.
	Oversample int
}

// NewRenderer parses a TrueType or OpenType font file.
func NewRenderer(ttf []byte) (*Renderer, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("sdfglyph: parse font: %w", err)
	}
	r := &Renderer{font: f, Oversample: 4}
	m, err := f.Metrics(&r.buf, fixed.I(Size), font.HintingNone)
	if err != nil {
		return nil, fmt.Errorf("sdfglyph: font metrics: %w", err)
	}
	r.ascent = m.Ascent.Ceil()
	return r, nil
}

// Glyph draws the field for code point c. ok is false when the font has no glyph for c (its
// cmap maps c to the .notdef glyph), so that the caller leaves it out of the range file and
// MapLibre falls back to drawing nothing rather than a box.
func (r *Renderer) Glyph(c rune) (g Glyph, ok bool, err error) {
	idx, err := r.font.GlyphIndex(&r.buf, c)
	if err != nil {
		return Glyph{}, false, fmt.Errorf("sdfglyph: glyph index of %U: %w", c, err)
	}
	if idx == 0 {
		return Glyph{}, false, nil
	}
	adv, err := r.font.GlyphAdvance(&r.buf, idx, fixed.I(Size), font.HintingNone)
	if err != nil {
		return Glyph{}, false, fmt.Errorf("sdfglyph: advance of %U: %w", c, err)
	}
	g = Glyph{ID: c, Advance: int(math.Round(float64(adv) / 64))}

	s := max(r.Oversample, 1)
	segs, err := r.font.LoadGlyph(&r.buf, idx, fixed.I(Size*s), nil)
	if errors.Is(err, sfnt.ErrColoredGlyph) {
		return Glyph{}, false, nil
	}
	if err != nil {
		return Glyph{}, false, fmt.Errorf("sdfglyph: outline of %U: %w", c, err)
	}
	if len(segs) == 0 {
		return g, true, nil // blank glyph: advance only
	}
	// Copy the outline out of the font buffer, in float pixels at the fine scale (Y down).
	type pt struct{ x, y float64 }
	type seg struct {
		op  sfnt.SegmentOp
		pts [3]pt
	}
	path := make([]seg, len(segs))
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for i, sg := range segs {
		path[i].op = sg.Op
		n := 1
		switch sg.Op {
		case sfnt.SegmentOpQuadTo:
			n = 2
		case sfnt.SegmentOpCubeTo:
			n = 3
		}
		for j := 0; j < n; j++ {
			p := pt{float64(sg.Args[j].X) / 64, float64(sg.Args[j].Y) / 64}
			path[i].pts[j] = p
			// Control points bound the curve, so this box holds the whole outline.
			minX, maxX = math.Min(minX, p.x), math.Max(maxX, p.x)
			minY, maxY = math.Min(minY, p.y), math.Max(maxY, p.y)
		}
	}
	// The glyph box in output pixels, rounded outwards.
	x0 := int(math.Floor(minX / float64(s)))
	x1 := int(math.Ceil(maxX / float64(s)))
	y0 := int(math.Floor(minY / float64(s))) // Y down: y0 is the top row
	y1 := int(math.Ceil(maxY / float64(s)))
	if x1 <= x0 || y1 <= y0 {
		return g, true, nil // degenerate outline (a zero-area mark): nothing to draw
	}
	g.Left, g.Top = x0, -y0-r.ascent
	g.Width, g.Height = x1-x0, y1-y0

	bw, bh := g.Width+2*Buffer, g.Height+2*Buffer // bitmap size, output pixels
	fw, fh := bw*s, bh*s                          // bitmap size, fine pixels
	ox := float64((x0 - Buffer) * s)              // fine-pixel origin of the bitmap
	oy := float64((y0 - Buffer) * s)
	ras := vector.NewRasterizer(fw, fh)
	ras.DrawOp = draw.Src
	open := false
	for _, sg := range path {
		p := sg.pts
		switch sg.op {
		case sfnt.SegmentOpMoveTo:
			if open {
				ras.ClosePath()
			}
			ras.MoveTo(float32(p[0].x-ox), float32(p[0].y-oy))
			open = true
		case sfnt.SegmentOpLineTo:
			ras.LineTo(float32(p[0].x-ox), float32(p[0].y-oy))
		case sfnt.SegmentOpQuadTo:
			ras.QuadTo(float32(p[0].x-ox), float32(p[0].y-oy), float32(p[1].x-ox), float32(p[1].y-oy))
		case sfnt.SegmentOpCubeTo:
			ras.CubeTo(float32(p[0].x-ox), float32(p[0].y-oy), float32(p[1].x-ox), float32(p[1].y-oy),
				float32(p[2].x-ox), float32(p[2].y-oy))
		}
	}
	if open {
		ras.ClosePath()
	}
	mask := image.NewAlpha(image.Rect(0, 0, fw, fh))
	ras.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})

	cover := make([]float64, fw*fh)
	for i, a := range mask.Pix {
		cover[i] = float64(a) / 255
	}
	dist := SignedDistance(cover, fw, fh)

	// Each output pixel takes the mean distance over its s×s fine pixels: for a field that
	// is locally linear that is the distance at the output pixel's centre.
	g.Bitmap = make([]byte, bw*bh)
	norm := 1 / float64(s*s*s) // mean over s² samples, then fine pixels to output pixels
	for y := 0; y < bh; y++ {
		for x := 0; x < bw; x++ {
			sum := 0.0
			for fy := y * s; fy < (y+1)*s; fy++ {
				row := dist[fy*fw:]
				for fx := x * s; fx < (x+1)*s; fx++ {
					sum += row[fx]
				}
			}
			g.Bitmap[y*bw+x] = Encode(sum * norm)
		}
	}
	return g, true, nil
}

// Range draws every glyph the font has in [start, end].
func (r *Renderer) Range(start, end rune) ([]Glyph, error) {
	var out []Glyph
	for c := start; c <= end; c++ {
		g, ok, err := r.Glyph(c)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, g)
		}
	}
	return out, nil
}
