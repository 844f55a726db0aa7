package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// login signs in and returns the session cookie and CSRF token.
func (e *testEnv) login(username string) (*http.Cookie, string) {
	e.t.Helper()
	var me meResponse
	r := e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"username": username, "password": testPassword}}, http.StatusOK, &me)
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			return c, me.CSRFToken
		}
	}
	e.t.Fatalf("login set no session cookie: %v", r.Header)
	return nil, ""
}

func TestLoginSessionAndCSRF(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	var me meResponse
	r := e.ok(req{method: "POST", path: "/api/v1/login", body: map[string]string{"username": " Reporter ", "password": testPassword}}, http.StatusOK, &me)
	var cookie *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v", cookie)
	}
	if cookie.Secure {
		t.Error("Secure cookie on plain HTTP: the browser would never send it back")
	}
	if me.User.Username != "reporter" || me.CSRFToken == "" || strings.Contains(string(r.body), "argon2") {
		t.Fatalf("login response %s", r.body)
	}
	cookies := []*http.Cookie{{Name: sessionCookie, Value: cookie.Value}}

	// /me with the cookie gives the CSRF token again (a reloaded page lost it).
	var again meResponse
	e.ok(req{method: "GET", path: "/api/v1/me", cookies: cookies}, http.StatusOK, &again)
	if again.CSRFToken != me.CSRFToken || again.User.ID != me.User.ID {
		t.Fatalf("me %+v", again)
	}

	body := e.incidentBody()
	before := e.counts()
	p := e.problem(req{method: "POST", path: "/api/v1/incidents", body: body, cookies: cookies}, http.StatusForbidden, "X-CSRF-Token")
	if p.Code != bluehelm.EFORBIDDEN {
		t.Errorf("code %q", p.Code)
	}
	e.problem(req{method: "POST", path: "/api/v1/incidents", body: body, cookies: cookies,
		header: map[string]string{"X-CSRF-Token": me.CSRFToken + "x"}}, http.StatusForbidden, "X-CSRF-Token")
	e.sameCounts(before, "requests without CSRF token")
	e.ok(req{method: "POST", path: "/api/v1/incidents", body: body, cookies: cookies,
		header: map[string]string{"X-CSRF-Token": me.CSRFToken}}, http.StatusCreated, nil)

	// Bearer requests need no CSRF token.
	e.ok(req{method: "POST", path: "/api/v1/incidents", body: body, as: "reporter"}, http.StatusCreated, nil)

	// Logout is itself a change: it needs the token too.
	e.problem(req{method: "POST", path: "/api/v1/logout", cookies: cookies}, http.StatusForbidden, "X-CSRF-Token")
	r = e.ok(req{method: "POST", path: "/api/v1/logout", cookies: cookies, header: map[string]string{"X-CSRF-Token": me.CSRFToken}}, http.StatusNoContent, nil)
	if c := r.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout should clear the cookie: %v", c)
	}
	e.problem(req{method: "GET", path: "/api/v1/me", cookies: cookies}, http.StatusUnauthorized, "")
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	cases := []struct {
		name   string
		header map[string]string
		cookie string
	}{
		{"nothing", nil, ""},
		{"unknown token", map[string]string{"Authorization": "Bearer bh_nope"}, ""},
		{"basic auth", map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}, ""},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, ""},
		{"unknown session", nil, "bhs_nope"},
		// A bad token is not rescued by a good cookie: the client meant the token.
		{"bad token with cookie", map[string]string{"Authorization": "Bearer bh_nope"}, "set-below"},
	}
	cookie, _ := e.login("viewer")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq := req{method: "GET", path: "/api/v1/incidents", header: c.header}
			switch c.cookie {
			case "":
			case "set-below":
				rq.cookies = []*http.Cookie{cookie}
			default:
				rq.cookies = []*http.Cookie{{Name: sessionCookie, Value: c.cookie}}
			}
			r := e.do(rq)
			if r.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("status %d, WWW-Authenticate %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Query tokens are for the WebSocket only.
	e.problem(req{method: "GET", path: "/api/v1/incidents?access_token=" + e.tokens["viewer"]}, http.StatusUnauthorized, "")
}

