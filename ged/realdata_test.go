package ged

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// dataFile returns the path of a file of the team's real test corpus, which lives
// outside the repository (it may not be redistributed). Without it the test is
// skipped, except in CI, where a missing corpus must not pass silently.
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

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("raw value %q: %v", s, err)
	}
	return n
}

func TestRealGEDFiles(t *testing.T) {
	cases := []struct {
		file              string
		rows, hxl         int    // data rows and HXL rows, as documented in shared/data/README.md
		firstDay, lastDay string // documented range of date_start
		timeSuffix        string // the date form the file covers: what follows YYYY-MM-DD
	}{
		{"ucdp_ged_south_sudan_2011-2021_hdx.csv", 941, 1, "2011-08-18", "2021-12-31", " 00:00:00.000"},
		{"ucdp_ged_v23_1_central_african_republic.csv", 1848, 0, "1991-08-08", "2022-12-30", "T00:00:00"},
	}
	now := time.Now()
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := dataFile(t, c.file)

			// Independent expectations from the raw CSV.
			raw := rawRows(t, path)
			var data []map[string]string
			hxl := 0
			for _, r := range raw {
				if strings.HasPrefix(r["year"], "#") {
					hxl++
					continue
				}
				data = append(data, r)
			}
			if len(data) != c.rows || hxl != c.hxl {
				t.Fatalf("raw file has %d data rows and %d HXL rows; README documents %d and %d", len(data), hxl, c.rows, c.hxl)
			}
			wantSkipped := 0
			var sumBest, sumLow, sumHigh, sumCiv int
			byID := map[string]map[string]string{}
			for _, r := range data {
				lat, errLat := strconv.ParseFloat(r["latitude"], 64)
				lon, errLon := strconv.ParseFloat(r["longitude"], 64)
				if errLat != nil || errLon != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
					wantSkipped++
					continue
				}
				byID["ucdp:"+r["id"]] = r
				best, low, high := atoi(t, r["best"]), atoi(t, r["low"]), atoi(t, r["high"])
				sumBest += best
				sumLow += min(low, best)
				sumHigh += max(high, best)
				sumCiv += atoi(t, r["deaths_civilians"])
				if r["side_a"] == "Civilians" {
					sumCiv += atoi(t, r["deaths_a"])
				}
				if r["side_b"] == "Civilians" {
					sumCiv += atoi(t, r["deaths_b"])
				}
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
			t.Logf("%s: %d data rows, %d incidents, %d skipped", c.file, len(data), len(incs), len(rowErrs))
			if len(incs)+len(rowErrs) != len(data) || len(rowErrs) != wantSkipped {
				t.Fatalf("read %d + skipped %d, want %d rows with %d skipped: %v", len(incs), len(rowErrs), len(data), wantSkipped, rowErrs)
			}

			seen := map[string]bool{}
			var gotBest, gotLow, gotHigh, gotCiv int
			first, last := incs[0].OccurredStart, incs[0].OccurredStart
			for _, inc := range incs {
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
				wantCat := map[string]bluehelm.Category{"1": bluehelm.CatArmedClash, "2": bluehelm.CatArmedClash, "3": bluehelm.CatViolenceCivs}[r["type_of_violence"]]
				if inc.Category != wantCat {
					t.Errorf("%s: type_of_violence %s mapped to %s", inc.ExternalID, r["type_of_violence"], inc.Category)
				}
				if day := inc.OccurredStart.Format(time.DateOnly); day != r["date_start"][:10] {
					t.Errorf("%s: start %s, raw %s", inc.ExternalID, day, r["date_start"])
				}
				if inc.Location.Lat != mustFloat(t, r["latitude"]) || inc.Location.Lon != mustFloat(t, r["longitude"]) {
					t.Errorf("%s: location %+v, raw %s %s", inc.ExternalID, inc.Location, r["latitude"], r["longitude"])
				}
				var rowBest int
				for _, cs := range inc.Casualties {
					gotBest, gotLow, gotHigh = gotBest+cs.Best, gotLow+cs.Low, gotHigh+cs.High
					rowBest += cs.Best
					if cs.Group == "civilians" {
						gotCiv += cs.Best
					}
				}
				if rowBest != atoi(t, r["best"]) {
					t.Errorf("%s: killed best %d, raw best %s", inc.ExternalID, rowBest, r["best"])
				}
				first, last = minTime(first, inc.OccurredStart), maxTime(last, inc.OccurredStart)
			}
			if gotBest != sumBest || gotLow != sumLow || gotHigh != sumHigh || gotCiv != sumCiv {
				t.Errorf("killed best/low/high/civilians = %d/%d/%d/%d, raw sums %d/%d/%d/%d", gotBest, gotLow, gotHigh, gotCiv, sumBest, sumLow, sumHigh, sumCiv)
			}
			t.Logf("%s: killed best %d (low %d, high %d), civilians %d; %s .. %s", c.file, gotBest, gotLow, gotHigh, gotCiv, first.Format(time.DateOnly), last.Format(time.DateOnly))
			if first.Format(time.DateOnly) != c.firstDay || last.Format(time.DateOnly) != c.lastDay {
				t.Errorf("date_start range %s .. %s, documented %s .. %s", first.Format(time.DateOnly), last.Format(time.DateOnly), c.firstDay, c.lastDay)
			}
			if d := data[0]["date_start"]; len(d) < 10 || d[10:] != c.timeSuffix {
				t.Errorf("date_start %q is not in the YYYY-MM-DD%q form this case is meant to cover", d, c.timeSuffix)
			}
		})
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
