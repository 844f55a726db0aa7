package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Incidents: the incidents row holds the query columns (see
// schema/001_incidents.sql); each version's document is a row of
// incident_revisions. A write changes both, and appends its audit entry, in one
// transaction.

// incRow is an incident flattened into the incidents columns.
type incRow struct {
	id         int64
	version    int
	externalID any // string or nil
	occurred   time.Time
	lon, lat   float64
	category   string
	status     string
	class      int
	component  string
	releasable []string
	title      string
	admin1     string
	casualties []int32 // casualtyCounts; nil when none
	words      []string
	doc        []byte
}

// flattenIncident fixes the stored form of inc (id, version, occurred_start
// at the microseconds timestamptz keeps, so the document, the column and range
// filters agree) and returns its row.
func flattenIncident(inc *bluehelm.Incident, id int64, version int) (incRow, error) {
	inc.ID, inc.Version = id, version
	inc.OccurredStart = inc.OccurredStart.Truncate(time.Microsecond)
	doc, err := json.Marshal(inc)
	if err != nil {
		return incRow{}, bluehelm.Invalid("", "cannot encode incident: %v", err)
	}
	r := incRow{
		id: id, version: version,
		occurred: inc.OccurredStart,
		lon:      inc.Location.Lon, lat: inc.Location.Lat,
		category: string(inc.Category), status: string(inc.Status),
		class: int(inc.Classification), component: string(inc.Component),
		releasable: incComponentNames(inc.Releasability),
		title:      inc.Title, admin1: inc.Admin1,
		words: incidentWords(inc),
		doc:   doc,
	}
	if inc.ExternalID != "" {
		r.externalID = inc.ExternalID
	}
	if r.casualties, err = casualtyCounts(inc.Casualties); err != nil {
		return incRow{}, err
	}
	return r, nil
}

// Casualties are five integers each in incidents.casualty_counts (group, kind,
// low, best, high), so that a summary fits in an index entry (see
// schema/002_incident_summaries.sql). The numbers are stored and written by
// that migration too: never change one; give a new group or kind the next.
var (
	casualtyGroupCodes = map[string]int32{"civilians": 1, "un_military": 2, "un_police": 3, "un_civilian": 4,
		"host_forces": 5, "armed_groups": 6, "unknown": 7}
	casualtyKindCodes = map[string]int32{"killed": 1, "injured": 2, "abducted": 3}
)

// casualtyCounts encodes cs for casualty_counts (nil for none).
func casualtyCounts(cs []bluehelm.Casualty) ([]int32, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	out := make([]int32, 0, 5*len(cs))
	for i, c := range cs {
		g, gok := casualtyGroupCodes[c.Group]
		k, kok := casualtyKindCodes[c.Kind]
		if !gok || !kok || c.Low < 0 || c.High > math.MaxInt32 || c.Low > c.Best || c.Best > c.High {
			return nil, bluehelm.Invalid("casualties["+strconv.Itoa(i)+"]", "cannot be stored: %s %s %d/%d/%d", c.Group, c.Kind, c.Low, c.Best, c.High)
		}
		out = append(out, g, k, int32(c.Low), int32(c.Best), int32(c.High))
	}
	return out, nil
}

// casualtiesFromCounts decodes casualty_counts.
func casualtiesFromCounts(v []int32) ([]bluehelm.Casualty, error) {
	if len(v) == 0 {
		return nil, nil
	}
	if len(v)%5 != 0 {
		return nil, fmt.Errorf("casualty_counts has %d numbers, not a multiple of 5", len(v))
	}
	out := make([]bluehelm.Casualty, len(v)/5)
	for i := range out {
		e := v[5*i : 5*i+5]
		g, k := casualtyCode(casualtyGroupCodes, e[0]), casualtyCode(casualtyKindCodes, e[1])
		if g == "" || k == "" {
			return nil, fmt.Errorf("casualty_counts: unknown group %d or kind %d", e[0], e[1])
		}
		out[i] = bluehelm.Casualty{Group: g, Kind: k, Low: int(e[2]), Best: int(e[3]), High: int(e[4])}
	}
	return out, nil
}

// casualtyCode returns the name numbered n ("" if none). The maps are small;
// a loop is as quick as a reverse map.
func casualtyCode(codes map[string]int32, n int32) string {
	for name, c := range codes {
		if c == n {
			return name
		}
	}
	return ""
}

func incComponentNames(cs []bluehelm.Component) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func incComponents(ss []string) []bluehelm.Component {
	if len(ss) == 0 {
		return nil
	}
	out := make([]bluehelm.Component, len(ss))
	for i, s := range ss {
		out[i] = bluehelm.Component(s)
	}
	return out
}

// incMaxLexeme is the longest lexeme a tsvector holds (2 KiB less one byte); a
// longer "word" is cut, at a rune boundary, in documents and queries alike.
const incMaxLexeme = 2046

// incTextWords splits s as the search does: lower-cased runs of letters and digits
// (what the suite's oracle and SQLite's unicode61 tokenizer call words). The
// store cuts words itself rather than through to_tsvector's parser, whose idea
// of a letter depends on the server's locale (with the C locale it drops
// Arabic) and which keeps "spla-io" and e-mail addresses as extra tokens.
func incTextWords(s string) []string {
	ws := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range ws {
		ws[i] = incCutLexeme(w)
	}
	return ws
}

func incCutLexeme(w string) string {
	if len(w) <= incMaxLexeme {
		return w
	}
	n := incMaxLexeme
	for n > 0 && !utf8.RuneStart(w[n]) {
		n--
	}
	return w[:n]
}

// incidentWords returns the distinct searchable words of an incident.
func incidentWords(inc *bluehelm.Incident) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		for _, w := range incTextWords(s) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	add(inc.Title)
	add(inc.Narrative)
	for _, s := range []string{inc.PlaceName, inc.Admin1, inc.Admin2, inc.Admin3, inc.Country} {
		add(s)
	}
	for _, a := range inc.Actors {
		add(a.Name)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

const (
	sqlIncInsert = `INSERT INTO incidents (id, version, external_id, occurred_start, geom, category, status,
		classification, component, releasable_to, title, admin1, casualty_counts)
		VALUES ($1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, $8, $9, $10, $11, $12, $13, $14)`
	sqlIncUpdate = `UPDATE incidents SET version = $2, external_id = $3, occurred_start = $4, geom = ST_SetSRID(ST_MakePoint($5, $6), 4326),
		category = $7, status = $8, classification = $9, component = $10, releasable_to = $11, title = $12, admin1 = $13,
		casualty_counts = $14
		WHERE id = $1 AND version = $15`
	sqlIncWordsInsert = `INSERT INTO incident_words (incident_id, words) VALUES ($1, array_to_tsvector($2::text[]))`
	sqlIncWordsUpdate = `UPDATE incident_words SET words = array_to_tsvector($2::text[]) WHERE incident_id = $1`
	sqlIncRevision    = `INSERT INTO incident_revisions (incident_id, version, at, actor, action, doc) VALUES ($1, $2, $3, $4, $5, $6)`
)

func (r *incRow) args() []any {
	return []any{r.id, r.version, r.externalID, r.occurred, r.lon, r.lat, r.category, r.status,
		r.class, r.component, r.releasable, r.title, r.admin1, r.casualties}
}

// incStampAudit gives an audit entry its time now, so the revision written with it
// and the chained entry carry the same instant.
func incStampAudit(e bluehelm.AuditEntry) bluehelm.AuditEntry {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = utc(e.At)
	return e
}

func incObject(id int64) string { return "incident/" + strconv.FormatInt(id, 10) }

// nextIncidentIDs takes n ids from the incidents' identity sequence.
func nextIncidentIDs(ctx context.Context, tx pgx.Tx, n int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// CreateIncident stores inc as version 1, setting inc.ID and inc.Version.
func (db *DB) CreateIncident(ctx context.Context, inc *bluehelm.Incident, a bluehelm.AuditEntry) error {
	a = incStampAudit(a)
	next := *inc
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		ids, err := nextIncidentIDs(ctx, tx, 1)
		if err != nil {
			return err
		}
		r, err := flattenIncident(&next, ids[0], 1)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlIncInsert, r.args()...); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlIncWordsInsert, r.id, r.words); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlIncRevision, r.id, r.version, a.At, a.Actor, "create", r.doc); err != nil {
			return err
		}
		return appendAudit(ctx, tx, a, incObject(r.id))
	})
	if err != nil {
		return fmt.Errorf("create incident: %w", err)
	}
	*inc = next
	return nil
}

