package storetest

import (
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func fatality(id, mission string, day time.Time, typ string) *bluehelm.Fatality {
	return &bluehelm.Fatality{CasualtyID: id, Mission: mission, IncidentDate: day, IncidentType: typ,
		PersonnelType: "Military", Gender: "M", Nationality: "Nepal", NationalityISO3: "NPL"}
}

// testFatalities: import keyed by casualty id (a re-import changes nothing, a
// changed row is updated, not duplicated), each import audited, counts by
// mission, year and type in order.
func testFatalities(t *testing.T, o Opener) {
	s, ctx := o.store(t), ctxOf(t)
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	batch := func() []*bluehelm.Fatality {
		return []*bluehelm.Fatality{
			fatality("MINUSCA-2019-01-1", "MINUSCA", d(2019, 1, 3), "Malicious Act"),
			fatality("MINUSCA-2019-06-2", "MINUSCA", d(2019, 6, 9), "Malicious Act"),
			fatality("MINUSCA-2019-07-3", "MINUSCA", d(2019, 7, 1), "Illness"),
			fatality("MINUSCA-2020-01-4", "MINUSCA", d(2020, 1, 1), "Malicious Act"),
			fatality("UNMISS-2019-12-5", "UNMISS", d(2019, 12, 31), "Accident"),
		}
	}
	counts, err := s.FatalityCounts(ctx)
	must(t, err, "FatalityCounts of an empty store")
	if len(counts) != 0 {
		t.Fatalf("empty store counts %+v", counts)
	}

	before := auditCount(t, s)
	c, u, err := s.ImportFatalities(ctx, batch(), entry("fatalities.import"))
	must(t, err, "ImportFatalities")
	if c != 5 || u != 0 {
		t.Fatalf("first import: %d created, %d updated, want 5, 0", c, u)
	}
	c, u, err = s.ImportFatalities(ctx, batch(), entry("fatalities.import"))
	must(t, err, "ImportFatalities again")
	if c != 0 || u != 0 {
		t.Fatalf("re-import: %d created, %d updated, want nothing", c, u)
	}
	if n := auditCount(t, s); n != before+2 {
		t.Errorf("audit entries: %d after two imports, want %d", n, before+2)
	}

	// A correction of the type moves the person between groups.
	fix := batch()[2:3]
	fix[0].IncidentType = "Accident"
	c, u, err = s.ImportFatalities(ctx, fix, entry("fatalities.import"))
	must(t, err, "ImportFatalities of a correction")
	if c != 0 || u != 1 {
		t.Fatalf("correction: %d created, %d updated, want 0, 1", c, u)
	}
	counts, err = s.FatalityCounts(ctx)
	must(t, err, "FatalityCounts")
	sameJSON(t, counts, []bluehelm.FatalityCount{
		{Mission: "MINUSCA", Year: 2019, IncidentType: "Accident", Count: 1},
		{Mission: "MINUSCA", Year: 2019, IncidentType: "Malicious Act", Count: 2},
		{Mission: "MINUSCA", Year: 2020, IncidentType: "Malicious Act", Count: 1},
		{Mission: "UNMISS", Year: 2019, IncidentType: "Accident", Count: 1},
	}, "FatalityCounts")

	// A row without its key fails the whole import and stores nothing.
	bad := append(batch(), fatality("", "UNMISS", d(2021, 1, 1), "Illness"))
	bad[0].Mission = "CHANGED"
	before = auditCount(t, s)
	_, _, err = s.ImportFatalities(ctx, bad, entry("fatalities.import"))
	wantCode(t, err, bluehelm.EINVALID, "ImportFatalities without a casualty id")
	if n := auditCount(t, s); n != before {
		t.Errorf("a failed import appended %d audit entries", n-before)
	}
	again, err := s.FatalityCounts(ctx)
	must(t, err, "FatalityCounts")
	sameJSON(t, again, counts, "counts after a failed import")
}
