package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/storetest"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStore runs the conformance suite on the defaults and on settings that
// force the paths small test data would not reach: box searches on the time
// index, text as a per-row filter, positions read only from the log, and
// positions compacted into segments after every batch.
func TestStore(t *testing.T) {
	for _, v := range []struct {
		name string
		set  func(*options)
	}{
		{"defaults", func(*options) {}},
		{"time plan", func(o *options) { o.rtreeProbeMax = 0 }},
		{"text as filter", func(o *options) { o.textPlan = "filter" }},
		{"text as filter on time", func(o *options) { o.textPlan, o.rtreeProbeMax = "filter", 0 }},
		{"log only", func(o *options) { o.compactRows, o.compactIdle = 1<<30, time.Hour }},
		{"segments", func(o *options) { o.compactRows, o.compactMax = 1, 7 }},
	} {
		t.Run(v.name, func(t *testing.T) {
			o := defaults()
			v.set(&o)
			storetest.Run(t, func(t *testing.T) bluehelm.Store {
				db, err := open(filepath.Join(t.TempDir(), "bluehelm.db"), o)
				if err != nil {
					t.Fatal(err)
				}
				return db
			})
		})
	}
}

var (
	sys = bluehelm.SystemPrincipal("test")
	t0  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

func testIncident(title string, at time.Time, lon, lat float64) *bluehelm.Incident {
	return &bluehelm.Incident{
		Title: title, Category: bluehelm.CatArmedClash, Status: bluehelm.StatusDraft,
		OccurredStart: at, Location: bluehelm.Point{Lon: lon, Lat: lat},
		Marking: bluehelm.Marking{Component: bluehelm.Military}, ReportedBy: "r1",
	}
}

// TestAuditTamper edits the audit table behind the store's back, as someone with
// the database file could, and checks VerifyAudit names the first broken entry.
func TestAuditTamper(t *testing.T) {
	// forge returns an entry chained after the stored entry seq, as an attacker
	// who knows the algorithm would build it.
	forge := func(t *testing.T, db *DB, after int64, seq int64) bluehelm.AuditEntry {
		var prev bluehelm.AuditEntry
		if err := db.w.QueryRow(`SELECT seq, hash FROM audit WHERE seq = ?`, after).Scan(&prev.Seq, &prev.Hash); err != nil {
			t.Fatal(err)
		}
		e := bluehelm.AuditEntry{At: t0, Actor: "mallory", Action: "user.create", Object: "user/666"}
		e.Chain(&prev)
		e.Seq = seq
		e.Hash = e.ComputeHash()
		return e
	}
	insert := func(db *DB, e bluehelm.AuditEntry) error {
		_, err := db.w.Exec(`INSERT INTO audit (seq, at, actor, action, object, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)`,
			e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Object, e.PrevHash, e.Hash)
		return err
	}
	cases := []struct {
		name      string
		tamper    func(t *testing.T, db *DB) error
		wantCount int64  // entries verified before the break
		wantMsg   string // in the error
	}{
		{"edit a field", func(t *testing.T, db *DB) error {
			_, err := db.w.Exec(`UPDATE audit SET actor = 'someone else' WHERE seq = 3`)
			return err
		}, 2, "seq 3: entry was modified"},
		{"edit detail", func(t *testing.T, db *DB) error {
			_, err := db.w.Exec(`UPDATE audit SET detail = '{"n":99}' WHERE seq = 5`)
			return err
		}, 4, "seq 5: entry was modified"},
		{"edit a field and rehash it", func(t *testing.T, db *DB) error {
			e := forge(t, db, 2, 3)
			_, err := db.w.Exec(`UPDATE audit SET actor = ?, action = ?, object = ?, at = ?, detail = NULL, hash = ? WHERE seq = 3`,
				e.Actor, e.Action, e.Object, e.At.UnixMicro(), e.Hash)
			return err
		}, 3, "seq 4: previous hash"},
		{"delete a middle entry", func(t *testing.T, db *DB) error {
			_, err := db.w.Exec(`DELETE FROM audit WHERE seq = 3`)
			return err
		}, 2, "seq 4: expected seq 3"},
		{"delete the first entry", func(t *testing.T, db *DB) error {
			_, err := db.w.Exec(`DELETE FROM audit WHERE seq = 1`)
			return err
		}, 0, "seq 2: expected seq 1"},
		{"delete and renumber", func(t *testing.T, db *DB) error {
			if _, err := db.w.Exec(`DELETE FROM audit WHERE seq = 3`); err != nil {
				return err
			}
			_, err := db.w.Exec(`UPDATE audit SET seq = seq - 1 WHERE seq > 3`)
			return err
		}, 2, "seq 3: previous hash"},
		{"insert in the middle", func(t *testing.T, db *DB) error {
			// Make room at seq 3 (in two steps: seq is the primary key), then
			// insert a well-formed entry chained to entry 2.
			if _, err := db.w.Exec(`UPDATE audit SET seq = seq + 1000 WHERE seq >= 3`); err != nil {
				return err
			}
			if _, err := db.w.Exec(`UPDATE audit SET seq = seq - 999 WHERE seq >= 1000`); err != nil {
				return err
			}
			return insert(db, forge(t, db, 2, 3))
		}, 3, "seq 4: "},
		{"append with a bad link", func(t *testing.T, db *DB) error {
			e := forge(t, db, 6, 7)
			e.PrevHash = strings.Repeat("0", 64)
			e.Hash = e.ComputeHash()
			return insert(db, e)
		}, 6, "seq 7: previous hash"},
		{"swap two entries", func(t *testing.T, db *DB) error {
			for _, q := range []string{`UPDATE audit SET seq = 100 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 3`, `UPDATE audit SET seq = 3 WHERE seq = 100`} {
				if _, err := db.w.Exec(q); err != nil {
					return err
				}
			}
			return nil
		}, 1, "seq 2: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openTest(t)
			defer db.Close()
			ctx := t.Context()
			// Six entries from different kinds of writes.
			for i := range 3 {
				if err := db.AppendAudit(ctx, bluehelm.NewAudit(sys, "export", "incidents", map[string]int{"n": i})); err != nil {
					t.Fatal(err)
				}
				if err := db.CreateIncident(ctx, testIncident("x", t0, 30, 7), bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := db.VerifyAudit(ctx); n != 6 || err != nil {
				t.Fatalf("before tampering: VerifyAudit = %d, %v; want 6, nil", n, err)
			}
			if err := tc.tamper(t, db); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			n, err := db.VerifyAudit(ctx)
			if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("VerifyAudit error %v, want a conflict containing %q", err, tc.wantMsg)
			}
			if n != tc.wantCount {
				t.Errorf("VerifyAudit verified %d entries before the break, want %d", n, tc.wantCount)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	t.Run("reopen is a no-op", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db")
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		inc := testIncident("kept", t0, 30, 7)
		if err := db.CreateIncident(t.Context(), inc, bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		before := migrationRows(t, db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err = Open(path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer db.Close()
		if after := migrationRows(t, db); after != before {
			t.Errorf("schema_migrations changed on reopen:\n before %s\n after  %s", before, after)
		}
		if !strings.HasPrefix(before, fmt.Sprintf("%d rows", SchemaVersion())) {
			t.Errorf("schema_migrations: %s, want %d rows", before, SchemaVersion())
		}
		if _, err := db.Incident(t.Context(), inc.ID); err != nil {
			t.Errorf("incident lost on reopen: %v", err)
		}
	})

	t.Run("newer schema refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "db")
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		newer := SchemaVersion() + 1
		if _, err := db.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, newer); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = Open(path)
		if err == nil {
			db.Close()
			t.Fatal("Open accepted a database with a newer schema")
		}
		if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", newer)) ||
			!strings.Contains(err.Error(), fmt.Sprintf("up to %d", SchemaVersion())) {
			t.Errorf("error %q: want ErrSchemaTooNew naming both versions", err)
		}
	})

	t.Run("steps", func(t *testing.T) {
		raw, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "db"))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		raw.SetMaxOpenConns(1)
		ctx := t.Context()
		step2 := migration{2, "add notes", `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`}
		broken := migration{3, "broken", `CREATE TABLE half (x); THIS IS NOT SQL`}
		for _, tc := range []struct {
			name    string
			ms      []migration
			wantErr string
			want    int // schema version afterwards
		}{
			{"initial", migrations[:1], "", 1},
			{"again", migrations[:1], "", 1},
			{"one more step", []migration{migrations[0], step2}, "", 2},
			{"failing step rolls back", []migration{migrations[0], step2, broken}, "migrate to 3", 2},
			{"gap in numbering", []migration{migrations[0], {4, "gap", ""}}, "want 2", 2},
			{"older binary", migrations[:1], "newer than this binary", 2},
		} {
			err := migrate(ctx, raw, tc.ms)
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("%s: migrate error %v, want %q", tc.name, err, tc.wantErr)
			}
			var v int
			if err := raw.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if v != tc.want {
				t.Errorf("%s: schema version %d, want %d", tc.name, v, tc.want)
			}
		}
		var n int
		if err := raw.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("a failed step left its table behind (count %d, %v)", n, err)
		}
	})
}

func migrationRows(t *testing.T, db *DB) string {
	t.Helper()
	rows, err := db.r.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	n := 0
	for rows.Next() {
		var (
			v, at int64
			name  string
		)
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " (%d %s %d)", v, name, at)
		n++
	}
	return fmt.Sprintf("%d rows:%s", n, b.String())
}

