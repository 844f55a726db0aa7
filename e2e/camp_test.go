package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
)

// The camp dashboard (issue 7), end to end: the demo camp is laid out through the
// public API as a camp manager's tools would (sensors, rules, assets, the stock
// book, six days of readings through POST /api/v1/readings); the manager opens
// the dashboard, sees the camp map, the charts, a stock below its minimum and the
// generator's service work order; an intrusion is posted as the perimeter
// gateway would post it and arrives on the page; the manager acknowledges it,
// assigns the work order and marks it done. The harness checks, as for every
// test, that the page logged no console error and asked nothing of another origin.

// apiClient is a signed-in API session (cookie and CSRF token), as the page has.
type apiClient struct {
	t    *testing.T
	base string
	hc   *nethttp.Client
	csrf string
}

func newAPIClient(t *testing.T, s *server, username string) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &apiClient{t: t, base: s.URL, hc: &nethttp.Client{Jar: jar, Timeout: stepTimeout}}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.do("POST", "/api/v1/login", map[string]string{"username": username, "password": password}, &me); err != nil {
		t.Fatalf("signing in as %s: %v", username, err)
	}
	c.csrf = me.CSRF
	return c
}

// do sends body as JSON and decodes the answer into out (if not nil). A status
// other than 2xx is an error carrying the problem's text.
func (c *apiClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := nethttp.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, short(string(data)))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding %s: %w", method, path, short(string(data)), err)
		}
	}
	return nil
}

// campAPI is sim.CampWriter over the HTTP API: the demo camp, seeded the way a
// camp's own tools would seed it.
type campAPI struct{ c *apiClient }

func (a campAPI) CreateArea(_ context.Context, _ bluehelm.Principal, ar *bluehelm.Area) error {
	return a.c.do("POST", "/api/v1/areas", ar, ar)
}

func (a campAPI) CreateSensor(_ context.Context, _ bluehelm.Principal, s *bluehelm.Sensor) error {
	var out struct {
		Sensor bluehelm.Sensor `json:"sensor"`
		Token  string          `json:"token"`
	}
	if err := a.c.do("POST", "/api/v1/sensors", s, &out); err != nil {
		return err
	}
	if out.Sensor.ID == 0 || out.Token == "" {
		return fmt.Errorf("POST /api/v1/sensors: no sensor id or token in the answer")
	}
	s.ID = out.Sensor.ID
	return nil
}

func (a campAPI) CreateAlarmRule(_ context.Context, _ bluehelm.Principal, r *bluehelm.AlarmRule) error {
	return a.c.do("POST", "/api/v1/alarm-rules", r, r)
}

func (a campAPI) SetCampProfile(_ context.Context, _ bluehelm.Principal, p *sim.CampProfile) error {
	var esc []map[string]any
	for _, e := range p.Escalation {
		esc = append(esc, map[string]any{"role": e.Role, "after_minutes": e.AfterMinutes})
	}
	return a.c.do("PUT", fmt.Sprintf("/api/v1/camps/%d/profile", p.CampID), map[string]any{
		"camp_id": p.CampID, "population": p.Population, "water_standard_lpd": p.WaterStandardLPD, "escalation": esc,
		"generator_litres_per_kwh": p.GeneratorLitresPerKWh, "diesel_kg_co2_per_litre": p.DieselKgCO2PerLitre,
	}, nil)
}

func (a campAPI) CreateAsset(_ context.Context, _ bluehelm.Principal, as *sim.CampAsset) error {
	var out struct {
		ID int64 `json:"id"`
	}
	plans := []map[string]any{}
	for _, p := range as.ServicePlans {
		plans = append(plans, map[string]any{"task": p.Task, "every_hours": p.EveryHours, "last_done_at_hours": p.LastDoneAtHours, "lead_hours": p.LeadHours})
	}
	err := a.c.do("POST", "/api/v1/assets", map[string]any{
		"camp_id": as.CampID, "zone_id": as.ZoneID, "kind": as.Kind, "name": as.Name, "position": as.Position,
		"rated_kw": as.RatedKW, "sensor_ids": as.SensorIDs, "hour_meter_base": as.HourMeterBase, "service_plans": plans,
		"classification": bluehelm.Unclassified, "component": bluehelm.Support,
	}, &out)
	as.ID = out.ID
	return err
}

