package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// testCommunity covers community alerts: idempotent intake on the gateway's id,
// grouping by sender and by near-identical text about one place within the window,
// the sender columns kept out of the document, and optimistic triage updates.
func testCommunity(t *testing.T, o Opener) {
	s := o.store(t)
	ctx := ctxOf(t)
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	bor := &bluehelm.PlaceSuggestion{Name: "Bor", Matched: "bor", Country: "SS", Location: bluehelm.Point{Lon: 31.559, Lat: 6.207}}
	leer := &bluehelm.PlaceSuggestion{Name: "Leer", Matched: "leer", Country: "SS", Location: bluehelm.Point{Lon: 30.141, Lat: 8.302}}
	g := func(text string) bluehelm.CommunityGrouping {
		return bluehelm.CommunityGrouping{Window: 2 * time.Hour, TextKey: bluehelm.TextKey(text)}
	}
	mk := func(at time.Duration, text, sender, ext string, place *bluehelm.PlaceSuggestion) *bluehelm.CommunityAlert {
		a := &bluehelm.CommunityAlert{ReceivedAt: t0.Add(at), Channel: bluehelm.ChannelSMS, Source: "sms:generic", ExternalID: ext,
			Text: text, Place: place, State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking}
		if sender != "" {
			a.SenderPseudonym, a.SenderSealed = "pseudo-"+sender, []byte("sealed-"+sender)
		}
		return a
	}
	create := func(a *bluehelm.CommunityAlert) bool {
		t.Helper()
		existing, err := s.CreateCommunityAlert(ctx, a, g(a.Text), entry("community.receive"))
		must(t, err, "CreateCommunityAlert")
		return existing
	}

	a1 := mk(0, "Armed men in Bor market", "A", "m1", bor)
	if create(a1) || a1.ID == 0 || a1.Version != 1 || a1.GroupID != a1.ID || !a1.HasSender {
		t.Fatalf("first alert: %+v", a1)
	}
	// A retried webhook call: the same gateway id stores nothing new.
	again := mk(time.Minute, "something else", "B", "m1", nil)
	if !create(again) || again.ID != a1.ID || again.Text != a1.Text {
		t.Errorf("retry with the same gateway id: existing=false or %+v", again)
	}
	// The same id from another source is another message.
	other := mk(time.Minute, "hello", "", "m1", nil)
	other.Source = "sms:android"
	if create(other) || other.ID == a1.ID {
		t.Error("the same id from another gateway was taken as a duplicate")
	}
	cases := []struct {
		name  string
		a     *bluehelm.CommunityAlert
		group int64 // 0: its own
	}{
		{"same sender, other text", mk(10*time.Minute, "they are burning houses", "A", "m2", nil), a1.ID},
		{"near-identical text, same place", mk(11*time.Minute, "armed men in Bor market!!", "C", "m3", bor), a1.ID},
		{"same text, other place", mk(12*time.Minute, "Armed men in Bor market", "D", "m4", leer), 0},
		{"other text, same place", mk(13*time.Minute, "fire near the Bor river", "E", "m5", bor), 0},
		{"same sender after the window", mk(3*time.Hour, "armed men again", "A", "m6", nil), 0},
		{"no sender, no place", mk(14*time.Minute, "Armed men in Bor market", "", "", nil), 0},
	}
	for _, c := range cases {
		create(c.a)
		want := c.group
		if want == 0 {
			want = c.a.ID
		}
		if c.a.GroupID != want {
			t.Errorf("%s: group %d, want %d", c.name, c.a.GroupID, want)
		}
	}

	got, err := s.CommunityAlert(ctx, a1.ID)
	must(t, err, "CommunityAlert")
	if got.SenderPseudonym != "pseudo-A" || !bytes.Equal(got.SenderSealed, []byte("sealed-A")) || !got.HasSender {
		t.Errorf("sender columns not read back: %q %q", got.SenderPseudonym, got.SenderSealed)
	}
	if b, _ := json.Marshal(got); bytes.Contains(b, []byte("pseudo-A")) || bytes.Contains(b, []byte("sealed")) {
		t.Errorf("the sender is in the record's JSON: %s", b)
	}
	_, err = s.CommunityAlert(ctx, 9999)
	wantCode(t, err, bluehelm.ENOTFOUND, "unknown community alert")

	// Triage, optimistic on the version.
	now := t0.Add(time.Hour)
	got.State, got.StateBy, got.StateAt, got.Note = bluehelm.CommunityTriaged, "liaison", &now, "credible"
	must(t, s.UpdateCommunityAlert(ctx, got, entry("community.triage")), "UpdateCommunityAlert")
	if got.Version != 2 {
		t.Errorf("version %d after update, want 2", got.Version)
	}
	stale := *got
	stale.Version = 1
	wantCode(t, s.UpdateCommunityAlert(ctx, &stale, entry("community.triage")), bluehelm.ECONFLICT, "stale update")
	back, err := s.CommunityAlert(ctx, a1.ID)
	must(t, err, "CommunityAlert after update")
	if back.State != bluehelm.CommunityTriaged || back.Note != "credible" || back.SenderPseudonym != "pseudo-A" {
		t.Errorf("after update: %+v", back)
	}

	newOnes, err := s.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{States: []bluehelm.CommunityState{bluehelm.CommunityNew}})
	must(t, err, "FindCommunityAlerts")
	if len(newOnes) != 7 {
		t.Fatalf("%d new alerts, want 7", len(newOnes))
	}
	for i := 1; i < len(newOnes); i++ {
		if newOnes[i].ReceivedAt.After(newOnes[i-1].ReceivedAt) {
			t.Errorf("not newest first at %d", i)
		}
	}
	group, err := s.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{GroupID: a1.ID})
	must(t, err, "FindCommunityAlerts by group")
	if len(group) != 3 {
		t.Errorf("group of %d has %d alerts, want 3", a1.ID, len(group))
	}
	limited, err := s.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{Limit: 2, Since: t0.Add(11 * time.Minute)})
	must(t, err, "FindCommunityAlerts limited")
	if len(limited) != 2 || limited[0].ExternalID != "m6" {
		t.Errorf("limited: %d alerts", len(limited))
	}
}

