package bluehelm

import (
	"context"
	"time"
)

// ChatMessage is a GeoChat message relayed between TAK devices (and later the web
// app), kept so that the JOC has a record and late joiners a history.
type ChatMessage struct {
	ID             int64     `json:"id"`
	UID            string    `json:"uid"` // the CoT event uid; unique, so a resent message is stored once
	SenderUID      string    `json:"sender_uid"`
	SenderCallsign string    `json:"sender_callsign"`
	SenderUser     string    `json:"sender_user"` // the bluehelm user behind the device
	Chatroom       string    `json:"chatroom"`    // "All Chat Rooms", a group name, or the recipient's callsign
	RecipientUIDs  []string  `json:"recipient_uids,omitempty"`
	Text           string    `json:"text"`
	Time           time.Time `json:"time"`
	Marking
}

// MaxChatText bounds a chat message's text.
const MaxChatText = 8192

// Validate checks a message before it is stored.
func (m *ChatMessage) Validate() error {
	// GeoChat uids embed two uids and a room name, so they may be longer than a track's.
	if m.UID == "" || len(m.UID) > 256 {
		return Invalid("uid", "must be 1-256 bytes")
	}
	if m.SenderUID == "" {
		return Invalid("sender_uid", "is required")
	}
	if len(m.Text) > MaxChatText {
		return Invalid("text", "longer than %d bytes", MaxChatText)
	}
	if m.Time.IsZero() {
		return Invalid("time", "is required")
	}
	return m.Marking.Validate()
}

// ChatFilter selects messages; Viewer applies the access rule.
type ChatFilter struct {
	Viewer   Principal
	Chatroom string // empty = all
	Since    time.Time
	Limit    int // 0 means 100, at most 1000
}

type ChatStore interface {
	// AppendChat stores m and sets m.ID; a message whose UID is already stored is
	// left as it is and AppendChat returns nil with m.ID set to the stored one.
	AppendChat(ctx context.Context, m *ChatMessage) error
	// Chat returns matching messages, oldest first.
	Chat(ctx context.Context, f ChatFilter) ([]*ChatMessage, error)
}

// Attachment is a file shared from a TAK device (a photo, a data package) or uploaded
// otherwise. The bytes are stored once per content hash; this is what is known of them.
type Attachment struct {
	ID          int64     `json:"id"`
	SHA256      string    `json:"sha256"` // lower-case hex, identifies the content
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Keywords    []string  `json:"keywords,omitempty"`
	CreatorUID  string    `json:"creator_uid,omitempty"` // the TAK device uid that sent it
	UploadedBy  string    `json:"uploaded_by"`
	IncidentID  int64     `json:"incident_id,omitempty"` // the incident it documents, if linked
	CreatedAt   time.Time `json:"created_at"`
	Marking
}

// MaxAttachmentSize bounds one uploaded file (ATAK data packages with photos are
// a few MB; a satellite link makes larger ones a mistake).
const MaxAttachmentSize = 64 << 20

// Validate checks an attachment's metadata.
func (a *Attachment) Validate() error {
	if len(a.SHA256) != 64 {
		return Invalid("sha256", "must be 64 hex digits")
	}
	for _, c := range a.SHA256 {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return Invalid("sha256", "must be lower-case hex")
		}
	}
	if a.Name == "" || len(a.Name) > 255 {
		return Invalid("name", "must be 1-255 bytes")
	}
	if a.Size < 0 || a.Size > MaxAttachmentSize {
		return Invalid("size", "must be 0..%d bytes", MaxAttachmentSize)
	}
	if len(a.Keywords) > MaxListItems {
		return Invalid("keywords", "too many")
	}
	return a.Marking.Validate()
}

// AttachmentFilter selects attachments; Viewer applies the access rule.
type AttachmentFilter struct {
	Viewer     Principal
	Keyword    string // exact keyword match; empty = any
	IncidentID int64  // 0 = any
	Since      time.Time
	Limit      int // 0 means 100, at most 1000
}

type AttachmentStore interface {
	// CreateAttachment stores the metadata and sets a.ID.
	CreateAttachment(ctx context.Context, a *Attachment, e AuditEntry) error
	Attachment(ctx context.Context, id int64) (*Attachment, error)
	// AttachmentsByHash returns every record of that content (it may have been shared
	// more than once, with different markings).
	AttachmentsByHash(ctx context.Context, sha256 string) ([]*Attachment, error)
	Attachments(ctx context.Context, f AttachmentFilter) ([]*Attachment, error)
	// LinkAttachment ties an attachment to an incident.
	LinkAttachment(ctx context.Context, id, incidentID int64, e AuditEntry) error
}
