// Package pgtest gives tests a fresh PostgreSQL store, each in its own schema of
// the database named by BLUEHELM_TEST_POSTGRES (scripts/pg-test-cluster starts
// one). Without it a test skips, except under CI=true, where PostgreSQL is part
// of the machine and its absence fails the test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/bluehelm/bluehelm/postgres"
	"github.com/jackc/pgx/v5"
)

// Env is the variable holding the test database's URL.
const Env = "BLUEHELM_TEST_POSTGRES"

// URL returns the test database's URL, or skips (fails under CI=true).
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must start PostgreSQL (scripts/pg-test-cluster) for the postgres store's tests", Env)
		}
		t.Skipf("%s not set; run: eval \"$(scripts/pg-test-cluster)\"", Env)
	}
	return u
}

// Schema returns a new schema name; NewSchema's stores drop it when the test ends.
func Schema() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "t_" + hex.EncodeToString(b[:])
}

// Open opens a store in a fresh schema, dropped when the test ends (after
// the store is closed, whoever closes it).
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	return OpenSchema(t, Schema())
}

// OpenSchema opens a store in the named schema, creating it; the schema is
// dropped when the test ends. A second OpenSchema of the same name in the same
// test opens the same data (a restart).
func OpenSchema(t testing.TB, schema string) *postgres.DB {
	t.Helper()
	u := URL(t)
	dropAtEnd(t, u, schema)
	db, err := postgres.Open(context.Background(), u, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

var registered = map[string]bool{}

func dropAtEnd(t testing.TB, u, schema string) {
	key := t.Name() + "/" + schema
	if registered[key] {
		return
	}
	registered[key] = true
	t.Cleanup(func() {
		delete(registered, key)
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
}