// testCommunityConcurrent: webhook calls arrive together (they are committed in
// groups): every alert is stored once, with its own id, retries of one gateway id
// find the one stored, and the audit chain holds.
func testCommunityConcurrent(t *testing.T, o Opener) {
	s := o.store(t)
	ctx := ctxOf(t)
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	const n = 60
	type result struct {
		a        *bluehelm.CommunityAlert
		existing bool
		err      error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			ext := fmt.Sprintf("c%d", i%40) // ids 0..19 are sent twice
			a := &bluehelm.CommunityAlert{ReceivedAt: t0.Add(time.Duration(i) * time.Second), Channel: bluehelm.ChannelSMS, Source: "sms:generic",
				ExternalID: ext, Text: "message " + ext, State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking}
			existing, err := s.CreateCommunityAlert(ctx, a, bluehelm.CommunityGrouping{Window: time.Hour, TextKey: bluehelm.TextKey(a.Text)}, entry("community.receive"))
			results <- result{a, existing, err}
		}()
	}
	ids := map[string]int64{}
	existing := 0
	for range n {
		r := <-results
		must(t, r.err, "concurrent CreateCommunityAlert")
		if r.existing {
			existing++
		}
		if id, ok := ids[r.a.ExternalID]; ok && id != r.a.ID {
			t.Errorf("gateway id %s stored as %d and %d", r.a.ExternalID, id, r.a.ID)
		}
		ids[r.a.ExternalID] = r.a.ID
	}
	all, err := s.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{})
	must(t, err, "FindCommunityAlerts")
	if len(all) != 40 || existing != 20 {
		t.Errorf("%d stored, %d found existing; want 40 and 20", len(all), existing)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}
