package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// What the TAK records add to the contract, fixed here so backends agree:
//
//   - Device.Username is the user's username as stored; devices are listed by
//     name. A device needs a serial and a fingerprint (EINVALID otherwise) and
//     a user that exists (EINVALID otherwise). Revoking a revoked device is
//     ECONFLICT and leaves the first revocation as it was.
//   - Chat returns the earliest Limit matching messages, oldest first, ties by
//     id; Since is inclusive. AppendChat writes no audit entry.
//   - Attachments returns the newest Limit matching attachments first, ties by
//     id descending (like alerts); AttachmentsByHash returns every record of
//     the content ordered by id, and an empty list for unknown content.
//   - Every write here validates its record: an invalid one is EINVALID and
//     stores nothing, audit entry included.

// auditCount returns how many audit entries the store holds (and checks the
// chain while at it).
func auditCount(t *testing.T, s bluehelm.Store) int64 {
	t.Helper()
	n, err := s.VerifyAudit(ctxOf(t))
	must(t, err, "VerifyAudit")
	return n
}

// checkAudited checks that exactly one entry was appended since before (the
// count auditCount returned), with the action and an object naming kind/id.
func checkAudited(t *testing.T, s bluehelm.Store, before int64, action, kind string, id int64) {
	t.Helper()
	got, err := s.AuditLog(ctxOf(t), before, 10)
	must(t, err, "AuditLog")
	if len(got) != 1 {
		t.Fatalf("%s: %d new audit entries, want 1", action, len(got))
	}
	if e := got[0]; e.Action != action || !strings.Contains(e.Object, kind) || !strings.Contains(e.Object, strconv.FormatInt(id, 10)) {
		t.Errorf("%s: audit entry {action %q object %q}, want action %q naming %s %d", action, e.Action, e.Object, action, kind, id)
	}
}

func newDevice(name, serial string, u *bluehelm.User) *bluehelm.Device {
	return &bluehelm.Device{
		Name: name, UserID: u.ID, Username: u.Username,
		Serial: serial, Fingerprint: strings.Repeat(serial[:1], 64),
		Groups:         []string{"mission", "Bor patrol"},
		Classification: bluehelm.Confidential,
		NotAfter:       t0.Add(365 * 24 * time.Hour), CreatedAt: t0,
	}
}

