package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/chromedp/chromedp"
)

// Every test below also checks, when it ends, that its browsers logged no console
// error and asked for nothing outside the server's origin (browser.checkClean).

func TestLogin(t *testing.T) {
	s := startServer(t, serverOptions{})
	b := newBrowser(t, s, "ops")
	// The browser itself logs the refused login and the test's own check that the
	// session is gone below; both are the expected answers here.
	b.allow(`^network: .*status of 401.* \[https?://[^/]+/api/v1/(login|me)\]$`)

	b.open()
	b.do("the login form", stepTimeout, chromedp.WaitVisible(chromedp.CSS(`form#login`)))
	b.waitFor("#app to stay hidden before login", stepTimeout, hiddenJS(`#app`))

	// A wrong password is refused with a message, and the form stays.
	b.do("a wrong password", stepTimeout,
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=username]`), "ops"),
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=password]`), "not the password"),
		chromedp.Click(chromedp.CSS(`button#login-submit`)),
	)
	b.waitFor("#login-error to say why", stepTimeout, `document.querySelector("#login-error").textContent.trim() !== ""`)
	b.do("the form after a refusal", stepTimeout, chromedp.WaitVisible(chromedp.CSS(`form#login`)))

	b.open() // a fresh form
	b.submitLogin("ops", stepTimeout)
	b.waitFor("#user-name to name the user", stepTimeout,
		`(t => t.includes("JOC duty officer") || t.includes("ops"))(document.querySelector("#user-name").textContent)`)
	b.do("the shell", stepTimeout,
		chromedp.WaitVisible(chromedp.CSS(`a#nav-map`)),
		chromedp.WaitVisible(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`select#lang`)),
		chromedp.WaitVisible(chromedp.CSS(`button#logout`)),
	)
	b.waitMapReady()
	b.waitLive()

	// Signing out returns to the form; the session is gone on the server too.
	b.do("signing out", stepTimeout,
		chromedp.Click(chromedp.CSS(`button#logout`)),
		chromedp.WaitVisible(chromedp.CSS(`form#login`)),
	)
	if st := eval[int](b, `fetch("/api/v1/me").then(r => r.status)`); st != 401 {
		t.Errorf("GET /api/v1/me after signing out: status %d, want 401", st)
	}
}

func TestTrackMoves(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	s.report(demoTrack, 31.58, 4.85, 90)
	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.waitMapReady()
	b.waitLive()

	at := func(lon, lat float64) string {
		return fmt.Sprintf(`%s("tracks").then(fs => (fs || []).some(f => f.uid === %s && f.coords &&
			Math.abs(f.coords[0] - %v) < 1e-5 && Math.abs(f.coords[1] - %v) < 1e-5))`, featuresJS, jsString(demoUID), lon, lat)
	}
	b.waitFor("the demo track at its first position in the tracks source", stepTimeout, at(31.58, 4.85))

	// Also the simulated patrols are there (the map shows the whole picture).
	if fs := b.features("tracks"); len(fs) < 10 {
		t.Errorf("tracks source has %d features, want the demo's patrols too (> 10)", len(fs))
	}

	// The track moves east twice; the map follows over the stream.
	for i, lon := range []float64{31.63, 31.70} {
		s.report(demoTrack, lon, 4.85, 90)
		b.waitFor(fmt.Sprintf("move %d of the demo track to lon %v", i+1, lon), stepTimeout, at(lon, 4.85))
	}
	if !eval[bool](b, `(() => { const m = window.bluehelmMap; return ["tracks", "incidents"].every(id => m.getLayer(id)); })()`) {
		t.Error(`the map has no "tracks" or "incidents" layer`)
	}
}

// mgrsJuba is a point in Juba written as MGRS; juba is the same point in degrees
// (converted with the mgrs 2.2.0 package the page vendors, and checked against it).
const mgrsJuba = "36NUL4253536248"

var juba = bluehelm.Point{Lon: 31.58, Lat: 4.85}

