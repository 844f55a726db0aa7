package bluehelm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// checkField fails unless err is nil (field "") or EINVALID about field.
func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("want valid, got %v", err)
		}
		return
	}
	if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != field {
		t.Fatalf("got %v (field %q), want %s about %q", err, bluehelm.ErrorField(err), bluehelm.EINVALID, field)
	}
}

func validDevice() *bluehelm.Device {
	return &bluehelm.Device{
		Name: "alpha-1-tablet", UserID: 7, Username: "alice",
		Serial: "0a1b", Fingerprint: strings.Repeat("f", 64),
		Groups: []string{bluehelm.DefaultGroup, "Bor patrol"}, Classification: bluehelm.Confidential,
		NotAfter: now.Add(365 * 24 * time.Hour), CreatedAt: now,
	}
}

func TestDeviceValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Device)
		field  string // "" means valid
	}{
		{"valid", func(*bluehelm.Device) {}, ""},
		{"name with dots and underscores", func(d *bluehelm.Device) { d.Name = "wintak_02.joc" }, ""},
		{"name of 64 characters", func(d *bluehelm.Device) { d.Name = strings.Repeat("a", 64) }, ""},
		{"name of 65 characters", func(d *bluehelm.Device) { d.Name = strings.Repeat("a", 65) }, "name"},
		{"empty name", func(d *bluehelm.Device) { d.Name = "" }, "name"},
		{"name starting with a dash", func(d *bluehelm.Device) { d.Name = "-tablet" }, "name"},
		{"name with a space", func(d *bluehelm.Device) { d.Name = "alpha tablet" }, "name"},
		{"name with a slash", func(d *bluehelm.Device) { d.Name = "alpha/1" }, "name"},
		{"no user", func(d *bluehelm.Device) { d.UserID = 0 }, "user"},
		{"no groups", func(d *bluehelm.Device) { d.Groups = nil }, "groups"},
		{"32 groups", func(d *bluehelm.Device) { d.Groups = manyGroups(32) }, ""},
		{"33 groups", func(d *bluehelm.Device) { d.Groups = manyGroups(33) }, "groups"},
		{"group with a space", func(d *bluehelm.Device) { d.Groups = []string{"Bor patrol 2"} }, ""},
		{"empty group", func(d *bluehelm.Device) { d.Groups = []string{""} }, "groups"},
		{"group starting with a space", func(d *bluehelm.Device) { d.Groups = []string{" mission"} }, "groups"},
		{"group with a comma", func(d *bluehelm.Device) { d.Groups = []string{"a,b"} }, "groups"},
		{"classification too high", func(d *bluehelm.Device) { d.Classification = bluehelm.StrictlyConfidential + 1 }, "classification"},
		{"negative classification", func(d *bluehelm.Device) { d.Classification = -1 }, "classification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDevice()
			tt.change(d)
			checkField(t, d.Validate(), tt.field)
		})
	}
}

func manyGroups(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "group-" + strings.Repeat("x", i%5) + string(rune('a'+i%26))
	}
	return out
}

func TestDeviceActive(t *testing.T) {
	revoked := now.Add(-time.Minute)
	tests := []struct {
		name   string
		change func(*bluehelm.Device)
		at     time.Time
		want   bool
	}{
		{"valid certificate", func(*bluehelm.Device) {}, now, true},
		{"just before expiry", func(*bluehelm.Device) {}, now.Add(365*24*time.Hour - time.Nanosecond), true},
		{"at expiry", func(*bluehelm.Device) {}, now.Add(365 * 24 * time.Hour), false},
		{"revoked", func(d *bluehelm.Device) { d.RevokedAt = &revoked }, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDevice()
			tt.change(d)
			if got := d.Active(tt.at); got != tt.want {
				t.Errorf("Active = %v, want %v", got, tt.want)
			}
		})
	}
}

func validChat() *bluehelm.ChatMessage {
	return &bluehelm.ChatMessage{
		UID: "GeoChat.ANDROID-1.All Chat Rooms.5f3c", SenderUID: "ANDROID-1", SenderCallsign: "ALPHA 1", SenderUser: "alice",
		Chatroom: "All Chat Rooms", Text: "Bridge open", Time: now,
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Police},
	}
}

func TestChatMessageValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.ChatMessage)
		field  string
	}{
		{"valid", func(*bluehelm.ChatMessage) {}, ""},
		{"empty text", func(m *bluehelm.ChatMessage) { m.Text = "" }, ""},
		{"uid of 256 bytes", func(m *bluehelm.ChatMessage) { m.UID = strings.Repeat("u", 256) }, ""},
		{"uid of 257 bytes", func(m *bluehelm.ChatMessage) { m.UID = strings.Repeat("u", 257) }, "uid"},
		{"no uid", func(m *bluehelm.ChatMessage) { m.UID = "" }, "uid"},
		{"no sender", func(m *bluehelm.ChatMessage) { m.SenderUID = "" }, "sender_uid"},
		{"text at the limit", func(m *bluehelm.ChatMessage) { m.Text = strings.Repeat("x", bluehelm.MaxChatText) }, ""},
		{"text over the limit", func(m *bluehelm.ChatMessage) { m.Text = strings.Repeat("x", bluehelm.MaxChatText+1) }, "text"},
		{"no time", func(m *bluehelm.ChatMessage) { m.Time = time.Time{} }, "time"},
		{"no component", func(m *bluehelm.ChatMessage) { m.Component = "" }, "component"},
		{"unknown releasability", func(m *bluehelm.ChatMessage) { m.Releasability = []bluehelm.Component{"press"} }, "releasable_to[0]"},
		{"unknown classification", func(m *bluehelm.ChatMessage) { m.Classification = 3 }, "classification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validChat()
			tt.change(m)
			checkField(t, m.Validate(), tt.field)
		})
	}
}

func validAttachment() *bluehelm.Attachment {
	return &bluehelm.Attachment{
		SHA256: strings.Repeat("0123456789abcdef", 4), Name: "IMG_0001.jpg", ContentType: "image/jpeg", Size: 1 << 20,
		Keywords: []string{"bridge"}, CreatorUID: "ANDROID-1", UploadedBy: "alice", CreatedAt: now,
		Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military},
	}
}

func TestAttachmentValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.Attachment)
		field  string
	}{
		{"valid", func(*bluehelm.Attachment) {}, ""},
		{"empty file", func(a *bluehelm.Attachment) { a.Size = 0 }, ""},
		{"largest file", func(a *bluehelm.Attachment) { a.Size = bluehelm.MaxAttachmentSize }, ""},
		{"file too large", func(a *bluehelm.Attachment) { a.Size = bluehelm.MaxAttachmentSize + 1 }, "size"},
		{"negative size", func(a *bluehelm.Attachment) { a.Size = -1 }, "size"},
		{"no hash", func(a *bluehelm.Attachment) { a.SHA256 = "" }, "sha256"},
		{"short hash", func(a *bluehelm.Attachment) { a.SHA256 = a.SHA256[:63] }, "sha256"},
		{"long hash", func(a *bluehelm.Attachment) { a.SHA256 += "0" }, "sha256"},
		{"upper-case hash", func(a *bluehelm.Attachment) { a.SHA256 = strings.ToUpper(a.SHA256) }, "sha256"},
		{"non-hex hash", func(a *bluehelm.Attachment) { a.SHA256 = strings.Repeat("g", 64) }, "sha256"},
		{"no name", func(a *bluehelm.Attachment) { a.Name = "" }, "name"},
		{"name of 255 bytes", func(a *bluehelm.Attachment) { a.Name = strings.Repeat("n", 255) }, ""},
		{"name of 256 bytes", func(a *bluehelm.Attachment) { a.Name = strings.Repeat("n", 256) }, "name"},
		{"keywords at the limit", func(a *bluehelm.Attachment) { a.Keywords = make([]string, bluehelm.MaxListItems) }, ""},
		{"too many keywords", func(a *bluehelm.Attachment) { a.Keywords = make([]string, bluehelm.MaxListItems+1) }, "keywords"},
		{"unknown component", func(a *bluehelm.Attachment) { a.Component = "navy" }, "component"},
		{"unknown releasability", func(a *bluehelm.Attachment) { a.Releasability = []bluehelm.Component{bluehelm.Police, "press"} }, "releasable_to[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validAttachment()
			tt.change(a)
			checkField(t, a.Validate(), tt.field)
		})
	}
}
