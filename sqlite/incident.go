package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Incidents: the incidents row holds the columns queries filter and sort on;
// every version's JSON document is in incident_revisions, the current one being
// the revision at incidents.version.
//
// occurred_start is stored at millisecond precision (the unit of the column and
// of the cursor); the store truncates inc.OccurredStart accordingly so that the
// document, the column and range filters agree exactly.

// epoch2000 is the origin of the R*Tree time axis.
var epoch2000 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// rtTimeUnit is the R*Tree's unit of time. The R*Tree chooses its node splits
// by area and perimeter in raw coordinates, so the axes must have comparable
// scales: with time in hours (87,600 over ten years against a box of a few
// degrees) every split was along time, nodes became thin time slices spanning
// the whole mission area, and a 1.2°×0.9°×90-day query visited hundreds of
// them. A unit about the length of a typical query window makes a typical query
// about a unit cube, which is what keeps node visits low.
const rtTimeUnit = 90 * 24 * time.Hour

// rtTime maps unix ms to the R*Tree time axis: units of rtTimeUnit since 2000.
// Division by a constant is monotonic in floating point, so ordering survives
// the mapping and the tree never drops a row the exact predicate would keep
// (float32 keeps about 2 hours of precision around 2100; the exact predicate is
// re-checked on the table).
func rtTime(ms int64) float64 { return float64(ms-epoch2000) / float64(rtTimeUnit.Milliseconds()) }

// incidentRow is an incident flattened into the incidents columns.
type incidentRow struct {
	id       int64
	version  int
	rev      int64 // rowid of its revision, set by incidentStmts
	extID    any   // string or nil
	status   string
	category string
	occurred int64
	lon, lat float64
	class    int
	comp     string
	rel      string
	doc      string
}

// flatten fixes the stored form of inc (id, version, ms-precision start) and
// returns its row.
func flatten(inc *bluehelm.Incident, id int64, version int) (incidentRow, error) {
	inc.ID, inc.Version = id, version
	inc.OccurredStart = inc.OccurredStart.Truncate(time.Millisecond)
	doc, err := json.Marshal(inc)
	if err != nil {
		return incidentRow{}, bluehelm.Invalid("", "cannot encode incident: %v", err)
	}
	r := incidentRow{
		id: id, version: version,
		status: string(inc.Status), category: string(inc.Category),
		occurred: inc.OccurredStart.UnixMilli(),
		lon:      inc.Location.Lon, lat: inc.Location.Lat,
		class: int(inc.Classification), comp: string(inc.Component), rel: releasability(inc.Releasability),
		doc: string(doc),
	}
	if inc.ExternalID != "" {
		r.extID = inc.ExternalID
	}
	return r, nil
}

// ftsText returns the four full-text columns of an incident.
func ftsText(inc *bluehelm.Incident) (title, narrative, places, actors string) {
	var p []string
	for _, s := range []string{inc.PlaceName, inc.Admin3, inc.Admin2, inc.Admin1, inc.Country} {
		if s != "" {
			p = append(p, s)
		}
	}
	a := make([]string, 0, len(inc.Actors))
	for _, x := range inc.Actors {
		a = append(a, x.Name)
	}
	return inc.Title, inc.Narrative, strings.Join(p, " "), strings.Join(a, " ")
}

// incidentStmts are the statements of an incident write, prepared once per
// transaction when a transaction writes many incidents (imports).
type incidentStmts struct {
	insert, update, rtInsert, rtUpdate, ftsDelete, ftsInsert, revision *sql.Stmt
	// nextRev is the rowid the next revision gets; assigned here so the
	// incidents row can point at its revision (the IMMEDIATE transaction
	// makes max+1 safe).
	nextRev int64
}

const (
	sqlIncInsert = `INSERT INTO incidents (id, version, rev, external_id, status, category, occurred_start, lon, lat, classification, component, releasability)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlIncUpdate = `UPDATE incidents SET version = ?, rev = ?, external_id = ?, status = ?, category = ?, occurred_start = ?, lon = ?, lat = ?,
		classification = ?, component = ?, releasability = ? WHERE id = ? AND version = ?`
	sqlRtInsert  = `INSERT INTO incidents_rt (id, minlon, maxlon, minlat, maxlat, mint, maxt) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlRtUpdate  = `UPDATE incidents_rt SET minlon = ?, maxlon = ?, minlat = ?, maxlat = ?, mint = ?, maxt = ? WHERE id = ?`
	sqlFtsDelete = `DELETE FROM incidents_fts WHERE rowid = ?`
	sqlFtsInsert = `INSERT INTO incidents_fts (rowid, title, narrative, places, actors) VALUES (?, ?, ?, ?, ?)`
	sqlRevInsert = `INSERT INTO incident_revisions (rev, incident_id, version, at, actor, action, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`
)

