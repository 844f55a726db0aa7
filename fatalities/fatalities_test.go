package fatalities

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

const header = "id,incident_date,casualty_id,mission_acronym,type_of_casualty,gender,casualty_nationality,casualty_personnel_type,type_of_incident,m49_code,isocode3,last_update\n"

var now = time.Date(2025, 4, 4, 0, 0, 0, 0, time.UTC)

func TestReadMapsARow(t *testing.T) {
	in := header + "4301,2024-02-13,MINUSCA-2024-02-09001,MINUSCA,Fatality,M,Burundi,Military,Malicious Act,108.0,BDI,2025-04-04\n"
	fs, rowErrs, err := Read(strings.NewReader(in), now)
	if err != nil || len(rowErrs) != 0 || len(fs) != 1 {
		t.Fatalf("Read: %v, row errors %v, %d fatalities", err, rowErrs, len(fs))
	}
	want := bluehelm.Fatality{
		CasualtyID: "MINUSCA-2024-02-09001", IncidentDate: time.Date(2024, 2, 13, 0, 0, 0, 0, time.UTC),
		Mission: "MINUSCA", IncidentType: "Malicious Act", PersonnelType: "Military", Gender: "M",
		Nationality: "Burundi", NationalityISO3: "BDI",
	}
	if *fs[0] != want {
		t.Fatalf("got %+v\nwant %+v", *fs[0], want)
	}
}

// TestReadRowErrors: every bad row is skipped with the field at fault, and the
// rows around it are still read.
func TestReadRowErrors(t *testing.T) {
	for _, c := range []struct {
		name, row, field string
	}{
		{"no casualty id", "1,2020-01-01,,UNMISS,Fatality,M,Kenya,Military,Illness,,KEN,", "casualty_id"},
		{"no mission", "1,2020-01-01,X-1,,Fatality,M,Kenya,Military,Illness,,KEN,", "mission"},
		{"no date", "1,,X-1,UNMISS,Fatality,M,Kenya,Military,Illness,,KEN,", "incident_date"},
		{"bad date", "1,01/02/2020,X-1,UNMISS,Fatality,M,Kenya,Military,Illness,,KEN,", "incident_date"},
		{"future date", "1,2030-01-01,X-1,UNMISS,Fatality,M,Kenya,Military,Illness,,KEN,", "incident_date"},
		{"before 1948", "1,1900-01-01,X-1,UNMISS,Fatality,M,Kenya,Military,Illness,,KEN,", "incident_date"},
		{"unknown incident type", "1,2020-01-01,X-1,UNMISS,Fatality,M,Kenya,Military,Drowning,,KEN,", "incident_type"},
		{"injury", "1,2020-01-01,X-1,UNMISS,Injury,M,Kenya,Military,Accident,,KEN,", "type_of_casualty"},
		{"bad gender", "1,2020-01-01,X-1,UNMISS,Fatality,X,Kenya,Military,Accident,,KEN,", "gender"},
		{"bad iso3", "1,2020-01-01,X-1,UNMISS,Fatality,M,Kenya,Military,Accident,,KENYA,", "nationality_iso3"},
		{"short row", "1,2020-01-01,X-1,UNMISS", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := header +
				"1,2019-05-01,OK-1,UNMISS,Fatality,F,Nepal,Police,Accident,524.0,NPL,2025-04-04\n" +
				c.row + "\n" +
				"3,2019-05-02,OK-2,UNMISS,Fatality,,Nepal,Local ,accident,524.0,NPL,2025-04-04\n"
			fs, rowErrs, err := Read(strings.NewReader(in), now)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != 2 || fs[0].CasualtyID != "OK-1" || fs[1].CasualtyID != "OK-2" {
				t.Fatalf("good rows: %+v", fs)
			}
			if fs[1].PersonnelType != "Local" || fs[1].IncidentType != "Accident" {
				t.Errorf("trimming and type spelling: %+v", fs[1])
			}
			if len(rowErrs) != 1 || rowErrs[0].Line != 3 {
				t.Fatalf("row errors %v, want one on line 3", rowErrs)
			}
			var be *bluehelm.Error
			if !errors.As(rowErrs[0], &be) || be.Field != c.field {
				t.Errorf("row error %v, want field %q", rowErrs[0], c.field)
			}
		})
	}
}

func TestReadDuplicateCasualtyKeepsFirst(t *testing.T) {
	in := header +
		"1898,2003-05-05,UNMIK-2003-05-03589,UNMIK,Fatality,,Montenegro,Local ,Self-Inflicted,499.0,MNE,2025-04-04\n" +
		"1899,2003-05-05,UNMIK-2003-05-03589,UNMIK,Fatality,,Serbia and Montenegro,Local ,Self-Inflicted,891.0,SCG,2025-04-04\n"
	fs, rowErrs, err := Read(strings.NewReader(in), now)
	if err != nil || len(fs) != 1 || fs[0].Nationality != "Montenegro" {
		t.Fatalf("Read: %v, %+v", err, fs)
	}
	if len(rowErrs) != 1 || !strings.Contains(rowErrs[0].Error(), "line 2") {
		t.Fatalf("row errors %v", rowErrs)
	}
}

func TestReadBadFiles(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"a GED file", "id,year,type_of_violence,latitude\n1,2020,1,4.5\n", "casualty_id"},
		{"unterminated header quote", "\"id,incident_date\n", "header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := Read(strings.NewReader(c.in), now)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}

// TestRealFile reads the UN's 2025 export and checks it against an independent
// encoding/csv count: every row but the six repeated UNMIK casualty ids.
func TestRealFile(t *testing.T) {
	p := filepath.Join("..", "..", "shared", "data", "un_peacekeeping_fatalities.csv")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real test data %s is missing (CI=true, so this fails instead of skipping): %v", p, err)
		}
		t.Skipf("real test data %s not found; skipping (set CI=true to fail instead)", p)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fs, rowErrs, err := Read(f, now)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	byType := map[string]int{}
	for _, r := range recs[1:] {
		if !ids[r[2]] {
			byType[r[8]]++
		}
		ids[r[2]] = true
	}
	if len(fs) != len(ids) || len(fs)+len(rowErrs) != len(recs)-1 {
		t.Fatalf("%d fatalities and %d skipped of %d rows with %d distinct casualty ids", len(fs), len(rowErrs), len(recs)-1, len(ids))
	}
	for _, e := range rowErrs {
		if !strings.Contains(e.Error(), "already on line") {
			t.Errorf("unexpected row error: %v", e)
		}
	}
	got := map[string]int{}
	for _, x := range fs {
		got[x.IncidentType]++
	}
	for k, v := range byType {
		if got[k] != v {
			t.Errorf("%s: %d read, %d in the file", k, got[k], v)
		}
	}
}
