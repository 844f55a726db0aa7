package postgres

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Searching incidents. One statement selects a page: the filter (access
// included) as conditions on the incidents row, ORDER BY occurred_start DESC,
// id DESC and LIMIT page+1 (the extra row tells whether a next page exists).
// What drives it:
//
//   - A box or drawn area up to about 20° across, without text: the grid
//     cells it overlaps, each walked newest first through its
//     (cell, occurred_start, id) index and merged (Merge Append), every
//     branch stopping after a page. A page costs about a page of rows (times
//     the share of the cells' area outside the box, at most about 4), however
//     many incidents the box holds. See incSearch and incReader.
//   - Anything else (no box, a larger box, text): the planner chooses from
//     its statistics, with a custom plan each time: the (occurred_start, id)
//     index walked backwards when the filter keeps a large share of the rows,
//     the GiST index for a box holding few, the GIN index for rare words.
//
// Every spatial condition is exact: the GiST index keeps float32 boxes rounded
// outwards, so the box is tested with ST_Intersects (or, within a cell, the
// point's own float64 coordinates) and a drawn area with ST_Covers, edges
// included.

// incCursor is a position in the page order: the last row of the previous page.
type incCursor struct {
	occurred int64 // unix µs
	id       int64
}

// encode makes the opaque cursor: URL-safe base64 of the two big-endian int64s.
func (c incCursor) encode() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.occurred))
	binary.BigEndian.PutUint64(b[8:], uint64(c.id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeIncCursor(s string) (incCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return incCursor{}, bluehelm.Invalid("cursor", "is not a cursor returned by this server")
	}
	return incCursor{int64(binary.BigEndian.Uint64(b[:8])), int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

// incTSQuery turns what a person typed into a tsquery: every word (a run of
// letters and digits, lower-cased, as the words were cut when stored) is a
// quoted lexeme, words are ANDed, and a word followed by * is a prefix. It
// returns "" when nothing searchable is left.
func incTSQuery(s string) string {
	var terms []string
	rs := []rune(strings.ToLower(s))
	for i := 0; i < len(rs); {
		if !unicode.IsLetter(rs[i]) && !unicode.IsDigit(rs[i]) {
			i++
			continue
		}
		j := i
		for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
			j++
		}
		// Letters and digits need no escaping inside quotes.
		t := "'" + incCutLexeme(string(rs[i:j])) + "'"
		if j < len(rs) && rs[j] == '*' {
			t += ":*"
		}
		terms = append(terms, t)
		i = j
	}
	return strings.Join(terms, " & ")
}

// incWhere accumulates the conditions of a search on incidents i and their
// arguments.
type incWhere struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (w *incWhere) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *incWhere) add(cond string) { w.conds = append(w.conds, cond) }

func (w *incWhere) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// visibleTo adds Principal.CanSee over the marking columns of alias t
// (classification, component, releasable_to). It must stay equivalent to
// CanSee: the suite checks every marking against it.
func (w *incWhere) visibleTo(t string, p bluehelm.Principal) {
	if p.System {
		return
	}
	c := w.arg(string(p.Component))
	w.add(fmt.Sprintf("(%[1]s.classification <= %[2]s AND (%[1]s.classification = 0 OR %[1]s.component = %[3]s OR %[3]s = ANY(%[1]s.releasable_to)))",
		t, w.arg(int(p.Clearance)), c))
}

// incRingWKT is a ring as a closed WKT polygon; 'g' with -1 precision writes the
// shortest form that parses back to the same float64.
func incRingWKT(r bluehelm.Ring) string {
	b := []byte("POLYGON((")
	for i, p := range r.Closed() {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, p.Lon, 'g', -1, 64)
		b = append(b, ' ')
		b = strconv.AppendFloat(b, p.Lat, 'g', -1, 64)
	}
	return string(append(b, "))"...))
}

// incCellLevels are the grid cells of the incidents row (see the schema):
// column and cell size in degrees, finest first.
var incCellLevels = []struct {
	col  string
	size float64
}{{"cell_a", 0.25}, {"cell_b", 1}, {"cell_c", 4}}

// incMaxCells bounds the cells a box query merges: each is an index descent
// and a branch of the statement.
const incMaxCells = 32

