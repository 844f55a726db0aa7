package http

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/paulmach/orb"
)

func TestSensorsAndReadings(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	e.user("campmgr", bluehelm.RoleCamp, bluehelm.Support, bluehelm.Unclassified)
	ring := orb.Ring{{31, 5}, {31.01, 5}, {31.01, 5.01}, {31, 5.01}, {31, 5}}
	camp := &bluehelm.Area{Name: "Camp 1", Kind: bluehelm.AreaCamp, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}},
		Marking: bluehelm.Marking{Component: bluehelm.Support}}
	if err := e.pipeline.CreateArea(e.ctx, bluehelm.SystemPrincipal("test"), camp); err != nil {
		t.Fatal(err)
	}
	newSensor := func(code string) sensorIssued {
		var out sensorIssued
		e.ok(req{method: "POST", path: "/api/v1/sensors", as: "campmgr", body: map[string]any{
			"code": code, "kind": "fuel_tank_level", "camp_id": camp.ID, "unit": "%", "interval_seconds": 60,
			"position": map[string]any{"type": "Point", "coordinates": []float64{31.005, 5.005}},
		}}, http.StatusCreated, &out)
		if out.Token == "" || out.Sensor.ID == 0 {
			t.Fatalf("created %+v", out)
		}
		return out
	}
	fuel, gen := newSensor("C1-FUEL-1"), newSensor("C1-FUEL-2")
	e.ok(req{method: "POST", path: "/api/v1/sensors", as: "viewer", body: map[string]any{"code": "X"}}, http.StatusForbidden, nil)

	at := e.now.Add(-time.Minute).Format(time.RFC3339)
	post := func(tok string, status int, readings ...map[string]any) ingest.ReadingsResult {
		t.Helper()
		var out ingest.ReadingsResult
		hdr := map[string]string{}
		if tok != "" {
			hdr["Authorization"] = "Bearer " + tok
		}
		e.ok(req{method: "POST", path: "/api/v1/readings", header: hdr, body: map[string]any{"readings": readings}}, status, &out)
		return out
	}
	good := map[string]any{"sensor_code": "C1-FUEL-1", "time": at, "value": 55.5, "unit": "%"}
	tank300 := map[string]any{"sensor_code": "C1-FUEL-1", "time": at, "value": 300, "unit": "%"}
	res := post(fuel.Token, http.StatusOK, good, tank300)
	if res.Accepted != 1 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 || res.Rejected[0].Field != "value" {
		t.Fatalf("good + 300 %%: %+v", res)
	}
	if res := post(fuel.Token, http.StatusOK, good); res.Duplicates != 1 || res.Accepted != 0 {
		t.Errorf("resent: %+v", res)
	}
	other := map[string]any{"sensor_code": "C1-FUEL-2", "time": at, "value": 50, "unit": "%"}
	if res := post(fuel.Token, http.StatusUnprocessableEntity, other); len(res.Rejected) != 1 {
		t.Errorf("a token posting another sensor's reading: %+v", res)
	}
	post(gen.Token, http.StatusOK, other)
	post("", http.StatusUnauthorized, good)
	post("bhs1.1.forged", http.StatusUnauthorized, good)
	e.ok(req{method: "POST", path: "/api/v1/readings", as: "viewer", body: map[string]any{"readings": []any{good}}}, http.StatusForbidden, nil)
	e.ok(req{method: "POST", path: "/api/v1/readings", as: "campmgr", body: map[string]any{"readings": []any{
		map[string]any{"sensor_code": "C1-FUEL-1", "time": at, "unit": "%"}}}}, http.StatusBadRequest, nil)

	// rotation: the old token is refused
	var rot sensorIssued
	e.ok(req{method: "POST", path: "/api/v1/sensors/" + itoa64(fuel.Sensor.ID) + "/token", as: "campmgr"}, http.StatusOK, &rot)
	post(fuel.Token, http.StatusUnauthorized, good)
	if rot.Token == fuel.Token || rot.Sensor.ID != fuel.Sensor.ID {
		t.Errorf("rotate: %+v", rot)
	}

	var hist struct {
		Resolution string            `json:"resolution"`
		Points     []json.RawMessage `json:"points"`
	}
	e.ok(req{method: "GET", path: "/api/v1/sensors/" + itoa64(fuel.Sensor.ID) + "/readings", as: "viewer"}, http.StatusOK, &hist)
	if hist.Resolution != "raw" || len(hist.Points) != 1 {
		t.Errorf("raw history: %+v", hist)
	}
	e.ok(req{method: "GET", path: "/api/v1/sensors/" + itoa64(fuel.Sensor.ID) + "/readings?resolution=minute", as: "viewer"}, http.StatusOK, &hist)
	var pt rollupPoint
	if len(hist.Points) != 1 || json.Unmarshal(hist.Points[0], &pt) != nil || pt.Count != 1 || pt.Mean != 55.5 {
		t.Errorf("minute history (the open bucket): %s", hist.Points)
	}
	e.ok(req{method: "GET", path: "/api/v1/sensors/" + itoa64(fuel.Sensor.ID) + "/readings?resolution=day", as: "viewer"}, http.StatusBadRequest, nil)

	var q struct {
		Rejected []bluehelm.QuarantinedReading `json:"rejected"`
	}
	e.ok(req{method: "GET", path: "/api/v1/readings/rejected?sensor=C1-FUEL-1", as: "campmgr"}, http.StatusOK, &q)
	if len(q.Rejected) != 1 || q.Rejected[0].Value != 300 || q.Rejected[0].Source != "http" {
		t.Errorf("quarantine: %+v", q.Rejected)
	}
	e.ok(req{method: "GET", path: "/api/v1/readings/rejected", as: "viewer"}, http.StatusForbidden, nil)

	// alarm rules
	var rule bluehelm.AlarmRule
	e.ok(req{method: "POST", path: "/api/v1/alarm-rules", as: "campmgr", body: map[string]any{
		"name": "fuel low", "kind": "threshold", "camp_id": camp.ID, "sensor_id": fuel.Sensor.ID, "side": "low", "level": 20, "hysteresis": 5, "severity": "warning",
	}}, http.StatusCreated, &rule)
	e.ok(req{method: "POST", path: "/api/v1/alarm-rules", as: "campmgr", body: map[string]any{
		"name": "bad", "kind": "threshold", "camp_id": camp.ID, "sensor_id": fuel.Sensor.ID, "side": "low", "level": 200, "severity": "warning",
	}}, http.StatusBadRequest, nil)
	var rules struct {
		AlarmRules []bluehelm.AlarmRule `json:"alarm_rules"`
	}
	e.ok(req{method: "GET", path: "/api/v1/alarm-rules", as: "viewer"}, http.StatusOK, &rules)
	if len(rules.AlarmRules) != 1 {
		t.Errorf("rules: %+v", rules)
	}
	e.ok(req{method: "DELETE", path: "/api/v1/alarm-rules/" + itoa64(rule.ID), as: "campmgr", header: map[string]string{"If-Match": etag(rule.Version)}}, http.StatusNoContent, nil)
}

// TestOpenAPISensorSchemasMatchTypes keeps the sensor schemas and the Go JSON
// names in step, both ways.
func TestOpenAPISensorSchemasMatchTypes(t *testing.T) {
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
		"Sensor": bluehelm.Sensor{}, "AlarmRule": bluehelm.AlarmRule{}, "SensorIssued": sensorIssued{},
		"ReadingInput": readingIn{}, "ReadingsResult": ingest.ReadingsResult{}, "ReadingRejection": ingest.ReadingRejection{},
		"QuarantinedReading": bluehelm.QuarantinedReading{}, "SensorPoint": point{}, "RollupPoint": rollupPoint{},
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
