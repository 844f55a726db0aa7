package http

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/plan"
)

// TestCasevacSchemasMatchTypes keeps the documented CASEVAC schemas and the Go
// types' JSON names in step, both ways.
func TestCasevacSchemasMatchTypes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openapiJSON, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"Casevac": bluehelm.Casevac{}, "CasevacRequest": CasevacRequest{}, "CasevacView": CasevacView{},
		"CasevacStep": bluehelm.CasevacStep{}, "CasevacClock": bluehelm.CasevacClock{}, "CasualtyNotification": bluehelm.CasualtyNotification{},
		"PatientCounts": bluehelm.PatientCounts{}, "CasevacStepRequest": CasevacStepRequest{}, "EvacOption": plan.EvacOption{},
		"Recommendation": plan.Recommendation{}, "MedicalCoverage": plan.MedicalCoverage{}, "OpeningHours": bluehelm.OpeningHours{},
		"MedicalFacility": bluehelm.MedicalFacility{},
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		var documented []string
		for k := range s.Properties {
			documented = append(documented, k)
		}
		slices.Sort(documented)
		if got := jsonNames(reflect.TypeOf(v)); !slices.Equal(got, documented) {
			t.Errorf("%s: Go has %v,\ndocumented %v", name, got, documented)
		}
	}
}

