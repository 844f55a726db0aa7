package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// ceilMicros returns the smallest whole microsecond not before t, so that
// stored µs >= ceilMicros(t) ⇔ the stored time is not before t.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.After(time.UnixMicro(us)) {
		us++
	}
	return us
}

// encodeList stores a string list as a JSON array; nil becomes "[]" so the
// column is never NULL and always decodes.
func encodeList(field string, l []string) (string, error) {
	if l == nil {
		l = []string{}
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", bluehelm.Invalid(field, "cannot encode: %v", err)
	}
	return string(b), nil
}

func decodeList(what string, id int64, s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("sqlite: %s %d: corrupt list: %w", what, id, err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// Chat messages are not audited: AppendChat takes no entry. GeoChat arrives at
// the rate people type on every device in the mission, each message row already
// records who sent what and when, and an audit entry per message would double
// every write and bury the entries about changes in relayed traffic.

const chatCols = `c.id, c.uid, c.t, c.chatroom, c.sender_uid, c.sender_callsign, c.sender_user, c.recipient_uids, c.text,
	c.classification, c.component, c.releasability`

func scanChat(s scanner) (*bluehelm.ChatMessage, error) {
	var (
		m               bluehelm.ChatMessage
		t               int64
		recipients, rel string
	)
	if err := s.Scan(&m.ID, &m.UID, &t, &m.Chatroom, &m.SenderUID, &m.SenderCallsign, &m.SenderUser, &recipients, &m.Text,
		&m.Classification, &m.Component, &rel); err != nil {
		return nil, err
	}
	m.Time = time.UnixMicro(t).UTC()
	m.Releasability = components(rel)
	var err error
	if m.RecipientUIDs, err = decodeList("chat message", m.ID, recipients); err != nil {
		return nil, err
	}
	return &m, nil
}

// AppendChat stores m and sets m.ID. A message whose UID is stored already is
// not changed, whatever m holds: the first copy wins, as for positions.
func (db *DB) AppendChat(ctx context.Context, m *bluehelm.ChatMessage) error {
	if err := m.Validate(); err != nil {
		return err
	}
	recipients, err := encodeList("recipient_uids", m.RecipientUIDs)
	if err != nil {
		return err
	}
	var id int64
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO chat_messages (uid, t, chatroom, sender_uid, sender_callsign, sender_user, recipient_uids, text,
				classification, component, releasability)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING RETURNING id`,
			m.UID, m.Time.UnixMicro(), m.Chatroom, m.SenderUID, m.SenderCallsign, m.SenderUser, recipients, m.Text,
			int(m.Classification), string(m.Component), releasability(m.Releasability)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// DO NOTHING returns no row: the message was resent.
			err = tx.QueryRowContext(ctx, `SELECT id FROM chat_messages WHERE uid = ?`, m.UID).Scan(&id)
		}
		return dbErr(err)
	})
	if err != nil {
		return fmt.Errorf("append chat %q: %w", m.UID, err)
	}
	m.ID = id
	return nil
}

// Chat returns the messages f.Viewer may see in f.Chatroom (any when empty)
// at or after f.Since, oldest first (ties by id): the earliest f.Limit
// (default 100, at most 1000). The access rule is applied in the query, so a
// page is full whatever the viewer may not see.
func (db *DB) Chat(ctx context.Context, f bluehelm.ChatFilter) ([]*bluehelm.ChatMessage, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	sq, args := chatQuery(f, limit)
	return queryAll(ctx, r, sq, args, scanChat)
}

func chatQuery(f bluehelm.ChatFilter, limit int) (string, []any) {
	var q query
	if f.Chatroom != "" {
		q.add("c.chatroom = ?", f.Chatroom)
	}
	if !f.Since.IsZero() {
		q.add("c.t >= ?", ceilMicros(f.Since))
	}
	if cond, args := accessSQL("c", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	return `SELECT ` + chatCols + ` FROM chat_messages c` + q.where() + ` ORDER BY c.t, c.id LIMIT ?`, append(q.args, limit)
}

const attachmentCols = `a.id, a.sha256, a.name, a.content_type, a.size, a.keywords, a.creator_uid, a.uploaded_by, a.incident_id,
	a.created_at, a.classification, a.component, a.releasability`

func scanAttachment(s scanner) (*bluehelm.Attachment, error) {
	var (
		a             bluehelm.Attachment
		keywords, rel string
		incident      sql.NullInt64
		created       int64
	)
	if err := s.Scan(&a.ID, &a.SHA256, &a.Name, &a.ContentType, &a.Size, &keywords, &a.CreatorUID, &a.UploadedBy, &incident,
		&created, &a.Classification, &a.Component, &rel); err != nil {
		return nil, err
	}
	a.IncidentID = incident.Int64
	a.CreatedAt = time.UnixMicro(created).UTC()
	a.Releasability = components(rel)
	var err error
	if a.Keywords, err = decodeList("attachment", a.ID, keywords); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateAttachment stores a and sets a.ID. a must pass Validate and carry a
// creation time; an IncidentID that names no incident is EINVALID.
func (db *DB) CreateAttachment(ctx context.Context, a *bluehelm.Attachment, e bluehelm.AuditEntry) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.CreatedAt.IsZero() {
		return bluehelm.Invalid("created_at", "is required")
	}
	keywords, err := encodeList("keywords", a.Keywords)
	if err != nil {
		return err
	}
	var incident any
	if a.IncidentID != 0 {
		incident = a.IncidentID
	}
	var id int64
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO attachments (sha256, name, content_type, size, keywords, creator_uid, uploaded_by, incident_id,
				created_at, classification, component, releasability)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			a.SHA256, a.Name, a.ContentType, a.Size, keywords, a.CreatorUID, a.UploadedBy, incident,
			a.CreatedAt.UnixMicro(), int(a.Classification), string(a.Component), releasability(a.Releasability)).Scan(&id)
		if err != nil {
			return dbErr(err)
		}
		// OR IGNORE: a keyword listed twice is one index entry.
		for _, k := range a.Keywords {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO attachment_keywords (keyword, attachment_id) VALUES (?, ?)`, k, id); err != nil {
				return dbErr(err)
			}
		}
		return appendAudit(ctx, tx, e, "attachment/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("create attachment %q: %w", a.Name, err)
	}
	a.ID = id
	return nil
}

