package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Community alerts (issue 8). The document holds what may be shown; the
// sender's pseudonym (keyed HMAC of the number) and sealed number (ciphertext)
// are columns outside it, written and read back exactly as the domain gives
// them, so that no path that reads documents can carry them by mistake.

// lockCommunity serialises the writers of community alerts across connections
// and nodes. Grouping is an invariant over rows: an alert joins the group of
// the latest alert from its sender, or of a near-identical one about its
// place, and a retried gateway id must find the alert stored by the first
// try. Two transactions deciding at once, each before seeing the other's row,
// would both start a group (or both store the gateway id, and one would fail
// on the unique index instead of answering "existing"). The lock is taken
// first in the transaction; at read committed every later statement then sees
// what the previous holder committed. The audit lock is taken after it, as
// everywhere, so the two cannot deadlock.
const lockCommunity int64 = 0x626c756568656c50 // "bluehel" + 'P' (people)

// communityPlaceKey names a suggested place for grouping (the SQLite store's
// form, so both group alike).
func communityPlaceKey(p *bluehelm.PlaceSuggestion) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%s|%s|%.3f|%.3f", p.Name, p.Country, p.Location.Lon, p.Location.Lat)
}

func normCommunity(a *bluehelm.CommunityAlert) {
	a.ReceivedAt = utc(a.ReceivedAt)
	if a.StateAt != nil {
		t := utc(*a.StateAt)
		a.StateAt = &t
	}
	a.HasSender = len(a.SenderSealed) > 0
}

// refusedText makes the database's refusal of a string input's fault
// (EINVALID): PostgreSQL keeps no NUL character in text or jsonb, and no
// invalid UTF-8 in text, where SQLite stores either. Other errors pass.
func refusedText(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "22P05" || pe.Code == "22021") { // untranslatable_character, character_not_in_repertoire
		return fmt.Errorf("%w: %w", bluehelm.Invalid("text", "contains a NUL character or invalid UTF-8, which the store cannot keep"), err)
	}
	return err
}

func nullText(s string) any {
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

const communityCols = `id, version, sender, sealed, doc`

func scanCommunity(row pgx.Row) (*bluehelm.CommunityAlert, error) {
	var (
		id      int64
		version int
		sender  *string
		sealed  []byte
		doc     []byte
	)
	if err := row.Scan(&id, &version, &sender, &sealed, &doc); err != nil {
		return nil, err
	}
	a := new(bluehelm.CommunityAlert)
	if err := json.Unmarshal(doc, a); err != nil {
		return nil, fmt.Errorf("postgres: community alert %d: corrupt document: %w", id, err)
	}
	a.ID, a.Version, a.SenderSealed = id, version, sealed
	if sender != nil {
		a.SenderPseudonym = *sender
	}
	a.HasSender = len(sealed) > 0
	return a, nil
}

// Community alerts arrive in floods (an SMS campaign, a village texting about
// the same attack), each from its own webhook call, and every write here takes
// the community lock, the audit lock and a durable commit. So the calls of one
// node are committed in groups: a caller queues its alert; the first caller to
// find no committer at work becomes it, writes everything queued in one
// transaction (each alert under its own savepoint, so that a bad one fails
// alone), commits once, answers every caller of the group, and goes on while
// more have queued meanwhile. With one caller this is a plain transaction;
// under load the locks and the commit are shared. Other nodes' groups are
// ordered against this one's by lockCommunity.

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
	leading bool // a caller is committing groups until the queue is empty
}

// maxCommunityGroup caps one group commit, so the locks are not held long.
const maxCommunityGroup = 128

