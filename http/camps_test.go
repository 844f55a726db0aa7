package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
)

// TestCampSchemasMatchTypes keeps the documented camp schemas and the Go
// types' JSON names in step, both ways.
func TestCampSchemasMatchTypes(t *testing.T) {
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
	assetNames := jsonNames(reflect.TypeOf(bluehelm.Asset{}))
	for name, want := range map[string][]string{
		"CampProfile": jsonNames(reflect.TypeOf(bluehelm.CampProfile{})), "EscalationStep": jsonNames(reflect.TypeOf(bluehelm.EscalationStep{})),
		"Asset": assetNames, "ServicePlan": jsonNames(reflect.TypeOf(bluehelm.ServicePlan{})),
		"WorkOrder": jsonNames(reflect.TypeOf(bluehelm.WorkOrder{})), "WorkOrderSuggestion": jsonNames(reflect.TypeOf(camp.WorkOrderSuggestion{})),
		"WorkOrderActionRequest": jsonNames(reflect.TypeOf(WorkOrderActionRequest{})),
		"StockItem":              jsonNames(reflect.TypeOf(bluehelm.StockItem{})), "StockMovement": jsonNames(reflect.TypeOf(bluehelm.StockMovement{})),
		"MovementResult": jsonNames(reflect.TypeOf(MovementResult{})), "StockStatus": jsonNames(reflect.TypeOf(camp.StockStatus{})),
		"Consumption": jsonNames(reflect.TypeOf(camp.Consumption{})), "StockForecast": jsonNames(reflect.TypeOf(StockForecast{})),
		"DayValue": jsonNames(reflect.TypeOf(DayValue{})), "DayForecast": jsonNames(reflect.TypeOf(DayForecast{})),
		"CampEntry": jsonNames(reflect.TypeOf(CampEntry{})), "CampDashboard": jsonNames(reflect.TypeOf(CampDashboard{})),
		"DashboardCamp": jsonNames(reflect.TypeOf(DashboardCamp{})), "DashboardZone": jsonNames(reflect.TypeOf(DashboardZone{})),
		"DashboardSensor": jsonNames(reflect.TypeOf(DashboardSensor{})), "LonLat": jsonNames(reflect.TypeOf(LonLat{})),
		"LastValue":      jsonNames(reflect.TypeOf(LastValue{})),
		"DashboardAsset": sortedCopy(append(slices.Clone(assetNames), "running_hours", "service_due")),
		"EnergySummary":  jsonNames(reflect.TypeOf(camp.EnergySummary{})), "WaterSummary": jsonNames(reflect.TypeOf(camp.WaterSummary{})),
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
		if !slices.Equal(want, documented) {
			t.Errorf("%s: Go has %v,\ndocumented %v", name, want, documented)
		}
	}
}