func TestIncidentFormReachesAnotherSession(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	watcher := newBrowser(t, s, "ops")
	watcher.login("ops")
	watcher.waitMapReady()
	watcher.waitLive()

	reporter := newBrowser(t, s, "reporter")
	reporter.login("reporter")
	reporter.waitLive()

	title := "Gunfire reported near Konyokonyo market (e2e)"
	reporter.do("opening the report form", stepTimeout,
		chromedp.WaitVisible(chromedp.CSS(`button#new-incident`)),
		chromedp.Click(chromedp.CSS(`button#new-incident`)),
		chromedp.WaitVisible(chromedp.CSS(`form#incident-form`)),
		chromedp.SendKeys(chromedp.CSS(`form#incident-form input[name=title]`), title),
	)
	reporter.waitFor("the category picker to hold the taxonomy", stepTimeout,
		`document.querySelector('form#incident-form select[name=category] option[value="armed_clash"]')`)
	reporter.setField(`form#incident-form select[name=category]`, "armed_clash")
	// setField, not typing: the place field may hold a suggestion (the map's centre)
	// that typing would append to.
	reporter.setField(`form#incident-form input[name=mgrs]`, mgrsJuba)
	reporter.do("writing the narrative", stepTimeout,
		chromedp.SendKeys(chromedp.CSS(`form#incident-form textarea[name=narrative]`), "Bursts of small-arms fire for ten minutes; no UN staff involved."),
	)
	reporter.selectMatching(`form#incident-form select[name=classification]`, `^(u|unclassified)$`)
	reporter.setField(`form#incident-form input[name=casualty-civilians-injured]`, "2")
	reporter.do("saving the report", stepTimeout, chromedp.Click(chromedp.CSS(`button#incident-save`)))

	// The report is stored as the form said.
	var inc *bluehelm.Incident
	waitUntil(t, "the report in the store", stepTimeout, func() (bool, string) {
		for _, i := range s.visibleIncidents("reporter") {
			if i.Title == title {
				inc = i
				return true, ""
			}
		}
		return false, "not there"
	})
	if inc.Category != bluehelm.CatArmedClash || inc.ReportedBy != "reporter" || inc.Classification != bluehelm.Unclassified {
		t.Errorf("stored report: category %q, reported by %q, %s; want armed_clash, reporter, UNCLASSIFIED", inc.Category, inc.ReportedBy, inc.Classification)
	}
	if d := math.Hypot(inc.Location.Lon-juba.Lon, inc.Location.Lat-juba.Lat); d > 0.001 {
		t.Errorf("stored report at %v, want about %v (MGRS %s)", inc.Location, juba, mgrsJuba)
	}
	if !slices.ContainsFunc(inc.Casualties, func(c bluehelm.Casualty) bool {
		return c.Group == "civilians" && c.Kind == "injured" && c.Best == 2
	}) {
		t.Errorf("stored casualties %+v, want 2 civilians injured", inc.Casualties)
	}

	// The other session sees it arrive in its list without reloading.
	id := strconv.FormatInt(inc.ID, 10)
	sel := `ul#incident-list li[data-id="` + id + `"]`
	watcher.waitFor("the new report in the other session's list", stepTimeout, `document.querySelector(`+jsString(sel)+`)`)
	if txt := eval[string](watcher, `document.querySelector(`+jsString(sel)+`).textContent`); !strings.Contains(txt, title) {
		t.Errorf("list item %s reads %q, want the title %q", id, short(txt), title)
	}
}

