package sqlite

import (
	"context"
	"database/sql"

	"github.com/bluehelm/bluehelm"
)

var patrols = &docTable[bluehelm.Patrol]{
	table: "patrols", kind: "patrol",
	cols:  []string{"status", "planned_start", "planned_end", "classification", "component", "releasability"},
	ident: func(p *bluehelm.Patrol) (*int64, *int) { return &p.ID, &p.Version },
	norm: func(p *bluehelm.Patrol) {
		p.PlannedStart, p.PlannedEnd = truncMicros(p.PlannedStart), truncMicros(p.PlannedEnd)
	},
	row: func(p *bluehelm.Patrol) []any {
		return []any{string(p.Status), p.PlannedStart.UnixMicro(), p.PlannedEnd.UnixMicro(),
			int(p.Classification), string(p.Component), releasability(p.Releasability)}
	},
	// The units a patrol names, replaced on every write. OR IGNORE: a unit
	// listed twice (which Validate refuses) is still one unit here.
	after: func(ctx context.Context, tx *sql.Tx, id int64, p *bluehelm.Patrol) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM patrol_units WHERE patrol_id = ?`, id); err != nil {
			return dbErr(err)
		}
		for _, u := range p.Units {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO patrol_units (unit, patrol_id) VALUES (?, ?)`, u, id); err != nil {
				return dbErr(err)
			}
		}
		return nil
	},
}

// CreatePatrol stores p as version 1, setting p.ID and p.Version. The planned
// window is stored to the microsecond (p's times are truncated).
func (db *DB) CreatePatrol(ctx context.Context, p *bluehelm.Patrol, e bluehelm.AuditEntry) error {
	return patrols.create(ctx, db, p, e)
}

// UpdatePatrol stores p as version p.Version+1 if the stored version is still
// p.Version (ECONFLICT otherwise), and increments p.Version.
func (db *DB) UpdatePatrol(ctx context.Context, p *bluehelm.Patrol, e bluehelm.AuditEntry) error {
	return patrols.update(ctx, db, p, e)
}

// Patrol returns one patrol regardless of access (callers check CanSee).
func (db *DB) Patrol(ctx context.Context, id int64) (*bluehelm.Patrol, error) {
	return patrols.get(ctx, db, "id", id)
}

// FindPatrols returns the patrols f.Viewer may see that match f, by planned
// start (ties by id); at most f.Limit (default 500, at most 5000).
func (db *DB) FindPatrols(ctx context.Context, f bluehelm.PatrolFilter) ([]*bluehelm.Patrol, error) {
	limit, err := clampLimit(f.Limit, 500, 5000)
	if err != nil {
		return nil, err
	}
	q, args := patrolQuery(f, limit)
	return patrols.list(ctx, db, q, args...)
}

func patrolQuery(f bluehelm.PatrolFilter, limit int) (string, []any) {
	var q query
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			args[i] = string(s)
		}
		q.add("p.status IN ("+placeholders(len(args))+")", args...)
	}
	if f.Unit != "" {
		q.add("p.id IN (SELECT patrol_id FROM patrol_units WHERE unit = ?)", f.Unit)
	}
	// The window [start, end) overlaps [From, To) when start < To and end >
	// From. Columns are whole µs: start < To ⇔ start < ceil(To), and end > From
	// ⇔ end > floor(From).
	if !f.To.IsZero() {
		q.add("p.planned_start < ?", ceilMicros(f.To))
	}
	if !f.From.IsZero() {
		from := f.From.UnixMicro()
		q.add("p.planned_end > ?", from)
		// No patrol is longer than the longest stored one, so one ending after
		// From started after From minus that length: a range on patrols_start
		// instead of a walk from the first plan ever made. The longest is the
		// last entry of patrols_length.
		q.add("p.planned_start > ? - (SELECT coalesce(max(planned_end - planned_start), 0) FROM patrols)", from)
	}
	if cond, args := accessSQL("p", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	return `SELECT p.id, p.version, p.doc FROM patrols p` + q.where() + ` ORDER BY p.planned_start, p.id LIMIT ?`, append(q.args, limit)
}