func sortedCopy(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// campEnv is a server with a camp, its manager, a zone and sensors.
type campFixture struct {
	*testEnv
	camp, zone int64
	sensors    map[string]*bluehelm.Sensor
}

func newCampFixture(t *testing.T) *campFixture {
	e := opsEnv(t)
	e.user("campmgr", bluehelm.RoleCamp, bluehelm.Military, bluehelm.Confidential)
	f := &campFixture{testEnv: e, sensors: map[string]*bluehelm.Sensor{}}
	square := func(lon, lat, d float64) map[string]any {
		return map[string]any{"type": "Polygon", "coordinates": [][][2]float64{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d}, {lon, lat + d}, {lon, lat}}}}
	}
	var a bluehelm.Area
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": "Camp Alpha", "kind": "camp", "geometry": square(31.5, 4.8, 0.1)}}, http.StatusCreated, &a)
	f.camp = a.ID
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": "North wall", "kind": "camp_zone", "geometry": square(31.52, 4.88, 0.01)}}, http.StatusCreated, &a)
	f.zone = a.ID
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: map[string]any{"name": "Other camp's zone", "kind": "camp_zone", "geometry": square(30, 4, 0.01)}}, http.StatusCreated, &a)
	for _, s := range []struct {
		code string
		kind bluehelm.SensorKind
		zone int64
		cap  float64
	}{
		{"A-PIR-1", bluehelm.SensorPIR, f.zone, 0}, {"A-SOLAR", bluehelm.SensorSolarKW, 0, 0}, {"A-GEN-1", bluehelm.SensorGeneratorKW, 0, 0},
		{"A-LOAD", bluehelm.SensorLoadKW, 0, 0}, {"A-FLOW", bluehelm.SensorWaterFlow, 0, 0}, {"A-FUEL", bluehelm.SensorFuelLevel, 0, 20000},
	} {
		sn := &bluehelm.Sensor{Code: s.code, Kind: s.kind, CampID: f.camp, ZoneID: s.zone, Position: bluehelm.Point{Lon: 31.55, Lat: 4.85},
			Unit: s.kind.Spec().Unit, IntervalSeconds: 60, CapacityLitres: s.cap, Marking: bluehelm.Marking{Component: bluehelm.Military}}
		if err := e.db.CreateSensor(e.ctx, sn, bluehelm.NewAudit(bluehelm.SystemPrincipal("test"), "sensor.create", "", nil)); err != nil {
			t.Fatal(err)
		}
		f.sensors[s.code] = sn
	}
	return f
}

