package sqlite

import (
	"context"

	"github.com/bluehelm/bluehelm"
)

var tasks = &docTable[bluehelm.Task]{
	table: "tasks", kind: "task",
	cols:  []string{"status", "unit", "incident_id", "assigned_at", "classification", "component", "releasability"},
	ident: func(t *bluehelm.Task) (*int64, *int) { return &t.ID, &t.Version },
	norm:  func(t *bluehelm.Task) { t.AssignedAt = truncMicros(t.AssignedAt) },
	row: func(t *bluehelm.Task) []any {
		var incident any
		if t.IncidentID != 0 {
			incident = t.IncidentID
		}
		return []any{string(t.Status), t.Unit, incident, t.AssignedAt.UnixMicro(),
			int(t.Classification), string(t.Component), releasability(t.Releasability)}
	},
}

// CreateTask stores t as version 1, setting t.ID and t.Version. AssignedAt is
// stored to the microsecond (t's is truncated).
func (db *DB) CreateTask(ctx context.Context, t *bluehelm.Task, e bluehelm.AuditEntry) error {
	return tasks.create(ctx, db, t, e)
}

// UpdateTask stores t as version t.Version+1 if the stored version is still
// t.Version (ECONFLICT otherwise), and increments t.Version.
func (db *DB) UpdateTask(ctx context.Context, t *bluehelm.Task, e bluehelm.AuditEntry) error {
	return tasks.update(ctx, db, t, e)
}

// Task returns one task regardless of access (callers check CanSee).
func (db *DB) Task(ctx context.Context, id int64) (*bluehelm.Task, error) {
	return tasks.get(ctx, db, "id", id)
}

// FindTasks returns the tasks f.Viewer may see that match f, newest assigned
// first (ties by id descending); at most f.Limit (default 500, at most 5000).
func (db *DB) FindTasks(ctx context.Context, f bluehelm.TaskFilter) ([]*bluehelm.Task, error) {
	limit, err := clampLimit(f.Limit, 500, 5000)
	if err != nil {
		return nil, err
	}
	q, args := taskQuery(f, limit)
	return tasks.list(ctx, db, q, args...)
}

func taskQuery(f bluehelm.TaskFilter, limit int) (string, []any) {
	var q query
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			args[i] = string(s)
		}
		q.add("t.status IN ("+placeholders(len(args))+")", args...)
	}
	if f.Unit != "" {
		q.add("t.unit = ?", f.Unit)
	}
	if f.IncidentID != 0 {
		q.add("t.incident_id = ?", f.IncidentID)
	}
	if !f.Since.IsZero() {
		q.add("t.assigned_at >= ?", ceilMicros(f.Since))
	}
	if cond, args := accessSQL("t", f.Viewer); cond != "" {
		q.add(cond, args...)
	}
	return `SELECT t.id, t.version, t.doc FROM tasks t` + q.where() + ` ORDER BY t.assigned_at DESC, t.id DESC LIMIT ?`, append(q.args, limit)
}
