package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// textArray is a list for a text[] NOT NULL column: nil becomes empty.
func textArray(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// listOf reads a text[] back: empty is nil, as the records' omitempty lists
// are when unset.
func listOf(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return l
}

// releasabilityList is a marking's releasability for a text[] column.
func releasabilityList(cs []bluehelm.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// componentsOf reads a releasability column back.
func componentsOf(l []string) []bluehelm.Component {
	if len(l) == 0 {
		return nil
	}
	out := make([]bluehelm.Component, len(l))
	for i, c := range l {
		out[i] = bluehelm.Component(c)
	}
	return out
}

// bindArgs collects the arguments of a query built piece by piece, naming each
// by its $n placeholder.
type bindArgs struct {
	conds []string
	args  []any
}

// bind adds an argument and returns its placeholder.
func (b *bindArgs) bind(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *bindArgs) where() string {
	if len(b.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.conds, " AND ")
}

// canSee adds the SQL form of p.CanSee over the marking columns of alias t
// (classification, component, releasability text[]). It must stay equivalent
// to Principal.CanSee: the storetest suite checks every marking against it.
func (b *bindArgs) canSee(t string, p bluehelm.Principal) {
	if p.System {
		return
	}
	clearance, c := b.bind(int(p.Clearance)), b.bind(string(p.Component))
	b.conds = append(b.conds, "("+t+".classification <= "+clearance+" AND ("+t+".classification = 0 OR "+t+".component = "+c+
		" OR "+c+" = ANY ("+t+".releasability)))")
}

// Chat messages are not audited: AppendChat takes no entry. GeoChat arrives at
// the rate people type on every device in the mission, each message row already
// records who sent what and when, and an audit entry per message would double
// every write and bury the entries about changes in relayed traffic.

const chatCols = `c.id, c.uid, c.t, c.chatroom, c.sender_uid, c.sender_callsign, c.sender_user, c.recipient_uids, c.text,
	c.classification, c.component, c.releasability`

func scanChat(row pgx.Row) (*bluehelm.ChatMessage, error) {
	var (
		m               bluehelm.ChatMessage
		recipients, rel []string
	)
	if err := row.Scan(&m.ID, &m.UID, &m.Time, &m.Chatroom, &m.SenderUID, &m.SenderCallsign, &m.SenderUser, &recipients, &m.Text,
		&m.Classification, &m.Component, &rel); err != nil {
		return nil, err
	}
	m.Time = m.Time.UTC()
	m.RecipientUIDs, m.Releasability = listOf(recipients), componentsOf(rel)
	return &m, nil
}

// AppendChat stores m and sets m.ID. A message whose UID is stored already is
// not changed, whatever m holds: the first copy wins, as for positions. Two
// nodes storing the same message at once are ordered by the unique index: one
// inserts, the other's ON CONFLICT waits for it and then reads its id.
func (db *DB) AppendChat(ctx context.Context, m *bluehelm.ChatMessage) error {
	if err := m.Validate(); err != nil {
		return err
	}
	var id int64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO chat_messages (uid, t, chatroom, sender_uid, sender_callsign, sender_user, recipient_uids, text,
				classification, component, releasability)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (uid) DO NOTHING RETURNING id`,
			m.UID, utc(m.Time), m.Chatroom, m.SenderUID, m.SenderCallsign, m.SenderUser, textArray(m.RecipientUIDs), m.Text,
			int(m.Classification), string(m.Component), releasabilityList(m.Releasability)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// DO NOTHING returns no row: the message was resent. At read
			// committed this statement sees the row the conflict waited for.
			err = tx.QueryRow(ctx, `SELECT id FROM chat_messages WHERE uid = $1`, m.UID).Scan(&id)
		}
		return refusedText(err)
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
	var b bindArgs
	if f.Chatroom != "" {
		b.conds = append(b.conds, "c.chatroom = "+b.bind(f.Chatroom))
	}
	if !f.Since.IsZero() {
		b.conds = append(b.conds, "c.t >= "+b.bind(ceilMicro(f.Since)))
	}
	b.canSee("c", f.Viewer)
	sql := `SELECT ` + chatCols + ` FROM chat_messages c` + b.where() + ` ORDER BY c.t, c.id LIMIT ` + b.bind(limit)
	return collect(ctx, r, sql, b.args, scanChat)
}

const attachmentCols = `a.id, a.sha256, a.name, a.content_type, a.size, a.keywords, a.creator_uid, a.uploaded_by, a.incident_id,
	a.created_at, a.classification, a.component, a.releasability`

func scanAttachment(row pgx.Row) (*bluehelm.Attachment, error) {
	var (
		a             bluehelm.Attachment
		keywords, rel []string
		incident      *int64
	)
	if err := row.Scan(&a.ID, &a.SHA256, &a.Name, &a.ContentType, &a.Size, &keywords, &a.CreatorUID, &a.UploadedBy, &incident,
		&a.CreatedAt, &a.Classification, &a.Component, &rel); err != nil {
		return nil, err
	}
	if incident != nil {
		a.IncidentID = *incident
	}
	a.CreatedAt = a.CreatedAt.UTC()
	a.Keywords, a.Releasability = listOf(keywords), componentsOf(rel)
	return &a, nil
}

// CreateAttachment stores a and sets a.ID. a must pass Validate and carry a
// creation time; an IncidentID that names no incident is EINVALID (the foreign
// key).
func (db *DB) CreateAttachment(ctx context.Context, a *bluehelm.Attachment, e bluehelm.AuditEntry) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.CreatedAt.IsZero() {
		return bluehelm.Invalid("created_at", "is required")
	}
	var incident any
	if a.IncidentID != 0 {
		incident = a.IncidentID
	}
	var id int64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO attachments (sha256, name, content_type, size, keywords, creator_uid, uploaded_by, incident_id,
				created_at, classification, component, releasability)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			a.SHA256, a.Name, a.ContentType, a.Size, textArray(a.Keywords), a.CreatorUID, a.UploadedBy, incident,
			utc(a.CreatedAt), int(a.Classification), string(a.Component), releasabilityList(a.Releasability)).Scan(&id)
		if err != nil {
			return err
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
	a, err := scanAttachment(r.QueryRow(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("attachment", id)
	}
	return a, dbErr(err)
}

// AttachmentsByHash returns every record of the content, ordered by id, and
// none (not ENOTFOUND) for content never stored: whoever holds the bytes asks
// whether they are known, and no is an answer. Access is the caller's to check.
func (db *DB) AttachmentsByHash(ctx context.Context, sha256 string) ([]*bluehelm.Attachment, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return collect(ctx, r, `SELECT `+attachmentCols+` FROM attachments a WHERE a.sha256 = $1 ORDER BY a.id`, []any{sha256}, scanAttachment)
}

// Attachments returns attachments f.Viewer may see, newest first (ties by id
// descending, like alerts), at most f.Limit (default 100, at most 1000). The
// access rule is applied in the query, so a page is full.
func (db *DB) Attachments(ctx context.Context, f bluehelm.AttachmentFilter) ([]*bluehelm.Attachment, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var b bindArgs
	if f.Keyword != "" {
		// @> rather than = ANY: the GIN index on keywords answers containment.
		b.conds = append(b.conds, "a.keywords @> ARRAY["+b.bind(f.Keyword)+"::text]")
	}
	if f.IncidentID != 0 {
		b.conds = append(b.conds, "a.incident_id = "+b.bind(f.IncidentID))
	}
	if !f.Since.IsZero() {
		b.conds = append(b.conds, "a.created_at >= "+b.bind(ceilMicro(f.Since)))
	}
	b.canSee("a", f.Viewer)
	sql := `SELECT ` + attachmentCols + ` FROM attachments a` + b.where() + ` ORDER BY a.created_at DESC, a.id DESC LIMIT ` + b.bind(limit)
	return collect(ctx, r, sql, b.args, scanAttachment)
}

// LinkAttachment ties attachment id to incidentID, replacing an earlier link.
// An unknown attachment is ENOTFOUND, an unknown incident EINVALID (the input
// names a record that does not exist, as for a token's user).
func (db *DB) LinkAttachment(ctx context.Context, id, incidentID int64, e bluehelm.AuditEntry) error {
	if incidentID == 0 {
		return bluehelm.Invalid("incident_id", "is required")
	}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE attachments SET incident_id = $1 WHERE id = $2`, incidentID, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(tag.RowsAffected(), notFound("attachment", id)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, e, "attachment/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("link attachment %d to incident %d: %w", id, incidentID, err)
	}
	return nil
}
