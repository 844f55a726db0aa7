package ingest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sqlite"
)

var (
	liaison = bluehelm.Principal{UserID: 7, Username: "liaison", Role: bluehelm.RoleLiaison, Component: bluehelm.Civilian, Clearance: bluehelm.Confidential}
	analyst = bluehelm.Principal{UserID: 8, Username: "analyst", Role: bluehelm.RoleAnalyst, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	gateway = bluehelm.SystemPrincipal("sms:generic")
)

type fakeReplier struct {
	mu   sync.Mutex
	sent []string
}

func (f *fakeReplier) Send(_ context.Context, number, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, number+": "+text)
	return nil
}

type communityEnv struct {
	dir   string
	store *sqlite.DB
	p     *ingest.Pipeline
	c     *ingest.Community
	reply *fakeReplier
}

func newCommunityEnv(t *testing.T) *communityEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p := ingest.New(store, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{})
	keys, err := sender.New(bytes.Repeat([]byte{7}, sender.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	places := bluehelm.NewPlaceMatcher([]bluehelm.GazetteerPlace{
		{Name: "Bor", Country: "SS", Location: bluehelm.Point{Lon: 31.559, Lat: 6.207}, Population: 300000},
		{Name: "Malakal", Country: "SS", Location: bluehelm.Point{Lon: 31.661, Lat: 9.533}, AltNames: []string{"ملكال"}},
	})
	r := &fakeReplier{}
	c := ingest.NewCommunity(p, ingest.CommunityConfig{Keys: keys, Places: func() *bluehelm.PlaceMatcher { return places },
		Repliers: map[string]ingest.Replier{"sms:android": r}})
	return &communityEnv{dir: dir, store: store, p: p, c: c, reply: r}
}

func (e *communityEnv) sms(t *testing.T, id, from, text string) *ingest.Received {
	t.Helper()
	got, err := e.c.Receive(ctx, gateway, ingest.Inbound{Channel: bluehelm.ChannelSMS, Source: "sms:generic", ExternalID: id, From: from, Text: text})
	if err != nil {
		t.Fatalf("Receive %s: %v", id, err)
	}
	return got
}

// TestCommunityNumberNotInDatabase: the raw number is nowhere in the database files
// (main file and WAL), in any of the forms it was written in, while the text is.
func TestCommunityNumberNotInDatabase(t *testing.T) {
	e := newCommunityEnv(t)
	e.sms(t, "m1", "+211 912 345 678", "Armed men in Bor market")
	e.sms(t, "m2", "00211912345678", "They are burning houses in Bor, MARKER-TEXT")
	files, _ := filepath.Glob(filepath.Join(e.dir, "test.db*"))
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("MARKER-TEXT")) {
		t.Fatalf("the text is not in the files read (%v): the check would prove nothing", files)
	}
	for _, form := range []string{"211912345678", "912345678", "912 345 678", "2119123"} {
		if bytes.Contains(all, []byte(form)) {
			t.Errorf("the number %q is in the database files", form)
		}
	}
}

func TestCommunityTriageFlow(t *testing.T) {
	e := newCommunityEnv(t)
	first := e.sms(t, "m1", "+211912345678", "Hommes armés à Bor, ils attaquent le marché")
	a := first.Alert
	if a.Language != "fr" || a.Place == nil || a.Place.Name != "Bor" || len(a.Hints) == 0 || a.GroupID != a.ID || !a.HasSender {
		t.Fatalf("annotations: %+v", a)
	}
	if first.Ack == "" || !strings.Contains(first.Ack, "Merci") {
		t.Errorf("no French acknowledgement in the response: %q", first.Ack)
	}
	// The gateway retries: nothing new, no second acknowledgement.
	if again := e.sms(t, "m1", "+211912345678", "Hommes armés à Bor, ils attaquent le marché"); !again.Existing || again.Alert.ID != a.ID || again.Ack != "" {
		t.Errorf("retry: %+v", again)
	}
	// A neighbour sends nearly the same words: same group.
	dup := e.sms(t, "m2", "+211900000001", "hommes armés à Bor ils attaquent le marché !!").Alert
	if dup.GroupID != a.ID {
		t.Errorf("near-duplicate in group %d, want %d", dup.GroupID, a.ID)
	}
	// Triage needs the right; the viewer is refused.
	if _, _, err := e.c.Triage(ctx, viewer, a.ID, ingest.TriageAction{Action: "triage"}); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Errorf("viewer triage: %v", err)
	}
	got, _, err := e.c.Triage(ctx, liaison, a.ID, ingest.TriageAction{Action: "triage", Note: "credible, two sources"})
	if err != nil || got.State != bluehelm.CommunityTriaged || got.StateBy != "liaison" || got.StateAt == nil {
		t.Fatalf("triage: %v %+v", err, got)
	}
	if _, _, err := e.c.Triage(ctx, liaison, a.ID, ingest.TriageAction{Action: "link"}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("link without an incident: %v", err)
	}
	got, inc, err := e.c.Triage(ctx, liaison, a.ID, ingest.TriageAction{Action: "link", CreateIncident: true, Group: true})
	if err != nil {
		t.Fatalf("link to a new draft: %v", err)
	}
	if inc == nil || inc.Status != bluehelm.StatusDraft || inc.Category != bluehelm.CatArmedClash || inc.PlaceName != "Bor" ||
		!strings.Contains(inc.Narrative, "Hommes armés") || got.State != bluehelm.CommunityLinked || got.Incident != inc.ID {
		t.Fatalf("linked: %+v / %+v", got, inc)
	}
	if strings.Contains(inc.Narrative, "912") {
		t.Error("the draft incident carries the number")
	}
	d, err := e.c.Get(ctx, analyst, dup.ID)
	if err != nil || d.State != bluehelm.CommunityLinked || d.Incident != inc.ID {
		t.Errorf("the group member was not linked: %v %+v", err, d)
	}
	if _, _, err := e.c.Triage(ctx, liaison, a.ID, ingest.TriageAction{Action: "dismiss"}); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Errorf("dismissing a linked alert: %v", err)
	}
	// Dismiss another, with a stale version.
	other := e.sms(t, "m3", "", "test test").Alert
	if _, _, err := e.c.Triage(ctx, analyst, other.ID, ingest.TriageAction{Action: "dismiss", Version: 5}); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Errorf("stale dismiss: %v", err)
	}
	if got, _, err := e.c.Triage(ctx, analyst, other.ID, ingest.TriageAction{Action: "dismiss", Version: 1}); err != nil || got.State != bluehelm.CommunityDismissed {
		t.Errorf("dismiss: %v", err)
	}
	if _, _, err := e.c.Triage(ctx, analyst, other.ID, ingest.TriageAction{Action: "close"}); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Errorf("unknown action: %v", err)
	}
	if n, err := e.store.VerifyAudit(ctx); err != nil || n < 6 {
		t.Errorf("audit chain: %d entries, %v", n, err)
	}
}

