// Command mkglyphs writes MapLibre glyph range files for one font:
//
//	go run ./internal/sdfglyph/mkglyphs -font NotoSans-Regular.ttf -name "Noto Sans Regular" \
//	    -out web/static/vendor/glyphs -ranges 0-255,256-511,8192-8447
//
// makes OUT/NAME/0-255.pbf and so on, the files a style's
// "glyphs": ".../{fontstack}/{range}.pbf" asks for. The vendoring script runs it; the
// output is committed, so the build does not need it.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm/internal/sdfglyph"
)

func main() {
	fontPath := flag.String("font", "", "TrueType/OpenType font file")
	name := flag.String("name", "", `fontstack name used in styles, e.g. "Noto Sans Regular"`)
	out := flag.String("out", "", "directory; files go to OUT/NAME/START-END.pbf")
	ranges := flag.String("ranges", "0-255", "comma-separated 256-code-point ranges START-END")
	flag.Parse()
	if err := run(*fontPath, *name, *out, *ranges); err != nil {
		fmt.Fprintln(os.Stderr, "mkglyphs:", err)
		os.Exit(1)
	}
}

func run(fontPath, name, out, ranges string) error {
	if fontPath == "" || name == "" || out == "" {
		return fmt.Errorf("-font, -name and -out are required")
	}
	// MapLibre builds the URL from the fontstack name as given; a slash would make it a path.
	if strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("fontstack name %q must not contain a slash", name)
	}
	rs, err := parseRanges(ranges)
	if err != nil {
		return err
	}
	ttf, err := os.ReadFile(fontPath)
	if err != nil {
		return err
	}
	r, err := sdfglyph.NewRenderer(ttf)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, rg := range rs {
		glyphs, err := r.Range(rune(rg[0]), rune(rg[1]))
		if err != nil {
			return err
		}
		pbf := sdfglyph.EncodeRange(name, rg[0], rg[1], glyphs)
		// Read it back before writing: a file MapLibre cannot parse fails the page silently.
		if _, err := sdfglyph.Decode(pbf); err != nil {
			return fmt.Errorf("range %d-%d: %w", rg[0], rg[1], err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d-%d.pbf", rg[0], rg[1]))
		if err := os.WriteFile(p, pbf, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d glyphs, %d bytes\n", p, len(glyphs), len(pbf))
	}
	return nil
}

// parseRanges reads "0-255,256-511". MapLibre only ever asks for whole blocks of 256 code
// points starting at a multiple of 256, so anything else would never be fetched.
func parseRanges(s string) ([][2]int, error) {
	var rs [][2]int
	for _, part := range strings.Split(s, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, fmt.Errorf("range %q: want START-END", part)
		}
		start, err1 := strconv.Atoi(a)
		end, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || start < 0 || start%256 != 0 || end != start+255 || end > 65535 {
			return nil, fmt.Errorf("range %q: want a block of 256 like 256-511 within 0-65535", part)
		}
		rs = append(rs, [2]int{start, end})
	}
	return rs, nil
}
