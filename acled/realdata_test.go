package acled

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// dataFile returns the path of a file of the team's real test corpus, which lives
// outside the repository (ACLED rows may not be redistributed). Without it the test
// is skipped, except in CI, where a missing corpus must not pass silently.
func dataFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real test data %s is missing (CI=true, so this fails instead of skipping): %v", p, err)
		}
		t.Skipf("real test data %s not found; skipping (set CI=true to fail instead)", p)
	}
	return p
}

// rawRows reads a CSV with encoding/csv only, as an independent view of the file.
func rawRows(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

// allowed is, per ACLED event type, the categories an event may land in; kept
// apart from classify so the test does not repeat the code it checks.
var allowed = map[string][]bluehelm.Category{
	"Battles":                    {bluehelm.CatArmedClash, bluehelm.CatAttackOnUN},
	"Explosions/Remote violence": {bluehelm.CatExplosive, bluehelm.CatAttackOnUN},
	"Violence against civilians": {bluehelm.CatViolenceCivs},
	"Protests":                   {bluehelm.CatProtest},
	"Riots":                      {bluehelm.CatProtest},
	"Strategic developments":     {bluehelm.CatMovement, bluehelm.CatArrest, bluehelm.CatExplosive, bluehelm.CatViolenceCivs, bluehelm.CatOther},
}

func TestRealACLEDFiles(t *testing.T) {
	cases := []struct {
		file              string
		rows, acledRows   int    // all data rows; rows that are ACLED events (documented / counted in the README)
		firstDay, lastDay string // range of the ACLED events' dates
	}{
		// The ACLED South Sudan export: every row is an event.
		{"acled_south_sudan_2020-07_2021-07.csv", 792, 792, "2020-07-31", "2021-07-28"},
		// The OSAC merge: ACLED-shaped rows plus Aid Worker Security Database rows,
		// which have no event_id_cnty and must be reported, not guessed at.
		{"osac_humanitarian_incidents_africa_2016-2022.csv", 1716, 816, "2016-01-08", "2022-08-06"},
	}
	now := time.Now()
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := dataFile(t, c.file)
			raw := rawRows(t, path)
			if len(raw) != c.rows {
				t.Fatalf("raw file has %d data rows; README documents %d", len(raw), c.rows)
			}
			byID := map[string]map[string]string{}
			var sumFatal, sumCiv int
			_, hasFlag := raw[0]["civilian_targeting"]
			for _, r := range raw {
				if r["event_id_cnty"] == "" {
					continue
				}
				byID["acled:"+r["event_id_cnty"]] = r
				n, err := strconv.Atoi(r["fatalities"])
				if err != nil {
					t.Fatalf("raw fatalities %q: %v", r["fatalities"], err)
				}
				sumFatal += n
				if !hasFlag && (r["event_type"] == "Violence against civilians" || r["inter2"] == "7") {
					sumCiv += n
				}
			}
			if len(byID) != c.acledRows {
				t.Fatalf("raw file has %d distinct ACLED ids, want %d", len(byID), c.acledRows)
			}

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			incs, rowErrs, err := Read(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d data rows, %d incidents, %d skipped", c.file, len(raw), len(incs), len(rowErrs))
			if len(incs) != c.acledRows || len(rowErrs) != c.rows-c.acledRows {
				t.Fatalf("read %d, skipped %d; want %d and %d", len(incs), len(rowErrs), c.acledRows, c.rows-c.acledRows)
			}
			for _, re := range rowErrs {
				if bluehelm.ErrorField(re) != "event_id_cnty" {
					t.Errorf("unexpected skip: %v", re)
				}
			}

			seen := map[string]bool{}
			var gotFatal, gotCiv int
			var first, last time.Time
			for i, inc := range incs {
				if err := inc.Validate(now); err != nil {
					t.Errorf("%s: %v", inc.ExternalID, err)
				}
				if seen[inc.ExternalID] {
					t.Errorf("duplicate %s", inc.ExternalID)
				}
				seen[inc.ExternalID] = true
				r, ok := byID[inc.ExternalID]
				if !ok {
					t.Fatalf("%s is not an id of the file", inc.ExternalID)
				}
				if !slices.Contains(allowed[r["event_type"]], inc.Category) {
					t.Errorf("%s: %q mapped to %s", inc.ExternalID, r["event_type"], inc.Category)
				}
				if y := strconv.Itoa(inc.OccurredStart.Year()); y != r["year"] {
					t.Errorf("%s: year %s, raw %s (%s)", inc.ExternalID, y, r["year"], r["event_date"])
				}
				for _, cs := range inc.Casualties {
					gotFatal += cs.Best
					if cs.Group == "civilians" {
						gotCiv += cs.Best
					}
				}
				if i == 0 || inc.OccurredStart.Before(first) {
					first = inc.OccurredStart
				}
				if inc.OccurredStart.After(last) {
					last = inc.OccurredStart
				}
			}
			t.Logf("%s: %d killed (%d civilians); %s .. %s", c.file, gotFatal, gotCiv, first.Format(time.DateOnly), last.Format(time.DateOnly))
			if gotFatal != sumFatal {
				t.Errorf("killed %d, raw fatalities sum %d", gotFatal, sumFatal)
			}
			if !hasFlag && gotCiv != sumCiv {
				t.Errorf("civilians killed %d, raw sum over civilian-targeting rows %d", gotCiv, sumCiv)
			}
			if first.Format(time.DateOnly) != c.firstDay || last.Format(time.DateOnly) != c.lastDay {
				t.Errorf("dates %s .. %s, want %s .. %s", first.Format(time.DateOnly), last.Format(time.DateOnly), c.firstDay, c.lastDay)
			}
		})
	}
}