func TestClosed(t *testing.T) {
	db := openTest(t)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of an open store: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"AppendPositions": func() error {
			return db.AppendPositions(ctx, nil, []bluehelm.Position{{UID: "a", Time: t0, Lat: 1, Lon: 1}})
		},
		"CreateIncident": func() error {
			return db.CreateIncident(ctx, testIncident("x", t0, 1, 1), bluehelm.NewAudit(sys, "x", "", nil))
		},
		"FindIncidents": func() error { _, err := db.FindIncidents(ctx, bluehelm.IncidentFilter{}); return err },
		"LatestStates":  func() error { _, err := db.LatestStates(ctx); return err },
		"VerifyAudit":   func() error { _, err := db.VerifyAudit(ctx); return err },
		"Ping":          func() error { return db.Ping(ctx) },
	} {
		if err := call(); bluehelm.ErrorCode(err) != bluehelm.EUNAVAILABLE {
			t.Errorf("%s after Close: %v, want %s", name, err, bluehelm.EUNAVAILABLE)
		}
	}
}

// TestCloseDrains closes the store while writers are appending: every call that
// returned nil must be stored, every other call must have failed cleanly.
func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const writers, per = 6, 20
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked = map[string]int{} // uid → batches acknowledged
	)
	started := make(chan struct{}, writers)
	for w := range writers {
		wg.Go(func() {
			uid := fmt.Sprintf("w%d", w)
			for b := 0; ; b++ {
				ps := make([]bluehelm.Position, per)
				for i := range ps {
					ps[i] = bluehelm.Position{UID: uid, Time: t0.Add(time.Duration(b*per+i) * time.Second), Lat: 7, Lon: 30}
				}
				err := db.AppendPositions(context.Background(), nil, ps)
				if b == 0 {
					started <- struct{}{}
				}
				if err != nil {
					if bluehelm.ErrorCode(err) != bluehelm.EUNAVAILABLE {
						t.Errorf("AppendPositions during Close: %v", err)
					}
					return
				}
				mu.Lock()
				acked[uid]++
				mu.Unlock()
			}
		})
	}
	for range writers {
		<-started
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for uid, n := range acked {
		ps, err := db.Positions(t.Context(), bluehelm.PositionQuery{UID: uid, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) < n*per {
			t.Errorf("%s: %d positions stored, but %d were acknowledged", uid, len(ps), n*per)
		}
	}
}

// TestCloseWaitsForQueued queues batches behind a busy writer and closes the
// store: Close must commit them before closing the connections.
func TestCloseWaitsForQueued(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	hold, err := db.w.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	errs := make(chan error, n)
	waitQueue := func(want int) {
		for deadline := time.Now().Add(10 * time.Second); len(db.queue) != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("queue length %d, want %d", len(db.queue), want)
			}
		}
	}
	for i := range n {
		go func() {
			errs <- db.AppendPositions(context.Background(), nil, []bluehelm.Position{{UID: fmt.Sprintf("q%d", i), Time: t0, Lat: 7, Lon: 30}})
		}()
		if i == 0 {
			// The committer takes the first batch and blocks on the writer;
			// the others queue behind it.
			waitQueue(0)
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitQueue(n - 1)
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	time.Sleep(20 * time.Millisecond) // let Close start waiting
	hold.Rollback()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("batch queued before Close: %v", err)
		}
	}
	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	states, err := db.LatestStates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != n {
		t.Errorf("%d tracks stored, want the %d queued before Close", len(states), n)
	}
}