func TestConfidentialNeverShownWithoutClearance(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	secretMark := bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}
	openMark := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	// Categories no demo incident uses, so a count by category shows a leak.
	secret := s.incident("E2E-SECRET drone over the airstrip", bluehelm.CatDrone, secretMark, 31.60, 4.87)
	open := s.incident("E2E-OPEN road accident on the Yei road", bluehelm.CatAccident, openMark, 31.55, 4.84)

	// The analyst may export, so every way out is open to them: only clearance stops it.
	b := newBrowser(t, s, "analyst")
	b.watchFor("E2E-SECRET")
	b.login("analyst")
	b.waitMapReady()
	b.waitLive()

	// Two more after the page is up, over the stream: the secret first, so that by the
	// time the open one arrives the secret would have too.
	secretLive := s.incident("E2E-SECRET-LIVE armed drone sighted", bluehelm.CatDrone, secretMark, 31.61, 4.88)
	openLive := s.incident("E2E-OPEN-LIVE vehicle rollover", bluehelm.CatAccident, openMark, 31.56, 4.83)

	hasID := func(fs []feature, id int64) bool {
		return slices.ContainsFunc(fs, func(f feature) bool { return fmt.Sprint(f.ID) == strconv.FormatInt(id, 10) })
	}
	// The map.
	b.waitFor("the open incidents in the incidents source", stepTimeout, fmt.Sprintf(
		`%s("incidents").then(fs => [%d, %d].every(id => (fs || []).some(f => String(f.id) === String(id))))`, featuresJS, open.ID, openLive.ID))
	fs := b.features("incidents")
	for _, sec := range []*bluehelm.Incident{secret, secretLive} {
		if hasID(fs, sec.ID) {
			t.Errorf("map: the incidents source holds confidential incident %d", sec.ID)
		}
	}
	// The list.
	for _, id := range []int64{open.ID, openLive.ID} {
		sel := fmt.Sprintf(`ul#incident-list li[data-id="%d"]`, id)
		b.waitFor("open incident in the list", stepTimeout, `document.querySelector(`+jsString(sel)+`)`)
	}
	ids := b.listIDs("ul#incident-list")
	for _, sec := range []*bluehelm.Incident{secret, secretLive} {
		if slices.Contains(ids, strconv.FormatInt(sec.ID, 10)) {
			t.Errorf("list: ul#incident-list shows confidential incident %d", sec.ID)
		}
	}
	b.assertTextAbsent("map view", "E2E-SECRET")

	// The dashboard: the server's figures and the chart count only what the user may see.
	visible := len(s.visibleIncidents("analyst"))
	b.do("opening the dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`#dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`canvas#chart-category-month`)),
	)
	var stats struct {
		Total           int `json:"total"`
		ByCategoryMonth []struct {
			Category string `json:"category"`
			Count    int    `json:"count"`
		} `json:"by_category_month"`
	}
	if err := json.Unmarshal([]byte(b.fetchText("/api/v1/incidents/stats")), &stats); err != nil {
		t.Fatalf("stats: %v", err)
	}
	if stats.Total != visible {
		t.Errorf("dashboard stats: total %d, want %d (what the analyst may see)", stats.Total, visible)
	}
	for _, c := range stats.ByCategoryMonth {
		if c.Category == string(bluehelm.CatDrone) {
			t.Errorf("dashboard stats count %d confidential drone incident(s)", c.Count)
		}
	}
	chartSum := `(() => {
		const c = window.Chart && window.Chart.getChart(document.querySelector("canvas#chart-category-month"));
		if (!c || !c.data || !c.data.datasets.length) return -1;
		return c.data.datasets.reduce((n, ds) => n + ds.data.reduce((m, v) => m + (typeof v === "number" ? v : (v && typeof v.y === "number" ? v.y : 0)), 0), 0);
	})()`
	b.waitFor("the category × month chart to be drawn", stepTimeout, chartSum+` >= 0`)
	if n := eval[int](b, chartSum); n != visible {
		t.Errorf("chart-category-month counts %d incidents, want %d (what the analyst may see)", n, visible)
	}
	b.assertTextAbsent("dashboard", "E2E-SECRET")

	// The exports, fetched from the page with the page's session.
	for _, link := range []string{"a#export-geojson", "a#export-csv"} {
		b.do("the export link "+link, stepTimeout, chromedp.WaitVisible(chromedp.CSS(link)))
		href := eval[string](b, `document.querySelector(`+jsString(link)+`).href`)
		body := b.fetchText(href)
		if strings.Contains(body, "E2E-SECRET") {
			t.Errorf("%s (%s) holds a confidential incident", link, href)
		}
		if !strings.Contains(body, "E2E-OPEN") {
			t.Errorf("%s (%s) lacks the open incident: the check above proves nothing", link, href)
		}
	}

	// Nothing of it reached the browser at all.
	b.assertNeverReceived()

	// And someone cleared for it does see it: the checks above are not vacuous.
	ops := newBrowser(t, s, "ops")
	ops.login("ops")
	ops.waitMapReady()
	for _, sec := range []*bluehelm.Incident{secret, secretLive} {
		sel := fmt.Sprintf(`ul#incident-list li[data-id="%d"]`, sec.ID)
		ops.waitFor("the confidential incident in a cleared user's list", stepTimeout, `document.querySelector(`+jsString(sel)+`)`)
	}
	if fs := ops.features("incidents"); !hasID(fs, secret.ID) {
		t.Errorf("a cleared user's map lacks confidential incident %d", secret.ID)
	}
}