// incCells returns the finest level at which box overlaps at most incMaxCells
// cells, and those cells; ok is false when none does: a box over 20° or so
// holds a large share of the incidents, and walking time order finds a page
// as soon, without planning dozens of branches.
func incCells(b bluehelm.BBox) (col string, cells []int32, ok bool) {
	for _, l := range incCellLevels {
		// The same arithmetic as the generated columns, in float64 as there.
		x0, x1 := int(math.Floor((b.MinLon+180)/l.size)), int(math.Floor((b.MaxLon+180)/l.size))
		y0, y1 := int(math.Floor((b.MinLat+90)/l.size)), int(math.Floor((b.MaxLat+90)/l.size))
		if (x1-x0+1)*(y1-y0+1) > incMaxCells {
			continue
		}
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				cells = append(cells, int32(x*2048+y))
			}
		}
		return l.col, cells, true
	}
	return "", nil, false
}

// incSearch is an IncidentFilter translated to SQL.
type incSearch struct {
	limit int
	where incWhere
	// With a box (or a drawn area) and no text, the page is merged from the
	// grid cells the box overlaps, each read newest first through its
	// (cell, occurred_start, id) index: every branch stops after a page, so
	// a query reads about a page of rows whether the box holds ten incidents
	// or a hundred thousand. (The planner, left to choose between the GiST
	// index, which lists every incident in the box before sorting, and time
	// order, which reads page/share rows, is slow for boxes between.) Text
	// leaves the choice to the planner, as the word index may be the better
	// driver.
	cellCol string
	cells   []int32
	// branch is where with the box as coordinate comparisons, which give the
	// planner no GiST path to prefer within a cell.
	branch incWhere
}

func newIncSearch(f bluehelm.IncidentFilter, defLimit, maxLimit int) (*incSearch, error) {
	limit, err := clampLimit(f.Limit, defLimit, maxLimit)
	if err != nil {
		return nil, err
	}
	if f.BBox != nil {
		if err := f.BBox.Validate(); err != nil {
			return nil, err
		}
	}
	if f.Within != nil {
		if err := f.Within.Validate(); err != nil {
			return nil, bluehelm.PrefixField("within", err)
		}
	}
	var cur *incCursor
	if f.Cursor != "" {
		c, err := decodeIncCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		cur = &c
	}
	text := ""
	if strings.TrimSpace(f.Text) != "" {
		if text = incTSQuery(f.Text); text == "" {
			return nil, bluehelm.Invalid("text", "has no words to search for")
		}
	}
	s := &incSearch{limit: limit}
	// The box the cells cover: the bbox, the drawn area's bound, or both.
	var box *bluehelm.BBox
	if f.BBox != nil {
		b := *f.BBox
		box = &b
	}
	if f.Within != nil {
		b := f.Within.Bound()
		if box != nil {
			b = bluehelm.BBox{MinLon: max(b.MinLon, box.MinLon), MinLat: max(b.MinLat, box.MinLat),
				MaxLon: min(b.MaxLon, box.MaxLon), MaxLat: min(b.MaxLat, box.MaxLat)}
		}
		box = &b
	}
	if box != nil && text == "" && box.MinLon <= box.MaxLon && box.MinLat <= box.MaxLat {
		s.cellCol, s.cells, _ = incCells(*box)
	}
	build := func(w *incWhere, exactBox bool) {
		if cur != nil {
			// Keyset paging: strictly after the last row in page order.
			w.add(fmt.Sprintf("(i.occurred_start, i.id) < (%s, %s)", w.arg(time.UnixMicro(cur.occurred).UTC()), w.arg(cur.id)))
		}
		if !f.From.IsZero() {
			w.add("i.occurred_start >= " + w.arg(ceilMicro(f.From)))
		}
		if !f.To.IsZero() {
			w.add("i.occurred_start < " + w.arg(ceilMicro(f.To)))
		}
		if b := f.BBox; b != nil {
			x0, y0, x1, y1 := w.arg(b.MinLon), w.arg(b.MinLat), w.arg(b.MaxLon), w.arg(b.MaxLat)
			if exactBox {
				// Within a cell the planner would multiply the cell's
				// selectivity by the box's although the cell lies mostly or
				// wholly in the box, expect almost no rows, and walk time
				// order instead of the cell for a cell holding many. A CASE
				// is estimated at one half, which keeps the cell's index the
				// cheaper path.
				w.add(fmt.Sprintf("CASE WHEN ST_X(i.geom) BETWEEN %s AND %s AND ST_Y(i.geom) BETWEEN %s AND %s THEN true ELSE false END", x0, x1, y0, y1))
			} else {
				// ST_Intersects of a point and a rectangle is exact and
				// keeps the edges; it brings its own && for the index and,
				// unlike && plus coordinate comparisons, one selectivity
				// estimate, which the planner needs right.
				w.add(fmt.Sprintf("ST_Intersects(i.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))", x0, y0, x1, y1))
			}
		}
		if f.Within != nil {
			// ST_Covers, unlike ST_Contains, keeps points on the edge. In a
			// cell, a CASE as for the box (and no GiST path to tempt the
			// planner).
			covers := "ST_Covers(ST_GeomFromText(" + w.arg(incRingWKT(f.Within)) + ", 4326), i.geom)"
			if exactBox {
				covers = "CASE WHEN " + covers + " THEN true ELSE false END"
			}
			w.add(covers)
		}
		if len(f.Categories) > 0 {
			cs := make([]string, len(f.Categories))
			for i, c := range f.Categories {
				cs[i] = string(c)
			}
			w.add("i.category = ANY(" + w.arg(cs) + "::text[])")
		}
		if len(f.Statuses) > 0 {
			ss := make([]string, len(f.Statuses))
			for i, st := range f.Statuses {
				ss[i] = string(st)
			}
			w.add("i.status = ANY(" + w.arg(ss) + "::text[])")
		}
		if text != "" {
			w.add("EXISTS (SELECT 1 FROM incident_words w WHERE w.incident_id = i.id AND w.words @@ " + w.arg(text) + "::tsquery)")
		}
		w.visibleTo("i", f.Viewer)
	}
	if s.cells != nil {
		build(&s.branch, true)
	} else {
		build(&s.where, false)
	}
	return s, nil
}