func TestCommunityBadInput(t *testing.T) {
	e := newCommunityEnv(t)
	tests := []struct {
		name string
		by   bluehelm.Principal
		in   ingest.Inbound
		code string
	}{
		{"oversized", gateway, ingest.Inbound{Channel: bluehelm.ChannelSMS, Source: "sms:generic", Text: strings.Repeat("x", 1601)}, bluehelm.EINVALID},
		{"empty", gateway, ingest.Inbound{Channel: bluehelm.ChannelSMS, Source: "sms:generic", Text: " "}, bluehelm.EINVALID},
		{"not a number", gateway, ingest.Inbound{Channel: bluehelm.ChannelSMS, Source: "sms:generic", From: "<script>", Text: "hi"}, bluehelm.EINVALID},
		{"hotline by a viewer", viewer, ingest.Inbound{Channel: bluehelm.ChannelHotline, Source: "hotline", Text: "hi"}, bluehelm.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.Receive(ctx, tt.by, tt.in)
			if bluehelm.ErrorCode(err) != tt.code {
				t.Errorf("Receive: %v, want %s", err, tt.code)
			}
		})
	}
	all, err := e.c.List(ctx, analyst, bluehelm.CommunityFilter{})
	if err != nil || len(all) != 0 {
		t.Errorf("bad input stored %d alerts (%v)", len(all), err)
	}
	// Markup is text: stored as given.
	script := `<img src=x onerror=alert(1)> هجوم`
	got, err := e.c.Receive(ctx, analyst, ingest.Inbound{Channel: bluehelm.ChannelHotline, Source: "hotline", Text: script})
	if err != nil || got.Alert.Text != script || got.Alert.EnteredBy != "analyst" || got.Ack != "" {
		t.Errorf("hotline: %v %+v", err, got)
	}
}

func TestCommunitySenderRevealAndReply(t *testing.T) {
	e := newCommunityEnv(t)
	got, err := e.c.Receive(ctx, bluehelm.SystemPrincipal("sms:android"), ingest.Inbound{Channel: bluehelm.ChannelSMS, Source: "sms:android",
		ExternalID: "ev1", From: "+211 912 345 678", Text: "مسلحين في ملكال", ReceivedAt: time.Now().Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Ack != "" || !got.AckSent {
		t.Errorf("the android gateway's acknowledgement should go out through it: %+v", got)
	}
	e.c.Wait()
	if len(e.reply.sent) != 1 || !strings.HasPrefix(e.reply.sent[0], "+211912345678: شكراً") {
		t.Errorf("acknowledgement sent: %q", e.reply.sent)
	}
	if got.Alert.Place == nil || got.Alert.Place.Name != "Malakal" || got.Alert.Language != "ar" {
		t.Errorf("annotations: %+v", got.Alert)
	}
	id := got.Alert.ID
	if _, err := e.c.RevealSender(ctx, analyst, id, "reply"); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Errorf("analyst reveal: %v", err)
	}
	before, _ := e.store.VerifyAudit(ctx)
	n, err := e.c.RevealSender(ctx, liaison, id, "call back to confirm")
	if err != nil || n != "+211912345678" {
		t.Fatalf("liaison reveal: %q %v", n, err)
	}
	after, _ := e.store.VerifyAudit(ctx)
	if after != before+1 {
		t.Errorf("the reveal was not audited (%d → %d entries)", before, after)
	}
	log, err := e.store.AuditLog(ctx, before, 10)
	if err != nil || len(log) == 0 || log[0].Action != "community.sender.reveal" || log[0].Actor != "liaison" || bytes.Contains(log[0].Detail, []byte("912")) {
		t.Errorf("audit of the reveal: %v %+v", err, log)
	}
	if err := e.c.Reply(ctx, liaison, id, "Merci, une patrouille arrive"); err != nil {
		t.Fatal(err)
	}
	if len(e.reply.sent) != 2 {
		t.Errorf("reply not sent: %q", e.reply.sent)
	}
	if err := e.c.Reply(ctx, analyst, id, "x"); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Errorf("analyst reply: %v", err)
	}
}
