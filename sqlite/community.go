package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Community alerts (issue 8). The document holds what may be shown; the sender's
// pseudonym and sealed number are columns outside it (they are not part of the
// record's JSON), so that no path that reads documents can carry them by mistake.
// The number itself is never here in the clear: sealed is AES-GCM ciphertext whose
// key lives outside the database.
const schemaV11 = `
CREATE TABLE community_alerts (
	id          INTEGER PRIMARY KEY,
	version     INTEGER NOT NULL,
	received    INTEGER NOT NULL,          -- unix µs
	state       TEXT NOT NULL,
	group_id    INTEGER NOT NULL,
	source      TEXT NOT NULL,
	external_id TEXT,                      -- the gateway's message id; NULL when none
	sender      TEXT,                      -- keyed pseudonym; NULL when unknown
	sealed      BLOB,                      -- the sealed number; NULL when unknown
	place       TEXT NOT NULL,             -- suggested place key ("" when none)
	text_key    TEXT NOT NULL,             -- folded words, for near-duplicates
	doc         TEXT NOT NULL
);
CREATE UNIQUE INDEX community_alerts_external ON community_alerts (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX community_alerts_received ON community_alerts (received, id);
CREATE INDEX community_alerts_state ON community_alerts (state, received, id);
CREATE INDEX community_alerts_group ON community_alerts (group_id, id);
CREATE INDEX community_alerts_sender ON community_alerts (sender, received) WHERE sender IS NOT NULL;
CREATE INDEX community_alerts_place ON community_alerts (place, received) WHERE place != '';
`

// communityPlaceKey names a suggested place for grouping.
func communityPlaceKey(p *bluehelm.PlaceSuggestion) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%s|%s|%.3f|%.3f", p.Name, p.Country, p.Location.Lon, p.Location.Lat)
}

func normCommunity(a *bluehelm.CommunityAlert) {
	a.ReceivedAt = a.ReceivedAt.Truncate(time.Microsecond).UTC()
	if a.StateAt != nil {
		t := a.StateAt.Truncate(time.Microsecond).UTC()
		a.StateAt = &t
	}
	a.HasSender = len(a.SenderSealed) > 0
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Community alerts arrive in floods (an SMS campaign, a village texting about the same
// attack), each from its own webhook call. A durable commit costs an fsync, so the
// calls are committed in groups: a caller queues its alert; the first caller to find
// no committer at work becomes it, writes everything queued in one transaction (each
// alert under its own savepoint, so that a bad one fails alone), commits once, answers
// every caller of the group, and goes on while more have queued meanwhile. With one
// caller this is a plain transaction; under load the fsync is shared.

type communityReq struct {
	ctx      context.Context
	a        bluehelm.CommunityAlert
	g        bluehelm.CommunityGrouping
	e        bluehelm.AuditEntry
	existing bool
	err      error
	done     chan struct{}
}

type communityQueue struct {
	mu      sync.Mutex
	pending []*communityReq
	leading bool
	dead    bool // removed from communityQueues; callers take a new one
}

// communityQueues holds a queue per store while writes are in flight; the last
// committer removes it, so a closed store leaves nothing behind.
var communityQueues sync.Map // *DB → *communityQueue

// maxCommunityGroup caps one group commit.
const maxCommunityGroup = 256

// CreateCommunityAlert stores a, grouping it with a recent alert from the same sender or
// a near-identical one about the same place (see bluehelm.CommunityStore).
func (db *DB) CreateCommunityAlert(ctx context.Context, a *bluehelm.CommunityAlert, g bluehelm.CommunityGrouping, e bluehelm.AuditEntry) (bool, error) {
	req := &communityReq{ctx: ctx, a: *a, g: g, e: e, done: make(chan struct{})}
	normCommunity(&req.a)
	var q *communityQueue
	for {
		v, _ := communityQueues.LoadOrStore(db, &communityQueue{})
		q = v.(*communityQueue)
		q.mu.Lock()
		if !q.dead {
			break
		}
		q.mu.Unlock()
	}
	q.pending = append(q.pending, req)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if lead {
		db.commitCommunity(q)
	}
	<-req.done
	if req.err != nil {
		return false, fmt.Errorf("create community alert: %w", req.err)
	}
	*a = req.a
	return req.existing, nil
}

// commitCommunity writes groups until the queue is empty, then retires the queue.
func (db *DB) commitCommunity(q *communityQueue) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.leading, q.dead = false, true
			communityQueues.Delete(db)
			q.mu.Unlock()
			return
		}
		n := min(len(q.pending), maxCommunityGroup)
		group := q.pending[:n:n]
		q.pending = q.pending[n:]
		q.mu.Unlock()
		db.writeCommunityGroup(group)
		for _, r := range group {
			close(r.done)
		}
	}
}