func testDevices(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	alice := &bluehelm.User{Username: "alice", Name: "Alice", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Confidential, CreatedAt: t0}
	bob := &bluehelm.User{Username: "bob", Name: "Bob", Role: bluehelm.RoleReporter, Component: bluehelm.Military, CreatedAt: t0}
	for _, u := range []*bluehelm.User{alice, bob} {
		must(t, s.CreateUser(ctx, u, entry("user.create")), "CreateUser")
	}
	// Created out of name order, so that listing by name is tested.
	tablet := newDevice("alpha-1-tablet", "0a1b", alice)
	phone := newDevice("alpha-1-phone", "0a1c", alice)
	wintak := newDevice("bravo-wintak", "bb01", bob)
	wintak.Groups = []string{bluehelm.DefaultGroup}

	t.Run("Create", func(t *testing.T) {
		for _, d := range []*bluehelm.Device{tablet, phone, wintak} {
			before := auditCount(t, s)
			must(t, s.CreateDevice(ctx, d, entry("device.create")), "CreateDevice "+d.Name)
			if d.ID == 0 {
				t.Fatalf("CreateDevice %s did not set the id", d.Name)
			}
			checkAudited(t, s, before, "device.create", "device", d.ID)
		}
	})

	t.Run("Get", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			get  func() (*bluehelm.Device, error)
		}{
			{"by id", func() (*bluehelm.Device, error) { return s.Device(ctx, tablet.ID) }},
			{"by name", func() (*bluehelm.Device, error) { return s.DeviceByName(ctx, "alpha-1-tablet") }},
			{"by serial", func() (*bluehelm.Device, error) { return s.DeviceBySerial(ctx, "0a1b") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.get()
				must(t, err, "get device")
				sameJSON(t, got, tablet, "stored device")
				if !got.Active(t0.Add(time.Hour)) {
					t.Error("a new device is not active")
				}
			})
		}
	})

	t.Run("Rejected", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(d *bluehelm.Device)
			code   string
		}{
			{"taken name", func(d *bluehelm.Device) { d.Name = tablet.Name }, bluehelm.ECONFLICT},
			{"taken serial", func(d *bluehelm.Device) { d.Serial = tablet.Serial }, bluehelm.ECONFLICT},
			{"unknown user", func(d *bluehelm.Device) { d.UserID = 424242 }, bluehelm.EINVALID},
			{"invalid name", func(d *bluehelm.Device) { d.Name = "no spaces allowed" }, bluehelm.EINVALID},
			{"no groups", func(d *bluehelm.Device) { d.Groups = nil }, bluehelm.EINVALID},
			{"no serial", func(d *bluehelm.Device) { d.Serial = "" }, bluehelm.EINVALID},
			{"no fingerprint", func(d *bluehelm.Device) { d.Fingerprint = "" }, bluehelm.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := newDevice("charlie-phone", "cc01", bob)
				tc.change(d)
				before := auditCount(t, s)
				wantCode(t, s.CreateDevice(ctx, d, entry("device.create")), tc.code, "CreateDevice")
				if n := auditCount(t, s); n != before {
					t.Errorf("a rejected CreateDevice appended %d audit entries", n-before)
				}
				if d.ID != 0 {
					t.Errorf("a rejected CreateDevice set the id to %d", d.ID)
				}
			})
		}
		all, err := s.Devices(ctx, 0)
		must(t, err, "Devices")
		if len(all) != 3 {
			t.Errorf("%d devices after rejected creates, want 3", len(all))
		}
	})

	t.Run("List", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			userID int64
			want   []*bluehelm.Device
		}{
			{"all", 0, []*bluehelm.Device{phone, tablet, wintak}},
			{"one user", alice.ID, []*bluehelm.Device{phone, tablet}},
			{"another user", bob.ID, []*bluehelm.Device{wintak}},
			{"user without devices", 424242, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Devices(ctx, tc.userID)
				must(t, err, "Devices")
				sameJSON(t, orEmpty(got), orEmpty(tc.want), "Devices")
			})
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		at := t0.Add(48 * time.Hour)
		before := auditCount(t, s)
		must(t, s.RevokeDevice(ctx, phone.ID, at, "lost on patrol", entry("device.revoke")), "RevokeDevice")
		checkAudited(t, s, before, "device.revoke", "device", phone.ID)
		phone.RevokedAt, phone.RevokeReason = &at, "lost on patrol"
		got, err := s.DeviceBySerial(ctx, phone.Serial)
		must(t, err, "DeviceBySerial of a revoked device")
		sameJSON(t, got, phone, "revoked device")
		if got.Active(at.Add(time.Minute)) {
			t.Error("a revoked device is active")
		}

		for _, tc := range []struct {
			name string
			id   int64
			code string
		}{
			{"twice", phone.ID, bluehelm.ECONFLICT},
			{"unknown id", 424242, bluehelm.ENOTFOUND},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := auditCount(t, s)
				wantCode(t, s.RevokeDevice(ctx, tc.id, at.Add(time.Hour), "again", entry("device.revoke")), tc.code, "RevokeDevice")
				if n := auditCount(t, s); n != before {
					t.Errorf("a failed RevokeDevice appended %d audit entries", n-before)
				}
			})
		}
		got, err = s.Device(ctx, phone.ID)
		must(t, err, "Device")
		sameJSON(t, got, phone, "device after a second revocation (the first must stand)")
		got, err = s.Device(ctx, tablet.ID)
		must(t, err, "Device")
		sameJSON(t, got, tablet, "another device of the same user")
	})

	t.Run("NotFound", func(t *testing.T) {
		for name, get := range map[string]func() (*bluehelm.Device, error){
			"Device":         func() (*bluehelm.Device, error) { return s.Device(ctx, 424242) },
			"DeviceByName":   func() (*bluehelm.Device, error) { return s.DeviceByName(ctx, "nobody") },
			"DeviceBySerial": func() (*bluehelm.Device, error) { return s.DeviceBySerial(ctx, "ffff") },
		} {
			_, err := get()
			wantCode(t, err, bluehelm.ENOTFOUND, name+" of an unknown device")
		}
	})
}

