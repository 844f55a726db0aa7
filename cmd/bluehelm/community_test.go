package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sim"
)

// TestCommunityPlaces: messages are matched against the scenario's spellings first,
// then the embedded gazetteer within the configured countries.
func TestCommunityPlaces(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ss := communityPlaces(log, "SS", sim.CommunityPlaces())
	cf := communityPlaces(log, "cf", nil)
	tests := []struct {
		name string
		m    *bluehelm.PlaceMatcher
		text string
		want string // place name and country, "" for none
	}{
		{"scenario Arabic spelling", ss, "هجوم في ملكال", "Malakal SS"},
		{"gazetteer town in South Sudan", ss, "Armed men seen near Kapoeta this morning", "Kapoeta SS"},
		{"gazetteer, accents and hyphen", cf, "attaque à Kaga Bandoro ce matin", "Kaga-Bandoro CF"},
		{"outside the countries", cf, "armed men near Kapoeta", ""},
		{"common words are not places", cf, "the men are in the village", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if p := tt.m.Match(tt.text); p != nil {
				got = p.Name + " " + p.Country
			}
			if got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func BenchmarkCommunityPlaces(b *testing.B) {
	m := communityPlaces(slog.New(slog.NewTextHandler(io.Discard, nil)), "SS", sim.CommunityPlaces())
	texts := []string{
		"Armed men seen near the market in Kapoeta this morning, people are afraid",
		"Des hommes armés ont attaqué des maisons près de Renk, des familles sont déplacées",
		"هجوم على قرية قرب ملكال، مسلحين أحرقوا البيوت",
	}
	b.ResetTimer()
	for i := range b.N {
		m.Match(texts[i%len(texts)])
	}
}
