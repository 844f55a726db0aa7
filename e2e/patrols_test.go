package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/chromedp/chromedp"
)

// The patrol planner, the risk view, the task board and patrol monitoring, end to
// end (issue 5). Like every test here, each browser's console and requests are
// checked when the test ends: no console error, nothing off the origin, on the
// new views too.

// opsWorld is what TestPatrolPlanToResponse works in: two units of a battalion
// in Juba with reporting vehicles, the medical support around them and an IED
// attack an hour ago beside the road the patrol will take.
type opsWorld struct {
	trackA, trackB bluehelm.Track
	ied            *bluehelm.Incident
}

const (
	unitA = "BANBATT-2/A"
	unitB = "BANBATT-2/B"
)

func seedOpsWorld(t *testing.T, s *server) opsWorld {
	t.Helper()
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("e2e")
	mil := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	w := opsWorld{
		trackA: bluehelm.Track{UID: "e2e-ban-a", Callsign: "BAN A-1", Kind: bluehelm.KindUnit, CoTType: "a-f-G-U-C-I", SIDC: "SFGPUCI----D", Unit: unitA, Nationality: "BGD", Marking: mil},
		trackB: bluehelm.Track{UID: "e2e-ban-b", Callsign: "BAN B-1", Kind: bluehelm.KindUnit, CoTType: "a-f-G-U-C-I", SIDC: "SFGPUCI----D", Unit: unitB, Nationality: "BGD", Marking: mil},
	}
	for _, u := range []*bluehelm.Unit{
		{Code: unitA, Name: "BANBATT-2 Alpha company", Mobility: bluehelm.MobilityMounted, Nationality: "BGD", TrackUIDs: []string{w.trackA.UID}, Marking: mil},
		{Code: unitB, Name: "BANBATT-2 Bravo company", Mobility: bluehelm.MobilityMounted, Nationality: "BGD", TrackUIDs: []string{w.trackB.UID}, Marking: mil},
	} {
		if err := s.pipeline.CreateUnit(ctx, sys, u); err != nil {
			t.Fatal(err)
		}
	}
	support := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}
	for _, f := range []*bluehelm.MedicalFacility{
		{Name: "BANBATT Level 1 clinic, Juba", Level: "1", Location: bluehelm.Point{Lon: 31.60, Lat: 4.84}, Marking: support},
		{Name: "Level 2 hospital, UN House Juba", Level: "2", Location: bluehelm.Point{Lon: 31.57, Lat: 4.86}, Marking: support},
	} {
		if err := s.pipeline.CreateFacility(ctx, sys, f); err != nil {
			t.Fatal(err)
		}
	}
	w.ied = s.incident("IED strike on a water truck, Gudele road (e2e)", bluehelm.CatExplosive, mil, 31.62, 4.856)
	s.report(w.trackA, 31.581, 4.851, 90)
	s.report(w.trackB, 31.55, 4.80, 45)
	return w
}

// patrolGPX is the route the planner imports: east out of Juba past the IED.
const patrolGPX = `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="e2e" xmlns="http://www.topografix.com/GPX/1/1">
  <rte><name>Gudele road east</name>
    <rtept lat="4.850" lon="31.580"/>
    <rtept lat="4.855" lon="31.610"/>
    <rtept lat="4.858" lon="31.640"/>
    <rtept lat="4.880" lon="31.680"/>
  </rte>
</gpx>
`