func TestAcknowledgeAlert(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.waitMapReady()
	b.waitLive()

	// Raised after the page is up: it must arrive over the stream.
	pt := juba
	a := &bluehelm.Alert{Source: bluehelm.AlertManual, Severity: bluehelm.SevCritical, Title: "E2E: shots fired at the Tongping gate",
		Location: &pt, Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}}
	if err := s.pipeline.RaiseAlert(context.Background(), bluehelm.SystemPrincipal("e2e"), a); err != nil {
		t.Fatal(err)
	}
	item := fmt.Sprintf(`ul#alert-list li[data-id="%d"]`, a.ID)
	ack := item + ` button[data-action="acknowledge"]`
	b.waitFor("the new alert in ul#alert-list", stepTimeout, `document.querySelector(`+jsString(ack)+`)`)
	b.do("acknowledging it", stepTimeout, chromedp.Click(chromedp.CSS(ack)))

	waitUntil(t, "the alert acknowledged by ops in the store", stepTimeout, func() (bool, string) {
		got, err := s.store.Alert(context.Background(), a.ID)
		if err != nil {
			return false, err.Error()
		}
		return got.State == bluehelm.AlertAcknowledged && got.AckBy == "ops", fmt.Sprintf("state %s, acknowledged by %q", got.State, got.AckBy)
	})
	// The page shows only what may still be done: an acknowledged alert cannot be
	// acknowledged again.
	b.waitFor("the acknowledge button to go (or be disabled)", stepTimeout,
		`(b => !b || b.disabled)(document.querySelector(`+jsString(ack)+`))`)
}

