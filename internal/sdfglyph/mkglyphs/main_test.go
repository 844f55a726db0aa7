package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/bluehelm/bluehelm/internal/sdfglyph"
	"golang.org/x/image/font/gofont/goregular"
)

func TestParseRanges(t *testing.T) {
	tests := []struct {
		in   string
		want [][2]int
		ok   bool
	}{
		{"0-255", [][2]int{{0, 255}}, true},
		{"0-255, 256-511,8192-8447", [][2]int{{0, 255}, {256, 511}, {8192, 8447}}, true},
		{"1-256", nil, false},       // not aligned: MapLibre never asks for it
		{"0-511", nil, false},       // two blocks in one file
		{"65536-65791", nil, false}, // beyond the BMP, which MapLibre's ranges do not reach
		{"abc", nil, false},
		{"", nil, false},
	}
	for _, tc := range tests {
		got, err := parseRanges(tc.in)
		if (err == nil) != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseRanges(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRunWritesDecodableFiles(t *testing.T) {
	dir := t.TempDir()
	font := filepath.Join(dir, "go.ttf")
	if err := os.WriteFile(font, goregular.TTF, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "glyphs")
	if err := run(font, "Go Regular", out, "0-255,8192-8447"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0-255.pbf", "8192-8447.pbf"} {
		b, err := os.ReadFile(filepath.Join(out, "Go Regular", name))
		if err != nil {
			t.Fatal(err)
		}
		stacks, err := sdfglyph.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(stacks) != 1 || stacks[0].Name != "Go Regular" || len(stacks[0].Glyphs) == 0 {
			t.Errorf("%s: %d stacks", name, len(stacks))
		}
	}
	if err := run(font, "a/b", out, "0-255"); err == nil {
		t.Error("a fontstack name with a slash was accepted")
	}
}
