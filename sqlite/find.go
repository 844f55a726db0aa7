package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"slices"
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

// findQuery is an IncidentFilter translated to SQL: the exact predicate on the
// incidents row (alias i), and the R*Tree condition for the box and window.
type findQuery struct {
	limit int
	text  string // FTS5 query, "" for none
	bbox  bool
	exact query // on incidents i; every plan applies it
	rt    query // on incidents_rt r; for planRTree and the probe
}

func newFindQuery(f bluehelm.IncidentFilter) (*findQuery, error) {
	limit, err := clampLimit(f.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	fq := &findQuery{limit: limit, bbox: f.BBox != nil}
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
	if strings.TrimSpace(f.Text) != "" {
		if fq.text = ftsQuery(f.Text); fq.text == "" {
			return nil, bluehelm.Invalid("text", "has no words to search for")
		}
	}

	q := &fq.exact
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
		// Keyset paging: strictly after the last row in page order.
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

	if b := f.BBox; b != nil {
		// Overlap, not containment: stored boxes are rounded outwards, so a
		// point on the query's edge may be stored as a box sticking out of it.
		fq.rt.add("r.maxlon >= ? AND r.minlon <= ? AND r.maxlat >= ? AND r.minlat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
		if !f.From.IsZero() {
			fq.rt.add("r.maxt >= ?", rtHours(fromMs))
		}
		// The window's end, tightened by the cursor so deep pages search less.
		upper, bounded := int64(0), false
		if !f.To.IsZero() {
			upper, bounded = toMs, true
		}
		if cur != nil && (!bounded || cur.occurred < upper) {
			upper, bounded = cur.occurred, true
		}
		if bounded {
			fq.rt.add("r.mint <= ?", rtHours(upper))
		}
	}
	return fq, nil
}

// probe counts R*Tree candidates, stopping at probeMax.
func (fq *findQuery) probe(probeMax int) (string, []any) {
	return `SELECT count(*) FROM (SELECT 1 FROM incidents_rt r` + fq.rt.where() + ` LIMIT ?)`,
		slices.Concat(fq.rt.args, []any{probeMax})
}

// sql returns the page query for a plan. Inner query: ids and sort keys of the
// page plus one row, which tells whether a next page exists. Outer query: their
// documents. One statement, so the documents are those the filter (and the
// access rule) saw.
func (fq *findQuery) sql(plan int) (string, []any) {
	var inner string
	var args []any
	order := " ORDER BY i.occurred_start DESC, i.id DESC LIMIT ?"
	switch plan {
	case planText:
		// CROSS JOIN fixes the join order: the match drives.
		inner = `SELECT i.id, i.occurred_start FROM incidents_fts CROSS JOIN incidents i ON i.id = incidents_fts.rowid` +
			" WHERE " + strings.Join(slices.Concat([]string{"incidents_fts MATCH ?"}, fq.exact.conds), " AND ") + order
		args = slices.Concat([]any{fq.text}, fq.exact.args)
	case planRTree:
		inner = `SELECT i.id, i.occurred_start FROM incidents_rt r CROSS JOIN incidents i ON i.id = r.id` +
			" WHERE " + strings.Join(slices.Concat(fq.rt.conds, fq.exact.conds), " AND ") + order
		args = slices.Concat(fq.rt.args, fq.exact.args)
	default:
		inner = `SELECT i.id, i.occurred_start FROM incidents i INDEXED BY incidents_time` + fq.exact.where() + order
		args = slices.Clone(fq.exact.args)
	}
	args = append(args, fq.limit+1)
	return `WITH hits (id, occurred) AS (` + inner + `)
		SELECT h.id, h.occurred, i.version, i.doc FROM hits h CROSS JOIN incidents i ON i.id = h.id
		ORDER BY h.occurred DESC, h.id DESC`, args
}

// choosePlan picks the plan for fq (see the plan constants). With a box it
// counts R*Tree candidates up to probeMax (4000 by default, well under a
// millisecond to count): fewer means the R*Tree plan sorts little; reaching it
// means the box is dense, so walking time order finds a page sooner than
// sorting every candidate. Counting is what makes the choice robust: the
// planner cannot know how the incidents are spread.
func (fq *findQuery) choosePlan(ctx context.Context, r *sql.DB, probeMax int) (int, error) {
	switch {
	case fq.text != "":
		return planText, nil
	case fq.bbox:
		q, args := fq.probe(probeMax)
		var n int
		if err := r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return 0, dbErr(err)
		}
		if n < probeMax {
			return planRTree, nil
		}
	}
	return planTime, nil
}

// FindIncidents returns one page of incidents matching f that f.Viewer may see,
// newest occurred_start first (ties: higher id first). Access is part of the
// query, so pages are full. NextCursor is set exactly when more rows follow.
func (db *DB) FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error) {
	fq, err := newFindQuery(f)
	if err != nil {
		return nil, err
	}
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	plan, err := fq.choosePlan(ctx, r, db.opt.rtreeProbeMax)
	if err != nil {
		return nil, err
	}
	stmt, args := fq.sql(plan)
	rows, err := r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	limit := fq.limit
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