// UpdateIncident stores inc as version inc.Version+1 if the stored version is
// still inc.Version (ECONFLICT otherwise), and increments inc.Version.
func (db *DB) UpdateIncident(ctx context.Context, inc *bluehelm.Incident, action string, a bluehelm.AuditEntry) error {
	a = incStampAudit(a)
	next := *inc
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		r, err := flattenIncident(&next, inc.ID, inc.Version+1)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, sqlIncUpdate, append(r.args(), inc.Version)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return staleOrMissing(ctx, tx, "incidents", "incident", inc.ID, inc.Version)
		}
		if _, err := tx.Exec(ctx, sqlIncWordsUpdate, r.id, r.words); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sqlIncRevision, r.id, r.version, a.At, a.Actor, action, r.doc); err != nil {
			return err
		}
		return appendAudit(ctx, tx, a, incObject(r.id))
	})
	if err != nil {
		return fmt.Errorf("update incident %d: %w", inc.ID, err)
	}
	*inc = next
	return nil
}

func decodeIncidentDoc(id int64, version int, doc []byte) (*bluehelm.Incident, error) {
	inc := new(bluehelm.Incident)
	if err := json.Unmarshal(doc, inc); err != nil {
		return nil, fmt.Errorf("postgres: incident %d: corrupt document: %w", id, err)
	}
	inc.ID, inc.Version = id, version
	return inc, nil
}