func TestCampRecordsAPI(t *testing.T) {
	f := newCampFixture(t)
	campPath := fmt.Sprintf("/api/v1/camps/%d", f.camp)

	// Profile: defaults at version 0, created without If-Match, then optimistic.
	var pr bluehelm.CampProfile
	r := f.ok(req{method: "GET", path: campPath + "/profile", as: "viewer"}, http.StatusOK, &pr)
	if pr.Version != 0 || pr.WaterStandardLPD != 84 || r.Header.Get("ETag") != `"0"` {
		t.Fatalf("default profile %+v", pr)
	}
	body := map[string]any{"population": 800, "escalation": []map[string]any{{"role": "camp_manager", "after_minutes": 5}, {"role": "commander", "after_minutes": 15}}}
	f.problem(req{method: "PUT", path: campPath + "/profile", as: "reporter", body: body}, http.StatusForbidden, "")
	f.problem(req{method: "PUT", path: campPath + "/profile", as: "campmgr", body: map[string]any{"population": -1}}, http.StatusBadRequest, "population")
	f.problem(req{method: "PUT", path: campPath + "/profile", as: "campmgr", body: map[string]any{"zone_ids": []int64{f.camp}}}, http.StatusBadRequest, "zone_ids[0]")
	body["zone_ids"], body["adjacent_zones"] = []int64{f.zone}, [][2]int64{}
	f.ok(req{method: "PUT", path: campPath + "/profile", as: "campmgr", body: body}, http.StatusOK, &pr)
	f.problem(req{method: "PUT", path: campPath + "/profile", as: "campmgr", body: body}, http.StatusConflict, "")
	body["population"] = 850
	f.ok(req{method: "PUT", path: campPath + "/profile", as: "campmgr", body: body, header: im(1)}, http.StatusOK, &pr)
	if pr.Version != 2 || pr.Population != 850 {
		t.Fatalf("profile %+v", pr)
	}
	f.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/camps/%d/profile", f.zone), as: "viewer"}, http.StatusNotFound, "")
	var camps struct{ Camps []CampEntry }
	f.ok(req{method: "GET", path: "/api/v1/camps", as: "viewer"}, http.StatusOK, &camps)
	if len(camps.Camps) != 1 || camps.Camps[0].Area.ID != f.camp || camps.Camps[0].Profile == nil || camps.Camps[0].Profile.Population != 850 {
		t.Fatalf("camps %+v", camps)
	}

	// Stock: a movement that would make the book negative is 422 in plain words.
	var it bluehelm.StockItem
	f.ok(req{method: "POST", path: "/api/v1/stock-items", as: "campmgr", body: map[string]any{"name": "Diesel", "kind": "diesel", "unit": "L",
		"camp_id": f.camp, "store": "fuel farm", "min_days_of_supply": 14, "tank_sensor_ids": []int64{f.sensors["A-FUEL"].ID}}}, http.StatusCreated, &it)
	items := fmt.Sprintf("/api/v1/stock-items/%d", it.ID)
	var mr MovementResult
	f.ok(req{method: "POST", path: items + "/movements", as: "campmgr", body: map[string]any{"kind": "receipt", "quantity": 12000,
		"time": f.now.Add(-48 * time.Hour).Format(time.RFC3339)}}, http.StatusCreated, &mr)
	if mr.Balance != 12000 || mr.Movement.By != "campmgr" {
		t.Fatalf("receipt %+v", mr)
	}
	p := f.problem(req{method: "POST", path: items + "/movements", as: "campmgr", body: map[string]any{"kind": "issue", "quantity": 12001}}, http.StatusUnprocessableEntity, "quantity")
	if !strings.Contains(p.Detail, "book holds 12000 L") {
		t.Errorf("refusal %q", p.Detail)
	}
	f.problem(req{method: "POST", path: items + "/movements", as: "viewer", body: map[string]any{"kind": "issue", "quantity": 1}}, http.StatusForbidden, "")
	f.problem(req{method: "POST", path: items + "/movements", as: "campmgr", body: map[string]any{"kind": "spill", "quantity": 1}}, http.StatusBadRequest, "kind")
	for d := 1; d <= 2; d++ {
		f.ok(req{method: "POST", path: items + "/movements", as: "campmgr", body: map[string]any{"kind": "issue", "quantity": 1000,
			"time": f.now.Add(-time.Duration(d) * time.Hour).Format(time.RFC3339)}}, http.StatusCreated, nil)
	}
	var fc StockForecast
	f.ok(req{method: "GET", path: items + "/forecast?days=7", as: "viewer"}, http.StatusOK, &fc)
	if fc.Status.Balance != 10000 || len(fc.Forecast) != 7 || len(fc.History) != camp.ForecastHistoryDays {
		t.Fatalf("forecast %+v", fc)
	}
	var movs struct{ Movements []bluehelm.StockMovement }
	f.ok(req{method: "GET", path: items + "/movements", as: "viewer"}, http.StatusOK, &movs)
	if len(movs.Movements) != 3 {
		t.Fatalf("movements %+v", movs)
	}

	// Assets and work orders.
	var a bluehelm.Asset
	f.ok(req{method: "POST", path: "/api/v1/assets", as: "campmgr", body: map[string]any{"camp_id": f.camp, "kind": "generator", "name": "Genset 1",
		"position": map[string]any{"type": "Point", "coordinates": []float64{31.55, 4.85}}, "rated_kw": 250, "sensor_ids": []int64{f.sensors["A-GEN-1"].ID},
		"service_plans": []map[string]any{{"task": "oil change", "every_hours": 250, "lead_hours": 25}}}}, http.StatusCreated, &a)
	var wo bluehelm.WorkOrder
	f.ok(req{method: "POST", path: "/api/v1/work-orders", as: "campmgr", body: map[string]any{"asset_id": a.ID, "task": "fix the door"}}, http.StatusCreated, &wo)
	if wo.Status != bluehelm.WorkOpen || wo.CampID != f.camp {
		t.Fatalf("work order %+v", wo)
	}
	wpath := fmt.Sprintf("/api/v1/work-orders/%d", wo.ID)
	f.problem(req{method: "POST", path: wpath + "/actions/done", as: "campmgr"}, http.StatusConflict, "")
	f.problem(req{method: "POST", path: wpath + "/actions/paint", as: "campmgr"}, http.StatusBadRequest, "action")
	f.ok(req{method: "POST", path: wpath + "/actions/assign", as: "campmgr", body: map[string]any{"assigned_to": "Cpl Deng"}}, http.StatusOK, &wo)
	f.ok(req{method: "POST", path: wpath + "/actions/done", as: "campmgr", body: map[string]any{"hour_meter": 12, "note": "hinge replaced"}}, http.StatusOK, &wo)
	if wo.Status != bluehelm.WorkDone || *wo.DoneAtHours != 12 || wo.AssignedTo != "Cpl Deng" {
		t.Fatalf("done %+v", wo)
	}
	var wos struct {
		WorkOrders []bluehelm.WorkOrder `json:"work_orders"`
	}
	f.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/work-orders?camp=%d&status=open,assigned", f.camp), as: "viewer"}, http.StatusOK, &wos)
	if len(wos.WorkOrders) != 0 {
		t.Errorf("open orders %+v", wos.WorkOrders)
	}
}

