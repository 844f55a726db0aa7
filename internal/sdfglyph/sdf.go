// Package sdfglyph makes the glyph files MapLibre GL JS draws map text from: one protobuf
// file per block of 256 code points, each glyph a signed distance field (SDF) of its outline.
//
// MapLibre has no way to draw text with the browser's own fonts (except for CJK), and an
// offline site has no glyph server to reach, so the vendoring script runs this package over
// an open font (Noto Sans) once and the files are served from the binary.
//
// The encoding matches what MapLibre's glyph parser and text shader expect (checked against
// maplibre-gl 6.17.0's bundled parser, and the convention of the generators MapLibre's own
// glyph servers use): 24 px per em, a 3 px border round each bitmap, distances spread over
// a radius of 8 px with a cutoff of 0.25, so that the outline sits at byte value 192 (the
// shader's 0.75 threshold), inside is brighter and outside darker, one byte per pixel,
// rows top to bottom.
package sdfglyph

import (
	"math"
)

// MapLibre's fixed parameters. Changing any of them makes MapLibre draw text at the wrong
// size or weight: its shader and its glyph atlas assume these values.
const (
	// Size is the font size, in pixels per em, the fields are drawn at.
	Size = 24
	// Buffer is the border, in pixels, round each glyph's bitmap (MapLibre's GLYPH_PBF_BORDER).
	Buffer = 3
	// Radius is the distance, in pixels, over which the field goes from white to black.
	Radius = 8
	// Cutoff is the share of the byte range spent inside the outline.
	Cutoff = 0.25
)

// inf stands for "no edge found yet" in the distance transform. It is finite so that the
// parabola intersections stay real numbers (inf-inf would be NaN).
const inf = 1e20

// distanceTransform1D computes, for each i, min over j of (i-j)² + f[j]: the squared
// Euclidean distance transform along one line (Felzenszwalb & Huttenlocher, "Distance
// Transforms of Sampled Functions", 2012). f holds squared distances already known along
// the other axis (0 on a feature, inf elsewhere on the first pass). The lower envelope of
// the parabolas rooted at each j is built left to right, then read off; v and z are
// scratch space of length n and n+1.
func distanceTransform1D(f, d []float64, v []int, z []float64) {
	n := len(f)
	if n == 0 {
		return
	}
	k := 0
	v[0] = 0
	z[0] = -inf
	z[1] = inf
	for q := 1; q < n; q++ {
		s := parabolaIntersection(f, q, v[k])
		// z[0] is -inf and s is always above it (f is at most inf), so k stays ≥ 0;
		// the k > 0 test only makes that obvious.
		for k > 0 && s <= z[k] {
			k--
			s = parabolaIntersection(f, q, v[k])
		}
		k++
		v[k] = q
		z[k] = s
		z[k+1] = inf
	}
	k = 0
	for q := 0; q < n; q++ {
		for z[k+1] < float64(q) {
			k++
		}
		dq := float64(q - v[k])
		d[q] = dq*dq + f[v[k]]
	}
}

// parabolaIntersection is where the parabolas rooted at q and r (r < q) cross.
func parabolaIntersection(f []float64, q, r int) float64 {
	return ((f[q] + float64(q*q)) - (f[r] + float64(r*r))) / float64(2*q-2*r)
}

// DistanceTransform replaces each value of grid (w×h, row-major, squared distances: 0 on
// the feature, a large value elsewhere, or a small value for a sub-pixel distance) with the
// squared Euclidean distance to the nearest feature pixel, by running the 1D transform on
// every column and then every row. That is exact for the Euclidean metric, unlike a
// chamfer or two-pass approximation.
func DistanceTransform(grid []float64, w, h int) {
	n := max(w, h)
	f := make([]float64, n)
	d := make([]float64, n)
	v := make([]int, n)
	z := make([]float64, n+1)
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			f[y] = grid[y*w+x]
		}
		distanceTransform1D(f[:h], d[:h], v, z)
		for y := 0; y < h; y++ {
			grid[y*w+x] = d[y]
		}
	}
	for y := 0; y < h; y++ {
		row := grid[y*w : (y+1)*w]
		copy(f, row)
		distanceTransform1D(f[:w], d[:w], v, z)
		copy(row, d[:w])
	}
}

// SignedDistance turns a coverage mask (w×h, 0 outside the shape, 1 inside, fractions on
// anti-aliased edges) into signed distances in pixels from each pixel centre to the shape's
// outline: positive outside, negative inside. An edge pixel of coverage a is taken to lie
// 0.5-a from the outline, which gives the sub-pixel position a binary mask would lose.
func SignedDistance(alpha []float64, w, h int) []float64 {
	outer := make([]float64, w*h) // squared distance to the inside, for outside pixels
	inner := make([]float64, w*h) // squared distance to the outside, for inside pixels
	for i, a := range alpha {
		switch {
		case a >= 1:
			outer[i], inner[i] = 0, inf
		case a <= 0:
			outer[i], inner[i] = inf, 0
		default:
			d := 0.5 - a
			if d > 0 {
				outer[i], inner[i] = d*d, 0
			} else {
				outer[i], inner[i] = 0, d*d
			}
		}
	}
	DistanceTransform(outer, w, h)
	DistanceTransform(inner, w, h)
	dist := make([]float64, w*h)
	for i := range dist {
		dist[i] = math.Sqrt(outer[i]) - math.Sqrt(inner[i])
	}
	return dist
}

// Encode maps a signed distance in pixels to MapLibre's byte: 255 well inside, 192 on the
// outline, 0 at Radius·(1-Cutoff) = 6 px outside and beyond.
func Encode(d float64) byte {
	v := 255 - 255*(d/Radius+Cutoff)
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(math.Round(v))
}