func TestFrenchRememberedPerUser(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.waitMapReady()

	const navText = `document.querySelector("a#nav-map").textContent.trim()`
	b.waitFor("a#nav-map text", stepTimeout, navText+` !== ""`)
	en := eval[string](b, navText)
	enButton := eval[string](b, `document.querySelector("a#nav-dashboard").textContent.trim()`)

	b.setField("select#lang", "fr")
	b.waitFor("the navigation in French", stepTimeout, navText+` !== `+jsString(en))
	fr := eval[string](b, navText)
	if frButton := eval[string](b, `document.querySelector("a#nav-dashboard").textContent.trim()`); frButton == enButton {
		t.Errorf("a#nav-dashboard still reads %q in French", frButton)
	}
	t.Logf("a#nav-map: %q → %q", en, fr)
	b.waitFor("the server to remember French for ops", stepTimeout,
		`fetch("/api/v1/me").then(r => r.json()).then(me => me.user && me.user.language === "fr")`)

	// A reload keeps it.
	b.do("reloading", stepTimeout, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#app`)))
	b.waitFor("French after a reload", stepTimeout, navText+` === `+jsString(fr))

	// So does another browser with nothing stored in it: the choice is the user's.
	other := newBrowser(t, s, "ops-elsewhere")
	other.login("ops")
	other.waitFor("French in a fresh browser for the same user", stepTimeout, navText+` === `+jsString(fr))
	if v := eval[string](other, `document.querySelector("select#lang").value`); v != "fr" {
		t.Errorf("select#lang is %q in a fresh browser, want fr", v)
	}
	other.waitMapReady()
}

// TestEveryViewStaysOnOrigin walks the views (map, incident detail, dashboard, camp) so
// that the origin and console checks cover each of them.
func TestEveryViewStaysOnOrigin(t *testing.T) {
	s := startServer(t, serverOptions{demo: true})
	inc := s.incident("E2E detail view check", bluehelm.CatProtest,
		bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}, 31.58, 4.85)
	b := newBrowser(t, s, "joc")
	b.login("joc")
	b.waitMapReady()
	b.waitLive()

	b.do("an incident's detail", stepTimeout,
		chromedp.Navigate(fmt.Sprintf("%s/#/incidents/%d", s.URL, inc.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#incident-detail`)),
	)
	b.waitFor("the detail to show the incident", stepTimeout,
		`document.querySelector("#incident-detail").textContent.includes("E2E detail view check")`)
	b.do("the dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`#dashboard`)),
		chromedp.WaitVisible(chromedp.CSS(`canvas#chart-category-month`)),
	)
	b.do("the camp dashboard", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-camp`)),
		chromedp.WaitVisible(chromedp.CSS(`#camp-title`)),
	)
	b.do("back to the map", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-map`)),
		chromedp.WaitVisible(chromedp.CSS(`div#map`)),
	)
	// Give late requests (tiles, glyphs, workers) a moment to show up in the log.
	b.do("settling", stepTimeout, chromedp.Sleep(2*time.Second))
	b.mu.Lock()
	n := len(b.requests)
	b.mu.Unlock()
	t.Logf("%d requests, all to %s", n, s.URL)
}

// hiddenJS is true when no element matches sel or the first one takes no space.
func hiddenJS(sel string) string {
	return `(el => !el || !(el.offsetWidth || el.offsetHeight || el.getClientRects().length))(document.querySelector(` + jsString(sel) + `))`
}

// assertTextAbsent fails if the page shows s anywhere.
func (b *browser) assertTextAbsent(where, s string) {
	b.t.Helper()
	if eval[bool](b, `document.body.innerText.includes(`+jsString(s)+`)`) {
		b.t.Errorf("%s: %s shows %q", b.name, where, s)
	}
}

// selectMatching picks the first option of a select whose value matches re
// (case-insensitive): the option values of a select are the UI's choice.
func (b *browser) selectMatching(sel, re string) {
	b.t.Helper()
	b.do("waiting for "+sel, stepTimeout, chromedp.WaitVisible(chromedp.CSS(sel)))
	v := eval[string](b, `(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		const o = Array.from(el.options).find(o => new RegExp(`+jsString(re)+`, "i").test(o.value));
		return o ? o.value : "";
	})()`)
	if v == "" {
		b.t.Fatalf("%s: %s has no option matching %s", b.name, sel, re)
	}
	b.setField(sel, v)
}

// TestFederationConflictReconciled: an incident edited on both sides of a
// federation link during a cut shows the other side's version and what
// differs; an editor marks it reconciled and the page stops offering to.
func TestFederationConflictReconciled(t *testing.T) {
	s := startServer(t, serverOptions{})
	inc := s.incident("E2E clash at the market, 3 injured", bluehelm.CatArmedClash,
		bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}, 31.58, 4.85)
	// What the federation merge stores (federation/inbound.go): the winning
	// content, the other node's revision kept beside it.
	theirs := *inc
	theirs.Title = "E2E clash at the market (camp: unconfirmed)"
	theirs.Narrative = "Reported by the camp during the cut."
	cur := *inc
	cur.Conflicts = []bluehelm.Revision{{IncidentID: 41, Version: 2, At: time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second),
		Actor: "camp-alpha", Action: "conflict", Incident: theirs}}
	if err := s.store.UpdateIncident(context.Background(), &cur, "conflict",
		bluehelm.NewAudit(bluehelm.SystemPrincipal("federation:camp-alpha"), "incident.conflict", "", nil)); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.do("the incident's detail", stepTimeout,
		chromedp.Navigate(fmt.Sprintf("%s/#/incidents/%d", s.URL, inc.ID)),
		chromedp.WaitVisible(chromedp.CSS(`#incident-conflicts`)),
	)
	block := eval[string](b, `document.querySelector("#incident-conflicts").textContent`)
	for _, want := range []string{"camp-alpha", "Title", "Narrative", "unconfirmed"} {
		if !strings.Contains(block, want) {
			t.Errorf("the conflict block reads %q, want it to name %q", short(block), want)
		}
	}
	b.do("marking it reconciled", stepTimeout, chromedp.Click(chromedp.CSS(`#incident-detail button[data-action="reconcile"]`)))
	waitUntil(t, "the conflict reconciled by ops in the store", stepTimeout, func() (bool, string) {
		got, err := s.store.Incident(context.Background(), inc.ID)
		if err != nil {
			return false, err.Error()
		}
		return len(got.Conflicts) == 1 && got.Conflicts[0].ReconciledBy == "ops", fmt.Sprintf("%+v", got.Conflicts)
	})
	b.waitFor("the page to show it reconciled, without the button", stepTimeout,
		`document.querySelector("#incident-conflicts").textContent.includes("reconciled by ops") && !document.querySelector('#incident-detail button[data-action="reconcile"]')`)
}
