package postgres_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// What the storetest suite cannot see from one store: several nodes writing
// one database at once. Each test opens two stores on one schema ("nodes") and
// races them.

var sysPeople = bluehelm.SystemPrincipal("postgres-test")

func peopleEntry(action string) bluehelm.AuditEntry {
	return bluehelm.NewAudit(sysPeople, action, "", nil)
}

// peopleNodes opens two stores on one fresh schema.
func peopleNodes(t *testing.T) (string, [2]*postgres.DB) {
	schema := pgtest.Schema()
	return schema, [2]*postgres.DB{pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema)}
}

// atOnce runs fn(i) for i in [0, n) at once and waits for all.
func atOnce(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

// TestCommunityGroupingAcrossNodes: alerts that belong together, written at
// once through two nodes, end in one group each. Without a lock over the
// grouping decision two transactions could each miss the other's row and
// start two groups.
func TestCommunityGroupingAcrossNodes(t *testing.T) {
	_, nodes := peopleNodes(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	bor := &bluehelm.PlaceSuggestion{Name: "Bor", Matched: "bor", Country: "SS", Location: bluehelm.Point{Lon: 31.559, Lat: 6.207}}
	for _, tc := range []struct {
		name string
		mk   func(i int) *bluehelm.CommunityAlert
	}{
		{"one sender", func(i int) *bluehelm.CommunityAlert {
			return &bluehelm.CommunityAlert{Text: fmt.Sprintf("report %d", i),
				SenderPseudonym: "hmac-of-A", SenderSealed: []byte("sealed-A")}
		}},
		{"one place, near-identical text", func(i int) *bluehelm.CommunityAlert {
			return &bluehelm.CommunityAlert{Text: "Armed men in Bor market", Place: bor,
				SenderPseudonym: fmt.Sprintf("hmac-%d", i), SenderSealed: []byte(fmt.Sprintf("sealed-%d", i))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 24
			got := make([]*bluehelm.CommunityAlert, n)
			errs := make([]error, n)
			atOnce(n, func(i int) {
				a := tc.mk(i)
				a.ReceivedAt, a.Channel, a.Source = t0.Add(time.Duration(i)*time.Second), bluehelm.ChannelSMS, "sms:generic"
				a.ExternalID = fmt.Sprintf("%s-%d", tc.name, i)
				a.State, a.Marking = bluehelm.CommunityNew, bluehelm.CommunityMarking
				_, errs[i] = nodes[i%2].CreateCommunityAlert(ctx, a, bluehelm.CommunityGrouping{Window: time.Hour, TextKey: bluehelm.TextKey(a.Text)}, peopleEntry("community.receive"))
				got[i] = a
			})
			groups := map[int64]int{}
			for i, a := range got {
				if errs[i] != nil {
					t.Fatalf("CreateCommunityAlert %d: %v", i, errs[i])
				}
				groups[a.GroupID]++
			}
			if len(groups) != 1 {
				t.Errorf("%d alerts that belong together are in %d groups: %v", n, len(groups), groups)
			}
			for g := range groups {
				stored, err := nodes[0].FindCommunityAlerts(ctx, bluehelm.CommunityFilter{GroupID: g})
				if err != nil {
					t.Fatal(err)
				}
				if len(stored) != groups[g] {
					t.Errorf("group %d: %d stored, %d answered", g, len(stored), groups[g])
				}
			}
		})
	}
	if _, err := nodes[1].VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}

// TestCommunitySenderColumns: the sender's pseudonym and sealed number are
// stored and read back byte for byte (ciphertext is any bytes), and neither
// is in the stored document.
func TestCommunitySenderColumns(t *testing.T) {
	schema, nodes := peopleNodes(t)
	ctx := t.Context()
	sealed := []byte{0x00, 0xff, 0x10, 0x80, 0x00, 'x', 0xc3} // not UTF-8, with NULs
	a := &bluehelm.CommunityAlert{ReceivedAt: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Channel: bluehelm.ChannelSMS,
		Source: "sms:generic", ExternalID: "s1", Text: "help", State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking,
		SenderPseudonym: "k1:9f86d081884c7d659a2feaa0c55ad015", SenderSealed: sealed}
	if _, err := nodes[0].CreateCommunityAlert(ctx, a, bluehelm.CommunityGrouping{Window: time.Hour}, peopleEntry("community.receive")); err != nil {
		t.Fatal(err)
	}
	got, err := nodes[1].CommunityAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SenderPseudonym != a.SenderPseudonym || !bytes.Equal(got.SenderSealed, sealed) || !got.HasSender {
		t.Errorf("sender read back as %q %x (has %v), want %q %x", got.SenderPseudonym, got.SenderSealed, got.HasSender, a.SenderPseudonym, sealed)
	}
	var leaks int
	err = nodes[0].Pool().QueryRow(ctx, `SELECT count(*) FROM `+schema+`.community_alerts
		WHERE strpos(doc::text, $1) > 0 OR doc ? 'sender' OR doc ? 'sealed'`, a.SenderPseudonym).Scan(&leaks)
	if err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("the sender is in %d stored documents", leaks)
	}
	// A triage update never touches the sender columns, whatever it carries.
	got.SenderPseudonym, got.SenderSealed, got.State = "", nil, bluehelm.CommunityTriaged
	if err := nodes[1].UpdateCommunityAlert(ctx, got, peopleEntry("community.triage")); err != nil {
		t.Fatal(err)
	}
	back, err := nodes[0].CommunityAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.SenderPseudonym != a.SenderPseudonym || !bytes.Equal(back.SenderSealed, sealed) || !back.HasSender {
		t.Errorf("after triage the sender is %q %x (has %v)", back.SenderPseudonym, back.SenderSealed, back.HasSender)
	}
}

// TestPeopleWritesAcrossNodes: the one-winner rules hold when two nodes write
// at once: a resent chat message is stored once and both get its id; a device
// is revoked once, the other revocation being ECONFLICT; a casevac's TAK uid
// makes one request.
func TestPeopleWritesAcrossNodes(t *testing.T) {
	_, nodes := peopleNodes(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	u := &bluehelm.User{Username: "alice", Name: "Alice", Role: bluehelm.RoleReporter, Component: bluehelm.Police, CreatedAt: t0}
	if err := nodes[0].CreateUser(ctx, u, peopleEntry("user.create")); err != nil {
		t.Fatal(err)
	}
	d := &bluehelm.Device{Name: "alpha-1-tablet", UserID: u.ID, Serial: "0a1b", Fingerprint: "ab", Groups: []string{bluehelm.DefaultGroup},
		NotAfter: t0.Add(365 * 24 * time.Hour), CreatedAt: t0}
	if err := nodes[1].CreateDevice(ctx, d, peopleEntry("device.create")); err != nil {
		t.Fatal(err)
	}
	const n = 8
	for _, tc := range []struct {
		name string
		// write is node i's attempt; it returns the stored record's id.
		write func(i int) (int64, error)
		// wins is how many attempts must succeed; the others must be ECONFLICT.
		wins int
	}{
		{"chat resent", func(i int) (int64, error) {
			m := &bluehelm.ChatMessage{UID: "GeoChat.alpha.1", SenderUID: "ANDROID-alpha1", SenderCallsign: "ALPHA 1", SenderUser: "alice",
				Chatroom: "All Chat Rooms", Text: fmt.Sprintf("copy %d", i), Time: t0, Marking: bluehelm.Marking{Component: bluehelm.Police}}
			err := nodes[i%2].AppendChat(ctx, m)
			return m.ID, err
		}, n},
		{"device revoked", func(i int) (int64, error) {
			return d.ID, nodes[i%2].RevokeDevice(ctx, d.ID, t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("reason %d", i), peopleEntry("device.revoke"))
		}, 1},
		{"casevac of one TAK event", func(i int) (int64, error) {
			c := &bluehelm.Casevac{CoTUID: "casevac-1", Status: bluehelm.CasevacRequested, Source: "tak", RequestedAt: t0, UpdatedAt: t0,
				NineLine: bluehelm.NineLine{CallSign: "DUSTOFF"}, Marking: bluehelm.Marking{Component: bluehelm.Military}}
			err := nodes[i%2].CreateCasevac(ctx, c, peopleEntry("casevac.request"))
			return c.ID, err
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := make([]int64, n)
			errs := make([]error, n)
			atOnce(n, func(i int) { ids[i], errs[i] = tc.write(i) })
			wins, stored := 0, map[int64]bool{}
			for i, err := range errs {
				switch code := bluehelm.ErrorCode(err); {
				case err == nil:
					wins++
					stored[ids[i]] = true
				case code != bluehelm.ECONFLICT:
					t.Errorf("attempt %d: %v, want success or ECONFLICT", i, err)
				}
			}
			if wins != tc.wins || len(stored) != 1 {
				t.Errorf("%d attempts succeeded with ids %v, want %d with one id", wins, stored, tc.wins)
			}
		})
	}
	if _, err := nodes[1].VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain: %v", err)
	}
}

// TestCommunityBadAlertFailsAlone: alerts written together are committed
// together, but one the database refuses (PostgreSQL stores no NUL character
// in text or jsonb) fails alone: the others are stored and audited.
func TestCommunityBadAlertFailsAlone(t *testing.T) {
	_, nodes := peopleNodes(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	const n, bad = 16, 5
	errs := make([]error, n)
	atOnce(n, func(i int) {
		text := fmt.Sprintf("message %d", i)
		if i == bad {
			text = "message \x00 with a NUL"
		}
		a := &bluehelm.CommunityAlert{ReceivedAt: t0.Add(time.Duration(i) * time.Second), Channel: bluehelm.ChannelSMS, Source: "sms:generic",
			ExternalID: fmt.Sprintf("b%d", i), Text: text, State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking}
		_, errs[i] = nodes[0].CreateCommunityAlert(ctx, a, bluehelm.CommunityGrouping{Window: time.Hour, TextKey: bluehelm.TextKey(text)}, peopleEntry("community.receive"))
	})
	for i, err := range errs {
		if (err != nil) != (i == bad) {
			t.Errorf("alert %d: error %v", i, err)
		}
	}
	wantCodeOf(t, errs[bad], bluehelm.EINVALID, "the alert with a NUL")
	all, err := nodes[1].FindCommunityAlerts(ctx, bluehelm.CommunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := nodes[1].VerifyAudit(ctx)
	if err != nil {
		t.Errorf("audit chain: %v", err)
	}
	if len(all) != n-1 || entries != n-1 {
		t.Errorf("%d alerts stored and %d audited, want %d", len(all), entries, n-1)
	}
}

func wantCodeOf(t *testing.T, err error, want, what string) {
	t.Helper()
	if got := bluehelm.ErrorCode(err); got != want {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, want)
	}
}

// TestChatRefusedText: text PostgreSQL cannot keep is the input's fault.
func TestChatRefusedText(t *testing.T) {
	_, nodes := peopleNodes(t)
	ctx := t.Context()
	for _, tc := range []struct{ name, text string }{
		{"NUL", "checkpoint \x00 open"},
		{"invalid UTF-8", "checkpoint \xff open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &bluehelm.ChatMessage{UID: "GeoChat." + tc.name, SenderUID: "ANDROID-alpha1", Chatroom: "All Chat Rooms", Text: tc.text,
				Time: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), Marking: bluehelm.Marking{Component: bluehelm.Police}}
			wantCodeOf(t, nodes[0].AppendChat(ctx, m), bluehelm.EINVALID, "AppendChat")
		})
	}
	got, err := nodes[1].Chat(ctx, bluehelm.ChatFilter{Viewer: sysPeople})
	if err != nil || len(got) != 0 {
		t.Errorf("Chat after refused appends: %d messages, %v", len(got), err)
	}
}
