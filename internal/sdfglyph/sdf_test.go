package sdfglyph

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"golang.org/x/image/font/gofont/goregular"
)

func TestDistanceTransform(t *testing.T) {
	// Each case marks feature pixels on a w×h grid and compares the transform with a brute
	// force search over all feature pixels.
	tests := []struct {
		name     string
		w, h     int
		features [][2]int
	}{
		{"one point", 7, 5, [][2]int{{2, 3}}},
		{"corner point", 6, 6, [][2]int{{0, 0}}},
		{"two points", 9, 4, [][2]int{{0, 0}, {8, 3}}},
		{"vertical line", 8, 6, [][2]int{{3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}, {3, 5}}},
		{"single row", 10, 1, [][2]int{{4, 0}}},
		{"single column", 1, 10, [][2]int{{0, 7}}},
		{"all feature", 3, 3, [][2]int{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {1, 1}, {2, 1}, {0, 2}, {1, 2}, {2, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			grid := make([]float64, tc.w*tc.h)
			for i := range grid {
				grid[i] = inf
			}
			for _, p := range tc.features {
				grid[p[1]*tc.w+p[0]] = 0
			}
			DistanceTransform(grid, tc.w, tc.h)
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					want := math.Inf(1)
					for _, p := range tc.features {
						dx, dy := float64(x-p[0]), float64(y-p[1])
						want = math.Min(want, dx*dx+dy*dy)
					}
					if got := grid[y*tc.w+x]; got != want {
						t.Errorf("(%d,%d) = %v, want %v", x, y, got, want)
					}
				}
			}
		})
	}
}

