package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm/sqlite"
)

// sharedData returns a file of the team's real test corpus, which lives beside
// the repository (it may not be redistributed): skipped when absent, failed
// under CI=true, where a missing corpus must not pass silently.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real test data %s is missing (CI=true, so this fails instead of skipping): %v", p, err)
		}
		t.Skipf("real test data %s not found; skipping (set CI=true to fail instead)", p)
	}
	return p
}

// TestImportFatalities imports the UN fatalities file twice: the second run
// changes nothing, and the counts by mission, year and type add up to the rows
// read.
func TestImportFatalities(t *testing.T) {
	path := sharedData(t, "un_peacekeeping_fatalities.csv")
	dir := t.TempDir()
	var first, second struct {
		Read, Created, Updated int
		Skipped                []string
	}
	if err := json.Unmarshal([]byte(cli(t, "import", "fatalities", path, "--data", dir, "--json")), &first); err != nil {
		t.Fatal(err)
	}
	if first.Read < 4000 || first.Created != first.Read || len(first.Skipped) != 6 {
		t.Fatalf("first import: %d read, %d created, %d skipped", first.Read, first.Created, len(first.Skipped))
	}
	if err := json.Unmarshal([]byte(cli(t, "import", "fatalities", path, "--data", dir, "--json")), &second); err != nil {
		t.Fatal(err)
	}
	if second.Created != 0 || second.Updated != 0 || second.Read != first.Read {
		t.Fatalf("re-import changed data: %+v", second)
	}
	db, err := sqlite.Open(filepath.Join(dir, "bluehelm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts, err := db.FatalityCounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	total, minusca := 0, 0
	for _, c := range counts {
		total += c.Count
		if c.Mission == "MINUSCA" && c.IncidentType == "Malicious Act" {
			minusca += c.Count
		}
	}
	if total != first.Read || minusca == 0 {
		t.Fatalf("counts add up to %d (want %d); MINUSCA malicious acts %d", total, first.Read, minusca)
	}
	n, err := db.VerifyAudit(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("audit: %d entries, %v; want the two imports", n, err)
	}
}

func TestImportFatalitiesBadInput(t *testing.T) {
	dir := t.TempDir()
	notCSV := filepath.Join(dir, "ged.csv")
	if err := os.WriteFile(notCSV, []byte("id,year,type_of_violence\n1,2020,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "fatalities", filepath.Join(dir, "missing.csv"), "--data", dir}, "no such file"},
		{[]string{"import", "fatalities", notCSV, "--data", dir}, "casualty_id"},
		{[]string{"import", "casualties", notCSV, "--data", dir}, "want ucdp, acled or fatalities"},
	} {
		err := run(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(cliMessage(err), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}
