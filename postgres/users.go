package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// Users, tokens and sessions are plain columns, not documents: the password
// hash is deliberately not part of User's JSON, and these rows are looked up by
// unique keys (username, token hash, session hash) on every request.

// timeOf reads a nullable timestamptz: NULL is the zero time.
func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// timePtrOf reads a nullable timestamptz into an optional time.
func timePtrOf(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// nullTimePtr is nil for a missing time.
func nullTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nullTime(*t)
}

// rowsAffected turns "no row matched" into err.
func rowsAffected(n int64, err error) error {
	if n == 0 {
		return err
	}
	return nil
}

const userCols = `id, username, name, role, component, clearance, disabled, created_at, password_hash, language`

func scanUser(row pgx.Row) (*bluehelm.User, error) {
	var (
		u       bluehelm.User
		created *time.Time
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Role, &u.Component, &u.Clearance, &u.Disabled, &created, &u.PasswordHash, &u.Language); err != nil {
		return nil, err
	}
	u.CreatedAt = timeOf(created)
	return &u, nil
}

// CreateUser stores u and sets u.ID. A taken username is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *bluehelm.User, e bluehelm.AuditEntry) error {
	var id int64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (username, name, role, component, clearance, disabled, created_at, password_hash, language)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			u.Username, u.Name, string(u.Role), string(u.Component), int(u.Clearance), u.Disabled, nullTime(u.CreatedAt), u.PasswordHash, u.Language).Scan(&id)
		if err != nil {
			return err
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
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET username = $1, name = $2, role = $3, component = $4, clearance = $5, disabled = $6,
				created_at = $7, password_hash = $8, language = $9
			WHERE id = $10`,
			u.Username, u.Name, string(u.Role), string(u.Component), int(u.Clearance), u.Disabled, nullTime(u.CreatedAt), u.PasswordHash, u.Language, u.ID)
		if err != nil {
			return err
		}
		if err := rowsAffected(tag.RowsAffected(), notFound("user", u.ID)); err != nil {
			return err
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
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET language = $1 WHERE id = $2`, lang, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(tag.RowsAffected(), notFound("user", id)); err != nil {
			return err
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
	u, err := scanUser(r.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("user", arg)
	}
	return u, dbErr(err)
}

// User returns a user by id.
func (db *DB) User(ctx context.Context, id int64) (*bluehelm.User, error) {
	return db.queryUser(ctx, "id = $1", id)
}

// UserByUsername returns a user by username.
func (db *DB) UserByUsername(ctx context.Context, username string) (*bluehelm.User, error) {
	return db.queryUser(ctx, "username = $1", username)
}

// Users returns every user ordered by username. The order is byte order
// (COLLATE "C"), as in the SQLite store, whatever the database's collation.
func (db *DB) Users(ctx context.Context) ([]*bluehelm.User, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return collect(ctx, r, `SELECT `+userCols+` FROM users ORDER BY username COLLATE "C"`, nil, scanUser)
}

// collect runs a query and scans every row with scan: the one loop behind
// every "list these records" read that is not a docTable.
func collect[T any](ctx context.Context, r q, query string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := r.Query(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(err)
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err())
}

const tokenCols = `id, user_id, name, hash, created_at, expires_at, revoked`

func scanToken(row pgx.Row) (*bluehelm.Token, error) {
	var (
		t                bluehelm.Token
		created, expires *time.Time
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &expires, &t.Revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = timeOf(created), timePtrOf(expires)
	return &t, nil
}

// CreateToken stores t and sets t.ID. The user must exist (EINVALID otherwise);
// a hash already stored is ECONFLICT.
func (db *DB) CreateToken(ctx context.Context, t *bluehelm.Token, e bluehelm.AuditEntry) error {
	var id int64
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO tokens (user_id, name, hash, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.UserID, t.Name, t.Hash, nullTime(t.CreatedAt), nullTimePtr(t.ExpiresAt), t.Revoked).Scan(&id)
		if err != nil {
			return err
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
	t, err := scanToken(r.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is a credential: never echo it.
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "token not found")
	}
	return t, dbErr(err)
}

// RevokeToken marks a token revoked. Revoking a revoked token succeeds (and is
// audited again): the outcome the caller wants holds.
func (db *DB) RevokeToken(ctx context.Context, id int64, e bluehelm.AuditEntry) error {
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tokens SET revoked = true WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if err := rowsAffected(tag.RowsAffected(), notFound("token", id)); err != nil {
			return err
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
	return collect(ctx, r, `SELECT `+tokenCols+` FROM tokens WHERE user_id = $1 ORDER BY id`, []any{userID}, scanToken)
}

// CreateSession stores a browser session. Sessions are not audited (the
// contract passes no entry): sign-ins are audited by the caller.
func (db *DB) CreateSession(ctx context.Context, s *bluehelm.Session) error {
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			s.Hash, s.UserID, s.CSRF, nullTime(s.CreatedAt), nullTime(s.ExpiresAt))
		return err
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
	var (
		s                bluehelm.Session
		created, expires *time.Time
	)
	err = r.QueryRow(ctx, `SELECT hash, user_id, csrf, created_at, expires_at FROM sessions WHERE hash = $1`, hash).
		Scan(&s.Hash, &s.UserID, &s.CSRF, &created, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, dbErr(err)
	}
	s.CreatedAt, s.ExpiresAt = timeOf(created), timeOf(expires)
	return &s, nil
}

// DeleteSession deletes a session; ENOTFOUND if there is none.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
		if err != nil {
			return err
		}
		return rowsAffected(tag.RowsAffected(), bluehelm.Errorf(bluehelm.ENOTFOUND, "session not found"))
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