func TestSignedDistanceSquare(t *testing.T) {
	// A 6×6 solid square at (5..10, 5..10] in a 16×16 mask: its edges run along pixel
	// boundaries, so a pixel centre k pixels away from it is k-0.5 from the outline.
	const w, h = 16, 16
	alpha := make([]float64, w*h)
	for y := 5; y < 11; y++ {
		for x := 5; x < 11; x++ {
			alpha[y*w+x] = 1
		}
	}
	d := SignedDistance(alpha, w, h)
	tests := []struct {
		x, y int
		want float64
		tol  float64
	}{
		{5, 5, -1, 0},                // inside corner pixel: one pixel from the nearest outside centre
		{7, 7, -3, 0},                // deepest inside
		{4, 7, 1, 0},                 // just left of the square
		{1, 7, 4, 0},                 // four columns out
		{2, 2, math.Sqrt(18), 1e-12}, // diagonal from the corner pixel (5,5)
		{15, 15, math.Sqrt(50), 1e-12},
	}
	for _, tc := range tests {
		if got := d[tc.y*w+tc.x]; math.Abs(got-tc.want) > tc.tol {
			t.Errorf("d(%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
	// Anti-aliased edge: a pixel half covered sits on the outline.
	alpha[4*w+7] = 0.5
	d = SignedDistance(alpha, w, h)
	if got := d[4*w+7]; math.Abs(got) > 1e-12 {
		t.Errorf("half-covered pixel: d = %v, want 0", got)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		d    float64
		want byte
	}{
		{0, 191},   // the outline: 255·(1-0.25), where the shader's 0.75 threshold lies
		{-2, 255},  // cutoff·radius = 2 px inside and deeper: white
		{-10, 255}, // clamped
		{1, 159},   // 32 levels a pixel
		{6, 0},     // (1-cutoff)·radius outside: black
		{50, 0},    // clamped
	}
	for _, tc := range tests {
		if got := Encode(tc.d); got != tc.want {
			t.Errorf("Encode(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestPBFRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		stack  string
		start  int
		glyphs []Glyph
	}{
		{"empty range", "Noto Sans Regular", 0, nil},
		{"blank and drawn", "Noto Sans Bold", 256, []Glyph{
			{ID: 288, Advance: 6},
			{ID: 300, Width: 2, Height: 1, Left: -1, Top: 17, Advance: 9, Bitmap: bytes.Repeat([]byte{7}, (2+6)*(1+6))},
			{ID: 511, Width: 1, Height: 3, Left: 4, Top: -5, Advance: 0, Bitmap: bytes.Repeat([]byte{200}, (1+6)*(3+6))},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := EncodeRange(tc.stack, tc.start, tc.start+255, tc.glyphs)
			stacks, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(stacks) != 1 {
				t.Fatalf("%d fontstacks, want 1", len(stacks))
			}
			fs := stacks[0]
			if fs.Name != tc.stack {
				t.Errorf("name %q, want %q", fs.Name, tc.stack)
			}
			if want := fmt.Sprintf("%d-%d", tc.start, tc.start+255); fs.Range != want {
				t.Errorf("range %q, want %q", fs.Range, want)
			}
			if len(fs.Glyphs) != len(tc.glyphs) {
				t.Fatalf("%d glyphs, want %d", len(fs.Glyphs), len(tc.glyphs))
			}
			for i, g := range fs.Glyphs {
				w := tc.glyphs[i]
				if g.ID != w.ID || g.Width != w.Width || g.Height != w.Height || g.Left != w.Left ||
					g.Top != w.Top || g.Advance != w.Advance || !bytes.Equal(g.Bitmap, w.Bitmap) {
					t.Errorf("glyph %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDecodeRejectsWrongBitmapSize(t *testing.T) {
	b := EncodeRange("x", 0, 255, []Glyph{{ID: 65, Width: 2, Height: 2, Bitmap: make([]byte, 4)}})
	if _, err := Decode(b); err == nil {
		t.Fatal("a 4-byte bitmap for a 2×2 glyph (needs 8×8) was accepted")
	}
	if _, err := Decode([]byte{0x0a, 0x05, 0x01}); err == nil {
		t.Fatal("truncated message was accepted")
	}
}

func TestGlyph(t *testing.T) {
	r, err := NewRenderer(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		c          rune
		ok, blank  bool
		minW, maxW int
		minH, maxH int
		onBaseline bool // bottom of the box at the baseline (no descender)
	}{
		{c: 'A', ok: true, minW: 12, maxW: 18, minH: 16, maxH: 19, onBaseline: true},
		{c: 'x', ok: true, minW: 9, maxW: 14, minH: 11, maxH: 14, onBaseline: true},
		{c: 'g', ok: true, minW: 9, maxW: 14, minH: 16, maxH: 20},
		{c: 'é', ok: true, minW: 9, maxW: 14, minH: 16, maxH: 20, onBaseline: true},
		{c: ' ', ok: true, blank: true},
		{c: '\uE000', ok: false}, // private use: not in the font
	}
	for _, tc := range tests {
		t.Run(string(tc.c), func(t *testing.T) {
			g, ok, err := r.Glyph(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if g.ID != tc.c || g.Advance <= 0 || g.Advance > Size {
				t.Errorf("id %U advance %d", g.ID, g.Advance)
			}
			if tc.blank {
				if g.Width != 0 || g.Height != 0 || g.Bitmap != nil {
					t.Errorf("blank glyph has box %d×%d, %d bitmap bytes", g.Width, g.Height, len(g.Bitmap))
				}
				return
			}
			if g.Width < tc.minW || g.Width > tc.maxW || g.Height < tc.minH || g.Height > tc.maxH {
				t.Errorf("box %d×%d, want %d..%d × %d..%d", g.Width, g.Height, tc.minW, tc.maxW, tc.minH, tc.maxH)
			}
			if above := g.Top + r.ascent; tc.onBaseline && (above-g.Height < -1 || above-g.Height > 1) {
				t.Errorf("top %d (+ ascent %d) height %d: box does not sit on the baseline", g.Top, r.ascent, g.Height)
			}
			bw, bh := g.Width+2*Buffer, g.Height+2*Buffer
			if len(g.Bitmap) != bw*bh {
				t.Fatalf("bitmap %d bytes, want %d", len(g.Bitmap), bw*bh)
			}
			// The border is outside the outline everywhere; some pixels are inside.
			inside := 0
			for y := 0; y < bh; y++ {
				for x := 0; x < bw; x++ {
					v := g.Bitmap[y*bw+x]
					if v >= 192 {
						inside++
					}
					if (x == 0 || y == 0 || x == bw-1 || y == bh-1) && v >= 192 {
						t.Errorf("border pixel (%d,%d) = %d, inside the outline", x, y, v)
					}
				}
			}
			if inside < 10 {
				t.Errorf("only %d pixels inside the outline", inside)
			}
		})
	}
}

func TestGlyphBarOfA(t *testing.T) {
	// The crossbar of 'A' crosses the vertical centre line: walking down that column from
	// the apex, the field goes inside (apex), outside (the triangle's hole), inside (bar),
	// outside (below the bar, between the legs).
	r, err := NewRenderer(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := r.Glyph('A')
	if err != nil {
		t.Fatal(err)
	}
	bw, bh := g.Width+2*Buffer, g.Height+2*Buffer
	x := bw / 2
	var runs []bool
	for y := 0; y < bh; y++ {
		in := g.Bitmap[y*bw+x] >= 192
		if len(runs) == 0 || runs[len(runs)-1] != in {
			runs = append(runs, in)
		}
	}
	want := []bool{false, true, false, true, false}
	if len(runs) != len(want) {
		t.Fatalf("centre column runs %v, want %v", runs, want)
	}
}

func TestRangeSkipsMissing(t *testing.T) {
	r, err := NewRenderer(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := r.Range(0xE000, 0xE0FF)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 0 {
		t.Errorf("%d glyphs in a private-use block the font lacks", len(gs))
	}
	gs, err = r.Range('0', '9')
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 10 {
		t.Errorf("%d digits, want 10", len(gs))
	}
}

func TestNewRendererRejectsGarbage(t *testing.T) {
	if _, err := NewRenderer([]byte("not a font")); err == nil {
		t.Fatal("garbage parsed as a font")
	}
}