func prepareIncidentStmts(ctx context.Context, tx *sql.Tx) (*incidentStmts, error) {
	var s incidentStmts
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&s.insert, sqlIncInsert}, {&s.update, sqlIncUpdate}, {&s.rtInsert, sqlRtInsert}, {&s.rtUpdate, sqlRtUpdate},
		{&s.ftsDelete, sqlFtsDelete}, {&s.ftsInsert, sqlFtsInsert}, {&s.revision, sqlRevInsert},
	} {
		st, err := tx.PrepareContext(ctx, p.sql)
		if err != nil {
			s.close()
			return nil, dbErr(err)
		}
		*p.dst = st
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rev), 0) + 1 FROM incident_revisions`).Scan(&s.nextRev); err != nil {
		s.close()
		return nil, dbErr(err)
	}
	return &s, nil
}

func (s *incidentStmts) close() {
	for _, st := range []*sql.Stmt{s.insert, s.update, s.rtInsert, s.rtUpdate, s.ftsDelete, s.ftsInsert, s.revision} {
		if st != nil {
			st.Close()
		}
	}
}

// insert writes a new incident with its index entries and revision 1.
func (s *incidentStmts) insertIncident(ctx context.Context, inc *bluehelm.Incident, r incidentRow, rev bluehelm.AuditEntry, action string) error {
	r.rev = s.nextRev
	s.nextRev++
	if _, err := s.insert.ExecContext(ctx, r.id, r.version, r.rev, r.extID, r.status, r.category, r.occurred, r.lon, r.lat, r.class, r.comp, r.rel); err != nil {
		return dbErr(err)
	}
	h := rtTime(r.occurred)
	if _, err := s.rtInsert.ExecContext(ctx, r.id, r.lon, r.lon, r.lat, r.lat, h, h); err != nil {
		return dbErr(err)
	}
	t, n, p, a := ftsText(inc)
	if _, err := s.ftsInsert.ExecContext(ctx, r.id, t, n, p, a); err != nil {
		return dbErr(err)
	}
	return s.insertRevision(ctx, r, rev, action)
}

// updateIncident replaces the stored incident if it is still at version from.
// It returns false when no row matched (stale version or no such incident).
func (s *incidentStmts) updateIncident(ctx context.Context, inc *bluehelm.Incident, r incidentRow, from int, rev bluehelm.AuditEntry, action string) (bool, error) {
	r.rev = s.nextRev
	res, err := s.update.ExecContext(ctx, r.version, r.rev, r.extID, r.status, r.category, r.occurred, r.lon, r.lat, r.class, r.comp, r.rel, r.id, from)
	if err != nil {
		return false, dbErr(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, dbErr(err)
	}
	s.nextRev++
	h := rtTime(r.occurred)
	if _, err := s.rtUpdate.ExecContext(ctx, r.lon, r.lon, r.lat, r.lat, h, h, r.id); err != nil {
		return false, dbErr(err)
	}
	if _, err := s.ftsDelete.ExecContext(ctx, r.id); err != nil {
		return false, dbErr(err)
	}
	t, n, p, a := ftsText(inc)
	if _, err := s.ftsInsert.ExecContext(ctx, r.id, t, n, p, a); err != nil {
		return false, dbErr(err)
	}
	return true, s.insertRevision(ctx, r, rev, action)
}

func (s *incidentStmts) insertRevision(ctx context.Context, r incidentRow, rev bluehelm.AuditEntry, action string) error {
	if _, err := s.revision.ExecContext(ctx, r.rev, r.id, r.version, rev.At.UnixMicro(), rev.Actor, action, r.doc); err != nil {
		return dbErr(err)
	}
	return nil
}

// nextIncidentID returns the id the next incident gets. Ids are assigned here
// rather than by SQLite so the document can carry its own id; the IMMEDIATE
// transaction makes max(id) safe to use.
func nextIncidentID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM incidents`).Scan(&id); err != nil {
		return 0, dbErr(err)
	}
	return id, nil
}

