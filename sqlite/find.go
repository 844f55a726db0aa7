package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
)

// FindIncidents plans. The page order is occurred_start DESC, id DESC and every
// plan produces it; they differ in what drives the search:
//
//   - planText: the FTS5 match drives, the incident row is joined by rowid.
//     Chosen when the text matches few enough incidents; otherwise the text
//     is a per-row filter of one of the other plans (see search).
//   - planRTree: the R*Tree (space and time) lists candidates with an upper
//     bound of their time; they are checked most recent bound first, only as
//     many as the page needs (see rtreeHits).
//   - planTime: walk the (occurred_start, id) index backwards and stop after the
//     page. Good without a box, or when the box holds so many incidents that
//     listing them costs more than skipping the ones outside it.
//
// Every plan applies the exact predicate to the incidents row, because the
// R*Tree holds float32 boxes rounded outwards. A plan yields the page's ids
// and versions (plus one row, which tells whether a next page exists); the
// documents are then read by (id, version) and decoded, all in one read
// transaction.
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
	words int    // terms in text
	bbox  bool
	exact query // on incidents i; every plan applies it
	rt    query // on incidents_rt r; for planRTree and the probe
}

func newFindQuery(f bluehelm.IncidentFilter, defLimit, maxLimit int) (*findQuery, error) {
	limit, err := clampLimit(f.Limit, defLimit, maxLimit)
	if err != nil {
		return nil, err
	}
	// A drawn area searches its bounding box (the R*Tree's part, the box of
	// every plan) and then tests each row against the ring.
	box := f.BBox
	if f.Within != nil {
		if err := f.Within.Validate(); err != nil {
			return nil, bluehelm.PrefixField("within", err)
		}
		b := f.Within.Bound()
		if box != nil {
			b = bluehelm.BBox{MinLon: max(b.MinLon, box.MinLon), MinLat: max(b.MinLat, box.MinLat),
				MaxLon: min(b.MaxLon, box.MaxLon), MaxLat: min(b.MaxLat, box.MaxLat)}
		}
		box = &b
	}
	fq := &findQuery{limit: limit, bbox: box != nil}
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
		fq.words = strings.Count(fq.text, " ") + 1 // terms are joined by one space
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
	if b := box; b != nil {
		// A box and an area that do not overlap leave min > max: nothing matches,
		// which is the right answer.
		q.add("i.lon >= ? AND i.lon <= ? AND i.lat >= ? AND i.lat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
	}
	if f.Within != nil {
		// geopoly_blob of a bound parameter is a constant, which SQLite works
		// out once per statement; each row then costs a point-in-polygon test
		// on the decoded ring, not a JSON parse. 1 is on the edge, 2 inside.
		q.add("geopoly_contains_point(geopoly_blob(?), i.lon, i.lat) > 0", ringJSON(f.Within))
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

	if b := box; b != nil {
		// Overlap, not containment: stored boxes are rounded outwards, so a
		// point on the query's edge may be stored as a box sticking out of it.
		fq.rt.add("r.maxlon >= ? AND r.minlon <= ? AND r.maxlat >= ? AND r.minlat <= ?", b.MinLon, b.MaxLon, b.MinLat, b.MaxLat)
		if !f.From.IsZero() {
			fq.rt.add("r.maxt >= ?", rtTime(fromMs))
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
			fq.rt.add("r.mint <= ?", rtTime(upper))
		}
	}
	return fq, nil
}

// ringJSON is a ring in geopoly's JSON form, closed: [[lon,lat],…].
func ringJSON(r bluehelm.Ring) string {
	b := []byte{'['}
	for i, p := range r.Closed() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendFloat(b, p.Lon, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// candidates returns the query listing R*Tree candidates with the upper bound
// of their time, at most probeMax.
func (fq *findQuery) candidates(probeMax int) (string, []any) {
	return `SELECT r.id, r.maxt FROM incidents_rt r` + fq.rt.where() + ` LIMIT ?`, slices.Concat(fq.rt.args, []any{probeMax})
}

// sql returns a plan's query for the page's ids, sort keys and versions, plus
// one row; ids are R*Tree candidates as a JSON array, for planRTree.
func (fq *findQuery) sql(plan int, ids string) (string, []any) {
	var q string
	var args []any
	const cols = `SELECT i.id, i.occurred_start, i.version, i.rev FROM `
	order := " ORDER BY i.occurred_start DESC, i.id DESC LIMIT ?"
	exact := query{slices.Clone(fq.exact.conds), slices.Clone(fq.exact.args)}
	if fq.text != "" && plan != planText {
		// The text as a filter: one FTS5 lookup per row examined (tens of
		// µs each), so only for plans that examine few rows.
		exact.add("EXISTS (SELECT 1 FROM incidents_fts WHERE incidents_fts MATCH ? AND rowid = i.id)", fq.text)
	}
	switch plan {
	case planText:
		// CROSS JOIN fixes the join order: the match drives.
		q = cols + `incidents_fts CROSS JOIN incidents i ON i.id = incidents_fts.rowid` +
			" WHERE " + strings.Join(slices.Concat([]string{"incidents_fts MATCH ?"}, exact.conds), " AND ") + order
		args = slices.Concat([]any{fq.text}, exact.args)
	case planRTree:
		q = cols + `incidents i WHERE i.id IN (SELECT value FROM json_each(?))` +
			strings.Join(slices.Concat([]string{""}, exact.conds), " AND ") + order
		args = slices.Concat([]any{ids}, exact.args)
	default:
		q = cols + `incidents i INDEXED BY incidents_time` + exact.where() + order
		args = slices.Clone(exact.args)
	}
	return q, append(args, fq.limit+1)
}

// hit is a row of a page: its sort key, its version and where that version's
// document is.
type hit struct {
	cursor
	version int
	rev     int64
}

func queryHits(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]hit, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []hit
	for rows.Next() {
		var h hit
		if err := rows.Scan(&h.id, &h.occurred, &h.version, &h.rev); err != nil {
			return nil, dbErr(err)
		}
		out = append(out, h)
	}
	return out, dbErr(rows.Err())
}

// rtCandidate is an incident the R*Tree found, with the upper bound of its
// time on the R*Tree axis.
type rtCandidate struct {
	id   int64
	maxt float64
}

// search returns up to limit+1 hits in page order.
func (fq *findQuery) search(ctx context.Context, tx *sql.Tx, o options) ([]hit, error) {
	if fq.bbox {
		// List the R*Tree candidates, up to rtreeProbeMax (4000 by default,
		// under a millisecond). Fewer: search them. Reaching it means the box
		// and window are dense, so walking time order finds a page sooner than
		// checking every candidate. Counting is what makes the choice robust:
		// the planner cannot know how incidents are spread.
		q, args := fq.candidates(o.rtreeProbeMax)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, dbErr(err)
		}
		var cands []rtCandidate
		for rows.Next() {
			var c rtCandidate
			if err := rows.Scan(&c.id, &c.maxt); err != nil {
				rows.Close()
				return nil, dbErr(err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, dbErr(err)
		}
		if len(cands) < o.rtreeProbeMax {
			// With text: checking a candidate's text costs ~40 µs per word,
			// driving by the match ~0.3 µs per matching incident; drive by
			// the match unless it matches over ~100 times as many incidents
			// (per word).
			drive, err := fq.textDrives(ctx, tx, o, 100*len(cands)/max(fq.words, 1)+1000)
			if err != nil {
				return nil, err
			}
			if !drive {
				return fq.rtreeHits(ctx, tx, cands)
			}
		}
	}
	plan := planTime
	switch {
	case fq.text == "":
	case fq.words > 1 && o.textPlan == "":
		// Several words: checking a row costs ~40 µs per word and the
		// matches are fewer, so the match drives.
		plan = planText
	default:
		// Without a usable box: drive by the match, or, for a word in a
		// large share of all incidents, walk time order checking each row's
		// text until the page is full (page / share × 40 µs beats
		// matches × 0.3 µs above about sqrt(1500 × incidents) matches).
		var maxID int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM incidents`).Scan(&maxID); err != nil {
			return nil, dbErr(err)
		}
		drive, err := fq.textDrives(ctx, tx, o, int(math.Sqrt(1500*float64(maxID)))+1000)
		if err != nil {
			return nil, err
		}
		if drive {
			plan = planText
		}
	}
	q, args := fq.sql(plan, "")
	return queryHits(ctx, tx, q, args...)
}

// textDrives decides whether the text match should drive the search: when
// there is text and it matches fewer than limit incidents (counted up to
// limit, at ~0.1 µs each). options.textPlan forces the choice in tests.
func (fq *findQuery) textDrives(ctx context.Context, tx *sql.Tx, o options, limit int) (bool, error) {
	switch {
	case fq.text == "":
		return false, nil
	case o.textPlan == "match":
		return true, nil
	case o.textPlan == "filter":
		return false, nil
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM incidents_fts WHERE incidents_fts MATCH ? LIMIT ?)`, fq.text, limit).Scan(&n)
	if err != nil {
		return false, dbErr(err)
	}
	return n < limit, nil
}

// rtreeHits finds the page among R*Tree candidates without looking every one
// up. Candidates are taken most recent time bound first, a few more than the
// page needs; once the last hit needed (limit+1) is later than the bound of
// every candidate left out, none of those could be on the page (a bound is
// never below the true time, and the time mapping is monotonic). Otherwise
// (filters rejected many) more are taken, up to all.
func (fq *findQuery) rtreeHits(ctx context.Context, tx *sql.Tx, cands []rtCandidate) ([]hit, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	slices.SortFunc(cands, func(a, b rtCandidate) int {
		switch {
		case a.maxt > b.maxt:
			return -1
		case a.maxt < b.maxt:
			return 1
		}
		return 0
	})
	need := fq.limit + 1
	b := make([]byte, 0, 16*len(cands))
	for m := min(len(cands), need+need/4+16); ; {
		b = append(b[:0], '[')
		for i, c := range cands[:m] {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, c.id, 10)
		}
		q, args := fq.sql(planRTree, string(append(b, ']')))
		hits, err := queryHits(ctx, tx, q, args...)
		if err != nil {
			return nil, err
		}
		if m == len(cands) || (len(hits) == need && rtTime(hits[need-1].occurred) > cands[m].maxt) {
			return hits, nil
		}
		// Too few passed the filters (or the last needed one is too old to
		// rule the rest out): take as many as the pass rate so far suggests,
		// with a margin, at least twice as many.
		next := 2 * m
		if len(hits) < need {
			next = max(next, m*need/max(len(hits), 1)*5/4+16)
		}
		m = min(len(cands), next)
	}
}

// sqlFetchDocs reads documents by a JSON array of revision rowids; key is the
// position in the array.
const sqlFetchDocs = `SELECT j.key, v.doc FROM json_each(?) j CROSS JOIN incident_revisions v ON v.rev = j.value`

// fetchDocs returns the documents of hits, in order.
func fetchDocs(ctx context.Context, tx *sql.Tx, hits []hit) ([][]byte, error) {
	b := []byte{'['}
	for i, h := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, h.rev, 10)
	}
	b = append(b, ']')
	rows, err := tx.QueryContext(ctx, sqlFetchDocs, string(b))
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	docs := make([][]byte, len(hits))
	for rows.Next() {
		var (
			k   int
			doc []byte
		)
		if err := rows.Scan(&k, &doc); err != nil {
			return nil, dbErr(err)
		}
		if k >= 0 && k < len(docs) {
			docs[k] = doc
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	for i, d := range docs {
		if d == nil {
			return nil, fmt.Errorf("sqlite: incident %d: revision row %d is missing", hits[i].id, hits[i].rev)
		}
	}
	return docs, nil
}

// decodeAll decodes the documents of a page. JSON decoding is about half of a
// page's cost (~13 µs per incident), so a big page is split across the cores.
func decodeAll(hits []hit, docs [][]byte) ([]*bluehelm.Incident, error) {
	out := make([]*bluehelm.Incident, len(hits))
	errs := make([]error, len(hits))
	decode := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i], errs[i] = decodeIncident(hits[i].id, hits[i].version, docs[i])
		}
	}
	parts := min(runtime.GOMAXPROCS(0), 4, len(hits)/16)
	if parts <= 1 {
		decode(0, len(hits))
	} else {
		var wg sync.WaitGroup
		for p := range parts {
			lo, hi := p*len(hits)/parts, (p+1)*len(hits)/parts
			wg.Go(func() { decode(lo, hi) })
		}
		wg.Wait()
	}
	return out, errors.Join(errs...)
}

