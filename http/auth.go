package http

import (
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"golang.org/x/time/rate"
)

// sessionCookie holds the browser session secret. The cookie is HttpOnly so that
// script cannot read it; the page proves it is ours with the CSRF token instead.
const sessionCookie = "bluehelm_session"

type identityKey struct{}

// identity is how a request was authenticated.
type identity struct {
	principal bluehelm.Principal
	user      *bluehelm.User
	session   *bluehelm.Session // nil for bearer tokens
	secret    string            // the session cookie value, to end the session
}

// authenticate establishes who is calling: a bearer token in the Authorization
// header, else the session cookie, else (WebSocket only) ?access_token=.
// A bad Authorization header is an error even when a good cookie is present: a
// client that sent a token meant to use it.
func (s *Server) authenticate(r *http.Request, queryToken bool) (*identity, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "the Authorization header must be \"Bearer <token>\"")
		}
		return s.tokenIdentity(r, strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		sess, u, err := s.cfg.Auth.SessionUser(r.Context(), c.Value)
		if err != nil {
			return nil, err
		}
		return &identity{principal: u.Principal(), user: u, session: sess, secret: c.Value}, nil
	}
	if queryToken {
		if tok := r.URL.Query().Get("access_token"); tok != "" {
			return s.tokenIdentity(r, tok)
		}
	}
	return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "sign in (POST /api/v1/login) or send an API token as \"Authorization: Bearer <token>\"")
}

func (s *Server) tokenIdentity(r *http.Request, tok string) (*identity, error) {
	u, err := s.cfg.Auth.TokenUser(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	return &identity{principal: u.Principal(), user: u}, nil
}

// checkCSRF protects cookie-authenticated changes from cross-site requests. The
// session cookie is SameSite=Strict already; the token is the second lock for
// browsers or setups where SameSite does not hold (same-site subdomains, old
// browsers). Bearer requests need none: a browser never attaches a token by itself.
func checkCSRF(r *http.Request, id *identity) error {
	if id.session == nil {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(id.session.CSRF)) != 1 {
		return &bluehelm.Error{Code: bluehelm.EFORBIDDEN, Field: "X-CSRF-Token",
			Message: "missing or wrong X-CSRF-Token header: send the csrf_token from login or GET /api/v1/me"}
	}
	return nil
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// meResponse is the signed-in user. CSRFToken is present for cookie sessions, so a
// reloaded page (which lost the token it got at login) can fetch it again.
type meResponse struct {
	User      *bluehelm.User `json:"user"`
	CSRFToken string         `json:"csrf_token,omitempty"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
	Can       []string       `json:"can"`
}

func newMe(u *bluehelm.User, sess *bluehelm.Session) meResponse {
	m := meResponse{User: utcUser(u), Can: permissionsOf(u.Principal())}
	if sess != nil {
		exp := sess.ExpiresAt.UTC()
		m.CSRFToken, m.ExpiresAt = sess.CSRF, &exp
	}
	return m
}

// permissionsOf lists the actions p may take, so the web app can hide buttons that
// would only earn a 403 (the server checks again on every request).
func permissionsOf(p bluehelm.Principal) []string {
	out := []string{}
	for _, a := range bluehelm.Actions {
		if p.Can(a) {
			out = append(out, string(a))
		}
	}
	return out
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	username := strings.ToLower(strings.TrimSpace(req.Username))
	if username == "" {
		return invalid("username", "is required")
	}
	if req.Password == "" {
		return invalid("password", "is required")
	}
	ip := clientKey(r)
	// Limit before checking the password: the check is deliberately expensive, and
	// a limit applied after it would still let a flood burn the CPU.
	if wait, ok := s.logins.allow(s.now(), "ip:"+ip, "user:"+username); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.metrics.loginsLimited.Inc()
		return bluehelm.Errorf(bluehelm.ERATELIMIT, "too many sign-in attempts; try again in %d seconds", int(math.Ceil(wait.Seconds())))
	}
	u, err := s.cfg.Auth.Authenticate(r.Context(), username, req.Password)
	if err != nil {
		if bluehelm.ErrorCode(err) == bluehelm.EUNAUTHENTICATED {
			// The password is never recorded, not even a wrong one: it is often the
			// right password of another account, or this one with a typo.
			e := bluehelm.NewAudit(bluehelm.Principal{Username: "anonymous"}, "login.failed", "user/"+username,
				map[string]string{"username": username, "client": ip})
			e.At = s.now()
			if aerr := s.cfg.Store.AppendAudit(r.Context(), e); aerr != nil {
				s.log.Error("auditing a failed login", "err", aerr)
			}
		}
		return err
	}
	secret, sess, err := s.cfg.Auth.NewSession(r.Context(), u)
	if err != nil {
		return err
	}
	e := bluehelm.NewAudit(u.Principal(), "login", "user/"+strconv.FormatInt(u.ID, 10), map[string]string{"client": ip})
	e.At = s.now()
	if err := s.cfg.Store.AppendAudit(r.Context(), e); err != nil {
		s.log.Error("auditing a login", "err", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return writeJSON(w, http.StatusOK, newMe(u, sess))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	if id.session != nil {
		if err := s.cfg.Auth.EndSession(r.Context(), id.secret); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	return writeJSON(w, http.StatusOK, newMe(id.user, id.session))
}

// clientKey is the rate-limit key of the client's address. IPv6 clients are keyed
// by their /64, which one host usually owns whole: keying by address would let it
// rotate through 2^64 of them. X-Forwarded-For is not trusted: bluehelm is served
// directly, and a proxy in front would need its own limits anyway.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// loginLimiter holds one token bucket per key (client address, username).
type loginLimiter struct {
	mu     sync.Mutex
	limit  rate.Limit
	burst  int
	m      map[string]*limiterEntry
	pruned time.Time
}

type limiterEntry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLoginLimiter(limit rate.Limit, burst int) *loginLimiter {
	return &loginLimiter{limit: limit, burst: burst, m: map[string]*limiterEntry{}}
}

// allow takes one token from each key's bucket, or none if any bucket is empty, and
// then says how long until all of them have one.
func (l *loginLimiter) allow(now time.Time, keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	var wait time.Duration
	rs := make([]*rate.Reservation, 0, len(keys))
	for _, k := range keys {
		e := l.m[k]
		if e == nil {
			e = &limiterEntry{l: rate.NewLimiter(l.limit, l.burst)}
			l.m[k] = e
		}
		e.seen = now
		r := e.l.ReserveN(now, 1)
		rs = append(rs, r)
		wait = max(wait, r.DelayFrom(now))
	}
	if wait > 0 {
		for _, r := range rs {
			r.CancelAt(now)
		}
		return wait, false
	}
	return 0, true
}

// pruneLocked forgets buckets that have refilled: they behave exactly like new ones,
// so dropping them bounds memory under a spray of usernames or addresses.
func (l *loginLimiter) pruneLocked(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
	if now.Sub(l.pruned) < full || len(l.m) < 1024 {
		return
	}
	l.pruned = now
	for k, e := range l.m {
		if now.Sub(e.seen) > full {
			delete(l.m, k)
		}
	}
}