const sqlIncCurrent = `SELECT i.id, i.version, r.doc FROM incidents i
	JOIN incident_revisions r ON r.incident_id = i.id AND r.version = i.version`

func (db *DB) incidentWhere(ctx context.Context, cond string, arg any) (*bluehelm.Incident, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	var (
		id      int64
		version int
		doc     []byte
	)
	if err := r.QueryRow(ctx, sqlIncCurrent+` WHERE `+cond, arg).Scan(&id, &version, &doc); err != nil {
		return nil, err
	}
	return decodeIncidentDoc(id, version, doc)
}

// Incident returns one incident regardless of access.
func (db *DB) Incident(ctx context.Context, id int64) (*bluehelm.Incident, error) {
	inc, err := db.incidentWhere(ctx, `i.id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("incident", id)
	}
	return inc, dbErr(err)
}

// IncidentByExternalID returns the incident stored under an external id.
func (db *DB) IncidentByExternalID(ctx context.Context, externalID string) (*bluehelm.Incident, error) {
	inc, err := db.incidentWhere(ctx, `i.external_id = $1`, externalID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no incident with external id %q", externalID)
	}
	return inc, dbErr(err)
}

// IncidentRevisions returns every stored version of an incident, oldest first.
func (db *DB) IncidentRevisions(ctx context.Context, id int64) ([]bluehelm.Revision, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	rows, err := r.Query(ctx, `SELECT version, at, actor, action, doc FROM incident_revisions WHERE incident_id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []bluehelm.Revision
	for rows.Next() {
		var (
			rev bluehelm.Revision
			doc []byte
		)
		if err := rows.Scan(&rev.Version, &rev.At, &rev.Actor, &rev.Action, &doc); err != nil {
			return nil, dbErr(err)
		}
		inc, err := decodeIncidentDoc(id, rev.Version, doc)
		if err != nil {
			return nil, err
		}
		rev.IncidentID, rev.At, rev.Incident = id, rev.At.UTC(), *inc
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
// aside, which importers stamp on every run) is left alone. Imported rows
// overwrite local edits of the same incident: the source is authoritative for
// what it publishes. It sets ID and Version of every incident it is given.
func (db *DB) ImportIncidents(ctx context.Context, incs []*bluehelm.Incident, a bluehelm.AuditEntry) (created, updated int, err error) {
	for i, inc := range incs {
		if inc == nil || inc.ExternalID == "" {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].external_id", "is required for import")
		}
	}
	a = incStampAudit(a)
	type stored struct {
		id      int64
		version int
		doc     []byte
	}
	nexts := make([]bluehelm.Incident, len(incs))
	err = db.writeTx(ctx, func(tx pgx.Tx) error {
		created, updated = 0, 0
		exts := make([]string, len(incs))
		for i, inc := range incs {
			exts[i] = inc.ExternalID
		}
		// The rows to update are locked, so that an edit committed between
		// this read and the update cannot be overwritten unseen.
		rows, err := tx.Query(ctx, sqlIncCurrent+` WHERE i.external_id = ANY($1) FOR UPDATE OF i`, exts)
		if err != nil {
			return err
		}
		known := make(map[string]stored, len(incs))
		for rows.Next() {
			var s stored
			if err := rows.Scan(&s.id, &s.version, &s.doc); err != nil {
				rows.Close()
				return err
			}
			cur, err := decodeIncidentDoc(s.id, s.version, s.doc)
			if err != nil {
				rows.Close()
				return err
			}
			known[cur.ExternalID] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		fresh := 0
		seen := map[string]bool{}
		for _, inc := range incs {
			if _, ok := known[inc.ExternalID]; !ok && !seen[inc.ExternalID] {
				fresh++
			}
			seen[inc.ExternalID] = true
		}
		var ids []int64
		if fresh > 0 {
			if ids, err = nextIncidentIDs(ctx, tx, fresh); err != nil {
				return err
			}
		}
		// The writes are pipelined in batches: one round trip per batch
		// rather than three per row.
		var b pgx.Batch
		flush := func() error {
			if b.Len() == 0 {
				return nil
			}
			err := tx.SendBatch(ctx, &b).Close()
			b = pgx.Batch{}
			return err
		}
		for i, inc := range incs {
			if err := ctx.Err(); err != nil {
				return err
			}
			next := *inc
			old, ok := known[inc.ExternalID]
			var r incRow
			if !ok {
				if r, err = flattenIncident(&next, ids[0], 1); err != nil {
					return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
				}
				ids = ids[1:]
				b.Queue(sqlIncInsert, r.args()...)
				b.Queue(sqlIncWordsInsert, r.id, r.words)
				created++
			} else {
				cur, err := decodeIncidentDoc(old.id, old.version, old.doc)
				if err != nil {
					return err
				}
				same, err := bluehelm.SameIncidentContent(cur, &next, time.Microsecond)
				if err != nil {
					return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
				}
				if same {
					nexts[i] = *cur
					continue
				}
				if r, err = flattenIncident(&next, old.id, old.version+1); err != nil {
					return bluehelm.PrefixField("["+strconv.Itoa(i)+"]", err)
				}
				// The row is locked, so the version cannot have moved.
				b.Queue(sqlIncUpdate, append(r.args(), old.version)...)
				b.Queue(sqlIncWordsUpdate, r.id, r.words)
				updated++
			}
			b.Queue(sqlIncRevision, r.id, r.version, a.At, a.Actor, "import", r.doc)
			known[inc.ExternalID] = stored{r.id, r.version, r.doc}
			nexts[i] = next
			if b.Len() >= 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
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
