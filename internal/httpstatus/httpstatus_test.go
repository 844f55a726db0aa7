package httpstatus

import (
	"net/http"
	"testing"

	"github.com/bluehelm/bluehelm"
)

func TestStatus(t *testing.T) {
	for code, want := range map[string]int{
		bluehelm.EINVALID: 400, bluehelm.EUNAUTHENTICATED: 401, bluehelm.EFORBIDDEN: 403,
		bluehelm.ENOTFOUND: 404, bluehelm.ECONFLICT: 409, bluehelm.ETOOLARGE: 413,
		bluehelm.ERATELIMIT: 429, bluehelm.EUNAVAILABLE: 503, bluehelm.EINTERNAL: 500, "": 500, "unheard-of": 500,
	} {
		if got := Of(code); got != want {
			t.Errorf("Of(%q) = %d (%s), want %d", code, got, http.StatusText(got), want)
		}
	}
}
