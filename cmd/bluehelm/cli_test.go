package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestAuditVerifyCatchesTampering edits, then deletes, audit rows behind bluehelm's back
// and expects "audit verify" to fail each time.
func TestAuditVerifyCatchesTampering(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"alpha", "bravo", "charlie"} {
		cli(t, "user", "create", "--data", dir, "--username", u, "--role", "viewer", "--component", "civilian")
	}
	out := cli(t, "audit", "verify", "--data", dir)
	if !strings.Contains(out, "3 entries verified") {
		t.Fatalf("verify on an intact chain: %s", out)
	}
	head := regexp.MustCompile(`head: (\S+)`).FindStringSubmatch(out)
	if head == nil {
		t.Fatalf("no head printed: %s", out)
	}
	cli(t, "audit", "verify", "--data", dir, "--head", head[1])

	db, err := sql.Open("sqlite", filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	verify := func() error {
		var o, e bytes.Buffer
		return run(context.Background(), []string{"audit", "verify", "--data", dir, "--head", head[1]}, &o, &e)
	}
	if _, err := db.Exec(`UPDATE audit SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err == nil || !strings.Contains(err.Error(), "seq 2") {
		t.Fatalf("edited entry: %v", err)
	}
	if _, err := db.Exec(`UPDATE audit SET actor = 'cli' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err != nil {
		t.Fatalf("restored chain: %v", err)
	}
	if _, err := db.Exec(`DELETE FROM audit WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if err := verify(); err == nil {
		t.Fatal("deleting the newest entry went unnoticed despite the recorded head")
	}
}

// TestImportRealFiles imports the real UCDP and ACLED files twice through the CLI:
// the first run creates every row, the second changes nothing.
func TestImportRealFiles(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data folder missing under CI: %v", err)
		}
		t.Skipf("shared data folder not present (%v); skipping the real-data import", err)
	}
	dir := t.TempDir()
	for _, c := range []struct{ kind, file string }{
		{"ucdp", "ucdp_ged_south_sudan_2011-2021_hdx.csv"},
		{"ucdp", "ucdp_ged_v23_1_central_african_republic.csv"},
		{"acled", "acled_south_sudan_2020-07_2021-07.csv"},
	} {
		path := filepath.Join(data, c.file)
		var first, second struct{ Read, Created, Updated int }
		if err := json.Unmarshal([]byte(cli(t, "import", c.kind, path, "--data", dir, "--json")), &first); err != nil {
			t.Fatal(err)
		}
		if first.Read == 0 || first.Created != first.Read {
			t.Fatalf("%s: first import %+v", c.file, first)
		}
		if err := json.Unmarshal([]byte(cli(t, "import", c.kind, path, "--data", dir, "--json")), &second); err != nil {
			t.Fatal(err)
		}
		if second.Created != 0 || second.Updated != 0 || second.Read != first.Read {
			t.Fatalf("%s: re-import changed data: %+v", c.file, second)
		}
	}
	geo := cli(t, "export", "--data", dir, "--format", "geojson", "--bbox", "24,3,36,13")
	var fc struct{ Features []json.RawMessage }
	if err := json.Unmarshal([]byte(geo), &fc); err != nil {
		t.Fatal(err)
	}
	if len(fc.Features) < 941+792 {
		t.Fatalf("South Sudan export has %d features, want at least the %d imported rows", len(fc.Features), 941+792)
	}
}