// TestCampDashboardShape pins the dashboard's JSON members: the camp page is
// written against exactly these.
func TestCampDashboardShape(t *testing.T) {
	f := newCampFixture(t)
	f.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/camps/%d/profile", f.camp), as: "campmgr", body: map[string]any{"population": 100}}, http.StatusOK, nil)
	hour := f.now.Truncate(time.Hour)
	// Each bucket's last reading is early in its hour, so that a last value
	// taken from the buckets is always older than three intervals.
	var rs []bluehelm.SensorRollup
	for h := 1; h <= 48; h++ {
		start := hour.Add(-time.Duration(h) * time.Hour)
		for code, mean := range map[string]float64{"A-SOLAR": 40, "A-GEN-1": 100, "A-LOAD": 140, "A-FLOW": 5} {
			rs = append(rs, bluehelm.SensorRollup{SensorID: f.sensors[code].ID, Resolution: bluehelm.RollupHour, Start: start, Count: 60, Min: mean, Max: mean, Sum: 60 * mean, Last: mean, LastTime: start.Add(time.Minute)})
		}
	}
	m := f.now.Truncate(time.Minute).Add(-time.Minute)
	rs = append(rs, bluehelm.SensorRollup{SensorID: f.sensors["A-FUEL"].ID, Resolution: bluehelm.RollupMinute, Start: m, Count: 1, Min: 50, Max: 50, Sum: 50, Last: 50, LastTime: m.Add(10 * time.Second)})
	if err := f.db.AppendRollups(f.ctx, rs); err != nil {
		t.Fatal(err)
	}
	var it bluehelm.StockItem
	f.ok(req{method: "POST", path: "/api/v1/stock-items", as: "campmgr", body: map[string]any{"name": "Diesel", "kind": "diesel", "unit": "L",
		"camp_id": f.camp, "store": "fuel farm", "min_days_of_supply": 14, "tank_sensor_ids": []int64{f.sensors["A-FUEL"].ID}}}, http.StatusCreated, &it)
	f.ok(req{method: "POST", path: fmt.Sprintf("/api/v1/stock-items/%d/movements", it.ID), as: "campmgr", body: map[string]any{"kind": "receipt", "quantity": 10500}}, http.StatusCreated, nil)
	alarm := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: "single_trigger", Key: fmt.Sprintf("1/single_trigger/%d", f.sensors["A-PIR-1"].ID),
		Severity: bluehelm.SevWarning, Title: "PIR trigger", AreaID: f.camp, Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := f.pipeline.RaiseAlert(f.ctx, bluehelm.SystemPrincipal("sensor"), alarm); err != nil {
		t.Fatal(err)
	}

	var raw map[string]json.RawMessage
	f.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/camps/%d/dashboard?days=2", f.camp), as: "viewer"}, http.StatusOK, &raw)
	keys := func(b json.RawMessage) []string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	first := func(b json.RawMessage) json.RawMessage {
		var l []json.RawMessage
		if err := json.Unmarshal(b, &l); err != nil || len(l) == 0 {
			t.Fatalf("not a non-empty list: %s", b)
		}
		return l[0]
	}
	root := &json.RawMessage{}
	*root, _ = json.Marshal(raw)
	for _, c := range []struct {
		what string
		got  []string
		want string
	}{
		{"dashboard", keys(*root), "alarms assets camp energy sensors stocks water work_orders zones"},
		{"camp", keys(raw["camp"]), "geometry id name population water_standard_lpd"},
		{"zone", keys(first(raw["zones"])), "geometry id name"},
		{"sensor", keys(first(raw["sensors"])), "code id interval_seconds kind last position spark state unit"},
		{"stock", keys(first(raw["stocks"])), "balance below_minimum daily_use days_of_supply discrepancy item stock_out tank_level unit"},
		{"energy", keys(raw["energy"]), "co2_avoided_kg from fuel_litres fuel_measured fuel_saved_litres generator_hours generator_kwh load_factor load_kwh renewable_share series solar_kwh to underloaded"},
		{"water", keys(raw["water"]), "below_standard litres_per_person_day series standard"},
	} {
		if strings.Join(c.got, " ") != c.want {
			t.Errorf("%s members:\n got %s\nwant %s", c.what, strings.Join(c.got, " "), c.want)
		}
	}

	var d CampDashboard
	if err := json.Unmarshal(*root, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Zones) != 1 || d.Zones[0].ID != f.zone || d.Camp.Population != 100 || d.Camp.WaterStandardLPD != 84 {
		t.Errorf("camp %+v zones %+v", d.Camp, d.Zones)
	}
	states := map[string]string{}
	for _, s := range d.Sensors {
		states[s.Code] = s.State
		if s.Code == "A-SOLAR" && (len(s.Spark) != 24 || s.Spark[0][1] != 40) {
			t.Errorf("solar spark %v last %v", s.Spark, s.Last)
		}
		if s.Code == "A-FUEL" && (s.Last == nil || s.Last.Value != 50) {
			t.Errorf("fuel last %+v", s.Last)
		}
	}
	// The PIR has an open alarm; the others have not reported within three
	// intervals (at most their last hourly bucket is stored) except the fuel tank.
	if states["A-PIR-1"] != "alarm" || states["A-FUEL"] != "ok" || states["A-SOLAR"] != "stale" {
		t.Errorf("states %v", states)
	}
	if len(d.Alarms) != 1 || d.Alarms[0].ID != alarm.ID {
		t.Errorf("alarms %+v", d.Alarms)
	}
	// 48 h of 40 kW solar and 100 kW generator: 1920 and 4800 kWh.
	if d.Energy.SolarKWh != 1920 || d.Energy.GeneratorKWh != 4800 || len(d.Energy.Series) != 48 || *d.Energy.RenewableShare != 0.2857 {
		t.Errorf("energy %+v", d.Energy)
	}
	// 5 L/min = 300 L/h = 7200 L a day for 100 people: 72 L/p/d.
	if d.Water.LitresPerPersonDay == nil || *d.Water.LitresPerPersonDay != 72 || !d.Water.BelowStandard {
		t.Errorf("water %+v", d.Water)
	}
	// The tank holds 50 % of 20,000 L against a book of 10,500.
	if len(d.Stocks) != 1 || d.Stocks[0].Balance != 10500 || *d.Stocks[0].TankLevel != 10000 || *d.Stocks[0].Discrepancy != -500 {
		t.Errorf("stocks %+v", d.Stocks)
	}
	f.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/camps/%d/dashboard", f.zone), as: "viewer"}, http.StatusNotFound, "")
	f.problem(req{method: "GET", path: fmt.Sprintf("/api/v1/camps/%d/dashboard?days=0", f.camp), as: "viewer"}, http.StatusBadRequest, "days")
}