// CreateCommunityAlert stores a, grouping it with a recent alert from the same
// sender or a near-identical one about the same place (see
// bluehelm.CommunityStore); an alert whose source and gateway id are stored
// already is not stored again, and a is set to the stored one.
func (db *DB) CreateCommunityAlert(ctx context.Context, a *bluehelm.CommunityAlert, g bluehelm.CommunityGrouping, e bluehelm.AuditEntry) (bool, error) {
	if db.closed.Load() {
		return false, errClosed
	}
	req := &communityReq{ctx: ctx, a: *a, g: g, e: e, done: make(chan struct{})}
	normCommunity(&req.a)
	q := &db.community
	q.mu.Lock()
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

// commitCommunity writes groups until the queue is empty, then retires it.
func (db *DB) commitCommunity(q *communityQueue) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.leading = false
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

// writeCommunityGroup writes a group in one transaction. The alerts are
// inserted first, each under a savepoint, and their audit entries appended
// last, so that the audit lock is held for the commit only.
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
	// The group is written for all its callers: one giving up must not
	// cancel the others' writes.
	ctx := context.WithoutCancel(live[0].ctx)
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockCommunity); err != nil {
			return err
		}
		for _, r := range live {
			if len(live) == 1 {
				// Alone it needs no savepoint: its error fails the
				// transaction, and only its caller is waiting.
				if r.existing, r.err = insertCommunity(ctx, tx, &r.a, r.g); r.err != nil {
					return refusedText(r.err)
				}
				break
			}
			sp, err := tx.Begin(ctx) // a savepoint
			if err != nil {
				return err
			}
			r.existing, r.err = insertCommunity(ctx, sp, &r.a, r.g)
			if r.err != nil {
				r.err = dbErr(refusedText(r.err))
				if err := sp.Rollback(ctx); err != nil {
					return err
				}
				continue
			}
			if err := sp.Commit(ctx); err != nil {
				return err
			}
		}
		for _, r := range live {
			if r.err == nil && !r.existing {
				if err := appendAudit(ctx, tx, r.e, fmt.Sprintf("community_alert/%d", r.a.ID)); err != nil {
					return err
				}
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

// insertCommunity writes one alert, or finds the one already stored under its
// gateway id (existing). The caller holds lockCommunity and appends the audit
// entry of a new alert.
func insertCommunity(ctx context.Context, tx pgx.Tx, next *bluehelm.CommunityAlert, g bluehelm.CommunityGrouping) (existing bool, err error) {
	if next.ExternalID != "" {
		cur, err := scanCommunity(tx.QueryRow(ctx, `SELECT `+communityCols+` FROM community_alerts WHERE source = $1 AND external_id = $2`,
			next.Source, next.ExternalID))
		if err == nil {
			*next = *cur
			return true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, err
		}
	}
	if err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('community_alerts', 'id'))`).Scan(&next.ID); err != nil {
		return false, err
	}
	next.Version, next.GroupID = 1, next.ID
	group, err := communityGroup(ctx, tx, next, g)
	if err != nil {
		return false, err
	}
	if group != 0 {
		next.GroupID = group
	}
	doc, err := json.Marshal(next)
	if err != nil {
		return false, fmt.Errorf("postgres: encode community alert: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO community_alerts (id, version, received, state, group_id, source, external_id, sender, sealed, place, text_key, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		next.ID, next.Version, next.ReceivedAt, string(next.State), next.GroupID, next.Source, nullText(next.ExternalID),
		nullText(next.SenderPseudonym), nullBytes(next.SenderSealed), communityPlaceKey(next.Place), g.TextKey, string(doc)); err != nil {
		return false, err
	}
	return false, nil
}

// communityGroup finds the group of a new alert: the newest alert within the
// window from the same sender, else the newest near-identical one about the
// same place (of the 50 latest about it), else none (0).
func communityGroup(ctx context.Context, tx pgx.Tx, a *bluehelm.CommunityAlert, g bluehelm.CommunityGrouping) (int64, error) {
	if g.Window <= 0 {
		return 0, nil
	}
	since := a.ReceivedAt.Add(-g.Window)
	if a.SenderPseudonym != "" {
		var group int64
		err := tx.QueryRow(ctx, `SELECT group_id FROM community_alerts WHERE sender = $1 AND received >= $2 ORDER BY received DESC, id DESC LIMIT 1`,
			a.SenderPseudonym, since).Scan(&group)
		if err == nil {
			return group, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, err
		}
	}
	place := communityPlaceKey(a.Place)
	if place == "" || g.TextKey == "" {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `SELECT group_id, text_key FROM community_alerts WHERE place = $1 AND received >= $2 ORDER BY received DESC, id DESC LIMIT 50`,
		place, since)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			group int64
			key   string
		)
		if err := rows.Scan(&group, &key); err != nil {
			return 0, err
		}
		if bluehelm.NearDuplicate(g.TextKey, key) {
			return group, nil
		}
	}
	return 0, rows.Err()
}

// CommunityAlert returns one community alert, with its sender columns.
func (db *DB) CommunityAlert(ctx context.Context, id int64) (*bluehelm.CommunityAlert, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	a, err := scanCommunity(r.QueryRow(ctx, `SELECT `+communityCols+` FROM community_alerts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("community alert", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return a, nil
}

// FindCommunityAlerts returns the alerts f selects, newest first (ties by id
// descending); at most f.Limit (200 when not positive, at most 1000).
func (db *DB) FindCommunityAlerts(ctx context.Context, f bluehelm.CommunityFilter) ([]*bluehelm.CommunityAlert, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var b bindArgs
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		b.conds = append(b.conds, "state = ANY ("+b.bind(states)+")")
	}
	if f.GroupID != 0 {
		b.conds = append(b.conds, "group_id = "+b.bind(f.GroupID))
	}
	if !f.Since.IsZero() {
		b.conds = append(b.conds, "received >= "+b.bind(ceilMicro(f.Since)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	sql := `SELECT ` + communityCols + ` FROM community_alerts` + b.where() + ` ORDER BY received DESC, id DESC LIMIT ` + b.bind(limit)
	return collect(ctx, r, sql, b.args, scanCommunity)
}

// UpdateCommunityAlert stores a's triage fields as a new version; the sender,
// source, received time and grouping columns never change.
func (db *DB) UpdateCommunityAlert(ctx context.Context, a *bluehelm.CommunityAlert, e bluehelm.AuditEntry) error {
	next := *a
	normCommunity(&next)
	was := next.Version
	next.Version = was + 1
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		doc, err := json.Marshal(&next)
		if err != nil {
			return fmt.Errorf("postgres: encode community alert: %w", err)
		}
		tag, err := tx.Exec(ctx, `UPDATE community_alerts SET version = $1, state = $2, doc = $3 WHERE id = $4 AND version = $5`,
			next.Version, string(next.State), string(doc), next.ID, was)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
