// Package httpstatus is the one place where bluehelm error codes become HTTP
// statuses, shared by every HTTP surface (the REST API, the TAK Marti API) so that
// the same error means the same status everywhere.
package httpstatus

import (
	"net/http"

	"github.com/bluehelm/bluehelm"
)

// Of maps a bluehelm error code to an HTTP status.
//
// EINVALID is 400 rather than 422: the distinction (syntax vs. semantics) does not
// help a client decide anything, and the problem's "field" already says what is
// wrong. ENOTFOUND covers records above the caller's clearance too (the domain
// returns it for them), so their existence does not leak through a 403.
func Of(code string) int {
	switch code {
	case bluehelm.EINVALID:
		return http.StatusBadRequest
	case bluehelm.EUNAUTHENTICATED:
		return http.StatusUnauthorized
	case bluehelm.EFORBIDDEN:
		return http.StatusForbidden
	case bluehelm.ENOTFOUND:
		return http.StatusNotFound
	case bluehelm.ECONFLICT:
		return http.StatusConflict
	case bluehelm.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case bluehelm.ERATELIMIT:
		return http.StatusTooManyRequests
	case bluehelm.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
