// Package bluehelm holds the domain of the mission picture: tracks and positions,
// incidents and their verification workflow, areas, alerts, users, access rules and
// the audit chain. It depends on the standard library and small geometry types only;
// adapters (sqlite, http, live, ingest, …) live in subpackages named after what they adapt.
package bluehelm

import (
	"errors"
	"fmt"
)

// Error codes. Adapters map them to their wire (HTTP status, CLI exit code) in one place.
const (
	EINVALID         = "invalid"         // the input is wrong; Field names what
	ENOTFOUND        = "not_found"       // no such record, or the caller may not see it
	ECONFLICT        = "conflict"        // stale version, duplicate, illegal transition
	EUNAUTHENTICATED = "unauthenticated" // no or bad credentials
	EFORBIDDEN       = "forbidden"       // authenticated but not allowed
	ERATELIMIT       = "rate_limited"    // too many attempts
	ETOOLARGE        = "too_large"       // body or batch over the limit
	EUNAVAILABLE     = "unavailable"     // shutting down, store closed
	EINTERNAL        = "internal"        // a bug or an I/O failure; details are logged, not shown
)

// Error is a domain error: a stable code, an optional field (JSON path such as
// "positions[3].lat") and a message meant for the person who sent the input.
type Error struct {
	Code    string
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("bluehelm: %s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("bluehelm: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of a domain error, or a generic text for
// internal errors so that no I/O detail leaks to a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the field a domain error is about, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// prefixField puts a path in front of a domain error's field: "lat" becomes
// "positions[3].lat". Other errors pass unchanged.
func PrefixField(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	switch {
	case c.Field == "":
		c.Field = prefix
	case c.Field[0] == '[':
		c.Field = prefix + c.Field
	default:
		c.Field = prefix + "." + c.Field
	}
	return &c
}
