package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/sqlite"
)

// runMigrate moves a node's SQLite store to PostgreSQL: a team site grown into a
// sector or mission HQ, or a camp's records handed to HQ's database when the
// camp closes.
//
//	bluehelm migrate [sqlite→postgres] --data DIR --to postgres://…
//
// The copy is one PostgreSQL transaction into an empty database: it keeps
// every id, version, revision, position, reading and the audit chain, and
// either lands whole or not at all. Stop the node first: what it writes during
// the copy is not in it (the copy reads one snapshot).
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "sqlite→postgres", "sqlite-to-postgres", "sqlite2postgres":
			args = args[1:]
		default:
			fmt.Fprintf(stderr, "bluehelm migrate: %q: the one migration is sqlite→postgres\n", args[0])
			return errUsage
		}
	}
	fs := newFlagSet("migrate", stderr)
	data := fs.String("data", env("data", "./bluehelm-data"), "data directory holding the SQLite store to copy [BLUEHELM_DATA]")
	to := fs.String("to", env("migrate-to", ""), "the PostgreSQL database to copy into, empty: postgres://user:pass@host/db [BLUEHELM_MIGRATE_TO]")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "bluehelm migrate: --to postgres://… is required (and nothing else after the flags)")
		return errUsage
	}
	if !strings.HasPrefix(*to, "postgres://") && !strings.HasPrefix(*to, "postgresql://") {
		return fmt.Errorf("--to %s: give a postgres:// URL", redactURL(*to))
	}
	path := filepath.Join(*data, "bluehelm.db")
	if _, err := os.Stat(path); err != nil {
		// Opening would create an empty store, and copy nothing "successfully".
		return fmt.Errorf("--data %s: no SQLite store there (%w)", *data, err)
	}
	src, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openStore(storeFlags{db: *to})
	if err != nil {
		return err
	}
	defer dst.Close()
	pg, ok := dst.(*postgres.DB)
	if !ok {
		return errors.New("--to: not a PostgreSQL store")
	}
	start := time.Now()
	stats, err := pg.Import(ctx, src)
	if err != nil {
		return err
	}
	// The copied chain must verify where it landed, or the copy is not the record.
	n, err := pg.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("the copy's audit chain does not verify after %d entries: %w", n, err)
	}
	kinds := make([]string, 0, len(stats))
	for k := range stats {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintf(stdout, "copied %s to %s in %s:\n", path, redactURL(*to), time.Since(start).Round(time.Millisecond))
	for _, k := range kinds {
		fmt.Fprintf(stdout, "  %-20s %d\n", k, stats[k])
	}
	fmt.Fprintf(stdout, "audit chain verified at the destination: %d entries\n", n)
	return nil
}
