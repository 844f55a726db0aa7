package ogcapi

import (
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Query parameters. Each endpoint accepts only those its OpenAPI description
// lists; anything else is a 400, as OGC API – Features Core requires
// (/req/core/query-param-unknown), so that a misspelt filter is not silently
// ignored and a client does not mistake an unfiltered answer for a filtered one.
const (
	paramF        = "f"
	paramBBox     = "bbox"
	paramBBoxCRS  = "bbox-crs"
	paramDatetime = "datetime"
	paramLimit    = "limit"
	paramCursor   = "cursor"
)

// Limits on a page of features. The maximum matches the store's.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// CRS84 is the only coordinate reference system served: WGS 84 longitude, latitude.
const (
	crs84  = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	crs84h = "http://www.opengis.net/def/crs/OGC/0/CRS84h" // with ellipsoidal heights, for 6-number boxes
)

// checkParams answers 400 and returns false when the request has a parameter not in
// allowed, a parameter given twice, or an f other than json.
func (h *handler) checkParams(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.problem(w, r, bluehelm.EINVALID, "", "malformed query string: "+err.Error())
		return false
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names) // the same request always gets the same message
	for _, name := range names {
		if !contains(allowed, name) {
			h.problem(w, r, bluehelm.EINVALID, name, "unknown query parameter "+strconv.Quote(name)+
				" (this endpoint accepts "+strings.Join(allowed, ", ")+")")
			return false
		}
		if len(q[name]) > 1 {
			h.problem(w, r, bluehelm.EINVALID, name, "query parameter "+strconv.Quote(name)+" given more than once")
			return false
		}
	}
	if v, ok := q[paramF]; ok && v[0] != "json" && v[0] != "geojson" {
		h.problem(w, r, bluehelm.EINVALID, paramF, "unsupported format "+strconv.Quote(v[0])+" (only f=json is served)")
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// interval is a closed time interval; a nil end is open.
type interval struct {
	start, end *time.Time
}

// contains reports whether t lies in the interval, ends included.
func (iv *interval) contains(t time.Time) bool {
	if iv == nil {
		return true
	}
	return (iv.start == nil || !t.Before(*iv.start)) && (iv.end == nil || !t.After(*iv.end))
}

// itemsQuery is a parsed /items request.
type itemsQuery struct {
	bbox     *bluehelm.BBox
	interval *interval // nil: no datetime given
	limit    int
	cursor   string
}

// parseItemsQuery reads the items parameters; the error is an EINVALID naming the
// parameter.
func parseItemsQuery(q url.Values) (itemsQuery, error) {
	out := itemsQuery{limit: defaultLimit, cursor: q.Get(paramCursor)}
	var err error
	if q.Has(paramLimit) {
		if out.limit, err = parseLimit(q.Get(paramLimit)); err != nil {
			return out, err
		}
	}
	if q.Has(paramBBoxCRS) {
		if !q.Has(paramBBox) {
			return out, bluehelm.Invalid(paramBBoxCRS, "given without bbox")
		}
		if c := q.Get(paramBBoxCRS); c != crs84 && c != crs84h {
			return out, bluehelm.Invalid(paramBBoxCRS, "unsupported CRS %q (only %s is served)", c, crs84)
		}
	}
	if q.Has(paramBBox) {
		b, err := parseBBox(q.Get(paramBBox))
		if err != nil {
			return out, err
		}
		out.bbox = &b
	}
	if q.Has(paramDatetime) {
		if out.interval, err = parseDatetime(q.Get(paramDatetime)); err != nil {
			return out, err
		}
	}
	if q.Has(paramCursor) && out.cursor == "" {
		return out, bluehelm.Invalid(paramCursor, "is empty; use the next link of the previous page as given")
	}
	return out, nil
}

// parseLimit reads limit: a positive integer. A value above the maximum is not an
// error but is served as the maximum (OGC API – Features /req/core/fc-limit-response-1
// leaves the page size to the server), so a client asking for "everything" with a
// big number still gets pages it can follow.
func parseLimit(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		// A number too big for int is still a number: serve the maximum.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.HasPrefix(strings.TrimSpace(s), "-") {
			return maxLimit, nil
		}
		return 0, bluehelm.Invalid(paramLimit, "%q is not an integer", s)
	}
	if n < 1 {
		return 0, bluehelm.Invalid(paramLimit, "must be at least 1, not %d", n)
	}
	return min(n, maxLimit), nil
}

// parseBBox reads minLon,minLat,maxLon,maxLat or, with heights,
// minLon,minLat,minH,maxLon,maxLat,maxH (heights are ignored: every feature is on
// the ground as far as a 2D box is concerned).
func parseBBox(s string) (bluehelm.BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return bluehelm.BBox{}, bluehelm.Invalid(paramBBox, "want 4 numbers (minLon,minLat,maxLon,maxLat) or 6 with heights, got %d", len(parts))
	}
	v := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bluehelm.BBox{}, bluehelm.Invalid(paramBBox, "%q is not a number", p)
		}
		v[i] = f
	}
	b := bluehelm.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	if len(v) == 6 {
		if v[2] > v[5] {
			return bluehelm.BBox{}, bluehelm.Invalid(paramBBox, "minimum height exceeds maximum height")
		}
		b = bluehelm.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[3], MaxLat: v[4]}
	}
	if b.MinLon > b.MaxLon && b.MinLon <= 180 && b.MaxLon >= -180 {
		// OGC lets a box cross the antimeridian this way; no mission area does,
		// and saying so beats silently answering for the wrong half of the Earth.
		return bluehelm.BBox{}, bluehelm.Invalid(paramBBox, "boxes crossing the antimeridian (minLon > maxLon) are not supported")
	}
	if err := b.Validate(); err != nil {
		return bluehelm.BBox{}, err
	}
	return b, nil
}

// parseDatetime reads an RFC 3339 instant or a closed interval "start/end" whose
// ends may be open (".." or empty).
func parseDatetime(s string) (*interval, error) {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		t, err := parseInstant(parts[0])
		if err != nil {
			return nil, err
		}
		return &interval{start: &t, end: &t}, nil
	case 2:
		var iv interval
		for i, p := range parts {
			if p == ".." || p == "" {
				continue
			}
			t, err := parseInstant(p)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				iv.start = &t
			} else {
				iv.end = &t
			}
		}
		if iv.start != nil && iv.end != nil && iv.start.After(*iv.end) {
			return nil, bluehelm.Invalid(paramDatetime, "the interval ends before it starts")
		}
		return &iv, nil
	}
	return nil, bluehelm.Invalid(paramDatetime, "want an RFC 3339 date-time or an interval start/end (use .. for an open end)")
}

func parseInstant(s string) (time.Time, error) {
	// RFC 3339 allows lower-case t and z; Go's parser wants upper case.
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
	if err != nil {
		return time.Time{}, bluehelm.Invalid(paramDatetime, "%q is not an RFC 3339 date-time such as 2024-05-01T00:00:00Z", s)
	}
	return t.UTC(), nil
}
