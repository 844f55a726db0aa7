package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
)

// FindIncidents plans. The page order is occurred_start DESC, id DESC and every
// plan produces it; they differ in what drives the search:
//
//   - planText: the FTS5 match drives, the incident row is joined by rowid.
//   - planRTree: the R*Tree (space and time) drives; its candidates are sorted.
//     Good while the box and window hold few incidents.
//   - planTime: walk the (occurred_start, id) index backwards and stop after the
//     page. Good without a box, or when the box holds so many incidents that
//     sorting them costs more than skipping the ones outside it.
//
// Every plan re-checks the exact predicate on the incidents row, because the
// R*Tree holds float32 boxes rounded outwards.
const (
	planText = iota
	planRTree
	planTime
)

// rtreeProbeMax is where the planner switches from the R*Tree to the time index:
// it counts R*Tree candidates up to this number; reaching it means the box is
// dense enough that walking time order finds a page sooner than sorting them.
const rtreeProbeMax = 4000

// cursor is a position in the page order: the last row of the previous page.
type cursor struct {
	occurred int64 // unix ms
	id       int64
}

// encodeCursor makes the opaque cursor: URL-safe base64 of the two big-endian
// int64s of the last row's (occurred_start ms, id).
func encodeCursor(c cursor) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.occurred))
	binary.BigEndian.PutUint64(b[8:], uint64(c.id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(s string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return cursor{}, bluehelm.Invalid("cursor", "is not a cursor returned by this server")
	}
	return cursor{int64(binary.BigEndian.Uint64(b[:8])), int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

// ceilMillis returns the smallest whole millisecond not before t. Stored times are
// whole milliseconds, so occurred >= t ⇔ occurred_ms >= ceilMillis(t), and the
// same for <.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// ftsQuery turns what a person typed into an FTS5 query: every word becomes a
// quoted term (so FTS5 syntax characters are plain text), terms are ANDed, and a
// word ending in * is a prefix search. It returns "" when nothing searchable is
// left.
func ftsQuery(s string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '*' || r == '_' || r == '\'' || r == '-')
	}) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.Trim(w, "*'-")
		w = strings.ReplaceAll(w, "*", "")
		if w == "" {
			continue
		}
		t := `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if prefix {
			t += "*"
		}
		terms = append(terms, t)
	}
	return strings.Join(terms, " ")
}

// query accumulates SQL conditions with their arguments.
type query struct {
	conds []string
	args  []any
}

func (q *query) add(cond string, args ...any) {
	q.conds = append(q.conds, cond)
	q.args = append(q.args, args...)
}

func (q *query) where() string {
	if len(q.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.conds, " AND ")
}

// FindIncidents returns one page of incidents matching f that f.Viewer may see,
// newest occurred_start first (ties: higher id first). Access is part of the
// query, so pages are full.
func (db *DB) FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	var cur *cursor
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		cur = &c
	}
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return nil, err
		}
	}
	var text string
	if strings.TrimSpace(f.Text) != "" {
		if text = ftsQuery(f.Text); text == "" {
			return nil, bluehelm.Invalid("text", "has no words to search for")
		}
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}

	// The exact predicate on the incidents row i, shared by every plan.
	var q query
	var fromMs, toMs int64
	if !f.From.IsZero() {
		fromMs = ceilMillis(f.From)
		q.add("i.occurred_start >= ?", fromMs)
	}
	if !f.To.IsZero() {
		toMs = ceilMillis(f.To)
		q.add("i.occurred_start < ?", toMs)
	}
	if cur != nil {
		q.add("(i.occurred_start, i.id) < (?, ?)", cur.occurred, cur.id)
	}
	if b := f.BBox; b != nil {
		q.add("i.lon >= ? AND i.lon <= ? AND i.lat >= ? AND i.lat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
	}
	if len(f.Categories) > 0 {
		args := make([]any, len(f.Categories))
		for i, c := range f.Categories {
			args[i] = string(c)
		}
		q.add("i.category IN ("+placeholders(len(args))+")", args...)
	}
	if len(f.Statuses) > 0 {
		args := make([]any, len(f.Statuses))
		for i, s := range f.Statuses {
			args[i] = string(s)
		}
		q.add("i.status IN ("+placeholders(len(args))+")", args...)
	}
	if cond, args := accessSQL("i", f.Viewer); cond != "" {
		q.add(cond, args...)
	}

	// The R*Tree condition for the box and window, also used by the probe.
	var rt query
	if b := f.BBox; b != nil {
		// Overlap, not containment: stored boxes are rounded outwards, so a
		// point on the query's edge may be stored as a box sticking out of it.
		rt.add("r.maxlon >= ? AND r.minlon <= ? AND r.maxlat >= ? AND r.minlat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
		if !f.From.IsZero() {
			rt.add("r.maxt >= ?", rtHours(fromMs))
		}
		upper, bounded := int64(0), false
		if !f.To.IsZero() {
			upper, bounded = toMs, true
		}
		if cur != nil && (!bounded || cur.occurred < upper) {
			upper, bounded = cur.occurred, true
		}
		if bounded {
			rt.add("r.mint <= ?", rtHours(upper))
		}
	}

	plan := planTime
	switch {
	case text != "":
		plan = planText
	case f.BBox != nil:
		var n int
		err := r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM incidents_rt r`+rt.where()+` LIMIT ?)`,
			append(rt.args, rtreeProbeMax)...).Scan(&n)
		if err != nil {
			return nil, dbErr(err)
		}
		if n < rtreeProbeMax {
			plan = planRTree
		}
	}

	// Inner query: the ids and sort keys of the page plus one row, which tells
	// whether there is a next page. Outer query: their documents. One statement,
	// so the documents are those the filter (and the access rule) saw.
	var inner string
	var args []any
	order := " ORDER BY i.occurred_start DESC, i.id DESC LIMIT ?"
	switch plan {
	case planText:
		// CROSS JOIN fixes the join order: the match drives.
		q.conds = append([]string{"incidents_fts MATCH ?"}, q.conds...)
		q.args = append([]any{text}, q.args...)
		inner = `SELECT i.id, i.occurred_start FROM incidents_fts CROSS JOIN incidents i ON i.id = incidents_fts.rowid` + q.where() + order
		args = q.args
	case planRTree:
		inner = `SELECT i.id, i.occurred_start FROM incidents_rt r CROSS JOIN incidents i ON i.id = r.id` +
			" WHERE " + strings.Join(append(rt.conds, q.conds...), " AND ") + order
		args = append(rt.args, q.args...)
	default:
		inner = `SELECT i.id, i.occurred_start FROM incidents i INDEXED BY incidents_time` + q.where() + order
		args = q.args
	}
	args = append(args, limit+1)
	stmt := `WITH hits (id, occurred) AS (` + inner + `)
		SELECT h.id, h.occurred, i.version, i.doc FROM hits h CROSS JOIN incidents i ON i.id = h.id
		ORDER BY h.occurred DESC, h.id DESC`

	rows, err := r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	page := &bluehelm.IncidentPage{Incidents: make([]*bluehelm.Incident, 0, min(limit, 128))}
	var last cursor
	for rows.Next() {
		var (
			c       cursor
			version int
			doc     sql.RawBytes
		)
		if err := rows.Scan(&c.id, &c.occurred, &version, &doc); err != nil {
			return nil, dbErr(err)
		}
		if len(page.Incidents) == limit {
			page.NextCursor = encodeCursor(last)
			break
		}
		inc, err := decodeIncident(c.id, version, doc)
		if err != nil {
			return nil, err
		}
		page.Incidents = append(page.Incidents, inc)
		last = c
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return page, nil
}
