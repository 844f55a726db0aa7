package http

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestFatalitiesSummary(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()

	// Nothing imported: an empty answer that says how to fill it.
	r := e.ok(req{method: "GET", path: "/api/v1/fatalities/summary", as: "viewer"}, http.StatusOK, nil)
	var empty fatalitySummary
	if err := json.Unmarshal(r.body, &empty); err != nil {
		t.Fatal(err)
	}
	if empty.Total != 0 || len(empty.ByMission) != 0 || len(empty.Counts) != 0 || !strings.Contains(empty.Hint, "bluehelm import fatalities") {
		t.Errorf("empty summary %s", r.body)
	}
	if !strings.Contains(string(r.body), `"by_mission":[]`) || !strings.Contains(string(r.body), `"counts":[]`) {
		t.Errorf("empty lists must be [] for the page: %s", r.body)
	}

	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	fs := []*bluehelm.Fatality{
		{CasualtyID: "MINUSCA-1", IncidentDate: day(2021, 3, 1), Mission: "MINUSCA", IncidentType: "Malicious Act"},
		{CasualtyID: "MINUSCA-2", IncidentDate: day(2021, 5, 1), Mission: "MINUSCA", IncidentType: "Malicious Act"},
		{CasualtyID: "MINUSCA-3", IncidentDate: day(2023, 5, 1), Mission: "MINUSCA", IncidentType: "Illness"},
		{CasualtyID: "UNMISS-1", IncidentDate: day(2019, 1, 9), Mission: "UNMISS", IncidentType: "Accident"},
	}
	if _, _, err := e.db.ImportFatalities(e.ctx, fs, bluehelm.NewAudit(bluehelm.SystemPrincipal("t"), "fatalities.import", "fatalities", nil)); err != nil {
		t.Fatal(err)
	}
	r = e.ok(req{method: "GET", path: "/api/v1/fatalities/summary", as: "viewer"}, http.StatusOK, nil)
	var got fatalitySummary
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Total != 4 || got.FirstYear != 2019 || got.LastYear != 2023 || got.Hint != "" || len(got.Counts) != 3 {
		t.Errorf("summary %s", r.body)
	}
	if len(got.ByMission) != 2 || got.ByMission[0].Mission != "MINUSCA" || got.ByMission[0].Total != 3 ||
		got.ByMission[0].ByType["Malicious Act"] != 2 || got.ByMission[0].ByType["Illness"] != 1 ||
		got.ByMission[1].Mission != "UNMISS" || got.ByMission[1].ByType["Accident"] != 1 {
		t.Errorf("by mission %+v", got.ByMission)
	}
	e.ok(req{method: "GET", path: "/api/v1/fatalities/summary?mission=X", as: "viewer"}, http.StatusBadRequest, nil)
}
