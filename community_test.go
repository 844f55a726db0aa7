package bluehelm_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestKeywordHints(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // keyword/lang/category
	}{
		{"english attack", "Armed men attacked the market in Bor this morning",
			[]string{"attack/en/armed_clash", "armed men/en/armed_movement"}},
		{"english kidnap and displaced", "Two girls kidnapped, families displaced toward Juba",
			[]string{"kidnap/en/kidnapping", "displaced/en/displacement"}},
		{"french accents", "Des hommes armés ont attaqué le village, des maisons brûlées",
			[]string{"attaque/fr/armed_clash", "hommes armés/fr/armed_movement", "brûlé/fr/violence_against_civilians"}},
		{"french unaccented", "hommes armes a Leer, attaque en cours",
			[]string{"attaque/fr/armed_clash", "hommes armés/fr/armed_movement"}},
		{"french enlevement", "Enlèvement de trois personnes", []string{"enlèvement/fr/kidnapping"}},
		{"arabic attack with article", "الهجوم على السوق في ملكال", []string{"هجوم/ar/armed_clash"}},
		{"arabic armed men and fire", "مسلحين أحرقوا المنازل، حريق كبير",
			[]string{"مسلحين/ar/armed_movement", "حريق/ar/violence_against_civilians", "حرق/ar/violence_against_civilians"}},
		{"arabic gunfire with hamza", "إطلاق نار قرب المخيم", []string{"إطلاق نار/ar/armed_clash", "نار/ar/violence_against_civilians"}},
		{"arabic kidnap", "اختطاف طفلين", []string{"اختطاف/ar/kidnapping"}},
		{"no keywords", "Hello, the road is fine today", nil},
		{"word boundaries", "The tuesday mineral market", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, h := range bluehelm.KeywordHints(tt.text) {
				got = append(got, h.Keyword+"/"+h.Lang+"/"+string(h.Category))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("KeywordHints(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestGuessLanguage(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Armed men are in the village", "en"},
		{"Des hommes armés sont dans le village", "fr"},
		{"مسلحين في القرية", "ar"},
		{"Bor Bor", ""},
	}
	for _, tt := range tests {
		if got := bluehelm.GuessLanguage(tt.text); got != tt.want {
			t.Errorf("GuessLanguage(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestPlaceMatcher(t *testing.T) {
	m := bluehelm.NewPlaceMatcher([]bluehelm.GazetteerPlace{
		{Name: "Bor", Country: "SS", Location: bluehelm.Point{Lon: 31.559, Lat: 6.207}, Population: 300000},
		{Name: "Bor", Country: "SS", Location: bluehelm.Point{Lon: 30, Lat: 5}, Population: 100}, // a smaller namesake
		{Name: "Malakal", Country: "SS", Location: bluehelm.Point{Lon: 31.661, Lat: 9.533}, Population: 150000, AltNames: []string{"ملكال"}},
		{Name: "Kaga-Bandoro", Country: "CF", Location: bluehelm.Point{Lon: 19.18, Lat: 6.99}, Population: 24000},
		{Name: "Ndélé", Country: "CF", Location: bluehelm.Point{Lon: 20.65, Lat: 8.41}, Population: 13000},
		{Name: "Kaga", Country: "CF", Location: bluehelm.Point{Lon: 19, Lat: 7}, Population: 50},
		{Name: "Fire", Country: "SS", Location: bluehelm.Point{Lon: 30, Lat: 6}}, // a stop word
		{Name: "Yo", Country: "SS", Location: bluehelm.Point{Lon: 30, Lat: 6}},   // too short
	})
	tests := []struct {
		name, text, want, matched string
	}{
		{"english", "Armed men near Bor market", "Bor@31.559", "bor"},
		{"most populous namesake", "bor", "Bor@31.559", "bor"},
		{"longest name wins", "attaque à Kaga Bandoro ce matin", "Kaga-Bandoro@19.18", "kaga bandoro"},
		{"accents folded", "hommes armés à ndele", "Ndélé@20.65", "ndele"},
		{"arabic alt name with article", "هجوم في الملكال", "Malakal@31.661", "الملكال"},
		{"arabic alt name", "هجوم في ملكال", "Malakal@31.661", "ملكال"},
		{"stop word not a place", "fire in the village", "", ""},
		{"short name ignored", "yo yo", "", ""},
		{"no place", "something happened", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := m.Match(tt.text)
			got, matched := "", ""
			if p != nil {
				got, matched = p.Name+"@"+strconv.FormatFloat(p.Location.Lon, 'f', -1, 64), p.Matched
			}
			if got != tt.want || matched != tt.matched {
				t.Errorf("Match(%q) = %q (%q), want %q (%q)", tt.text, got, matched, tt.want, tt.matched)
			}
		})
	}
	var nilMatcher *bluehelm.PlaceMatcher
	if nilMatcher.Match("Bor") != nil {
		t.Error("a nil matcher matched")
	}
}

func TestCommunityTransitionsAndValidate(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	moves := []struct {
		from, to bluehelm.CommunityState
		ok       bool
	}{
		{bluehelm.CommunityNew, bluehelm.CommunityTriaged, true},
		{bluehelm.CommunityNew, bluehelm.CommunityLinked, true},
		{bluehelm.CommunityNew, bluehelm.CommunityDismissed, true},
		{bluehelm.CommunityTriaged, bluehelm.CommunityLinked, true},
		{bluehelm.CommunityTriaged, bluehelm.CommunityNew, false},
		{bluehelm.CommunityLinked, bluehelm.CommunityDismissed, false},
		{bluehelm.CommunityDismissed, bluehelm.CommunityTriaged, false},
	}
	for _, m := range moves {
		if got := m.from.CanMove(m.to); got != m.ok {
			t.Errorf("%s → %s: %v, want %v", m.from, m.to, got, m.ok)
		}
	}
	good := func() *bluehelm.CommunityAlert {
		return &bluehelm.CommunityAlert{ReceivedAt: now, Channel: bluehelm.ChannelSMS, Text: "<script>alert(1)</script> attaque",
			State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking}
	}
	tests := []struct {
		name  string
		edit  func(a *bluehelm.CommunityAlert)
		field string
	}{
		{"valid, markup is text", func(*bluehelm.CommunityAlert) {}, ""},
		{"1600 characters", func(a *bluehelm.CommunityAlert) { a.Text = strings.Repeat("é", 1600) }, ""},
		{"oversized", func(a *bluehelm.CommunityAlert) { a.Text = strings.Repeat("a", 1601) }, "text"},
		{"empty", func(a *bluehelm.CommunityAlert) { a.Text = "  " }, "text"},
		{"bad utf-8", func(a *bluehelm.CommunityAlert) { a.Text = "\xff" }, "text"},
		{"channel", func(a *bluehelm.CommunityAlert) { a.Channel = "fax" }, "channel"},
		{"future", func(a *bluehelm.CommunityAlert) { a.ReceivedAt = now.Add(time.Hour) }, "received_at"},
		{"linked without incident", func(a *bluehelm.CommunityAlert) { a.State = bluehelm.CommunityLinked }, "incident_id"},
		{"state", func(a *bluehelm.CommunityAlert) { a.State = "open" }, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := good()
			tt.edit(a)
			err := a.Validate(now)
			if got := bluehelm.ErrorField(err); got != tt.field || (tt.field == "") != (err == nil) {
				t.Errorf("Validate: %v, want field %q", err, tt.field)
			}
		})
	}
}

func TestNearDuplicate(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"Armed men in Bor market now!", "armed men in bor market now", true},
		{"Armed men in Bor market now, 20 of them", "Armed men in Bor market now, 30 of them", true},
		{"armed men in the bor market right now please come", "armed men in the bor market right now please help", true},
		{"armed men in Bor", "fire in Bor", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := bluehelm.NearDuplicate(bluehelm.TextKey(tt.a), bluehelm.TextKey(tt.b)); got != tt.want {
			t.Errorf("NearDuplicate(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPlaceMatcherLookup(t *testing.T) {
	own := bluehelm.NewPlaceMatcher([]bluehelm.GazetteerPlace{{Name: "Malakal", AltNames: []string{"ملكال"}, Location: bluehelm.Point{Lon: 31.661, Lat: 9.533}}})
	var asked []string
	m := own.WithLookup(2, func(key string) (bluehelm.GazetteerPlace, bool) {
		asked = append(asked, key)
		if key == "kaga bandoro" {
			return bluehelm.GazetteerPlace{Name: "Kaga-Bandoro", Country: "CF", Location: bluehelm.Point{Lon: 19.18, Lat: 6.99}}, true
		}
		return bluehelm.GazetteerPlace{}, false
	})
	if p := m.Match("attaque à Kaga Bandoro"); p == nil || p.Name != "Kaga-Bandoro" {
		t.Errorf("lookup not used: %+v", p)
	}
	if slices.Contains(asked, "a") {
		t.Errorf("a one-letter word was looked up: %q", asked)
	}
	asked = nil
	if p := m.Match("هجوم في ملكال"); p == nil || p.Name != "Malakal" {
		t.Errorf("own names first: %+v", p)
	}
	if p := m.Match("fire in the village"); p != nil || slices.Contains(asked, "fire") {
		t.Errorf("stop words looked up: %+v %q", p, asked)
	}
}