func (a campAPI) CreateStockItem(_ context.Context, _ bluehelm.Principal, it *bluehelm.StockItem) error {
	return a.c.do("POST", "/api/v1/stock-items", it, it)
}

func (a campAPI) AddStockMovement(_ context.Context, _ bluehelm.Principal, m *bluehelm.StockMovement) error {
	return a.c.do("POST", fmt.Sprintf("/api/v1/stock-items/%d/movements", m.ItemID), m, nil)
}

func (a campAPI) IngestReadings(_ context.Context, _ bluehelm.Principal, rs []bluehelm.Reading) (int, error) {
	var out struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Sensor, Reason string
		} `json:"rejected"`
	}
	if err := a.c.do("POST", "/api/v1/readings", map[string]any{"readings": rs}, &out); err != nil {
		return 0, err
	}
	if len(out.Rejected) > 0 {
		return out.Accepted, fmt.Errorf("%d readings rejected, first: %+v", len(out.Rejected), out.Rejected[0])
	}
	return out.Accepted, nil
}

func TestCampDashboard(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := context.Background()
	s.addUser(bluehelm.User{Username: "campmgr", Name: "Camp manager, Juba base", Role: bluehelm.RoleCamp, Component: bluehelm.Support, Clearance: bluehelm.Unclassified})

	// The camp's perimeter, as the mission's scenario draws it.
	scen := sim.SouthSudan(1)
	base := scen.Camps[0]
	perimeter := &bluehelm.Area{Name: "UNMISS base " + base.Name, Kind: bluehelm.AreaCamp,
		Geometry: bluehelm.Geometry{Geometry: squareRing(base.Point.Lon, base.Point.Lat, 0.008)},
		Marking:  bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	if err := s.pipeline.CreateArea(ctx, bluehelm.SystemPrincipal("e2e"), perimeter); err != nil {
		t.Fatal(err)
	}
	api := newAPIClient(t, s, "campmgr")
	demo := sim.NewDemoCamp(base, 1, 2*time.Hour)
	// Intrusions are posted by the test, not staged by the camp.
	demo.IntrusionEvery = 24 * time.Hour
	if err := demo.Seed(ctx, campAPI{api}, perimeter.ID, time.Now()); err != nil {
		t.Fatalf("seeding the demo camp through the API: %v", err)
	}

	b := newBrowser(t, s, "campmgr")
	b.login("campmgr")
	b.waitLive()
	b.do("opening the camp dashboard", stepTimeout, chromedp.Navigate(fmt.Sprintf("%s/#/camp/%d", s.URL, perimeter.ID)))
	b.waitFor("the dashboard of the camp", stepTimeout, fmt.Sprintf(`window.bluehelmCamp && window.bluehelmCamp.data && window.bluehelmCamp.data.camp && window.bluehelmCamp.data.camp.id === %d`, perimeter.ID))

	// Every sensor on the camp map, coloured by its state.
	b.waitFor("the camp map", stepTimeout, `window.bluehelmCampMap && window.bluehelmCampMap.loaded()`)
	b.waitFor(fmt.Sprintf("the %d sensors on the camp map", len(demo.Sensors)), stepTimeout, fmt.Sprintf(`(async () => {
		const src = window.bluehelmCampMap.getSource("sensors");
		const d = src && await src.getData();
		return d && d.features.length === %d && d.features.every(f => ["ok", "alarm", "stale", "disabled"].includes(f.properties.state));
	})()`, len(demo.Sensors)))
	// Every asset is on the camp map, the generator due for service marked so.
	b.waitFor(fmt.Sprintf("the %d assets on the camp map", len(demo.Assets)), stepTimeout, fmt.Sprintf(`(async () => {
		const src = window.bluehelmCampMap.getSource("assets");
		const d = src && await src.getData();
		return d && d.features.length === %d && d.features.some(f => f.properties.due && /Generator 1/.test(f.properties.name));
	})()`, len(demo.Assets)))
	// The three charts are drawn, with their data.
	b.waitFor("the energy, stock and water charts", stepTimeout, `window.bluehelmCamp.charts.length === 3 &&
		["camp-chart-energy", "camp-chart-stocks", "camp-chart-water"].every(id => { const c = document.getElementById(id); return c && c.offsetHeight > 0 && window.Chart.getChart(c).data.labels.length > 0; })`)
	// The generator within its service lead has its work order.
	b.waitFor("the generator's service work order", stepTimeout, `Array.from(document.querySelectorAll("#camp-work-list li")).some(li => /Oil and filter change/.test(li.textContent))`)
	b.waitFor("the generator due for service in the assets", stepTimeout, `Array.from(document.querySelectorAll("#camp-asset-rows tr.service-due, #camp-asset-rows tr.service-overdue")).some(tr => /Generator 1/.test(tr.textContent))`)

	// A big issue of diesel (a convoy of another base refuelled here) takes it
	// below its minimum cover; the page shows it after a refresh.
	var diesel *bluehelm.StockItem
	for _, it := range demo.Items {
		if it.Kind == bluehelm.StockDiesel {
			diesel = it
		}
	}
	if err := api.do("POST", fmt.Sprintf("/api/v1/stock-items/%d/movements", diesel.ID), bluehelm.StockMovement{
		ItemID: diesel.ID, Kind: bluehelm.MoveIssue, Quantity: 6000, Time: time.Now().Add(-time.Minute), Note: "Refuelling a passing convoy (e2e)",
	}, nil); err != nil {
		t.Fatal(err)
	}
	b.do("refreshing", stepTimeout, chromedp.Click(chromedp.CSS(`#camp-refresh`)))
	b.waitFor("diesel below its minimum", stepTimeout, fmt.Sprintf(`!!document.querySelector('#camp-stock-rows tr.below-minimum[data-id="%d"]')`, diesel.ID))

	// An alarm nobody acknowledged for twenty minutes is escalated up the camp's
	// list (the JOC after 5 minutes): the page says to whom. The alarm is put in
	// the store as raised twenty minutes ago; the escalator's step reaches the
	// page over the stream.
	cold := demo.Sensors[0]
	for _, sn := range demo.Sensors {
		if sn.Code == "C1-COLD-2" {
			cold = sn
		}
	}
	late := &bluehelm.Alert{Source: bluehelm.AlertSensor, Rule: string(bluehelm.AlarmThreshold), Key: "e2e/cold-2", Severity: bluehelm.SevWarning,
		State: bluehelm.AlertOpen, Title: "Cold store 2 at 11 °C (e2e)", AreaID: perimeter.ID, Location: &cold.Position,
		RaisedAt: time.Now().UTC().Add(-20 * time.Minute), RaisedBy: "e2e", Marking: cold.Marking}
	if err := s.store.CreateAlert(ctx, late, bluehelm.NewAudit(bluehelm.SystemPrincipal("e2e"), "alert.raise", "", nil)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.pipeline.NewEscalator(ingest.EscalatorConfig{}).Tick(ctx); err != nil || n != 1 {
		t.Fatalf("escalation tick: %d escalated, %v; want the one late alarm", n, err)
	}
	b.waitFor("the escalated alarm, with whom it went to", stepTimeout, fmt.Sprintf(`(li => li && /Escalated to Operations \(JOC\)/.test(li.querySelector(".escalated").textContent))(document.querySelector('#camp-alarm-list li[data-id="%d"]'))`, late.ID))

	// An intrusion: two detectors of the north wall (an infrared detector, then
	// the fence) within the correlation window, posted as the perimeter gateway
	// posts them.
	var pir, fence *bluehelm.Sensor
	for _, sn := range demo.Sensors {
		switch sn.Code {
		case "C1-PIR-N3":
			pir = sn
		case "C1-FENCE-N":
			fence = sn
		}
	}
	// Each detection is dated when it is posted: the camp's history ends with
	// heartbeats dated when it was seeded, and an earlier reading would be out
	// of order, stored but not evaluated.
	for _, sn := range []*bluehelm.Sensor{pir, fence} {
		if _, err := (campAPI{api}).IngestReadings(ctx, bluehelm.Principal{}, []bluehelm.Reading{
			{SensorCode: sn.Code, Time: time.Now().UTC(), Value: 1, Unit: sn.Unit},
		}); err != nil {
			t.Fatalf("posting the intrusion: %v", err)
		}
		time.Sleep(time.Second)
	}
	const intrusion = `#camp-alarm-list li.intrusion`
	b.waitFor("the intrusion on the dashboard", stepTimeout, `document.querySelector(`+jsString(intrusion+`.state-open button[data-action="acknowledge"]`)+`) && !document.getElementById("camp-intrusion").hidden`)
	b.waitFor("the intrusion pulsing on the camp map", stepTimeout, `(async () => {
		const d = await window.bluehelmCampMap.getSource("alerts").getData();
		return d.features.some(f => f.properties.rule === "confirmed_intrusion") && document.querySelector("#camp-map .bh-pulse--critical");
	})()`)
	alertID := eval[int64](b, `Number(document.querySelector(`+jsString(intrusion)+`).dataset.id)`)
	b.do("acknowledging the intrusion", stepTimeout, chromedp.Click(chromedp.CSS(intrusion+` button[data-action="acknowledge"]`)))
	waitUntil(t, "the intrusion acknowledged by campmgr in the store", stepTimeout, func() (bool, string) {
		got, err := s.store.Alert(ctx, alertID)
		if err != nil {
			return false, err.Error()
		}
		return got.State == bluehelm.AlertAcknowledged && got.AckBy == "campmgr", fmt.Sprintf("state %s, acknowledged by %q", got.State, got.AckBy)
	})
	b.waitFor("the acknowledged intrusion shown as such", stepTimeout, `!document.querySelector(`+jsString(intrusion+` button[data-action="acknowledge"]`)+`) && document.querySelector(`+jsString(intrusion+`.state-acknowledged`)+`)`)

	// The work order: assigned to a technician, then done.
	const order = `#camp-work-list li`
	woID := eval[int64](b, `Number(Array.from(document.querySelectorAll(`+jsString(order)+`)).find(li => /Oil and filter change/.test(li.textContent)).dataset.id)`)
	item := fmt.Sprintf(`#camp-work-list li[data-id="%d"]`, woID)
	b.do("assigning the work order", stepTimeout,
		chromedp.Click(chromedp.CSS(item+` button[data-action="assign"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog #wo-assignee`)))
	b.setField(`dialog #wo-assignee`, "eng.mutesi")
	b.do("confirming the assignment", stepTimeout, chromedp.Click(chromedp.CSS(`dialog button[type="submit"]`)))
	b.waitFor("the work order assigned", stepTimeout, `(li => li && li.classList.contains("wstatus-assigned") && /eng\.mutesi/.test(li.textContent))(document.querySelector(`+jsString(item)+`))`)
	b.do("marking the work order done", stepTimeout,
		chromedp.Click(chromedp.CSS(item+` button[data-action="done"]`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog textarea`)))
	b.setField(`dialog textarea`, "Oil and filters changed; meter 4852 h.")
	b.do("confirming done", stepTimeout, chromedp.Click(chromedp.CSS(`dialog button.primary`)))
	b.waitFor("the work order gone from the open list", stepTimeout, `!document.querySelector(`+jsString(item)+`)`)
	var orders json.RawMessage
	if err := api.do("GET", "/api/v1/work-orders", nil, &orders); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orders), `"done"`) {
		t.Errorf("GET /api/v1/work-orders has no work order done: %s", short(string(orders)))
	}
}

// squareRing is a square polygon around (lon, lat), half a side of half degrees.
func squareRing(lon, lat, half float64) orb.Polygon {
	return orb.Polygon{{{lon - half, lat - half}, {lon + half, lat - half}, {lon + half, lat + half}, {lon - half, lat + half}, {lon - half, lat - half}}}
}