// orEmpty makes nil and empty lists compare alike, whichever a backend returns.
func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

var (
	policeConfidential = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}
	policeC            = bluehelm.Principal{Username: "unpol1", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	policeU            = bluehelm.Principal{Username: "unpol2", Role: bluehelm.RoleReporter, Component: bluehelm.Police}
	militaryC          = bluehelm.Principal{Username: "ops1", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
)

// accessCases is the access rule on one CONFIDENTIAL police record.
var accessCases = []struct {
	name    string
	viewer  bluehelm.Principal
	visible bool
}{
	{"military with clearance", militaryC, false},
	{"police with clearance", policeC, true},
	{"police without clearance", policeU, false},
	{"system", sys, true},
}

// markingsSample is a third of allMarkings, which with 16 releasability sets
// and a stride of 3 still covers every set at every level.
func markingsSample() []bluehelm.Marking {
	var out []bluehelm.Marking
	for i, m := range allMarkings() {
		if i%3 == 0 {
			out = append(out, m)
		}
	}
	return out
}

func newChat(uid, room string, at time.Time, m bluehelm.Marking) *bluehelm.ChatMessage {
	return &bluehelm.ChatMessage{
		UID: uid, SenderUID: "ANDROID-alpha1", SenderCallsign: "ALPHA 1", SenderUser: "alice",
		Chatroom: room, RecipientUIDs: []string{"ANDROID-bravo2"}, Text: "Checkpoint at the bridge is open",
		Time: at, Marking: m,
	}
}

func testChat(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	rooms := []string{"All Chat Rooms", "Bor patrol", "BRAVO 2"}
	var msgs []*bluehelm.ChatMessage
	for i, m := range markingsSample() {
		// 23 distinct times for 64 messages: ties, which the id must break.
		c := newChat(fmt.Sprintf("GeoChat.ANDROID-alpha1.%s.%d", rooms[i%3], i), rooms[i%3], t0.Add(time.Duration((i*7)%23)*time.Minute), m)
		if i%4 == 0 {
			c.RecipientUIDs = nil
		}
		must(t, s.AppendChat(ctx, c), "AppendChat")
		if c.ID == 0 {
			t.Fatal("AppendChat did not set the id")
		}
		msgs = append(msgs, c)
	}
	secret := newChat("GeoChat.police.secret", "Bor patrol", t0.Add(30*time.Minute), policeConfidential)
	must(t, s.AppendChat(ctx, secret), "AppendChat")
	msgs = append(msgs, secret)

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := s.Chat(ctx, bluehelm.ChatFilter{Viewer: sys, Limit: 1000})
		must(t, err, "Chat")
		byID := map[int64]*bluehelm.ChatMessage{}
		for _, m := range got {
			byID[m.ID] = m
		}
		for _, m := range msgs {
			sameJSON(t, byID[m.ID], m, "stored message "+m.UID)
		}
	})

	t.Run("Idempotent", func(t *testing.T) {
		first := msgs[5]
		resent := *first
		resent.ID, resent.Text = 0, "edited on resend"
		for range 2 {
			must(t, s.AppendChat(ctx, &resent), "AppendChat of a stored uid")
			if resent.ID != first.ID {
				t.Errorf("resent message got id %d, want the stored %d", resent.ID, first.ID)
			}
		}
		got, err := s.Chat(ctx, bluehelm.ChatFilter{Viewer: sys, Limit: 1000})
		must(t, err, "Chat")
		if len(got) != len(msgs) {
			t.Errorf("%d messages after resending one, want %d", len(got), len(msgs))
		}
		for _, m := range got {
			if m.ID == first.ID && m.Text != first.Text {
				t.Errorf("resend changed the stored text to %q", m.Text)
			}
		}
	})

	t.Run("NotAudited", func(t *testing.T) {
		if n := auditCount(t, s); n != 0 {
			t.Errorf("chat appended %d audit entries, want none", n)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(m *bluehelm.ChatMessage)
		}{
			{"no uid", func(m *bluehelm.ChatMessage) { m.UID = "" }},
			{"no sender", func(m *bluehelm.ChatMessage) { m.SenderUID = "" }},
			{"no time", func(m *bluehelm.ChatMessage) { m.Time = time.Time{} }},
			{"text too long", func(m *bluehelm.ChatMessage) { m.Text = strings.Repeat("x", bluehelm.MaxChatText+1) }},
			{"no component", func(m *bluehelm.ChatMessage) { m.Component = "" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := newChat("GeoChat.invalid."+tc.name, "Bor patrol", t0, unclassified)
				tc.change(m)
				wantCode(t, s.AppendChat(ctx, m), bluehelm.EINVALID, "AppendChat")
			})
		}
		got, err := s.Chat(ctx, bluehelm.ChatFilter{Viewer: sys, Limit: 1000})
		must(t, err, "Chat")
		if len(got) != len(msgs) {
			t.Errorf("%d messages after invalid appends, want %d", len(got), len(msgs))
		}
		_, err = s.Chat(ctx, bluehelm.ChatFilter{Limit: -1})
		wantCode(t, err, bluehelm.EINVALID, "Chat with a negative limit")
	})

	t.Run("Access", func(t *testing.T) {
		for _, tc := range accessCases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Chat(ctx, bluehelm.ChatFilter{Viewer: tc.viewer, Chatroom: "Bor patrol", Since: secret.Time})
				must(t, err, "Chat")
				found := slices.ContainsFunc(got, func(m *bluehelm.ChatMessage) bool { return m.ID == secret.ID })
				if found != tc.visible {
					t.Errorf("CONFIDENTIAL police message visible = %v, want %v", found, tc.visible)
				}
			})
		}
	})

	t.Run("Filter", func(t *testing.T) {
		since := t0.Add(11 * time.Minute)
		filters := []struct {
			name string
			f    bluehelm.ChatFilter
		}{
			{"all", bluehelm.ChatFilter{}},
			{"room", bluehelm.ChatFilter{Chatroom: "Bor patrol"}},
			{"since", bluehelm.ChatFilter{Since: since}},
			{"since, just after a stored time", bluehelm.ChatFilter{Since: since.Add(time.Nanosecond)}},
			{"room since", bluehelm.ChatFilter{Chatroom: "BRAVO 2", Since: since}},
			{"unknown room", bluehelm.ChatFilter{Chatroom: "nobody"}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{0, 4} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []*bluehelm.ChatMessage
						for _, m := range msgs {
							if p.CanSee(m.Marking) && (f.Chatroom == "" || m.Chatroom == f.Chatroom) && !m.Time.Before(f.Since) {
								want = append(want, m)
							}
						}
						slices.SortFunc(want, func(a, b *bluehelm.ChatMessage) int {
							if c := a.Time.Compare(b.Time); c != 0 {
								return c
							}
							return cmpInt(a.ID, b.ID)
						})
						n := limit
						if n == 0 {
							n = 100
						}
						want = want[:min(n, len(want))]
						got, err := s.Chat(ctx, f)
						must(t, err, "Chat")
						checkIDs(t, chatIDs(got), chatIDs(want), "chat")
					})
				}
			}
		}
	})
}

