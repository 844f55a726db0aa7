package cot

import "errors"

// DecodeError is a refused event or frame. Reason is a short label fit for a metric
// ("malformed", "too_large", "too_deep", "bad_point", "bad_time", "missing_field",
// "bad_frame", "varint_overflow", "truncated"); Msg says what exactly was wrong.
type DecodeError struct {
	Reason string
	Msg    string
}

func (e *DecodeError) Error() string { return "cot: " + e.Reason + ": " + e.Msg }

// Reason returns the DecodeError label of err, or "other".
func Reason(err error) string {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason
	}
	return "other"
}

func errf(reason, msg string) *DecodeError { return &DecodeError{Reason: reason, Msg: msg} }

func errMalformed(msg string) error { return errf("malformed", msg) }

var (
	errTooLarge = errf("too_large", "event larger than the limit")
	errTooDeep  = errf("too_deep", "elements nested deeper than the limit")
)