// TestPatrolPlanToResponse: a reporter plans a patrol (route drawn on the map,
// then replaced by an imported GPX) and submits it; an operations officer who did
// not plan it sees its risk (route coloured, reasons, the estimate label) and
// approves it; the patrol appears on the live map of a third session; the officer
// sends a unit to an incident from its detail and finds the task on the board;
// the patrol, once underway, strays from its route and the alert shows.
func TestPatrolPlanToResponse(t *testing.T) {
	s := startServer(t, serverOptions{})
	w := seedOpsWorld(t, s)
	gpx := filepath.Join(t.TempDir(), "gudele-east.gpx")
	if err := os.WriteFile(gpx, []byte(patrolGPX), 0o644); err != nil {
		t.Fatal(err)
	}

	// A commander watches the live map from the start.
	watcher := newBrowser(t, s, "joc")
	watcher.login("joc")
	watcher.waitMapReady()
	watcher.waitLive()

	// --- the planner ---------------------------------------------------------------
	planner := newBrowser(t, s, "reporter")
	planner.login("reporter")
	planner.waitMapReady()
	planner.waitLive()
	planner.do("the patrol plan", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-patrols`)),
		chromedp.WaitVisible(chromedp.CSS(`#patrols-section`)),
		chromedp.WaitVisible(chromedp.CSS(`#patrol-week`)),
		chromedp.Click(chromedp.CSS(`button#new-patrol`)),
		chromedp.WaitVisible(chromedp.CSS(`form#patrol-form`)),
	)
	name := "BANBATT-2 Gudele presence patrol (e2e)"
	planner.setField(`#patrol-form input[name=name]`, name)
	planner.setField(`#patrol-form select[name=type]`, "joint_police")
	planner.do("choosing the unit", stepTimeout, chromedp.Click(chromedp.CSS(`#patrol-form input[name=units][value="`+unitA+`"]`)))
	planner.setField(`#patrol-form input[name=strength]`, "14")
	planner.setField(`#patrol-form input[name=women]`, "4")
	planner.setField(`#patrol-form input[name=check_in_minutes]`, "20")
	planner.setField(`#patrol-form textarea[name=purpose]`, "Presence and community engagement after the IED strike.")
	// Out since half an hour, so that the commander's figures (up to now) count it.
	localInput := func(minutes int) string {
		return eval[string](planner, fmt.Sprintf(`(d => { const p = n => String(n).padStart(2, "0");
			return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()); })(new Date(Date.now() + %d * 60000))`, minutes))
	}
	planner.setField(`#patrol-form input[name=planned_start]`, localInput(-30))
	planner.setField(`#patrol-form input[name=planned_end]`, localInput(180))

	// Drawing: three waypoints clicked on the map, then Finish.
	planner.do("starting to draw", stepTimeout, chromedp.Click(chromedp.CSS(`button#pf-draw-route`)))
	planner.waitFor("the drawing hint", stepTimeout, `!document.querySelector(".bh-hint").hidden`)
	planner.eval0(`window.bluehelmMap.jumpTo({center: [31.63, 4.865], zoom: 11})`)
	for _, p := range [][2]float64{{31.59, 4.85}, {31.62, 4.86}, {31.66, 4.87}} {
		x, y := planner.screenXY(p[0], p[1])
		planner.do(fmt.Sprintf("clicking waypoint %v", p), stepTimeout, chromedp.MouseClickXY(x, y))
		time.Sleep(400 * time.Millisecond) // two clicks close together would be a double click
	}
	planner.do("finishing the route", stepTimeout, chromedp.Click(chromedp.CSS(`.bh-hint button.bh-btn-primary`)))
	planner.waitFor("the drawn route of 3 points", stepTimeout, `/\b3\b/.test(document.querySelector("#pf-route-summary").textContent)`)
	planner.waitFor("the drawn route's risk", stepTimeout, `document.querySelector("#pf-risk .risk-view")`)

	// Importing a GPX file replaces it.
	planner.do("importing a GPX route", stepTimeout, chromedp.SetUploadFiles(chromedp.CSS(`#pf-route-file`), []string{gpx}))
	planner.waitFor("the imported route of 4 points", stepTimeout, `/\b4\b/.test(document.querySelector("#pf-route-summary").textContent)`)
	planner.waitFor("the imported route's risk", stepTimeout, `document.querySelector("#pf-risk .risk-view")`)
	planner.do("saving and submitting", stepTimeout, chromedp.Click(chromedp.CSS(`button#patrol-save-submit`)))
	planner.waitFor("the saved patrol's detail", stepTimeout, `(el => el && el.dataset.status === "submitted")(document.querySelector("#patrol-status"))`)

	var pt *bluehelm.Patrol
	waitUntil(t, "the submitted patrol in the store", stepTimeout, func() (bool, string) {
		ps, err := s.store.FindPatrols(context.Background(), bluehelm.PatrolFilter{Viewer: s.principal("ops")})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range ps {
			if p.Name == name {
				pt = p
				return p.Status == bluehelm.PatrolSubmitted, string(p.Status)
			}
		}
		return false, "not there"
	})
	if pt.PlannedBy != "reporter" || pt.Type != bluehelm.PatrolJointPolice || pt.Strength != 14 || pt.Women != 4 || pt.CheckInMinutes != 20 ||
		len(pt.Units) != 1 || pt.Units[0] != unitA || len(pt.RouteLine()) != 4 {
		t.Fatalf("stored patrol %+v", pt)
	}
	// The planner may not approve their own plan: no button for it.
	if eval[bool](planner, `!!document.querySelector('#patrol-actions [data-action="approve"]')`) {
		t.Error("the planner is offered to approve their own patrol")
	}

	// --- the approver --------------------------------------------------------------
	ops := newBrowser(t, s, "ops")
	ops.login("ops")
	ops.waitMapReady()
	ops.waitLive()
	ops.do("the plan of the week", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-patrols`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#patrols-body li[data-id="%d"] a.patrol-row`, pt.ID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#patrols-body li[data-id="%d"] a.patrol-row`, pt.ID))),
		chromedp.WaitVisible(chromedp.CSS(`#patrol-title`)),
		chromedp.WaitVisible(chromedp.CSS(`.risk-view`)),
	)
	// The risk view: reasons naming the IED (a link to it), the medical reach
	// labelled an estimate, and the route on the map coloured by level.
	ops.waitFor("the near-repeat reason naming the IED", stepTimeout,
		fmt.Sprintf(`document.querySelector('.risk-reasons li[data-code="near_repeat"] a.incident-link[data-incident="%d"]')`, w.ied.ID))
	if n := eval[int](ops, `document.querySelectorAll(".risk-reasons li").length`); n < 2 {
		t.Errorf("%d risk reasons listed, want the incidents and the near repeat at least", n)
	}
	ops.waitFor("the estimate label on the medical reach", stepTimeout,
		`(el => el && el.offsetHeight > 0 && el.textContent.trim() !== "")(document.querySelector(".risk-medical .risk-estimate"))`)
	if eval[bool](ops, `(() => { const v = document.querySelector(".risk-verdict"); return v && /10-1-2/.test(v.textContent) && !v.querySelector(".estimate-tag"); })()`) {
		t.Error("the verdict names 10-1-2 without the estimate label")
	}
	ops.waitFor("the route on the map, coloured by risk level", stepTimeout, `(async () => {
		const src = window.bluehelmMap.getSource("plan-route");
		const d = src && await src.getData();
		return d && d.features.length > 0 && d.features.every(f => ["low", "moderate", "high", "severe"].includes(f.properties.level));
	})()`)
	if lv := eval[string](ops, `document.querySelector(".risk-overall .risk-badge").className`); !strings.Contains(lv, "risk-") {
		t.Errorf("overall level badge %q", lv)
	}
	ops.do("approving", stepTimeout, chromedp.Click(chromedp.CSS(`#patrol-actions button[data-action="approve"]`)))
	ops.waitFor("the approved status", stepTimeout, `document.querySelector("#patrol-status").dataset.status === "approved"`)
	waitUntil(t, "the approval in the store", stepTimeout, func() (bool, string) {
		p, err := s.store.Patrol(context.Background(), pt.ID)
		if err != nil {
			return false, err.Error()
		}
		return p.Status == bluehelm.PatrolApproved && p.ApprovedBy == "ops" && p.Risk != nil, string(p.Status)
	})

	// --- the live map of another session ---------------------------------------------
	watcher.waitFor("the approved patrol on the operations layer", stepTimeout, fmt.Sprintf(`(async () => {
		const d = await window.bluehelmMap.getSource("ops-routes").getData();
		return d.features.some(f => f.properties.id === %d && f.properties.status === "approved");
	})()`, pt.ID))
	if !eval[bool](watcher, `!!document.querySelector('#map-layers input[data-layer="operations"]')`) {
		t.Error(`the layer switcher has no "operations" toggle`)
	}

	// --- dispatch from an incident ---------------------------------------------------
	ops.do("the IED's detail", stepTimeout,
		chromedp.Navigate(fmt.Sprintf("%s/#/incidents/%d", s.URL, w.ied.ID)),
		chromedp.WaitVisible(chromedp.CSS(`button#dispatch-incident`)),
		chromedp.Click(chromedp.CSS(`button#dispatch-incident`)),
		chromedp.WaitVisible(chromedp.CSS(`form#dispatch-form`)),
	)
	ops.waitFor("the ranked responders", stepTimeout, `document.querySelectorAll("#dispatch-form .responders li").length >= 2`)
	first := eval[string](ops, `document.querySelector("#dispatch-form .responders li").dataset.unit`)
	if !eval[bool](ops, `!!document.querySelector("#dispatch-form .responders li .estimate-tag") && !!document.querySelector("#dispatch-form .responders li .resp-eta")`) {
		t.Error("the responders show no ETA with its estimate label")
	}
	ops.do("sending the first unit", stepTimeout,
		chromedp.Click(chromedp.CSS(`#dispatch-form .responders li input[type=radio]`)),
		chromedp.Click(chromedp.CSS(`button#dispatch-send`)),
		chromedp.WaitNotPresent(chromedp.CSS(`form#dispatch-form`)),
		chromedp.Click(chromedp.CSS(`a#nav-tasks`)),
		chromedp.WaitVisible(chromedp.CSS(`#tasks-section`)),
	)
	ops.waitFor("the task on the board, assigned", stepTimeout, fmt.Sprintf(`[...document.querySelectorAll("#tasks-assigned li.task-card, #tasks-en_route li.task-card")].some(li => li.querySelector(".task-unit").textContent === %s)`, jsString(first)))
	tasks, err := s.store.FindTasks(context.Background(), bluehelm.TaskFilter{Viewer: s.principal("ops"), IncidentID: w.ied.ID})
	if err != nil || len(tasks) != 1 || tasks[0].Unit != first || tasks[0].AssignedBy != "ops" {
		t.Fatalf("tasks of the IED: %+v, %v", tasks, err)
	}
	watcher.waitFor("the task on the other session's map", stepTimeout, fmt.Sprintf(`(async () => {
		const d = await window.bluehelmMap.getSource("ops-tasks").getData();
		return d.features.some(f => f.properties.id === %d);
	})()`, tasks[0].ID))

	// --- the patrol starts and strays: the monitoring alert -----------------------------
	ops.do("the patrol again", stepTimeout,
		chromedp.Navigate(fmt.Sprintf("%s/#/patrols/%d", s.URL, pt.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#patrol-actions button[data-action="start"]`)),
		chromedp.Click(chromedp.CSS(`#patrol-actions button[data-action="start"]`)),
	)
	ops.waitFor("the underway status", stepTimeout, `document.querySelector("#patrol-status").dataset.status === "underway"`)
	watcher.waitFor("the underway patrol drawn solid", stepTimeout, fmt.Sprintf(`(async () => {
		const d = await window.bluehelmMap.getSource("ops-routes").getData();
		return d.features.some(f => f.properties.id === %d && f.properties.status === "underway");
	})()`, pt.ID))
	s.report(w.trackA, 31.60, 4.95, 0) // some 10 km north of the route
	ops.do("the map and its alerts", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-map`)),
		chromedp.WaitVisible(chromedp.CSS(`#alerts-section`)),
	)
	ops.waitFor("the off-route alert in the list, with a readable rule", stepTimeout, `[...document.querySelectorAll("#alert-list li")].some(li =>
		li.querySelector(".rule-tag") && li.textContent.includes("Off route") && li.querySelector('[data-action="locate"]'))`)
	alertID := eval[string](ops, `[...document.querySelectorAll("#alert-list li")].find(li => li.querySelector(".rule-tag")).dataset.id`)
	ops.do("locate", stepTimeout, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#alert-list li[data-id="%s"] button[data-action="locate"]`, alertID))))
	ops.waitFor("the map at the alert", stepTimeout, `window.bluehelmMap.getZoom() >= 11 && Math.abs(window.bluehelmMap.getCenter().lat - 4.95) < 0.05`)

	// --- the commander's figures ------------------------------------------------------
	watcher.do("the dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`#ops-figures`)),
	)
	watcher.waitFor("the patrol in the figures", stepTimeout, `document.querySelector("#fig-planned").textContent.trim() === "1"`)
	if href := eval[string](watcher, `document.querySelector("#figures-export").getAttribute("href")`); !strings.Contains(href, "format=csv") {
		t.Errorf("figures export link %q", href)
	}
	csv := watcher.fetchText(eval[string](watcher, `document.querySelector("#figures-export").getAttribute("href")`))
	if !strings.Contains(csv, unitA) {
		t.Errorf("figures CSV does not name %s:\n%s", unitA, short(csv))
	}
}

// TestPatrolViewsInFrench opens the new views on the demo's operations (units,
// facilities, patrols underway and planned, a response task) in French: every
// string of the catalogue has its French, the views show French words, and the
// console and origin checks cover them.
func TestPatrolViewsInFrench(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := context.Background()
	scen := sim.SouthSudan(1)
	now := time.Now()
	if err := scen.Seed(ctx, s.pipeline, now); err != nil {
		t.Fatal(err)
	}
	if err := s.pipeline.Positions(ctx, bluehelm.SystemPrincipal("sim"), scen.Positions(now)); err != nil {
		t.Fatal(err)
	}
	if err := scen.SeedOperations(ctx, s.pipeline, now); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s, "joc")
	b.login("joc")
	b.waitMapReady()
	b.waitLive()

	// Every key of the English catalogue has a French translation.
	missing := eval[[]string](b, `Promise.all([import("/i18n/en.js"), import("/i18n/fr.js")]).then(([en, fr]) =>
		Object.keys(en.default).filter(k => !(k in fr.default)))`)
	if len(missing) > 0 {
		t.Errorf("keys without French: %q", missing)
	}

	b.setField(`select#lang`, "fr")
	b.waitFor("the French shell", stepTimeout, `document.querySelector("a#nav-patrols").textContent === "Patrouilles"`)
	b.waitFor("the demo's active patrols on the operations layer", stepTimeout, `(async () => {
		const d = await window.bluehelmMap.getSource("ops-routes").getData();
		return d.features.length >= 3;
	})()`)
	b.do("the patrol plan", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-patrols`)),
		chromedp.WaitVisible(chromedp.CSS(`#patrols-body a.patrol-row`)),
	)
	b.waitFor("French statuses in the plan", stepTimeout, `document.querySelector("#patrols-body").textContent.includes("En cours")`)
	b.do("a patrol underway", stepTimeout,
		chromedp.Click(chromedp.CSS(`#patrols-body li[data-status="underway"] a.patrol-row`)),
		chromedp.WaitVisible(chromedp.CSS(`.risk-view`)),
	)
	b.waitFor("the French risk view", stepTimeout, `document.querySelector(".risk-view").textContent.includes("Risque de l’itinéraire")`)
	b.do("the task board", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-tasks`)),
		chromedp.WaitVisible(chromedp.CSS(`#tasks-section`)),
	)
	b.waitFor("the demo's response task", stepTimeout, `document.querySelectorAll("#tasks-section li.task-card").length >= 1`)
	b.do("the dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`#ops-figures`)),
	)
	b.waitFor("the figures", stepTimeout, `Number(document.querySelector("#fig-completed").textContent) >= 1`)
	b.waitFor("an AOR to pick", stepTimeout, `document.querySelectorAll("#figures-aor option").length > 1`)
	b.setField(`#figures-aor`, eval[string](b, `document.querySelectorAll("#figures-aor option")[1].value`))
	b.waitFor("the AOR's coverage", stepTimeout, `/%/.test(document.querySelector("#fig-coverage30").textContent)`)
	// Right to left: the layout mirrors, and the planner still shows.
	b.eval0(`document.documentElement.dir = "rtl"`)
	b.do("the plan, right to left", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-patrols`)),
		chromedp.WaitVisible(chromedp.CSS(`#patrols-body a.patrol-row`)),
	)
	if !eval[bool](b, `(() => { const p = document.querySelector("#side-panel").getBoundingClientRect(); return p.left < window.innerWidth / 2; })()`) {
		t.Error("right to left, the side panel is not on the left")
	}
}

// eval0 evaluates an expression for its effect.
func (b *browser) eval0(expr string) {
	b.t.Helper()
	if _, err := tryEval[any](b, "(() => { "+expr+"; return null; })()", stepTimeout); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, short(expr), err)
	}
}

// screenXY is where a place is on the screen, on the map's canvas.
func (b *browser) screenXY(lon, lat float64) (float64, float64) {
	b.t.Helper()
	b.waitFor("the map at rest", stepTimeout, `!window.bluehelmMap.isMoving()`)
	xy := eval[[]float64](b, fmt.Sprintf(`(() => {
		const m = window.bluehelmMap, p = m.project([%v, %v]), r = m.getCanvas().getBoundingClientRect();
		return [r.left + p.x, r.top + p.y];
	})()`, lon, lat))
	return xy[0], xy[1]
}
