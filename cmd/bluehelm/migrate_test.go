package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// schemaURL returns the test database's URL pointed at a fresh schema, as an
// operator's URL names a database of its own; the schema is dropped at the end.
func schemaURL(t *testing.T) string {
	t.Helper()
	base := pgtest.URL(t)
	schema := pgtest.Schema()
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// A team site's data directory moved to PostgreSQL: its users sign in there,
// its audit chain verifies there, and a second run refuses to merge.
func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	cli(t, "user", "create", "--data", dir, "--username", "alice", "--role", "reporter", "--component", "police", "--clearance", "C")
	cli(t, "user", "create", "--data", dir, "--username", "bob", "--role", "viewer", "--component", "civilian", "--clearance", "U")
	to := schemaURL(t)

	out := cli(t, "migrate", "sqlite→postgres", "--data", dir, "--to", to)
	for _, want := range []string{"user", "audit chain verified at the destination"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, out)
		}
	}
	if users := cli(t, "user", "list", "--db", to); !strings.Contains(users, "alice") || !strings.Contains(users, "bob") {
		t.Errorf("users at the destination:\n%s", users)
	}
	cli(t, "audit", "verify", "--db", to)

	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"migrate", "--data", dir, "--to", to}, &stdout, &stderr)
	if err == nil || !strings.Contains(cliMessage(err), "already holds data") {
		t.Errorf("a second migrate into the same database: %v, want a refusal naming the data already there", err)
	}
}

func TestMigrateCommandBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no destination", []string{"migrate", "--data", t.TempDir()}, "usage"},
		{"unknown direction", []string{"migrate", "postgres→sqlite", "--to", "postgres://x/y"}, "usage"},
		{"no store in the data directory", []string{"migrate", "--data", t.TempDir(), "--to", "postgres://127.0.0.1:1/none"}, "no SQLite store there"},
		{"not a postgres URL", []string{"migrate", "--data", t.TempDir(), "--to", "mysql://x/y"}, "give a postgres:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want == "usage" {
				if err != errUsage {
					t.Errorf("got %v, want a usage error", err)
				}
				return
			}
			if tc.want != "" && !strings.Contains(cliMessage(err), tc.want) {
				t.Errorf("got %q, want it to say %q", cliMessage(err), tc.want)
			}
		})
	}
}
