package marti

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/internal/httpstatus"
)

// problem is an RFC 9457 problem details object, the same shape the main API
// writes. TAK clients only look at the status code of a failed call; the body is
// for the person reading the client's log or running curl.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
}

// methodNotAllowed is the one error without a domain code.
type methodNotAllowed struct{ allow string }

func (e *methodNotAllowed) Error() string { return "method not allowed; allowed: " + e.allow }

// writeError writes err as application/problem+json. Internal errors are logged
// and their text kept out of the response (it may name files or SQL).
func (c *core) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p problem
	var mna *methodNotAllowed
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mna):
		w.Header().Set("Allow", mna.allow)
		p = problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Detail: err.Error()}
	case errors.As(err, &mbe):
		p = problem{Status: http.StatusRequestEntityTooLarge, Code: bluehelm.ETOOLARGE,
			Detail: "request body larger than " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	default:
		code := bluehelm.ErrorCode(err)
		p = problem{Status: httpstatus.Of(code), Code: code, Detail: bluehelm.ErrorMessage(err), Field: bluehelm.ErrorField(err)}
	}
	p.Type = "urn:bluehelm:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	switch {
	case p.Status >= 500:
		c.log.Error("marti request failed", "listener", c.listener, "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", err)
		p.Detail, p.Field = "internal error; the server log has the details", ""
	case p.Status == http.StatusUnauthorized && c.challenge != "":
		// RFC 9110 requires a challenge with every 401.
		w.Header().Set("WWW-Authenticate", c.challenge)
	}
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	b, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Del("Content-Disposition")
	w.WriteHeader(p.Status)
	w.Write(b)
}

func notFound(format string, args ...any) error {
	return bluehelm.Errorf(bluehelm.ENOTFOUND, format, args...)
}

func invalid(field, format string, args ...any) error {
	return bluehelm.Invalid(field, format, args...)
}

// writeJSON writes v with Content-Type exactly "application/json": CloudTAK
// compares the header literally, so no charset parameter.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

func writeText(w http.ResponseWriter, contentType, s string) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(s)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(s))
	return nil
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
