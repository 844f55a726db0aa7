package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/warn"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
)

// Early warning end to end (issue 6): the risk-forecast layer, "why this cell"
// and the forecast alerts, for a viewer without clearance.

const (
	clusterTitle = "Clash at Gudele market (e2e cluster)"
	secretTitle  = "Militia arms cache at Gudele, source report (e2e secret)"
)

// seedCluster files two months of armed clashes around one market (unclassified,
// what the forecast is made from), a confidential report in the same place
// (which it must never name to a viewer without clearance) and a few old,
// scattered protests so that the grid has cold cells too.
func seedCluster(t *testing.T, s *server, hot bluehelm.Point, now time.Time) {
	t.Helper()
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("e2e")
	mk := func(title string, cat bluehelm.Category, at time.Time, p bluehelm.Point, m bluehelm.Marking) {
		inc := &bluehelm.Incident{Title: title, Category: cat, Status: bluehelm.StatusSubmitted, OccurredStart: at.Truncate(time.Minute),
			TimePrecision: bluehelm.TimeDay, GeoPrecision: bluehelm.GeoExact, Location: p, Country: "South Sudan", Admin1: "Central Equatoria",
			Narrative: "Seeded by the end-to-end test.", Marking: m}
		if err := s.pipeline.CreateIncident(ctx, sys, inc); err != nil {
			t.Fatal(err)
		}
	}
	open := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	for i := range 60 {
		at := now.Add(-time.Duration(1+i) * 24 * time.Hour)
		p := bluehelm.Point{Lon: hot.Lon + float64(i%5)*0.002, Lat: hot.Lat + float64(i%3)*0.002}
		mk(fmt.Sprintf("%s %02d", clusterTitle, i+1), bluehelm.CatArmedClash, at, p, open)
	}
	mk(secretTitle, bluehelm.CatArmedClash, now.Add(-2*24*time.Hour), hot, bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military})
	for i := range 10 {
		mk(fmt.Sprintf("Old protest %d (e2e)", i), bluehelm.CatProtest, now.Add(-time.Duration(100+i)*24*time.Hour),
			bluehelm.Point{Lon: 31 + float64(i)*0.1, Lat: 5.5}, open)
	}
}

// approvedPatrol plans and approves a patrol out now on route.
func approvedPatrol(t *testing.T, s *server, name string, route orb.LineString, now time.Time) *bluehelm.Patrol {
	t.Helper()
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("e2e")
	mil := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	if err := s.pipeline.CreateUnit(ctx, sys, &bluehelm.Unit{Code: name, Name: name, Mobility: bluehelm.MobilityMounted, Marking: mil}); err != nil {
		t.Fatal(err)
	}
	pt := &bluehelm.Patrol{Name: name, Type: bluehelm.PatrolMobile, Units: []string{name}, Strength: 12, Route: bluehelm.Geometry{Geometry: route},
		PlannedStart: now.Add(-30 * time.Minute), PlannedEnd: now.Add(5 * time.Hour), CheckInMinutes: 30, Marking: mil}
	if err := s.pipeline.CreatePatrol(ctx, sys, pt); err != nil {
		t.Fatal(err)
	}
	for _, a := range []bluehelm.PatrolAction{bluehelm.PatrolSubmit, bluehelm.PatrolApprove} {
		if _, err := s.pipeline.PatrolAction(ctx, sys, pt.ID, 0, a, ""); err != nil {
			t.Fatal(err)
		}
	}
	return pt
}