// FindIncidents returns one page of incidents matching f that f.Viewer may see,
// newest occurred_start first (ties: higher id first). Access is part of the
// query, so pages are full. NextCursor is set exactly when more rows follow.
func (db *DB) FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error) {
	page := &bluehelm.IncidentPage{Incidents: []*bluehelm.Incident{}}
	next, err := db.findPage(ctx, f, 100, 1000, func(tx *sql.Tx, hits []hit) error {
		docs, err := fetchDocs(ctx, tx, hits)
		if err != nil {
			return err
		}
		page.Incidents, err = decodeAll(hits, docs)
		return err
	})
	if err != nil {
		return nil, err
	}
	page.NextCursor = next
	return page, nil
}

// findPage searches one page of f (limit defLimit when unset, at most maxLimit)
// and hands its hits, if any, to read, in the snapshot the search used: the
// candidates, the page and what is read of it must agree. next is the cursor of
// the following page, "" on the last.
func (db *DB) findPage(ctx context.Context, f bluehelm.IncidentFilter, defLimit, maxLimit int, read func(tx *sql.Tx, hits []hit) error) (next string, err error) {
	fq, err := newFindQuery(f, defLimit, maxLimit)
	if err != nil {
		return "", err
	}
	r, err := db.reader()
	if err != nil {
		return "", err
	}
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", dbErr(err)
	}
	defer tx.Rollback()
	hits, err := fq.search(ctx, tx, db.opt)
	if err != nil {
		return "", err
	}
	if len(hits) > fq.limit {
		hits = hits[:fq.limit]
		next = encodeCursor(hits[len(hits)-1].cursor)
	}
	if len(hits) == 0 {
		return next, nil
	}
	return next, read(tx, hits)
}
