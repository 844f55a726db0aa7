package http

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return nil
}

// pathID reads a numeric path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(name, "%q is not a record id (a positive integer)", v)
	}
	return id, nil
}

// etag is a record's entity tag: its version. It is a strong tag because If-Match
// compares strongly (RFC 9110 §13.1.1) and a version names exactly one content.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// ifMatch reads the version a client expects from If-Match. Weak tags are accepted
// too (W/"3"): some proxies weaken tags when they compress, and the version still
// says which content the client saw.
func ifMatch(r *http.Request) (version int, present bool, err error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" {
		return 0, false, nil
	}
	t := strings.TrimPrefix(v, "W/")
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		if n, err := strconv.Atoi(t[1 : len(t)-1]); err == nil && n > 0 {
			return n, true, nil
		}
	}
	return 0, true, invalid("If-Match", "must be the ETag of the version you read, such as \"3\" (not %q)", v)
}

// requireIfMatch is ifMatch for changes that must not overwrite someone else's:
// without the header the client would silently win every race (428, RFC 6585).
func requireIfMatch(r *http.Request) (int, error) {
	v, ok, err := ifMatch(r)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, &httpError{status: http.StatusPreconditionRequired, code: codePreconditionReq, field: "If-Match",
			msg: "send If-Match with the ETag of the version you read, so that a concurrent change is not overwritten"}
	}
	return v, nil
}

// stale is the 412 for a write whose If-Match no longer names the stored version.
func stale(kind string, id int64, have, want int) error {
	return &httpError{status: http.StatusPreconditionFailed, code: codePrecondition, field: "If-Match",
		msg: kind + " " + strconv.FormatInt(id, 10) + " is at version " + strconv.Itoa(have) + ", not " + strconv.Itoa(want) + ": reload it and apply your change again"}
}

// query wraps URL parameters so that a handler names the ones it understands and
// anything else ("categroy") is refused instead of silently ignored.
type query struct {
	v    url.Values
	used []string
}

func newQuery(r *http.Request) *query { return &query{v: r.URL.Query()} }

func (q *query) get(name string) string {
	q.used = append(q.used, name)
	return strings.TrimSpace(q.v.Get(name))
}

// list returns a repeatable, comma-separable parameter: a=x&a=y or a=x,y.
func (q *query) list(name string) []string {
	q.used = append(q.used, name)
	var out []string
	for _, v := range q.v[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// done reports the first parameter nobody asked for.
func (q *query) done() error {
	for k := range q.v {
		if !slices.Contains(q.used, k) {
			return invalid(k, "unknown query parameter %q", k)
		}
	}
	return nil
}

func (q *query) time(name string) (time.Time, error) {
	v := q.get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalid(name, "%q is not an RFC 3339 time such as 2026-03-01T14:05:00Z", v)
	}
	return t.UTC(), nil
}

func (q *query) bbox(name string) (*bluehelm.BBox, error) {
	v := q.get(name)
	if v == "" {
		return nil, nil
	}
	b, err := bluehelm.ParseBBox(v)
	if err != nil {
		return nil, bluehelm.PrefixField(name, clearField(err))
	}
	return &b, nil
}

// clearField drops a domain error's field so that the caller's prefix names it.
func clearField(err error) error {
	if e, ok := err.(*bluehelm.Error); ok {
		c := *e
		c.Field = ""
		return &c
	}
	return err
}

func (q *query) int(name string, def, lo, hi int) (int, error) {
	v := q.get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "must be an integer from %d to %d, not %q", lo, hi, v)
	}
	return n, nil
}

// UTC copies: responses carry UTC times whatever clock or client offset produced
// them (RFC 3339 with Z, as DESIGN.md asks).

func utcTime(t time.Time) time.Time { return t.UTC() }

func utcTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func utcIncident(in *bluehelm.Incident) *bluehelm.Incident {
	c := *in
	c.OccurredStart, c.OccurredEnd = utcTime(c.OccurredStart), utcTimePtr(c.OccurredEnd)
	c.ReportedAt, c.UpdatedAt = utcTime(c.ReportedAt), utcTime(c.UpdatedAt)
	return &c
}

func utcArea(in *bluehelm.Area) *bluehelm.Area {
	c := *in
	c.CreatedAt, c.UpdatedAt = utcTime(c.CreatedAt), utcTime(c.UpdatedAt)
	return &c
}

func utcAlert(in *bluehelm.Alert) *bluehelm.Alert {
	c := *in
	c.RaisedAt, c.AckAt, c.ResolvedAt = utcTime(c.RaisedAt), utcTimePtr(c.AckAt), utcTimePtr(c.ResolvedAt)
	return &c
}

func utcUser(in *bluehelm.User) *bluehelm.User {
	c := *in
	c.CreatedAt = utcTime(c.CreatedAt)
	c.PasswordHash = ""
	return &c
}

func utcToken(in *bluehelm.Token) *bluehelm.Token {
	c := *in
	c.CreatedAt, c.ExpiresAt = utcTime(c.CreatedAt), utcTimePtr(c.ExpiresAt)
	return &c
}

func utcState(in bluehelm.TrackState) bluehelm.TrackState {
	in.UpdatedAt, in.Position.Time = utcTime(in.UpdatedAt), utcTime(in.Position.Time)
	return in
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