// stamp gives an audit entry its time now, so the revision written with it and
// the chained entry carry the same instant.
func stamp(e bluehelm.AuditEntry) bluehelm.AuditEntry {
	if e.At.IsZero() {
		e.At = nowUTC()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	return e
}

// CreateIncident stores inc as version 1, setting inc.ID and inc.Version.
func (db *DB) CreateIncident(ctx context.Context, inc *bluehelm.Incident, a bluehelm.AuditEntry) error {
	a = stamp(a)
	next := *inc
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		id, err := nextIncidentID(ctx, tx)
		if err != nil {
			return err
		}
		r, err := flatten(&next, id, 1)
		if err != nil {
			return err
		}
		s, err := prepareIncidentStmts(ctx, tx)
		if err != nil {
			return err
		}
		defer s.close()
		if err := s.insertIncident(ctx, &next, r, a, "create"); err != nil {
			return err
		}
		return appendAudit(ctx, tx, a, "incident/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	*inc = next
	return nil
}

// UpdateIncident stores inc as version inc.Version+1 if the stored version is
// still inc.Version, and increments inc.Version.
func (db *DB) UpdateIncident(ctx context.Context, inc *bluehelm.Incident, action string, a bluehelm.AuditEntry) error {
	a = stamp(a)
	next := *inc
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := flatten(&next, inc.ID, inc.Version+1)
		if err != nil {
			return err
		}
		s, err := prepareIncidentStmts(ctx, tx)
		if err != nil {
			return err
		}
		defer s.close()
		ok, err := s.updateIncident(ctx, &next, r, inc.Version, a, action)
		if err != nil {
			return err
		}
		if !ok {
			return staleOrMissing(ctx, tx, "incidents", "incident", inc.ID, inc.Version)
		}
		return appendAudit(ctx, tx, a, "incident/"+strconv.FormatInt(inc.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	*inc = next
	return nil
}

// staleOrMissing explains why an optimistic update of table matched no row.
func staleOrMissing(ctx context.Context, tx *sql.Tx, table, what string, id int64, version int) error {
	var cur int
	err := tx.QueryRowContext(ctx, `SELECT version FROM `+table+` WHERE id = ?`, id).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what, id)
	}
	if err != nil {
		return dbErr(err)
	}
	return bluehelm.Errorf(bluehelm.ECONFLICT, "%s %d was changed by someone else: it is at version %d, not %d; reload and retry", what, id, cur, version)
}

func decodeIncident(id int64, version int, doc []byte) (*bluehelm.Incident, error) {
	inc := new(bluehelm.Incident)
	if err := json.Unmarshal(doc, inc); err != nil {
		return nil, fmt.Errorf("sqlite: incident %d: corrupt document: %w", id, err)
	}
	inc.ID, inc.Version = id, version
	return inc, nil
}

// Incident returns one incident regardless of access.
func (db *DB) Incident(ctx context.Context, id int64) (*bluehelm.Incident, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		version int
		doc     []byte
	)
	err = r.QueryRowContext(ctx, `SELECT i.version, v.doc FROM incidents i CROSS JOIN incident_revisions v ON v.rev = i.rev
		WHERE i.id = ?`, id).Scan(&version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("incident", id)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return decodeIncident(id, version, doc)
}

// IncidentByExternalID returns the incident stored under an external id.
func (db *DB) IncidentByExternalID(ctx context.Context, externalID string) (*bluehelm.Incident, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		id      int64
		version int
		doc     []byte
	)
	err = r.QueryRowContext(ctx, `SELECT i.id, i.version, v.doc FROM incidents i CROSS JOIN incident_revisions v ON v.rev = i.rev
		WHERE i.external_id = ?`, externalID).Scan(&id, &version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no incident with external id %q", externalID)
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return decodeIncident(id, version, doc)
}

// decodeRevision completes a revision whose IncidentID, Version, Actor and
// Action are scanned, from its at column and its document.
func decodeRevision(rev *bluehelm.Revision, at int64, doc []byte) error {
	inc, err := decodeIncident(rev.IncidentID, rev.Version, doc)
	if err != nil {
		return err
	}
	rev.At, rev.Incident = time.UnixMicro(at).UTC(), *inc
	return nil
}

// IncidentRevisions returns every stored version of an incident, oldest first.
func (db *DB) IncidentRevisions(ctx context.Context, id int64) ([]bluehelm.Revision, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT incident_id, version, at, actor, action, doc FROM incident_revisions WHERE incident_id = ? ORDER BY version`, id)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Revision
	for rows.Next() {
		var (
			rev bluehelm.Revision
			at  int64
			doc []byte
		)
		if err := rows.Scan(&rev.IncidentID, &rev.Version, &at, &rev.Actor, &rev.Action, &doc); err != nil {
			return nil, dbErr(err)
		}
		if err := decodeRevision(&rev, at, doc); err != nil {
			return nil, err
		}
		out = append(out, rev)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	if len(out) == 0 {
		// Every incident has revision 1, so no revisions means no incident.
		return nil, notFound("incident", id)
	}
	return out, nil
}

// ImportIncidents inserts or updates incidents keyed by ExternalID in one
// transaction. A row whose content would not change (UpdatedAt and ReportedAt
// aside, which importers stamp on every run) is left alone, so a re-import
// reports created 0, updated 0. Imported rows overwrite local edits
// of the same incident (the source is authoritative for what it publishes). It
// sets ID and Version of every incident it is given.
func (db *DB) ImportIncidents(ctx context.Context, incs []*bluehelm.Incident, a bluehelm.AuditEntry) (created, updated int, err error) {
	for i, inc := range incs {
		if inc == nil || inc.ExternalID == "" {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].external_id", "is required for import")
		}
	}
	a = stamp(a)
	type stored struct {
		id      int64
		version int
		doc     string
	}
	nexts := make([]bluehelm.Incident, len(incs))
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		created, updated = 0, 0
		// Look the external ids up in chunks rather than one query per row.
		known := make(map[string]stored, len(incs))
		const chunk = 500
		for lo := 0; lo < len(incs); lo += chunk {
			hi := min(lo+chunk, len(incs))
			args := make([]any, 0, hi-lo)
			for _, inc := range incs[lo:hi] {
				args = append(args, inc.ExternalID)
			}
			rows, err := tx.QueryContext(ctx, `SELECT i.id, i.version, i.external_id, v.doc FROM incidents i
				CROSS JOIN incident_revisions v ON v.rev = i.rev
				WHERE i.external_id IN (`+placeholders(len(args))+`)`, args...)
			if err != nil {
				return dbErr(err)
			}
			for rows.Next() {
				var (
					s   stored
					ext string
				)
				if err := rows.Scan(&s.id, &s.version, &ext, &s.doc); err != nil {
					rows.Close()
					return dbErr(err)
				}
				known[ext] = s
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return dbErr(err)
			}
		}
		s, err := prepareIncidentStmts(ctx, tx)
		if err != nil {
			return err
		}
		defer s.close()
		nextID, err := nextIncidentID(ctx, tx)
		if err != nil {
			return err
		}
		for i, inc := range incs {
			if err := ctx.Err(); err != nil {
				return err
			}
			next := *inc
			old, ok := known[inc.ExternalID]
			if !ok {
				r, err := flatten(&next, nextID, 1)
				if err != nil {
					return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
				}
				if err := s.insertIncident(ctx, &next, r, a, "import"); err != nil {
					return err
				}
				known[inc.ExternalID] = stored{r.id, r.version, r.doc}
				nextID++
				created++
				nexts[i] = next
				continue
			}
			// Unchanged means the same content: UpdatedAt and ReportedAt are
			// bookkeeping an importer stamps on every run, so they do not
			// count.
			cur, err := decodeIncident(old.id, old.version, []byte(old.doc))
			if err != nil {
				return err
			}
			same, err := bluehelm.SameIncidentContent(cur, &next, time.Millisecond)
			if err != nil {
				return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
			}
			if same {
				nexts[i] = *cur
				continue
			}
			r, err := flatten(&next, old.id, old.version+1)
			if err != nil {
				return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
			}
			ok, err = s.updateIncident(ctx, &next, r, old.version, a, "import")
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("sqlite: incident %d vanished during import", old.id)
			}
			known[inc.ExternalID] = stored{r.id, r.version, r.doc}
			updated++
			nexts[i] = next
		}
		return appendAudit(ctx, tx, a, "incidents")
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import incidents: %w", err)
	}
	for i, inc := range incs {
		*inc = nexts[i]
	}
	return created, updated, nil
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