// TestCancelWhileQueued cancels a batch that is queued behind a busy writer: the
// caller must learn it was not written, and it must not be.
func TestCancelWhileQueued(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	ctx := t.Context()
	waitQueue := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for len(db.queue) != n {
			if time.Now().After(deadline) {
				t.Fatalf("queue length %d, want %d", len(db.queue), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	batch := func(uid string) []bluehelm.Position {
		return []bluehelm.Position{{UID: uid, Time: t0, Lat: 7, Lon: 30}}
	}
	// Hold the writer connection so the committer blocks on its first group.
	hold, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- db.AppendPositions(ctx, nil, batch("first")) }()
	waitQueue(0) // the committer took it and waits for the connection
	time.Sleep(10 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() { second <- db.AppendPositions(cctx, nil, batch("second")) }()
	waitQueue(1)
	cancel()
	hold.Rollback()
	if err := <-first; err != nil {
		t.Errorf("first batch: %v", err)
	}
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("batch cancelled while queued: %v, want context.Canceled", err)
	}
	for uid, want := range map[string]int{"first": 1, "second": 0} {
		ps, err := db.Positions(ctx, bluehelm.PositionQuery{UID: uid})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != want {
			t.Errorf("%s: %d positions stored, want %d", uid, len(ps), want)
		}
	}
}

// TestUpdatedAtPersists sends a track again with only a newer UpdatedAt, which
// the committer writes lazily, and checks it is stored by Close.
func TestUpdatedAtPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	tr := bluehelm.Track{UID: "u1", Callsign: "One", Kind: bluehelm.KindUnit, UpdatedAt: t0, Marking: bluehelm.Marking{Component: bluehelm.Police}}
	for i, tc := range []struct {
		name string
		ps   []bluehelm.Position
	}{
		{"with a report", []bluehelm.Position{{UID: "u1", Time: t0.Add(time.Minute), Lat: 7, Lon: 30}}},
		{"metadata only", nil},
	} {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		tr.UpdatedAt = t0.Add(time.Duration(i+1) * time.Hour)
		if err := db.AppendPositions(t.Context(), []bluehelm.Track{tr}, tc.ps); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if db, err = Open(path); err != nil {
			t.Fatal(err)
		}
		tracks, err := db.Tracks(t.Context())
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(tracks) != 1 || !tracks[0].UpdatedAt.Equal(tr.UpdatedAt) || tracks[0].Callsign != "One" {
			t.Errorf("%s: stored %+v, want UpdatedAt %v", tc.name, tracks, tr.UpdatedAt)
		}
	}
}

// killHelperEnv names the database the helper process writes to.
const killHelperEnv = "BLUEHELM_SQLITE_KILL_HELPER_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(killHelperEnv); path != "" {
		killHelper(path)
		return
	}
	os.Exit(m.Run())
}