// TestCasevacAPI: a request through the API, its recommendation, approval and
// launch, the clocks, the two-step notification, bad input and coverage.
func TestCasevacAPI(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	e.user("medic", bluehelm.RoleMedical, bluehelm.Military, bluehelm.Confidential)
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": "Sector East", "kind": "aor",
		"geometry": map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{{31, 4}, {32, 4}, {32, 5}, {31, 5}, {31, 4}}}}}}, http.StatusCreated, nil)
	var hosp bluehelm.MedicalFacility
	e.ok(req{method: "POST", path: "/api/v1/medical-facilities", as: "medic", body: map[string]any{"name": "Level 2 Juba", "level": "2",
		"location": map[string]any{"type": "Point", "coordinates": []float64{31.9, 4.9}}, "beds_available": 4, "beds": 20, "icu_beds": 2,
		"aeromedical_team": true, "hours": map[string]string{"open": "00:00", "close": "00:00"}}}, http.StatusCreated, &hosp)
	if hosp.BedsAvailable == nil || *hosp.BedsAvailable != 4 || !hosp.AeromedicalTeam {
		t.Fatalf("facility %+v", hosp)
	}
	e.ok(req{method: "POST", path: "/api/v1/units", as: "ops1", body: map[string]any{"code": "AMB-1", "name": "Ambulance", "mobility": "mounted", "track_uids": []string{"amb-1"}}}, http.StatusCreated, nil)
	e.fix("amb-1", 31.52, 4.52, time.Minute)

	body := func() map[string]any {
		return map[string]any{"location": map[string]any{"type": "Point", "coordinates": []float64{31.5, 4.5}}, "mgrs": "36NYF 55275 97500",
			"frequency": "45.300", "call_sign": "BRAVO 2", "patients": map[string]int{"urgent": 1, "priority": 1}, "litter": 1, "ambulatory": 1,
			"categories": []string{"un_military"}, "terrain": "<script>alert(1)</script>", "wounded_at": e.now.Add(-3 * time.Minute).Format(time.RFC3339), "source": "web"}
	}
	for _, bad := range []struct {
		edit  func(map[string]any)
		field string
	}{
		{func(b map[string]any) { b["wounded_at"] = e.now.Add(time.Hour).Format(time.RFC3339) }, "wounded_at"},
		{func(b map[string]any) { b["ambulatory"] = 2 }, "litter"},
		{func(b map[string]any) { delete(b, "call_sign") }, "call_sign"},
		{func(b map[string]any) {
			b["location"] = map[string]any{"type": "Point", "coordinates": []float64{20, 10}}
		}, "location"},
	} {
		b := body()
		bad.edit(b)
		e.problem(req{method: "POST", path: "/api/v1/casevac", as: "reporter", body: b}, http.StatusBadRequest, bad.field)
	}
	var c CasevacView
	e.ok(req{method: "POST", path: "/api/v1/casevac", as: "reporter", body: body()}, http.StatusCreated, &c)
	if c.Status != bluehelm.CasevacRequested || len(c.Clocks) != 3 || c.Clocks[0].State != bluehelm.ClockRunning || c.Terrain != "<script>alert(1)</script>" {
		t.Fatalf("created %+v", c)
	}
	if !slices.Contains(c.Allowed, bluehelm.CasevacApprove) {
		t.Fatalf("allowed %v", c.Allowed)
	}
	path := "/api/v1/casevac/" + strconv.FormatInt(c.ID, 10)
	var rec plan.Recommendation
	e.ok(req{method: "GET", path: path + "/recommendation", as: "medic"}, http.StatusOK, &rec)
	if rec.Best == nil || rec.Best.FacilityID != hosp.ID || rec.Best.Means != "road" || rec.Best.AssetUnit != "AMB-1" || rec.Reason == "" {
		t.Fatalf("recommendation %+v", rec)
	}
	e.problem(req{method: "POST", path: path + "/actions/approve", as: "reporter"}, http.StatusForbidden, "")
	e.ok(req{method: "POST", path: path + "/actions/approve", as: "medic", body: map[string]any{"facility_id": rec.Best.FacilityID, "means": rec.Best.Means, "asset_unit": rec.Best.AssetUnit}}, http.StatusOK, &c)
	if c.Status != bluehelm.CasevacApproved || c.AssetTrack != "amb-1" {
		t.Fatalf("approved %+v", c)
	}
	e.ok(req{method: "POST", path: path + "/actions/launch", as: "medic"}, http.StatusOK, &c)
	e.problem(req{method: "POST", path: path + "/actions/approve", as: "medic"}, http.StatusConflict, "")
	if len(c.Timeline) != 3 || c.Timeline[2].Status != bluehelm.CasevacLaunched {
		t.Fatalf("timeline %+v", c.Timeline)
	}
	var clocks struct{ Clocks []bluehelm.CasevacClock }
	e.ok(req{method: "GET", path: path + "/clocks", as: "viewer"}, http.StatusOK, &clocks)
	if len(clocks.Clocks) != 3 || clocks.Clocks[2].RemainingSeconds != int((117*time.Minute).Seconds()) {
		t.Fatalf("clocks %+v", clocks)
	}

	e.ok(req{method: "POST", path: path + "/notification/verify", as: "ops1", body: map[string]string{"note": "ID tag checked"}}, http.StatusOK, nil)
	e.problem(req{method: "POST", path: path + "/notification/confirm", as: "ops1"}, http.StatusForbidden, "")
	e.ok(req{method: "POST", path: path + "/notification/confirm", as: "ops2"}, http.StatusOK, &c)
	if c.Notification.VerifiedBy != "ops1" || c.Notification.ConfirmedBy != "ops2" {
		t.Fatalf("notification %+v", c.Notification)
	}

	var list struct{ Casevacs []CasevacView }
	e.ok(req{method: "GET", path: "/api/v1/casevac?status=launched", as: "viewer"}, http.StatusOK, &list)
	if len(list.Casevacs) != 1 || list.Casevacs[0].ID != c.ID {
		t.Fatalf("list %+v", list)
	}
	e.problem(req{method: "GET", path: "/api/v1/casevac?status=flying", as: "viewer"}, http.StatusBadRequest, "status")

	var cov plan.MedicalCoverage
	e.ok(req{method: "GET", path: "/api/v1/coverage?cell_km=5", as: "viewer"}, http.StatusOK, &cov)
	// The ambulance is busy on this evacuation: nothing covers the area.
	if cov.Inside == 0 || cov.ShareOut1h != 1 {
		t.Fatalf("coverage inside %d share %v", cov.Inside, cov.ShareOut1h)
	}
	var fc struct {
		Type     string
		Features []json.RawMessage
	}
	e.ok(req{method: "GET", path: "/api/v1/coverage?cell_km=5&format=geojson", as: "viewer"}, http.StatusOK, &fc)
	if fc.Type != "FeatureCollection" || len(fc.Features) == 0 {
		t.Fatalf("geojson %s with %d features", fc.Type, len(fc.Features))
	}
	e.problem(req{method: "GET", path: "/api/v1/coverage?cell_km=0.01", as: "viewer"}, http.StatusBadRequest, "cell_km")
}
