package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Units, medical facilities and proximity rules are small registries read
// whole; patrols and response tasks are searched, so their filter columns are
// kept beside the document. All are docTable records.

var units = &docTable[bluehelm.Unit]{
	table: "units", kind: "unit",
	cols:  []string{"code"},
	ident: func(u *bluehelm.Unit) (*int64, *int) { return &u.ID, &u.Version },
	row:   func(u *bluehelm.Unit) []any { return []any{u.Code} },
	// The unique index would refuse a taken code too; asking first gives the
	// person a message that names the unit holding it.
	check: func(ctx context.Context, tx pgx.Tx, u *bluehelm.Unit) error {
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM units WHERE code = $1 AND id <> $2`, u.Code, u.ID).Scan(&other)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		return bluehelm.Errorf(bluehelm.ECONFLICT, "unit code %q is already used by unit %d", u.Code, other)
	},
}

// CreateUnit stores u as version 1, setting u.ID and u.Version. A code another
// unit has is ECONFLICT.
func (db *DB) CreateUnit(ctx context.Context, u *bluehelm.Unit, e bluehelm.AuditEntry) error {
	return units.create(ctx, db, u, e)
}

// UpdateUnit stores u as version u.Version+1 if the stored version is still
// u.Version (ECONFLICT otherwise), and increments u.Version.
func (db *DB) UpdateUnit(ctx context.Context, u *bluehelm.Unit, e bluehelm.AuditEntry) error {
	return units.update(ctx, db, u, e)
}

// Unit returns one unit.
func (db *DB) Unit(ctx context.Context, id int64) (*bluehelm.Unit, error) {
	return units.get(ctx, db, "id", id)
}

// UnitByCode returns the unit with that code (exactly, case included).
func (db *DB) UnitByCode(ctx context.Context, code string) (*bluehelm.Unit, error) {
	return units.get(ctx, db, "code", code)
}

// Units returns every unit, disabled ones included, ordered by code (byte
// order, as the SQLite store, whatever the database's collation).
func (db *DB) Units(ctx context.Context) ([]*bluehelm.Unit, error) {
	return units.list(ctx, db, `SELECT id, version, doc FROM units ORDER BY code COLLATE "C"`)
}

var facilities = &docTable[bluehelm.MedicalFacility]{
	table: "medical_facilities", kind: "facility",
	cols:  []string{"name"},
	ident: func(f *bluehelm.MedicalFacility) (*int64, *int) { return &f.ID, &f.Version },
	row:   func(f *bluehelm.MedicalFacility) []any { return []any{f.Name} },
}

// CreateFacility stores f as version 1, setting f.ID and f.Version.
func (db *DB) CreateFacility(ctx context.Context, f *bluehelm.MedicalFacility, e bluehelm.AuditEntry) error {
	return facilities.create(ctx, db, f, e)
}

// UpdateFacility stores f as version f.Version+1 if the stored version is
// still f.Version (ECONFLICT otherwise), and increments f.Version.
func (db *DB) UpdateFacility(ctx context.Context, f *bluehelm.MedicalFacility, e bluehelm.AuditEntry) error {
	return facilities.update(ctx, db, f, e)
}

// Facility returns one facility.
func (db *DB) Facility(ctx context.Context, id int64) (*bluehelm.MedicalFacility, error) {
	return facilities.get(ctx, db, "id", id)
}

// Facilities returns every facility, out of service ones included, ordered by
// name (ties by id).
func (db *DB) Facilities(ctx context.Context) ([]*bluehelm.MedicalFacility, error) {
	return facilities.list(ctx, db, `SELECT id, version, doc FROM medical_facilities ORDER BY name COLLATE "C", id`)
}

var proximityRules = &docTable[bluehelm.ProximityRule]{
	table: "proximity_rules", kind: "proximity_rule",
	ident: func(r *bluehelm.ProximityRule) (*int64, *int) { return &r.ID, &r.Version },
	row:   func(*bluehelm.ProximityRule) []any { return nil },
}

// CreateProximityRule stores r as version 1, setting r.ID and r.Version.
func (db *DB) CreateProximityRule(ctx context.Context, r *bluehelm.ProximityRule, e bluehelm.AuditEntry) error {
	return proximityRules.create(ctx, db, r, e)
}

// UpdateProximityRule stores r as version r.Version+1 if the stored version is
// still r.Version (ECONFLICT otherwise), and increments r.Version.
func (db *DB) UpdateProximityRule(ctx context.Context, r *bluehelm.ProximityRule, e bluehelm.AuditEntry) error {
	return proximityRules.update(ctx, db, r, e)
}

// DeleteProximityRule deletes a rule if it is still at version (ECONFLICT
// otherwise).
func (db *DB) DeleteProximityRule(ctx context.Context, id int64, version int, e bluehelm.AuditEntry) error {
	return proximityRules.delete(ctx, db, id, version, e)
}

// ProximityRule returns one rule.
func (db *DB) ProximityRule(ctx context.Context, id int64) (*bluehelm.ProximityRule, error) {
	return proximityRules.get(ctx, db, "id", id)
}

// ProximityRules returns every rule, disabled ones included, ordered by id.
func (db *DB) ProximityRules(ctx context.Context) ([]*bluehelm.ProximityRule, error) {
	return proximityRules.list(ctx, db, `SELECT id, version, doc FROM proximity_rules ORDER BY id`)
}

// releasableTo is a marking's releasability as a text[] value (never NULL, so
// "= ANY" needs no NULL case).
func releasableTo(cs []bluehelm.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

var patrols = &docTable[bluehelm.Patrol]{
	table: "patrols", kind: "patrol",
	cols:  []string{"status", "units", "planned_start", "planned_end", "classification", "component", "releasability"},
	ident: func(p *bluehelm.Patrol) (*int64, *int) { return &p.ID, &p.Version },
	norm: func(p *bluehelm.Patrol) {
		p.PlannedStart, p.PlannedEnd = utc(p.PlannedStart), utc(p.PlannedEnd)
	},
	row: func(p *bluehelm.Patrol) []any {
		us := p.Units
		if us == nil {
			us = []string{}
		}
		return []any{string(p.Status), us, p.PlannedStart, p.PlannedEnd,
			int(p.Classification), string(p.Component), releasableTo(p.Releasability)}
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
	var w recordWhere
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		w.add("p.status = ANY(?)", ss)
	}
	if f.Unit != "" {
		w.add("p.units @> ARRAY[?::text]", f.Unit)
	}
	// The window [start, end) overlaps [From, To) when start < To and end >
	// From. Columns hold whole microseconds and pgx truncates a parameter to
	// the microsecond: start < To ⇔ start < ceil(To), and end > From ⇔ end >
	// floor(From).
	if !f.To.IsZero() {
		w.add("p.planned_start < ?", ceilMicro(f.To))
	}
	if !f.From.IsZero() {
		w.add("p.planned_end > ?", f.From.UTC())
	}
	w.visibleTo("p", f.Viewer)
	return patrols.list(ctx, db, `SELECT p.id, p.version, p.doc FROM patrols p`+w.where()+
		` ORDER BY p.planned_start, p.id LIMIT `+strconv.Itoa(limit), w.args...)
}

var tasks = &docTable[bluehelm.Task]{
	table: "tasks", kind: "task",
	cols:  []string{"status", "unit", "incident_id", "assigned_at", "classification", "component", "releasability"},
	ident: func(t *bluehelm.Task) (*int64, *int) { return &t.ID, &t.Version },
	norm:  func(t *bluehelm.Task) { t.AssignedAt = utc(t.AssignedAt) },
	row: func(t *bluehelm.Task) []any {
		var incident any
		if t.IncidentID != 0 {
			incident = t.IncidentID
		}
		return []any{string(t.Status), t.Unit, incident, t.AssignedAt,
			int(t.Classification), string(t.Component), releasableTo(t.Releasability)}
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
	var w recordWhere
	if len(f.Statuses) > 0 {
		ss := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			ss[i] = string(s)
		}
		w.add("t.status = ANY(?)", ss)
	}
	if f.Unit != "" {
		w.add("t.unit = ?", f.Unit)
	}
	if f.IncidentID != 0 {
		w.add("t.incident_id = ?", f.IncidentID)
	}
	if !f.Since.IsZero() {
		// Inclusive to the nanosecond over whole microseconds: at >= ceil(Since).
		w.add("t.assigned_at >= ?", ceilMicro(f.Since))
	}
	w.visibleTo("t", f.Viewer)
	return tasks.list(ctx, db, `SELECT t.id, t.version, t.doc FROM tasks t`+w.where()+
		` ORDER BY t.assigned_at DESC, t.id DESC LIMIT `+strconv.Itoa(limit), w.args...)
}

// recordWhere builds the WHERE clause of a record search: conditions written
// with ? for their arguments, numbered $1, $2, … as they are added.
type recordWhere struct {
	conds []string
	args  []any
}

func (w *recordWhere) add(cond string, args ...any) {
	var b strings.Builder
	n := 0
	for _, r := range cond {
		if r == '?' {
			b.WriteString("$" + strconv.Itoa(len(w.args)+n+1))
			n++
			continue
		}
		b.WriteRune(r)
	}
	w.conds = append(w.conds, b.String())
	w.args = append(w.args, args...)
}

// visibleTo adds the SQL form of p.CanSee over the marking columns of alias t.
// It must stay equivalent to Principal.CanSee: the storetest suite checks every
// marking against it.
func (w *recordWhere) visibleTo(t string, p bluehelm.Principal) {
	if p.System {
		return
	}
	c := string(p.Component)
	w.add("("+t+".classification <= ? AND ("+t+".classification = 0 OR "+t+".component = ? OR ? = ANY("+t+".releasability)))",
		int(p.Clearance), c, c)
}

func (w *recordWhere) where() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