const incOrder = ` ORDER BY i.occurred_start DESC, i.id DESC LIMIT `

// sql returns the page query selecting cols of incidents i (plus one row).
// cols must name id and occurred_start as such, for the merge's order.
func (s *incSearch) sql(cols string) (string, []any) {
	if s.cells == nil {
		args := append(s.where.args[:len(s.where.args):len(s.where.args)], s.limit+1)
		return `SELECT ` + cols + ` FROM incidents i` + s.where.sql() + incOrder + `$` + strconv.Itoa(len(args)), args
	}
	w := incWhere{args: s.branch.args[:len(s.branch.args):len(s.branch.args)]}
	lim := w.arg(s.limit + 1)
	var b strings.Builder
	b.WriteString(`SELECT * FROM (`)
	for k, c := range s.cells {
		if k > 0 {
			b.WriteString(` UNION ALL `)
		}
		b.WriteString(`(SELECT ` + cols + ` FROM incidents i WHERE i.` + s.cellCol + ` = ` + w.arg(c))
		for _, cond := range s.branch.conds {
			b.WriteString(` AND ` + cond)
		}
		b.WriteString(incOrder + lim + `)`)
	}
	b.WriteString(`) i` + incOrder + lim)
	return b.String(), w.args
}

// incReader returns a read-only transaction for a search, with the planner
// settings its plan needs, and the function that ends it.
//
// The cell merge (see incSearch) is only fast if every branch walks its
// index in order and stops after a page; the planner, which multiplies the
// selectivities of the cell and of the box although one implies much of the
// other, expects a few rows per cell and would list and sort them instead.
// Bitmap scans and sorts are therefore disabled for that statement (its
// merge needs neither). JIT compilation is off for every search: it is
// triggered by the cost estimates of a million-row table and costs 15-20 ms,
// more than a page. So are parallel workers: starting them costs more than
// a page, and a busy server has no idle cores to give them.
func (db *DB) incReader(ctx context.Context, s *incSearch) (q, func(), error) {
	if db.closed.Load() {
		return nil, nil, errClosed
	}
	begin := `BEGIN READ ONLY; SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0`
	if s.cells != nil {
		begin += `; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off`
	} else {
		// The statement is prepared once (pgx caches it); a generic plan,
		// which the server adopts after five executions, cannot know how
		// much of the table the box or words select, and its guess (a box
		// lists few rows) turned a 2 ms page of a large box into seconds.
		begin += `; SET LOCAL plan_cache_mode = force_custom_plan`
	}
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return nil, nil, dbErr(err)
	}
	return tx, func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }, nil
}

