package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema is in schema/NNN_name.sql. All files that share a number form one
// migration, applied in name order in one transaction and recorded in
// schema_migrations; a database newer than this binary is refused. Files of an
// applied migration must never change: add a new number instead.
//
//go:embed schema/*.sql
var schemaFS embed.FS

type migration struct {
	version int
	files   []string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(schemaFS, "schema/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	byVersion := map[int]*migration{}
	var out []*migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "schema/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: schema file %s: name must be NNN_name.sql", base)
		}
		m := byVersion[v]
		if m == nil {
			m = &migration{version: v}
			byVersion[v] = m
			out = append(out, m)
		}
		m.files = append(m.files, n)
	}
	res := make([]migration, len(out))
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: schema migrations must be numbered 1, 2, …; %d is missing", i+1)
		}
		res[i] = *m
	}
	return res, nil
}

// migrate applies the migrations the database lacks. The caller holds the
// setup advisory lock.
func migrate(ctx context.Context, conn *pgx.Conn) error { return migrateTo(ctx, conn, 0) }

// migrateTo is migrate stopping after migration upTo (0: the last).
func migrateTo(ctx context.Context, conn *pgx.Conn, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if upTo > 0 && upTo < len(ms) {
		ms = ms[:upTo]
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	var have int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if have > len(ms) {
		return fmt.Errorf("postgres: the database is at schema version %d, newer than this binary knows (%d): upgrade bluehelm", have, len(ms))
	}
	for _, m := range ms[have:] {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		for _, f := range m.files {
			sql, err := schemaFS.ReadFile(f)
			if err != nil {
				_ = tx.Rollback(ctx)
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				_ = tx.Rollback(ctx)
				return fmt.Errorf("postgres: migrate %s: %w", f, err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("postgres: migrate %d: %w", m.version, err)
		}
	}
	return nil
}