// TestForecastLayerAndAlerts: an analyst without clearance turns on the risk
// layer before any forecast (it says so in plain words); once the server has
// forecast from a cluster of clashes, the layer draws cells, the hot cell's
// panel names the clashes behind it (never the confidential report in the same
// place) and leads to their detail; the threshold alert and the near-repeat
// alert of a patrol passing an IED show in the list with their tags and links,
// and Locate goes to the IED; the dashboard shows the region trends and says
// how to import the fatalities it lacks.
func TestForecastLayerAndAlerts(t *testing.T) {
	s := startServer(t, serverOptions{warn: warn.Config{Threshold: 0.5}})
	ctx := context.Background()
	now := time.Now().UTC()
	hot := bluehelm.Point{Lon: 31.60, Lat: 4.85}

	b := newBrowser(t, s, "analyst")
	// Before the first forecast the server answers 404, which the browser logs
	// as a failed resource: expected here, and what the layer must explain.
	b.allow(`/api/v1/forecast\?`)
	b.watchFor(secretTitle)
	b.login("analyst")
	b.waitMapReady()
	b.waitLive()

	if eval[bool](b, `document.querySelector('#map-layers input[data-layer="risk"]').checked`) {
		t.Error("the risk layer is on by default")
	}
	toggleRisk := func() {
		b.do("the risk layer's switch", stepTimeout,
			chromedp.Click(chromedp.CSS(`button[aria-controls="map-layers"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#map-layers input[data-layer="risk"]`)),
			chromedp.Click(chromedp.CSS(`#map-layers input[data-layer="risk"]`)),
			chromedp.Click(chromedp.CSS(`button[aria-controls="map-layers"]`)),
		)
	}
	toggleRisk()
	b.waitFor("the plain-words note that there is no forecast yet", stepTimeout,
		`(el => el && /no risk forecast yet/i.test(el.textContent))(document.querySelector("#map-risk .bh-risk-note"))`)

	// --- the server forecasts ----------------------------------------------------------
	seedCluster(t, s, hot, now)
	if err := s.warn.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	sf := s.warn.Surface()
	if sf == nil {
		t.Fatal("no surface after Refresh")
	}
	ph, ok := sf.Probability(hot, now)
	if !ok || ph < 0.5 {
		t.Fatalf("the hot cell's probability is %v (in grid %v), want ≥ 0.5 for a threshold alert", ph, ok)
	}
	t.Logf("hot cell: %.0f %% (%s, %d cells)", 100*ph, sf.Model, sf.Grid.Len())

	// Off and on again fetches it (the layer also asks again by itself).
	toggleRisk()
	toggleRisk()
	b.waitFor("forecast cells in the risk source", stepTimeout, `(async () => {
		const d = await window.bluehelmMap.getSource("risk").getData();
		return d.features.length > 0;
	})()`)
	// The panel's caption is drawn after the source has the cells.
	b.waitFor("the forecast's caption", stepTimeout, `!!document.querySelector("#map-risk .bh-risk-caption")`)
	caption := eval[string](b, `document.querySelector("#map-risk .bh-risk-caption").textContent`)
	if !strings.Contains(caption, "next 30 days") || !strings.Contains(caption, "model "+sf.Model) || !strings.Contains(caption, "Forecast of ") {
		t.Errorf("caption %q", caption)
	}
	if n := eval[int](b, `document.querySelectorAll("#map-risk button.bh-risk-cell").length`); n == 0 {
		t.Error("no hottest cell to reach from the keyboard")
	}

	// The hottest cell, on screen.
	type cell struct {
		ID     int       `json:"id"`
		P      float64   `json:"p"`
		Centre []float64 `json:"centre"`
		Spot   []float64 `json:"spot"`
	}
	c := eval[cell](b, `(async () => {
		const d = await window.bluehelmMap.getSource("risk").getData();
		const f = d.features.reduce((a, b) => (b.properties.p > a.properties.p ? b : a));
		const r = f.geometry.coordinates[0];
		// The spot to click is off the centre, where the threshold alert sits, and
		// off the clashes, which are south of it.
		const [w, s, e, n] = [r[0][0], r[0][1], r[2][0], r[2][1]];
		return {id: f.properties.id, p: f.properties.p, centre: [(w + e) / 2, (s + n) / 2], spot: [w + 0.15 * (e - w), n - 0.15 * (n - s)]};
	})()`)
	if c.P < 0.5 {
		t.Errorf("hottest cell drawn at %v, want ≥ 0.5", c.P)
	}
	b.eval0(fmt.Sprintf(`window.bluehelmMap.jumpTo({center: [%v, %v], zoom: 11})`, c.Centre[0], c.Centre[1]))
	b.waitFor("the cells drawn on the map", stepTimeout, `(() => {
		const m = window.bluehelmMap;
		return m.loaded() && m.queryRenderedFeatures({layers: ["risk-fill"]}).length > 0;
	})()`)
	x, y := b.screenXY(c.Spot[0], c.Spot[1])
	b.do("clicking the hot cell", stepTimeout, chromedp.MouseClickXY(x, y))
	b.waitFor("the cell's panel with its reasons", stepTimeout,
		fmt.Sprintf(`document.querySelectorAll('#map-risk-cell[data-cell="%d"] .bh-risk-reasons li').length > 0`, c.ID))
	panel := eval[string](b, `document.querySelector(".bh-risk-panel").textContent`)
	if !strings.Contains(panel, clusterTitle) {
		t.Errorf("the panel does not name the seeded clashes: %q", short(panel))
	}
	if strings.Contains(panel, "e2e secret") {
		t.Error("the panel names the confidential report to a viewer without clearance")
	}
	if !strings.Contains(panel, "chance of violence within 30 days") || !strings.Contains(panel, "Why this cell") {
		t.Errorf("panel %q lacks the probability or the heading", short(panel))
	}
	if !eval[bool](b, `[...document.querySelectorAll(".bh-risk-reasons .bh-risk-bar-fill")].every(e => parseFloat(e.style.inlineSize) > 0)`) {
		t.Error("a reason without its weight bar")
	}
	// From the keyboard: the hottest cell's button opens the same panel and
	// moves focus into it; Esc closes it.
	b.do("closing the panel", stepTimeout, chromedp.Click(chromedp.CSS(`#map-risk-cell button.bh-popup-close`)))
	b.waitFor("the panel closed", stepTimeout, `document.querySelector("#map-risk-cell").hidden`)
	b.do("the hottest cell from the keyboard", stepTimeout,
		chromedp.Focus(chromedp.CSS(`#map-risk button.bh-risk-cell`)),
		chromedp.KeyEvent("\r"),
	)
	b.waitFor("the panel again, with the focus in it", stepTimeout, fmt.Sprintf(`(p => p && !p.hidden && p.dataset.cell === "%d"
		&& p.querySelector(".bh-risk-reasons li") && p.contains(document.activeElement))(document.querySelector("#map-risk-cell"))`, c.ID))
	first := eval[string](b, `document.querySelector(".bh-risk-reasons .bh-risk-reason-title").textContent`)
	b.do("opening the first reason", stepTimeout, chromedp.Click(chromedp.CSS(`.bh-risk-reasons a.bh-risk-reason`)))
	b.waitFor("the incident's detail", stepTimeout, `(el => el && el.offsetHeight > 0 && el.textContent === `+jsString(first)+`)(document.querySelector("#detail-title"))`)

	// --- a patrol passes an IED: the near-repeat window ----------------------------------
	pt := approvedPatrol(t, s, "E2E-NR-PATROL", orb.LineString{{31.70, 4.90}, {31.73, 4.905}, {31.76, 4.91}}, now)
	sys := bluehelm.SystemPrincipal("e2e")
	ied := &bluehelm.Incident{Title: "IED on the Rejaf road (e2e near repeat)", Category: bluehelm.CatExplosive, Status: bluehelm.StatusSubmitted,
		OccurredStart: now.Add(-time.Hour).Truncate(time.Minute), TimePrecision: bluehelm.TimeExact, GeoPrecision: bluehelm.GeoExact,
		Location: bluehelm.Point{Lon: 31.73, Lat: 4.9075}, Country: "South Sudan", Narrative: "Seeded by the end-to-end test.",
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}}
	if err := s.pipeline.CreateIncident(ctx, sys, ied); err != nil {
		t.Fatal(err)
	}
	if err := s.warn.CheckNearRepeat(ctx); err != nil {
		t.Fatal(err)
	}

	b.waitFor("the threshold alert, tagged", stepTimeout,
		`[...document.querySelectorAll("#alert-list li")].some(li => (tag => tag && tag.classList.contains("forecast-tag") && tag.textContent === "Risk threshold crossed")(li.querySelector('.rule-tag[data-rule="threshold"]')))`)
	nr := fmt.Sprintf(`[...document.querySelectorAll("#alert-list li")].find(li => li.querySelector('.rule-tag[data-rule="near_repeat"]'))`)
	b.waitFor("the near-repeat alert with its patrol and incident", stepTimeout, fmt.Sprintf(`(li => li && li.querySelector(".rule-tag").textContent === "Near-repeat risk"
		&& li.querySelector('a[data-action="patrol"][href="#/patrols/%d"]') && li.querySelector('a[data-action="incident"][href="#/incidents/%d"]')
		&& li.querySelector('button[data-action="locate"]'))(%s)`, pt.ID, ied.ID, nr))
	b.eval0(`window.bluehelmMap.jumpTo({center: [20, 5], zoom: 4})`)
	b.eval0(nr + `.querySelector('button[data-action="locate"]').click()`)
	b.waitFor("the map at the IED", stepTimeout, `(m => !m.isMoving() && m.getZoom() >= 11 && Math.abs(m.getCenter().lng - 31.73) < 0.02 && Math.abs(m.getCenter().lat - 4.9075) < 0.02)(window.bluehelmMap)`)
	b.waitFor("the patrol's route drawn with it", stepTimeout, `(async () => (await window.bluehelmMap.getSource("plan-route").getData()).features.length > 0)()`)

	// --- the dashboard's analytics -----------------------------------------------------
	b.do("the dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`canvas#chart-region-month`)),
	)
	b.waitFor("the region trend table", stepTimeout, `document.querySelector('[data-table-for="chart-region-month"]').textContent.includes("Central Equatoria")`)
	b.waitFor("the fatalities hint", stepTimeout, `/bluehelm import fatalities/.test(document.querySelector("#fatalities-status").textContent)`)

	b.assertNeverReceived()
}
