package sim

import (
	"context"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// CommunityPlaces are the scenario's towns with the spellings community messages use
// (Arabic, as Juba Arabic speakers text them), for place matching beside the gazetteer.
func CommunityPlaces() []bluehelm.GazetteerPlace {
	alt := map[string][]string{
		"Juba": {"جوبا"}, "Bor": {"بور"}, "Malakal": {"ملكال"}, "Bentiu": {"بانتيو"}, "Wau": {"واو"},
		"Yei": {"ياي"}, "Torit": {"توريت"}, "Rumbek": {"رمبيك"}, "Leer": {"لير"}, "Akobo": {"أكوبو"},
	}
	var out []bluehelm.GazetteerPlace
	for _, p := range []Place{juba, bor, malakal, bentiu, wau, yei, terekeka, torit, pibor, mingkaman, rubkona, leer, mayom, kodok, nasir, kuajok, jur, rumbek, yambio, akobo} {
		out = append(out, bluehelm.GazetteerPlace{Name: p.Name, Country: "SS", Admin1: p.Admin1, Location: p.Point, Population: 1, AltNames: alt[p.Name]})
	}
	return out
}

// CommunityMessage is one demo community alert.
type CommunityMessage struct {
	Ago  time.Duration // before the demo starts
	From string        // a made-up number
	Text string
	Via  bluehelm.CommunityChannel
}

// CommunityMessages are the demo's community alerts: one in English, one in French,
// one in Arabic, and two near-identical warnings from two neighbours (one group). The
// numbers are fictitious (the +211 9xx 555 range).
var CommunityMessages = []CommunityMessage{
	{90 * time.Minute, "+211 955 500 101", "Armed men seen near the market in Bor this morning, people are afraid", bluehelm.ChannelSMS},
	{70 * time.Minute, "+211 955 500 102", "Des hommes armés ont attaqué des maisons près de Yei, des familles sont déplacées", bluehelm.ChannelSMS},
	{50 * time.Minute, "+211 955 500 103", "هجوم على قرية قرب ملكال، مسلحين أحرقوا البيوت", bluehelm.ChannelSMS},
	{30 * time.Minute, "+211 955 500 104", "Cattle raiders crossing the river towards Akobo, many armed youth", bluehelm.ChannelSMS},
	{25 * time.Minute, "+211 955 500 105", "cattle raiders crossing the river towards Akobo many armed youth!!", bluehelm.ChannelSMS},
	{10 * time.Minute, "", "Women collecting firewood outside Bentiu were threatened by soldiers", bluehelm.ChannelWeb},
}

// SeedCommunity feeds the demo's community alerts through the intake.
func SeedCommunity(ctx context.Context, c *ingest.Community, now time.Time) error {
	for i, m := range CommunityMessages {
		src := "sms:generic"
		if m.Via == bluehelm.ChannelWeb {
			src = "web"
		}
		in := ingest.Inbound{Channel: m.Via, Source: src, From: m.From, Text: m.Text, ReceivedAt: now.Add(-m.Ago)}
		if m.Via == bluehelm.ChannelSMS {
			in.ExternalID = "demo-" + string(rune('a'+i))
		}
		if _, err := c.Receive(ctx, bluehelm.SystemPrincipal("sim"), in); err != nil {
			return err
		}
	}
	return nil
}
