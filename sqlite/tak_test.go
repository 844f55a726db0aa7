package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// TestTAKReopen checks that devices, chat and attachments written before Close
// are there after Open: the storetest suite opens a new store each time, so it
// cannot.
func TestTAKReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u := &bluehelm.User{Username: "alice", Name: "Alice", Role: bluehelm.RoleReporter, Component: bluehelm.Police, CreatedAt: t0}
	d := &bluehelm.Device{Name: "alpha-1", Username: "alice", Serial: "0a", Fingerprint: strings.Repeat("f", 64),
		Groups: []string{bluehelm.DefaultGroup}, NotAfter: t0.Add(24 * time.Hour), CreatedAt: t0}
	m := &bluehelm.ChatMessage{UID: "GeoChat.1", SenderUID: "ANDROID-1", Chatroom: "All Chat Rooms", Text: "hello", Time: t0,
		Marking: bluehelm.Marking{Component: bluehelm.Police}}
	a := &bluehelm.Attachment{SHA256: strings.Repeat("ab", 32), Name: "photo.jpg", Size: 10, Keywords: []string{"bridge"}, CreatedAt: t0,
		Marking: bluehelm.Marking{Component: bluehelm.Police}}
	if err := db.CreateUser(ctx, u, bluehelm.NewAudit(sys, "user.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	d.UserID = u.ID
	if err := db.CreateDevice(ctx, d, bluehelm.NewAudit(sys, "device.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeDevice(ctx, d.ID, t0.Add(time.Hour), "lost", bluehelm.NewAudit(sys, "device.revoke", "", nil)); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendChat(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAttachment(ctx, a, bluehelm.NewAudit(sys, "attachment.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	got, err := db.DeviceBySerial(ctx, "0a")
	if err != nil || got.ID != d.ID || got.RevokedAt == nil || got.RevokeReason != "lost" {
		t.Errorf("device after reopen: %+v, %v; want device %d revoked", got, err, d.ID)
	}
	msgs, err := db.Chat(ctx, bluehelm.ChatFilter{Viewer: sys})
	if err != nil || len(msgs) != 1 || msgs[0].ID != m.ID || msgs[0].Text != "hello" {
		t.Errorf("chat after reopen: %v, %v; want message %d", msgs, err, m.ID)
	}
	atts, err := db.Attachments(ctx, bluehelm.AttachmentFilter{Viewer: sys, Keyword: "bridge"})
	if err != nil || len(atts) != 1 || atts[0].ID != a.ID {
		t.Errorf("attachments after reopen: %v, %v; want attachment %d", atts, err, a.ID)
	}
	if n, err := db.VerifyAudit(ctx); n != 4 || err != nil {
		// user, device, revocation, attachment: chat is not audited.
		t.Errorf("VerifyAudit after reopen = %d, %v; want 4, nil", n, err)
	}
}

// TestTAKQueryPlans pins the indexes the TAK reads use: handshakes look a
// device up by serial, late joiners read a room's recent chat, and keyword
// and incident searches must not scan every attachment.
func TestTAKQueryPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	explain := func(q string, args ...any) string {
		t.Helper()
		rows, err := db.r.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	viewer := bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	chat := func(f bluehelm.ChatFilter) string {
		f.Viewer = viewer
		q, args := chatQuery(f, 100)
		return explain(q, args...)
	}
	att := func(f bluehelm.AttachmentFilter) string {
		f.Viewer = viewer
		q, args := attachmentQuery(f, 100)
		return explain(q, args...)
	}
	for _, tc := range []struct {
		name    string
		plan    string
		want    []string
		wantNot []string
	}{
		{"device by serial", explain(deviceSelect+` WHERE d.serial = ?`, "0a"), []string{"SEARCH d USING INDEX sqlite_autoindex_devices_2 (serial=?)"}, nil},
		// Walk the index in page order: no sort, stop after the page.
		{"chat since", chat(bluehelm.ChatFilter{Since: t0}), []string{"SEARCH c USING INDEX chat_messages_time (t>?)"}, []string{"TEMP B-TREE"}},
		{"chat room since", chat(bluehelm.ChatFilter{Chatroom: "All Chat Rooms", Since: t0}),
			[]string{"SEARCH c USING INDEX chat_messages_room (chatroom=? AND t>?)"}, []string{"TEMP B-TREE"}},
		{"attachments since", att(bluehelm.AttachmentFilter{Since: t0}), []string{"SEARCH a USING INDEX attachments_created (created_at>?)"}, []string{"TEMP B-TREE"}},
		{"attachments of an incident", att(bluehelm.AttachmentFilter{IncidentID: 1}), []string{"SEARCH a USING INDEX attachments_incident (incident_id=?)"}, []string{"TEMP B-TREE"}},
		{"attachments by keyword", att(bluehelm.AttachmentFilter{Keyword: "bridge"}), []string{"SEARCH attachment_keywords USING PRIMARY KEY (keyword=?)"}, []string{"SCAN a\n"}},
		{"attachments by hash", explain(`SELECT `+attachmentCols+` FROM attachments a WHERE a.sha256 = ? ORDER BY a.id`, "ab"),
			[]string{"SEARCH a USING INDEX attachments_sha256 (sha256=?)"}, nil},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.plan, w) {
				t.Errorf("%s plan lacks %q:\n%s", tc.name, w, tc.plan)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(tc.plan, w) {
				t.Errorf("%s plan has %q:\n%s", tc.name, w, tc.plan)
			}
		}
	}
}