func TestLoginFailuresAreAuditedAndRateLimited(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	before := e.counts()
	wrong := map[string]string{"username": "reporter", "password": "not the password"}
	for i := range 5 {
		p := e.problem(req{method: "POST", path: "/api/v1/login", body: wrong}, http.StatusUnauthorized, "")
		if p.Detail != "wrong username or password" {
			t.Fatalf("attempt %d: %q", i, p.Detail)
		}
	}
	after := e.counts()
	if after.audit != before.audit+5 {
		t.Fatalf("audit grew by %d, want 5", after.audit-before.audit)
	}
	log, err := e.db.AuditLog(e.ctx, int64(before.audit), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range log {
		if a.Action != "login.failed" || strings.Contains(string(a.Detail), "not the password") || !strings.Contains(string(a.Detail), "reporter") {
			t.Fatalf("audit entry %+v %s", a, a.Detail)
		}
	}

	// The sixth attempt in the same minute is refused before the password is
	// checked, even with the right password.
	r := e.do(req{method: "POST", path: "/api/v1/login", body: map[string]string{"username": "reporter", "password": testPassword}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	var p Problem
	json.Unmarshal(r.body, &p)
	if p.Code != bluehelm.ERATELIMIT {
		t.Errorf("code %q", p.Code)
	}
	e.sameCounts(after, "rate-limited login")

	// The per-address limit holds for other usernames too (all from 127.0.0.1).
	e.problem(req{method: "POST", path: "/api/v1/login", body: map[string]string{"username": "viewer", "password": testPassword}}, http.StatusTooManyRequests, "")
}

func TestLoginLimiterPerUsername(t *testing.T) {
	l := newLoginLimiter(1.0/12, 5) // 5 a minute
	now := time.Unix(1e9, 0)
	for i := range 5 {
		if _, ok := l.allow(now, fmt.Sprintf("ip:10.0.0.%d", i), "user:bob"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	wait, ok := l.allow(now, "ip:10.0.0.99", "user:bob")
	if ok || wait <= 0 || wait > 12*time.Second {
		t.Fatalf("6th attempt for bob from a new address: ok=%v wait=%v", ok, wait)
	}
	// A refused attempt takes no token from the other key's bucket.
	for range 5 {
		if _, ok := l.allow(now, "ip:10.0.0.99", "user:carol"); !ok {
			t.Fatal("the refused attempt consumed the address's bucket")
		}
	}
	if _, ok := l.allow(now.Add(12*time.Second), "ip:10.0.0.1", "user:bob"); !ok {
		t.Fatal("bucket did not refill")
	}
}

func TestLoginBadInput(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	cases := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"no username", map[string]string{"password": "x"}, 400, "username"},
		{"no password", map[string]string{"username": "x"}, 400, "password"},
		{"unknown field", map[string]string{"username": "x", "password": "y", "otp": "1"}, 400, "otp"},
		{"unknown user", map[string]string{"username": "mallory", "password": testPassword}, 401, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.problem(req{method: "POST", path: "/api/v1/login", body: c.body}, c.status, c.field)
		})
	}
}

func TestClientKey(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7:5555", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.addr
		if got := clientKey(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.addr, got, c.want)
		}
	}
}

func TestSessionCookieSecureOverTLS(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	ts := httptest.NewTLSServer(e.srv.Handler())
	defer ts.Close()
	res, err := ts.Client().Post(ts.URL+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"viewer","password":"`+testPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cs := res.Cookies()
	if res.StatusCode != http.StatusOK || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly || cs[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("status %d, cookies %+v", res.StatusCode, cs)
	}
}
