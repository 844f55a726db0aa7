package http

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/internal/httpstatus"
)

// Problem is an RFC 9457 problem details object. Field and Code are extension
// members: Field names the offending input (a JSON path such as "positions[3].lat",
// a query parameter or a header) so that a client can put the message next to the
// right form input; Code is the stable bluehelm error code for programs.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
}

// Codes that exist only on the HTTP wire: they describe the request's framing
// rather than its meaning, so the domain has no use for them.
const (
	codeUnsupportedMedia = "unsupported_media_type"
	codePrecondition     = "precondition_failed"
	codePreconditionReq  = "precondition_required"
	codeMethod           = "method_not_allowed"
)

// httpError is an error that carries its own HTTP status: the few cases (415, 412,
// 428, 405) that have no domain code. Everything else is a *bluehelm.Error and goes
// through statusOf.
type httpError struct {
	status int
	code   string
	field  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

var titles = map[string]string{
	bluehelm.EINVALID:         "Invalid input",
	bluehelm.EUNAUTHENTICATED: "Authentication required",
	bluehelm.EFORBIDDEN:       "Not allowed",
	bluehelm.ENOTFOUND:        "Not found",
	bluehelm.ECONFLICT:        "Conflict",
	bluehelm.ETOOLARGE:        "Too large",
	bluehelm.ERATELIMIT:       "Too many requests",
	bluehelm.EUNAVAILABLE:     "Unavailable",
	bluehelm.EINTERNAL:        "Internal error",
	codeUnsupportedMedia:      "Unsupported media type",
	codePrecondition:          "Precondition failed",
	codePreconditionReq:       "Precondition required",
	codeMethod:                "Method not allowed",
}

// problemType is the "type" URI of a code. A URN rather than an http URL because
// the binary runs offline and must not point clients at a host it does not serve.
func problemType(code string) string { return "urn:bluehelm:problem:" + code }

// problemOf builds the problem for err. Internal errors keep their detail out of
// the response: it may name files, SQL or hosts. The caller logs it.
func problemOf(r *http.Request, err error) Problem {
	var he *httpError
	if errors.As(err, &he) {
		return Problem{Type: problemType(he.code), Title: titles[he.code], Status: he.status,
			Detail: he.msg, Instance: r.URL.Path, Code: he.code, Field: he.field}
	}
	code := bluehelm.ErrorCode(err)
	p := Problem{Type: problemType(code), Title: titles[code], Status: httpstatus.Of(code),
		Detail: bluehelm.ErrorMessage(err), Instance: r.URL.Path, Code: code, Field: bluehelm.ErrorField(err)}
	if code == bluehelm.EINTERNAL {
		p.Detail, p.Field = "internal error; the server log has the details", ""
	}
	return p
}

// writeProblem writes err as application/problem+json and logs server-side faults.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(r, err)
	switch {
	case p.Status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
	case p.Status == http.StatusUnauthorized:
		// RFC 9110 requires a challenge on every 401.
		w.Header().Set("WWW-Authenticate", `Bearer realm="bluehelm"`)
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeProblemJSON(w, p)
}

func writeProblemJSON(w http.ResponseWriter, p Problem) {
	b, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Del("ETag")
	h.Del("Location")
	w.WriteHeader(p.Status)
	w.Write(b)
}

func invalid(field, format string, args ...any) error {
	return bluehelm.Invalid(field, format, args...)
}