func chatIDs(ms []*bluehelm.ChatMessage) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func attachmentIDs(as []*bluehelm.Attachment) []int64 {
	out := make([]int64, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// hashOf returns a valid, distinct content hash for n.
func hashOf(n int) string { return fmt.Sprintf("%064x", n+1) }

func newAttachment(name string, n int, at time.Time, m bluehelm.Marking) *bluehelm.Attachment {
	return &bluehelm.Attachment{
		SHA256: hashOf(n), Name: name, ContentType: "image/jpeg", Size: 2 << 20,
		Keywords: []string{"photo"}, CreatorUID: "ANDROID-alpha1", UploadedBy: "alice",
		CreatedAt: at, Marking: m,
	}
}

func testAttachments(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	var incs []*bluehelm.Incident
	for i := range 2 {
		inc := newIncident(fmt.Sprintf("Documented %d", i), t0, bluehelm.Point{Lon: 31.6, Lat: 6.2}, unclassified)
		must(t, s.CreateIncident(ctx, inc, entry("incident.create")), "CreateIncident")
		incs = append(incs, inc)
	}
	keywords := [][]string{{"photo"}, {"photo", "bridge"}, {"bridge", "Bridge"}, nil, {"checkpoint", "photo", "photo"}}
	var atts []*bluehelm.Attachment
	for i, m := range markingsSample() {
		a := newAttachment(fmt.Sprintf("IMG_%04d.jpg", i), i, t0.Add(time.Duration((i*5)%17)*time.Minute), m)
		a.Keywords = keywords[i%len(keywords)]
		if i%3 == 1 {
			a.IncidentID = incs[i%2].ID
		}
		before := auditCount(t, s)
		must(t, s.CreateAttachment(ctx, a, entry("attachment.create")), "CreateAttachment")
		if a.ID == 0 {
			t.Fatal("CreateAttachment did not set the id")
		}
		checkAudited(t, s, before, "attachment.create", "attachment", a.ID)
		atts = append(atts, a)
	}
	// The same content shared again, with another marking.
	again := newAttachment("bridge.jpg", 7, t0.Add(20*time.Minute), policeConfidential)
	again.Keywords = []string{"bridge"}
	must(t, s.CreateAttachment(ctx, again, entry("attachment.create")), "CreateAttachment")
	atts = append(atts, again)

	t.Run("Get", func(t *testing.T) {
		for _, a := range atts {
			got, err := s.Attachment(ctx, a.ID)
			must(t, err, "Attachment")
			sameJSON(t, got, a, "stored attachment")
		}
		_, err := s.Attachment(ctx, 424242)
		wantCode(t, err, bluehelm.ENOTFOUND, "Attachment of an unknown id")
	})

	t.Run("ByHash", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			hash string
			want []*bluehelm.Attachment
		}{
			{"shared twice", hashOf(7), []*bluehelm.Attachment{atts[7], again}},
			{"shared once", hashOf(3), []*bluehelm.Attachment{atts[3]}},
			{"unknown", hashOf(9999), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.AttachmentsByHash(ctx, tc.hash)
				must(t, err, "AttachmentsByHash")
				sameJSON(t, orEmpty(got), orEmpty(tc.want), "AttachmentsByHash")
			})
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(a *bluehelm.Attachment)
		}{
			{"short hash", func(a *bluehelm.Attachment) { a.SHA256 = "abc" }},
			{"upper-case hash", func(a *bluehelm.Attachment) { a.SHA256 = strings.ToUpper(hashOf(0xabc)) }},
			{"no name", func(a *bluehelm.Attachment) { a.Name = "" }},
			{"too large", func(a *bluehelm.Attachment) { a.Size = bluehelm.MaxAttachmentSize + 1 }},
			{"negative size", func(a *bluehelm.Attachment) { a.Size = -1 }},
			{"too many keywords", func(a *bluehelm.Attachment) { a.Keywords = make([]string, bluehelm.MaxListItems+1) }},
			{"unknown component", func(a *bluehelm.Attachment) { a.Component = "navy" }},
			{"no creation time", func(a *bluehelm.Attachment) { a.CreatedAt = time.Time{} }},
			{"unknown incident", func(a *bluehelm.Attachment) { a.IncidentID = 424242 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := newAttachment("invalid.jpg", 0xabc, t0, unclassified)
				tc.change(a)
				before := auditCount(t, s)
				wantCode(t, s.CreateAttachment(ctx, a, entry("attachment.create")), bluehelm.EINVALID, "CreateAttachment")
				if n := auditCount(t, s); n != before {
					t.Errorf("an invalid CreateAttachment appended %d audit entries", n-before)
				}
				if a.ID != 0 {
					t.Errorf("an invalid CreateAttachment set the id to %d", a.ID)
				}
			})
		}
		got, err := s.AttachmentsByHash(ctx, hashOf(0xabc))
		must(t, err, "AttachmentsByHash")
		if len(got) != 0 {
			t.Errorf("invalid attachments were stored: %d records", len(got))
		}
		_, err = s.Attachments(ctx, bluehelm.AttachmentFilter{Limit: -1})
		wantCode(t, err, bluehelm.EINVALID, "Attachments with a negative limit")
	})

	t.Run("Access", func(t *testing.T) {
		for _, tc := range accessCases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Attachments(ctx, bluehelm.AttachmentFilter{Viewer: tc.viewer, Keyword: "bridge", Since: again.CreatedAt})
				must(t, err, "Attachments")
				found := slices.ContainsFunc(got, func(a *bluehelm.Attachment) bool { return a.ID == again.ID })
				if found != tc.visible {
					t.Errorf("CONFIDENTIAL police attachment visible = %v, want %v", found, tc.visible)
				}
			})
		}
	})

	t.Run("Link", func(t *testing.T) {
		a := atts[0]
		before := auditCount(t, s)
		must(t, s.LinkAttachment(ctx, a.ID, incs[1].ID, entry("attachment.link")), "LinkAttachment")
		checkAudited(t, s, before, "attachment.link", "attachment", a.ID)
		a.IncidentID = incs[1].ID
		got, err := s.Attachment(ctx, a.ID)
		must(t, err, "Attachment")
		sameJSON(t, got, a, "linked attachment")
		list, err := s.Attachments(ctx, bluehelm.AttachmentFilter{Viewer: sys, IncidentID: incs[1].ID, Limit: 1000})
		must(t, err, "Attachments")
		if !slices.Contains(attachmentIDs(list), a.ID) {
			t.Errorf("linked attachment %d not listed for incident %d", a.ID, incs[1].ID)
		}

		for _, tc := range []struct {
			name         string
			id, incident int64
			code         string
		}{
			{"unknown attachment", 424242, incs[0].ID, bluehelm.ENOTFOUND},
			{"unknown incident", a.ID, 424242, bluehelm.EINVALID},
			{"no incident", a.ID, 0, bluehelm.EINVALID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := auditCount(t, s)
				wantCode(t, s.LinkAttachment(ctx, tc.id, tc.incident, entry("attachment.link")), tc.code, "LinkAttachment")
				if n := auditCount(t, s); n != before {
					t.Errorf("a failed LinkAttachment appended %d audit entries", n-before)
				}
			})
		}
		got, err = s.Attachment(ctx, a.ID)
		must(t, err, "Attachment")
		sameJSON(t, got, a, "attachment after failed links")
	})

	t.Run("Filter", func(t *testing.T) {
		since := t0.Add(8 * time.Minute)
		filters := []struct {
			name string
			f    bluehelm.AttachmentFilter
		}{
			{"all", bluehelm.AttachmentFilter{}},
			{"keyword", bluehelm.AttachmentFilter{Keyword: "bridge"}},
			{"keyword is case-sensitive", bluehelm.AttachmentFilter{Keyword: "Bridge"}},
			{"keyword listed twice", bluehelm.AttachmentFilter{Keyword: "photo"}},
			{"unknown keyword", bluehelm.AttachmentFilter{Keyword: "bridg"}},
			{"incident", bluehelm.AttachmentFilter{IncidentID: incs[0].ID}},
			{"since", bluehelm.AttachmentFilter{Since: since}},
			{"since, just after a stored time", bluehelm.AttachmentFilter{Since: since.Add(time.Nanosecond)}},
			{"keyword, incident and since", bluehelm.AttachmentFilter{Keyword: "photo", IncidentID: incs[1].ID, Since: since}},
		}
		for _, p := range viewers() {
			for _, tc := range filters {
				for _, limit := range []int{0, 3} {
					t.Run(fmt.Sprintf("%s/%s/limit=%d", viewerName(p), tc.name, limit), func(t *testing.T) {
						f := tc.f
						f.Viewer, f.Limit = p, limit
						var want []*bluehelm.Attachment
						for _, a := range atts {
							if p.CanSee(a.Marking) && (f.Keyword == "" || slices.Contains(a.Keywords, f.Keyword)) &&
								(f.IncidentID == 0 || a.IncidentID == f.IncidentID) && !a.CreatedAt.Before(f.Since) {
								want = append(want, a)
							}
						}
						slices.SortFunc(want, func(a, b *bluehelm.Attachment) int {
							if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
								return c
							}
							return cmpInt(b.ID, a.ID)
						})
						n := limit
						if n == 0 {
							n = 100
						}
						want = want[:min(n, len(want))]
						got, err := s.Attachments(ctx, f)
						must(t, err, "Attachments")
						checkIDs(t, attachmentIDs(got), attachmentIDs(want), "attachments")
					})
				}
			}
		}
	})
}