func (db *DB) writeCommunityGroup(group []*communityReq) {
	var live []*communityReq
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err // not written: the caller gave up before its group started
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx := context.WithoutCancel(live[0].ctx)
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		for _, r := range live {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT community_alert`); err != nil {
				return dbErr(err)
			}
			r.err = insertCommunity(ctx, tx, r)
			if r.err != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO community_alert`); err != nil {
					return dbErr(err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE community_alert`); err != nil {
				return dbErr(err)
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range live {
			r.err = err
		}
	}
}

// insertCommunity writes one alert inside the group's transaction, or finds the one
// already stored under its gateway id.
func insertCommunity(ctx context.Context, tx *sql.Tx, r *communityReq) error {
	next := &r.a
	if next.ExternalID != "" {
		cur, err := scanCommunity(tx.QueryRowContext(ctx, `SELECT `+communityCols+` FROM community_alerts WHERE source = ? AND external_id = ?`, next.Source, next.ExternalID))
		if err == nil {
			r.a, r.existing = *cur, true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return dbErr(err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM community_alerts`).Scan(&next.ID); err != nil {
		return dbErr(err)
	}
	next.Version, next.GroupID = 1, next.ID
	group, err := communityGroup(ctx, tx, next, r.g)
	if err != nil {
		return err
	}
	if group != 0 {
		next.GroupID = group
	}
	doc, err := encodeDoc(next)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO community_alerts (id, version, received, state, group_id, source, external_id, sender, sealed, place, text_key, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		next.ID, next.Version, next.ReceivedAt.UnixMicro(), next.State, next.GroupID, next.Source, nullString(next.ExternalID),
		nullString(next.SenderPseudonym), nullBytes(next.SenderSealed), communityPlaceKey(next.Place), r.g.TextKey, doc); err != nil {
		return dbErr(err)
	}
	return appendAudit(ctx, tx, r.e, fmt.Sprintf("community_alert/%d", next.ID))
}

// communityGroup finds the group of a new alert: the newest alert within the window
// from the same sender, else the newest near-identical one about the same place (of
// the 50 latest about it), else none (0).
func communityGroup(ctx context.Context, tx *sql.Tx, a *bluehelm.CommunityAlert, g bluehelm.CommunityGrouping) (int64, error) {
	if g.Window <= 0 {
		return 0, nil
	}
	since := a.ReceivedAt.Add(-g.Window).UnixMicro()
	if a.SenderPseudonym != "" {
		var group int64
		err := tx.QueryRowContext(ctx, `SELECT group_id FROM community_alerts WHERE sender = ? AND received >= ? ORDER BY received DESC LIMIT 1`,
			a.SenderPseudonym, since).Scan(&group)
		if err == nil {
			return group, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, dbErr(err)
		}
	}
	place := communityPlaceKey(a.Place)
	if place == "" || g.TextKey == "" {
		return 0, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT group_id, text_key FROM community_alerts WHERE place = ? AND received >= ? ORDER BY received DESC LIMIT 50`, place, since)
	if err != nil {
		return 0, dbErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			group int64
			key   string
		)
		if err := rows.Scan(&group, &key); err != nil {
			return 0, dbErr(err)
		}
		if bluehelm.NearDuplicate(g.TextKey, key) {
			return group, nil
		}
	}
	return 0, dbErr(rows.Err())
}

const communityCols = `id, version, sender, sealed, doc`

func scanCommunity(s scanner) (*bluehelm.CommunityAlert, error) {
	var (
		id      int64
		version int
		sender  sql.NullString
		sealed  []byte
		doc     string
	)
	if err := s.Scan(&id, &version, &sender, &sealed, &doc); err != nil {
		return nil, err
	}
	a := new(bluehelm.CommunityAlert)
	if err := json.Unmarshal([]byte(doc), a); err != nil {
		return nil, fmt.Errorf("sqlite: community alert %d: corrupt document: %w", id, err)
	}
	a.ID, a.Version, a.SenderPseudonym, a.SenderSealed = id, version, sender.String, sealed
	a.HasSender = len(sealed) > 0
	return a, nil
}

// CommunityAlert returns one community alert, with its sender columns.
func (db *DB) CommunityAlert(ctx context.Context, id int64) (*bluehelm.CommunityAlert, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	a, err := scanCommunity(r.QueryRowContext(ctx, `SELECT `+communityCols+` FROM community_alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("community alert", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return a, nil
}

// FindCommunityAlerts returns the alerts f selects, newest first.
func (db *DB) FindCommunityAlerts(ctx context.Context, f bluehelm.CommunityFilter) ([]*bluehelm.CommunityAlert, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		where []string
		args  []any
	)
	if len(f.States) > 0 {
		where = append(where, `state IN (`+placeholders(len(f.States))+`)`)
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	if f.GroupID != 0 {
		where = append(where, `group_id = ?`)
		args = append(args, f.GroupID)
	}
	if !f.Since.IsZero() {
		where = append(where, `received >= ?`)
		args = append(args, f.Since.UnixMicro())
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	q := `SELECT ` + communityCols + ` FROM community_alerts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY received DESC, id DESC LIMIT ?`
	rows, err := r.QueryContext(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []*bluehelm.CommunityAlert
	for rows.Next() {
		a, err := scanCommunity(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, a)
	}
	return out, dbErr(rows.Err())
}

// UpdateCommunityAlert stores a's triage fields as a new version; the sender, source,
// received time and grouping columns never change.
func (db *DB) UpdateCommunityAlert(ctx context.Context, a *bluehelm.CommunityAlert, e bluehelm.AuditEntry) error {
	next := *a
	normCommunity(&next)
	was := next.Version
	next.Version = was + 1
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		doc, err := encodeDoc(&next)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE community_alerts SET version = ?, state = ?, doc = ? WHERE id = ? AND version = ?`,
			next.Version, next.State, doc, next.ID, was)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return staleOrMissing(ctx, tx, "community_alerts", "community alert", next.ID, was)
		}
		return appendAudit(ctx, tx, e, fmt.Sprintf("community_alert/%d", next.ID))
	})
	if err != nil {
		return fmt.Errorf("update community alert %d: %w", a.ID, err)
	}
	*a = next
	return nil
}
