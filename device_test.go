package bluehelm_test

import (
	"context"
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

type fakeRegister struct {
	devices map[string]*bluehelm.Device
	users   map[int64]*bluehelm.User
}

func (f fakeRegister) DeviceBySerial(_ context.Context, serial string) (*bluehelm.Device, error) {
	if d, ok := f.devices[serial]; ok {
		return d, nil
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no device")
}

func (f fakeRegister) User(_ context.Context, id int64) (*bluehelm.User, error) {
	if u, ok := f.users[id]; ok {
		return u, nil
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no user")
}

func TestIdentifyDevice(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	revoked := now.Add(-time.Hour)
	reg := fakeRegister{
		devices: map[string]*bluehelm.Device{
			"a1": {Name: "ok", UserID: 1, Serial: "a1", Fingerprint: "f1", NotAfter: now.Add(time.Hour)},
			"a2": {Name: "revoked", UserID: 1, Serial: "a2", Fingerprint: "f2", NotAfter: now.Add(time.Hour), RevokedAt: &revoked},
			"a3": {Name: "expired", UserID: 1, Serial: "a3", Fingerprint: "f3", NotAfter: now},
			"a4": {Name: "disabled-user", UserID: 2, Serial: "a4", Fingerprint: "f4", NotAfter: now.Add(time.Hour)},
			"a5": {Name: "no-user", UserID: 3, Serial: "a5", Fingerprint: "f5", NotAfter: now.Add(time.Hour)},
		},
		users: map[int64]*bluehelm.User{1: {ID: 1, Username: "alpha"}, 2: {ID: 2, Username: "gone", Disabled: true}},
	}
	for _, c := range []struct {
		name, serial, fp, want string
	}{
		{"registered device", "a1", "f1", ""},
		{"unknown serial", "zz", "f1", bluehelm.EUNAUTHENTICATED},
		{"same serial, other certificate", "a1", "other", bluehelm.EUNAUTHENTICATED},
		{"revoked", "a2", "f2", bluehelm.EUNAUTHENTICATED},
		{"expired", "a3", "f3", bluehelm.EUNAUTHENTICATED},
		{"user disabled", "a4", "f4", bluehelm.EUNAUTHENTICATED},
		{"user deleted", "a5", "f5", bluehelm.EUNAUTHENTICATED},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, d, err := bluehelm.IdentifyDevice(context.Background(), reg, reg, c.serial, c.fp, now)
			if c.want == "" {
				if err != nil || u.Username != "alpha" || d.Name != "ok" {
					t.Fatalf("got %v, %v, %v", u, d, err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != c.want || u != nil || d != nil {
				t.Fatalf("got %v, %v, %v; want %s", u, d, err, c.want)
			}
		})
	}
}