// killHelper writes to path forever from several goroutines and prints a line
// for each write that returned nil: "pos <uid> <batch>" or "inc <id>".
func killHelper(path string) {
	db, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	ack := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
		mu.Unlock()
	}
	ctx := context.Background()
	for w := range 4 {
		go func() {
			uid := fmt.Sprintf("dev%d", w)
			for b := 0; ; b++ {
				ps := make([]bluehelm.Position, 50)
				for i := range ps {
					ps[i] = bluehelm.Position{UID: uid, Time: t0.Add(time.Duration(b*50+i) * time.Second), Lat: 7, Lon: 30}
				}
				if err := db.AppendPositions(ctx, nil, ps); err != nil {
					ack("error %v", err)
					return
				}
				ack("pos %s %d", uid, b)
			}
		}()
	}
	for i := 0; ; i++ {
		inc := testIncident(fmt.Sprintf("crash %d", i), t0, 30, 7)
		if err := db.CreateIncident(ctx, inc, bluehelm.NewAudit(sys, "incident.create", "", nil)); err != nil {
			ack("error %v", err)
			select {}
		}
		ack("inc %d", inc.ID)
	}
}

// TestKill9 kills a writing process with SIGKILL and checks that every write it
// acknowledged is in the database, and that the audit chain is intact.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	path := filepath.Join(t.TempDir(), "db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	batches := map[string]int{} // uid → highest acknowledged batch + 1
	var incs []int64
	sc := bufio.NewScanner(out)
	for lines := 0; lines < 400 && sc.Scan(); lines++ {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 3 && f[0] == "pos":
			b, _ := strconv.Atoi(f[2])
			batches[f[1]] = max(batches[f[1]], b+1)
		case len(f) == 2 && f[0] == "inc":
			id, _ := strconv.ParseInt(f[1], 10, 64)
			incs = append(incs, id)
		default:
			t.Fatalf("helper: %s", sc.Text())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(batches) == 0 || len(incs) == 0 {
		t.Fatalf("helper acknowledged %d uids and %d incidents before the kill", len(batches), len(incs))
	}
	db, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer db.Close()
	ctx := t.Context()
	for uid, n := range batches {
		ps, err := db.Positions(ctx, bluehelm.PositionQuery{UID: uid, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) < n*50 {
			t.Errorf("%s: %d positions after kill -9, %d acknowledged", uid, len(ps), n*50)
		}
	}
	for _, id := range incs {
		if _, err := db.Incident(ctx, id); err != nil {
			t.Errorf("acknowledged incident %d: %v", id, err)
		}
	}
	if n, err := db.VerifyAudit(ctx); err != nil || n < int64(len(incs)) {
		t.Errorf("VerifyAudit after kill -9 = %d, %v; want >= %d, nil", n, err, len(incs))
	}
}
