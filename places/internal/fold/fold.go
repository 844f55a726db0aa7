// Package fold turns place names and queries into the form the gazetteer compares: lower
// case, no diacritics, words separated by single spaces. It is shared by the package that
// searches and the program that builds the data, so that both agree on what "the same name"
// means.
package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// special holds Latin letters that Unicode does not decompose into a base letter plus a
// combining mark, so stripping marks alone would leave them unmatched by plain-ASCII
// queries ("Łódź", "Ærøskøbing", "Đà Nẵng").
var special = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ð': "d", 'ł': "l", 'þ': "th",
	'ı': "i", 'ħ': "h", 'ŧ': "t", 'ŋ': "n", 'ĸ': "k", 'ſ': "s", 'ɨ': "i", 'ɛ': "e", 'ɔ': "o",
	'ƒ': "f", 'ǝ': "e", 'ə': "e",
}

// elided are characters dropped without leaving a word break, so that "N'Djamena" folds to
// "ndjamena" and matches a query typed without the apostrophe.
func elided(r rune) bool {
	switch r {
	case '\'', '’', 'ʼ', '‘', '`', '´', 'ʻ', 'ʿ', 'ʾ':
		return true
	}
	return false
}

// String folds s: "Ndélé" → "ndele", "Kaga-Bandoro" → "kaga bandoro", "N'Djamena" →
// "ndjamena", "  São  Tomé " → "sao tome". Letters and digits are kept (other scripts as
// they are, lower-cased); every other run of characters becomes one space.
func String(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false // a word break is pending
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		case elided(r) || unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if rep, ok := special[r]; ok {
				if space && b.Len() > 0 {
					b.WriteByte(' ')
				}
				space = false
				b.WriteString(rep)
				continue
			}
		default:
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