// Attachment returns one attachment regardless of access (callers check CanSee).
func (db *DB) Attachment(ctx context.Context, id int64) (*bluehelm.Attachment, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	a, err := scanAttachment(r.QueryRowContext(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("attachment", id)
	}
	return a, dbErr(err)
}

func (db *DB) queryAttachments(ctx context.Context, q string, args ...any) ([]*bluehelm.Attachment, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, q, args, scanAttachment)
}

// AttachmentsByHash returns every record of the content, ordered by id, and
// none (not ENOTFOUND) for content never stored: whoever holds the bytes asks
// whether they are known, and no is an answer. Access is the caller's to check.
func (db *DB) AttachmentsByHash(ctx context.Context, sha256 string) ([]*bluehelm.Attachment, error) {
	return db.queryAttachments(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.sha256 = ? ORDER BY a.id`, sha256)
}

// Attachments returns attachments f.Viewer may see, newest first (ties by id
// descending, like alerts), at most f.Limit (default 100, at most 1000). The
// access rule is applied in the query, so a page is full.
func (db *DB) Attachments(ctx context.Context, f bluehelm.AttachmentFilter) ([]*bluehelm.Attachment, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	sq, args := attachmentQuery(f, limit)
	return db.queryAttachments(ctx, sq, args...)
}

func attachmentQuery(f bluehelm.AttachmentFilter, limit int) (string, []any) {
	var q query
	if f.Keyword != "" {
		q.add("a.id IN (SELECT attachment_id FROM attachment_keywords WHERE keyword = ?)", f.Keyword)
	}
	if f.IncidentID != 0 {
		q.add("a.incident_id = ?", f.IncidentID)
	}
	if !f.Since.IsZero() {
		q.add("a.created_at >= ?", ceilMicros(f.Since))
	}
	if cond, args := accessSQL("a", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	return `SELECT ` + attachmentCols + ` FROM attachments a` + q.where() + ` ORDER BY a.created_at DESC, a.id DESC LIMIT ?`, append(q.args, limit)
}

// LinkAttachment ties attachment id to incidentID, replacing an earlier link.
// An unknown attachment is ENOTFOUND, an unknown incident EINVALID (the input
// names a record that does not exist, as for a token's user).
func (db *DB) LinkAttachment(ctx context.Context, id, incidentID int64, e bluehelm.AuditEntry) error {
	if incidentID == 0 {
		return bluehelm.Invalid("incident_id", "is required")
	}
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE attachments SET incident_id = ? WHERE id = ?`, incidentID, id)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return notFound("attachment", id)
		}
		return appendAudit(ctx, tx, e, "attachment/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("link attachment %d to incident %d: %w", id, incidentID, err)
	}
	return nil
}
