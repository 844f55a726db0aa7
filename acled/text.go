package acled

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

// columns locates fields by header name, so files with reordered or extra columns
// read the same.
type columns struct {
	header []string
	index  map[string]int
}

func indexHeader(h []string) columns {
	c := columns{header: append([]string(nil), h...), index: make(map[string]int, len(h))}
	for i, name := range h {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a BOM written by spreadsheet tools
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := c.index[name]; name != "" && !dup {
			c.index[name] = i // the first of duplicate columns wins
		}
	}
	return c
}

func (c columns) has(name string) bool { _, ok := c.index[name]; return ok }

// get returns the raw field of rec under the header name, "" when absent.
func (c columns) get(rec []string, name string) string {
	i, ok := c.index[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return rec[i]
}

type row struct {
	rec  []string
	cols columns
}

// text returns a trimmed, valid UTF-8 field (newlines kept).
func (r row) text(name string) string { return clean(r.cols.get(r.rec, name)) }

// line returns a field as a single line of text.
func (r row) line(name string) string { return oneLine(r.cols.get(r.rec, name)) }

// isHXL reports whether rec is an HXL hashtag row: every non-empty cell starts with '#'.
func isHXL(rec []string) bool {
	n := 0
	for _, f := range rec {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f[0] != '#' {
			return false
		}
		n++
	}
	return n > 0
}

// clean makes s valid UTF-8 (Validate refuses anything else; some exports are
// re-saved in Latin-1) and trims surrounding space.
func clean(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) }

// oneLine collapses every run of white space, including the newlines and tabs
// found in source notes, into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(clean(s)), " ") }

// clip shortens s to at most max runes, marking a cut with "…", so that long source
// fields fit the domain limits instead of failing validation.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max-1]
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}

// title is "<category label>: <subcategory label> — <place>", dropping the category
// label when the subcategory label already starts with it ("Armed clash between
// groups"), and clipped to MaxTitle.
func title(cat bluehelm.Category, sub, place string) string {
	label := string(cat)
	for _, ci := range bluehelm.Taxonomy {
		if ci.Code != cat {
			continue
		}
		label = ci.Label
		if sl, ok := ci.Subcategories[sub]; ok && sub != "" {
			if strings.HasPrefix(strings.ToLower(sl), strings.ToLower(ci.Label)) {
				label = sl
			} else {
				label = ci.Label + ": " + lowerFirst(sl)
			}
		}
	}
	if place != "" {
		label += " — " + place
	}
	return clip(label, bluehelm.MaxTitle)
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	// Keep acronyms ("IED found") as they are.
	if r2, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsUpper(r2) {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// placeLabel joins a place name with its admin-1 area unless the name already
// contains it, falling back to the country.
func placeLabel(place, admin1, country string) string {
	switch {
	case place != "" && admin1 != "" && !strings.Contains(strings.ToLower(place), strings.ToLower(admin1)):
		return place + ", " + admin1
	case place != "":
		return place
	case admin1 != "":
		return admin1
	}
	return country
}

// splitList splits a ";"-separated field into trimmed, non-empty, single-line parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = oneLine(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
