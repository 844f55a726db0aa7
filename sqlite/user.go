package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

// Users, tokens and sessions are plain columns, not documents: the password
// hash is deliberately not part of User's JSON, and these rows are looked up by
// unique keys (username, token hash, session hash) on every request.

const userCols = `id, username, name, role, component, clearance, disabled, created_at, password_hash, language`

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner) (*bluehelm.User, error) {
	var (
		u       bluehelm.User
		created sql.NullInt64
	)
	if err := s.Scan(&u.ID, &u.Username, &u.Name, &u.Role, &u.Component, &u.Clearance, &u.Disabled, &created, &u.PasswordHash, &u.Language); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// CreateUser stores u and sets u.ID. A taken username is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *bluehelm.User, e bluehelm.AuditEntry) error {
	var id int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (username, name, role, component, clearance, disabled, created_at, password_hash, language)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			u.Username, u.Name, string(u.Role), string(u.Component), int(u.Clearance), u.Disabled, micros(u.CreatedAt), u.PasswordHash, u.Language).Scan(&id)
		if err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "user/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Username, err)
	}
	u.ID = id
	return nil
}

// UpdateUser replaces every field of user u.ID (last write wins: users carry no
// version, and administrators rarely edit the same account at once).
func (db *DB) UpdateUser(ctx context.Context, u *bluehelm.User, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET username = ?, name = ?, role = ?, component = ?, clearance = ?, disabled = ?, created_at = ?, password_hash = ?, language = ?
			WHERE id = ?`,
			u.Username, u.Name, string(u.Role), string(u.Component), int(u.Clearance), u.Disabled, micros(u.CreatedAt), u.PasswordHash, u.Language, u.ID)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return notFound("user", u.ID)
		}
		return appendAudit(ctx, tx, e, "user/"+strconv.FormatInt(u.ID, 10))
	})
	if err != nil {
		return fmt.Errorf("update user %d: %w", u.ID, err)
	}
	return nil
}

// SetUserLanguage changes one column, not the row: a preference saved from a
// page loaded before an administrator lowered the user's clearance must not
// write the old clearance back.
func (db *DB) SetUserLanguage(ctx context.Context, id int64, lang string, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET language = ? WHERE id = ?`, lang, id)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return notFound("user", id)
		}
		return appendAudit(ctx, tx, e, "user/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("set language of user %d: %w", id, err)
	}
	return nil
}

func (db *DB) queryUser(ctx context.Context, where string, arg any) (*bluehelm.User, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	u, err := scanUser(r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", arg)
	}
	return u, dbErr(err)
}

// User returns a user by id.
func (db *DB) User(ctx context.Context, id int64) (*bluehelm.User, error) {
	return db.queryUser(ctx, "id = ?", id)
}

// UserByUsername returns a user by username.
func (db *DB) UserByUsername(ctx context.Context, username string) (*bluehelm.User, error) {
	return db.queryUser(ctx, "username = ?", username)
}

// Users returns every user ordered by username.
func (db *DB) Users(ctx context.Context) ([]*bluehelm.User, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, `SELECT `+userCols+` FROM users ORDER BY username`, nil, scanUser)
}

const tokenCols = `id, user_id, name, hash, created_at, expires_at, revoked`

func scanToken(s scanner) (*bluehelm.Token, error) {
	var (
		t                bluehelm.Token
		created, expires sql.NullInt64
	)
	if err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &expires, &t.Revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromMicros(created), fromMicrosPtr(expires)
	return &t, nil
}

// CreateToken stores t and sets t.ID. The user must exist (EINVALID otherwise);
// a hash already stored is ECONFLICT.
func (db *DB) CreateToken(ctx context.Context, t *bluehelm.Token, e bluehelm.AuditEntry) error {
	var id int64
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO tokens (user_id, name, hash, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			t.UserID, t.Name, t.Hash, micros(t.CreatedAt), microsPtr(t.ExpiresAt), t.Revoked).Scan(&id)
		if err != nil {
			return dbErr(err)
		}
		return appendAudit(ctx, tx, e, "token/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.ID = id
	return nil
}

// TokenByHash returns a token by the hash of its secret, revoked or expired
// ones included: the caller decides, and can say why it refuses.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*bluehelm.Token, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	t, err := scanToken(r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is a credential: never echo it.
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "token not found")
	}
	return t, dbErr(err)
}

// RevokeToken marks a token revoked. Revoking a revoked token succeeds (and is
// audited again): the outcome the caller wants holds.
func (db *DB) RevokeToken(ctx context.Context, id int64, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return notFound("token", id)
		}
		return appendAudit(ctx, tx, e, "token/"+strconv.FormatInt(id, 10))
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// Tokens returns a user's tokens ordered by id.
func (db *DB) Tokens(ctx context.Context, userID int64) ([]*bluehelm.Token, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, `SELECT `+tokenCols+` FROM tokens WHERE user_id = ? ORDER BY id`, []any{userID}, scanToken)
}

// CreateSession stores a browser session. Sessions are not audited (the
// contract passes no entry): sign-ins are audited by the caller.
func (db *DB) CreateSession(ctx context.Context, s *bluehelm.Session) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			s.Hash, s.UserID, s.CSRF, micros(s.CreatedAt), micros(s.ExpiresAt))
		return dbErr(err)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns a session, expired or not (the caller checks ExpiresAt).
func (db *DB) SessionByHash(ctx context.Context, hash string) (*bluehelm.Session, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	s, err := scanSession(r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, dbErr(err)
	}
	return s, nil
}

const sessionCols = `hash, user_id, csrf, created_at, expires_at`

func scanSession(sc scanner) (*bluehelm.Session, error) {
	var (
		s                bluehelm.Session
		created, expires sql.NullInt64
	)
	if err := sc.Scan(&s.Hash, &s.UserID, &s.CSRF, &created, &expires); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &s, nil
}

// DeleteSession deletes a session; ENOTFOUND if there is none.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	err := db.writeTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
		if err != nil {
			return dbErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return dbErr(err)
		} else if n == 0 {
			return bluehelm.Errorf(bluehelm.ENOTFOUND, "session not found")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
