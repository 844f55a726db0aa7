// Package csvtable holds what the dataset readers (ged, acled) share: Columns found by
// header name, cleaning of text cells, and the titles built from categories and places.
package csvtable

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

// Columns locates fields by header name, so files with reordered or extra Columns
// read the same.
type Columns struct {
	Header []string
	index  map[string]int
}

func IndexHeader(h []string) Columns {
	c := Columns{Header: append([]string(nil), h...), index: make(map[string]int, len(h))}
	for i, name := range h {
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // a BOM written by spreadsheet tools
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := c.index[name]; name != "" && !dup {
			c.index[name] = i // the first of duplicate Columns wins
		}
	}
	return c
}

func (c Columns) Has(name string) bool { _, ok := c.index[name]; return ok }

// Get returns the raw field of rec under the header name, "" when absent.
func (c Columns) Get(rec []string, name string) string {
	i, ok := c.index[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return rec[i]
}

type Row struct {
	Rec  []string
	Cols Columns
}

// Text returns a trimmed, valid UTF-8 field (newlines kept).
func (r Row) Text(name string) string { return Clean(r.Cols.Get(r.Rec, name)) }

// Line returns a field as a single line of text.
func (r Row) Line(name string) string { return OneLine(r.Cols.Get(r.Rec, name)) }

// IsHXL reports whether rec is an HXL hashtag Row: every non-empty cell starts with '#'.
func IsHXL(rec []string) bool {
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

// Clean makes s valid UTF-8 (Validate refuses anything else; some exports are
// re-saved in Latin-1) and trims surrounding space.
func Clean(s string) string { return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD")) }

// OneLine collapses every run of white space, including the newlines and tabs
// found in source headlines and notes, into one space.
func OneLine(s string) string { return strings.Join(strings.Fields(Clean(s)), " ") }

// Clip shortens s to at most max runes, marking a cut with "…", so that long source
// fields fit the domain limits instead of failing validation.
func Clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max-1]
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}

// Title is "<category label>: <subcategory label> — <place>", dropping the category
// label when the subcategory label already starts with it ("Armed clash between
// groups"), and clipped to MaxTitle.
func Title(cat bluehelm.Category, sub, place string) string {
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
				label = ci.Label + ": " + LowerFirst(sl)
			}
		}
	}
	if place != "" {
		label += " — " + place
	}
	return Clip(label, bluehelm.MaxTitle)
}

func LowerFirst(s string) string {
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

// PlaceLabel joins a place name with its admin-1 area unless the name already
// contains it, falling back to the country.
func PlaceLabel(place, admin1, country string) string {
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

// SplitList splits a ";"-separated field into trimmed, non-empty, single-line parts.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = OneLine(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
