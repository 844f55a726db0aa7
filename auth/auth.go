// Package auth manages who someone is: passwords (argon2id), API tokens and browser
// sessions, and the user accounts they belong to. What a person may see or do is the
// domain's business (bluehelm.Principal); this package only establishes identity.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes), which keeps
// a login under ~50 ms on a 2-core laptop while making offline guessing expensive.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns an encoded argon2id hash of pw with a random salt.
func HashPassword(pw string) (string, error) {
	if err := CheckPasswordPolicy(pw); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("argon2id$%d$%d$%d$%s$%s", argonTime, argonMemory, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPasswordPolicy refuses passwords that are too short to resist guessing.
// Length beats composition rules (NIST SP 800-63B).
func CheckPasswordPolicy(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < 10 {
		return bluehelm.Invalid("password", "must be at least 10 characters")
	}
	if n > 256 {
		return bluehelm.Invalid("password", "longer than 256 characters")
	}
	return nil
}

// VerifyPassword reports whether pw matches the encoded hash, in constant time.
func VerifyPassword(encoded, pw string) bool {
	var t, m uint32
	var th uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[1]+" "+parts[2]+" "+parts[3], "%d %d %d", &t, &m, &th); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || t == 0 || t > 10 || m > 1<<20 || th == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, th, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against when a username does not exist, so that a login for
// an unknown user takes as long as one with a wrong password.
var dummyHash = func() string {
	h, _ := HashPassword("not-a-real-password-0")
	return h
}()

// NewSecret returns a random token with a readable prefix ("bh_" for API tokens,
// "bhs_" for sessions), so leaked secrets are recognisable by scanners.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how tokens and sessions are stored: a fast hash is right here because
// the secret itself has 256 random bits.
func HashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Store is what auth needs from storage.
type Store interface {
	bluehelm.UserStore
}

// Service manages accounts, tokens and sessions.
type Service struct {
	Store      Store
	Now        func() time.Time
	SessionTTL time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// CreateUser creates an account with a password. Only administrators (or the local
// system) may.
func (s *Service) CreateUser(ctx context.Context, by bluehelm.Principal, u *bluehelm.User, password string) error {
	if err := by.Require(bluehelm.ActManageUsers); err != nil {
		return err
	}
	u.CreatedAt = s.now()
	if err := u.Validate(); err != nil {
		return err
	}
	h, err := HashPassword(password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	return s.Store.CreateUser(ctx, u, audit(by, s.now(), "user.create", "", map[string]any{
		"username": u.Username, "role": u.Role, "component": u.Component, "clearance": u.Clearance}))
}

// UpdateUser changes role, component, clearance, name or disabled; and the password
// when password is not empty.
func (s *Service) UpdateUser(ctx context.Context, by bluehelm.Principal, u *bluehelm.User, password string) error {
	if err := by.Require(bluehelm.ActManageUsers); err != nil {
		return err
	}
	cur, err := s.Store.User(ctx, u.ID)
	if err != nil {
		return err
	}
	u.Username, u.CreatedAt, u.PasswordHash = cur.Username, cur.CreatedAt, cur.PasswordHash
	if err := u.Validate(); err != nil {
		return err
	}
	if password != "" {
		if u.PasswordHash, err = HashPassword(password); err != nil {
			return err
		}
	}
	return s.Store.UpdateUser(ctx, u, audit(by, s.now(), "user.update", fmt.Sprintf("user/%d", u.ID), map[string]any{
		"role": u.Role, "component": u.Component, "clearance": u.Clearance, "disabled": u.Disabled, "password_changed": password != ""}))
}

// SetLanguage records the interface language a user chose for themselves ("" to
// forget it) and returns the user as now stored. Anyone signed in may: it is
// their own preference, and it changes nothing they may see or do.
func (s *Service) SetLanguage(ctx context.Context, by bluehelm.Principal, lang string) (*bluehelm.User, error) {
	if by.System || by.UserID == 0 {
		return nil, bluehelm.Errorf(bluehelm.EFORBIDDEN, "only a signed-in user has a language preference")
	}
	if !bluehelm.ValidLanguage(lang) {
		return nil, bluehelm.Invalid("language", "unknown language %q (want en, fr or ar; \"\" for none)", lang)
	}
	if err := s.Store.SetUserLanguage(ctx, by.UserID, lang, audit(by, s.now(), "user.preferences",
		fmt.Sprintf("user/%d", by.UserID), map[string]any{"language": lang})); err != nil {
		return nil, err
	}
	return s.Store.User(ctx, by.UserID)
}

// Authenticate checks a username and password. Every failure is the same
// EUNAUTHENTICATED error, so a caller cannot tell unknown users from wrong passwords.
func (s *Service) Authenticate(ctx context.Context, username, password string) (*bluehelm.User, error) {
	fail := bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "wrong username or password")
	u, err := s.Store.UserByUsername(ctx, strings.ToLower(strings.TrimSpace(username)))
	if err != nil {
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			VerifyPassword(dummyHash, password)
			return nil, fail
		}
		return nil, err
	}
	if !VerifyPassword(u.PasswordHash, password) || u.Disabled {
		return nil, fail
	}
	return u, nil
}

// IssueToken creates an API token for user userID and returns its secret, which is
// shown once and never stored.
func (s *Service) IssueToken(ctx context.Context, by bluehelm.Principal, userID int64, name string, ttl time.Duration) (string, *bluehelm.Token, error) {
	if err := by.RequireTokenOwner(userID); err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(name) == "" || len(name) > 100 {
		return "", nil, bluehelm.Invalid("name", "a token needs a name of 1-100 characters (what uses it)")
	}
	u, err := s.Store.User(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	secret := NewSecret("bh_")
	t := &bluehelm.Token{UserID: u.ID, Name: name, Hash: HashSecret(secret), CreatedAt: s.now()}
	if ttl > 0 {
		exp := t.CreatedAt.Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.Store.CreateToken(ctx, t, audit(by, s.now(), "token.create", fmt.Sprintf("user/%d", u.ID), map[string]any{"name": name})); err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// RevokeToken revokes token id. Users revoke their own tokens; administrators
// anyone's. A token the caller may not revoke is reported as not found, so token
// ids of other users cannot be probed.
func (s *Service) RevokeToken(ctx context.Context, by bluehelm.Principal, id int64) error {
	if !by.Can(bluehelm.ActManageUsers) {
		toks, err := s.Store.Tokens(ctx, by.UserID)
		if err != nil {
			return err
		}
		own := false
		for _, t := range toks {
			own = own || t.ID == id
		}
		if !own {
			return bluehelm.Errorf(bluehelm.ENOTFOUND, "token %d not found", id)
		}
	}
	return s.Store.RevokeToken(ctx, id, audit(by, s.now(), "token.revoke", fmt.Sprintf("token/%d", id), nil))
}

// TokenUser returns the enabled user owning an unexpired, unrevoked token secret.
func (s *Service) TokenUser(ctx context.Context, secret string) (*bluehelm.User, error) {
	fail := bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "invalid or expired token")
	t, err := s.Store.TokenByHash(ctx, HashSecret(secret))
	if err != nil {
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return nil, fail
		}
		return nil, err
	}
	if t.Revoked || (t.ExpiresAt != nil && s.now().After(*t.ExpiresAt)) {
		return nil, fail
	}
	return s.enabledUser(ctx, t.UserID, fail)
}

// NewSession signs u in and returns the cookie secret and the session (with its CSRF
// token for the page to echo in a header).
func (s *Service) NewSession(ctx context.Context, u *bluehelm.User) (string, *bluehelm.Session, error) {
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour // one JOC shift
	}
	secret := NewSecret("bhs_")
	now := s.now()
	sess := &bluehelm.Session{Hash: HashSecret(secret), UserID: u.ID, CSRF: NewSecret(""), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.Store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// SessionUser returns the session and its enabled user for a cookie secret.
func (s *Service) SessionUser(ctx context.Context, secret string) (*bluehelm.Session, *bluehelm.User, error) {
	fail := bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "session expired: sign in again")
	sess, err := s.Store.SessionByHash(ctx, HashSecret(secret))
	if err != nil {
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return nil, nil, fail
		}
		return nil, nil, err
	}
	if s.now().After(sess.ExpiresAt) {
		_ = s.Store.DeleteSession(ctx, sess.Hash)
		return nil, nil, fail
	}
	u, err := s.enabledUser(ctx, sess.UserID, fail)
	if err != nil {
		return nil, nil, err
	}
	return sess, u, nil
}

// EndSession signs out.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	return s.Store.DeleteSession(ctx, HashSecret(secret))
}

func (s *Service) enabledUser(ctx context.Context, id int64, fail error) (*bluehelm.User, error) {
	u, err := s.Store.User(ctx, id)
	if err != nil {
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return nil, fail
		}
		return nil, err
	}
	if u.Disabled {
		return nil, fail
	}
	return u, nil
}

func audit(by bluehelm.Principal, at time.Time, action, object string, detail any) bluehelm.AuditEntry {
	e := bluehelm.NewAudit(by, action, object, detail)
	e.At = at
	return e
}