// FindIncidents returns one page of incidents matching f that f.Viewer may see,
// newest occurred_start first (ties: higher id first). Access is part of the
// query, so pages are full. NextCursor is set exactly when more rows follow.
func (db *DB) FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error) {
	s, err := newIncSearch(f, 100, 1000)
	if err != nil {
		return nil, err
	}
	r, done, err := db.incReader(ctx, s)
	if err != nil {
		return nil, err
	}
	defer done()
	// The page is chosen on the narrow rows first, then only its documents
	// are read, in the same statement (so in one snapshot).
	page, args := s.sql(`i.id, i.version, i.occurred_start`)
	rows, err := r.Query(ctx, `WITH page AS MATERIALIZED (`+page+`)
		SELECT p.id, p.version, p.occurred_start, d.doc FROM page p
		JOIN incident_revisions d ON d.incident_id = p.id AND d.version = p.version
		ORDER BY p.occurred_start DESC, p.id DESC`, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := &bluehelm.IncidentPage{Incidents: []*bluehelm.Incident{}}
	var last incCursor
	for rows.Next() {
		var (
			id, version int64
			at          time.Time
			doc         []byte
		)
		if err := rows.Scan(&id, &version, &at, &doc); err != nil {
			return nil, dbErr(err)
		}
		if len(out.Incidents) == s.limit {
			out.NextCursor = last.encode()
			break
		}
		inc, err := decodeIncidentDoc(id, int(version), doc)
		if err != nil {
			return nil, err
		}
		out.Incidents = append(out.Incidents, inc)
		last = incCursor{at.UnixMicro(), id}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}

// FindIncidentSummaries is FindIncidents (same conditions, order, access rule
// and cursors) answering summaries, in pages of up to 10,000 (default 1000),
// read from the incidents row alone.
func (db *DB) FindIncidentSummaries(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentSummaryPage, error) {
	s, err := newIncSearch(f, 1000, 10000)
	if err != nil {
		return nil, err
	}
	r, done, err := db.incReader(ctx, s)
	if err != nil {
		return nil, err
	}
	defer done()
	q, args := s.sql(`i.id, i.version, i.occurred_start, ST_X(i.geom), ST_Y(i.geom), i.title, i.category, i.status,
		i.classification, i.component, i.releasable_to, i.admin1, i.casualty_counts`)
	rows, err := r.Query(ctx, q, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := &bluehelm.IncidentSummaryPage{Summaries: make([]*bluehelm.IncidentSummary, 0, min(s.limit, 1024))}
	var last incCursor
	for rows.Next() {
		var (
			sum        bluehelm.IncidentSummary
			class      int16
			releasable []string
			casualties []int32
		)
		if err := rows.Scan(&sum.ID, &sum.Version, &sum.OccurredStart, &sum.Location.Lon, &sum.Location.Lat, &sum.Title,
			&sum.Category, &sum.Status, &class, &sum.Component, &releasable, &sum.Admin1, &casualties); err != nil {
			return nil, dbErr(err)
		}
		if len(out.Summaries) == s.limit {
			out.NextCursor = last.encode()
			break
		}
		sum.OccurredStart = sum.OccurredStart.UTC()
		sum.Classification = bluehelm.Classification(class)
		sum.Releasability = incComponents(releasable)
		if sum.Casualties, err = casualtiesFromCounts(casualties); err != nil {
			return nil, fmt.Errorf("postgres: incident %d: %w", sum.ID, err)
		}
		out.Summaries = append(out.Summaries, &sum)
		last = incCursor{sum.OccurredStart.UnixMicro(), sum.ID}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	return out, nil
}
