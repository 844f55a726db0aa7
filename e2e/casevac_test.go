package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
)

// TestCasevacBoard (issue 8): a patrol leader files a 9-line from the board (the
// pick-up typed as lat, lon; wounded eight minutes ago); the recommendation and
// its reason show; the JOC duty officer approves it with the recommended
// destination and means and marks it launched, and the timeline lists the steps;
// the clocks count down in colour, and the 10-minute clock's warning reaches the
// alert list.
func TestCasevacBoard(t *testing.T) {
	s := startServer(t, serverOptions{})
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("e2e")
	mil := bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Military}
	amb := bluehelm.Track{UID: "e2e-amb-1", Callsign: "AMB 1", Kind: bluehelm.KindVehicle, CoTType: "a-f-G-E-V", Unit: "RWAMED-AMB", Marking: mil}
	if err := s.pipeline.CreateUnit(ctx, sys, &bluehelm.Unit{Code: "RWAMED-AMB", Name: "Road ambulance", Mobility: bluehelm.MobilityMounted, TrackUIDs: []string{amb.UID}, Marking: mil}); err != nil {
		t.Fatal(err)
	}
	hosp := &bluehelm.MedicalFacility{Name: "Level 2 hospital, UN House Juba", Level: "2", Location: bluehelm.Point{Lon: 31.57, Lat: 4.86},
		Marking: bluehelm.Marking{Component: bluehelm.Support}}
	if err := s.pipeline.CreateFacility(ctx, sys, hosp); err != nil {
		t.Fatal(err)
	}
	s.report(amb, 31.58, 4.85, 0)
	aor := &bluehelm.Area{Name: "Sector South (e2e)", Kind: bluehelm.AreaAOR, Marking: mil,
		Geometry: bluehelm.Geometry{Geometry: orb.Polygon{{{31.4, 4.7}, {31.8, 4.7}, {31.8, 5.0}, {31.4, 5.0}, {31.4, 4.7}}}}}
	if err := s.pipeline.CreateArea(ctx, sys, aor); err != nil {
		t.Fatal(err)
	}

	// --- the request ----------------------------------------------------------------
	rep := newBrowser(t, s, "reporter")
	rep.login("reporter")
	rep.waitMapReady()
	rep.do("the CASEVAC board", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-casevac`)),
		chromedp.WaitVisible(chromedp.CSS(`#casevac-section`)),
		chromedp.Click(chromedp.CSS(`button#casevac-new`)),
		chromedp.WaitVisible(chromedp.CSS(`form#casevac-form`)),
	)
	rep.setField(`#cv-place`, "4.851, 31.612")
	rep.waitFor("the place read back", stepTimeout, `/4\.851/.test(document.querySelector("#cv-place-shown").textContent)`)
	rep.setField(`#casevac-form input[name=frequency]`, "45.300")
	rep.setField(`#casevac-form input[name=call_sign]`, "BRAVO 2")
	rep.setField(`#casevac-form input[name=prec_urgent]`, "1")
	rep.setField(`#casevac-form input[name=litter]`, "1")
	rep.setField(`#casevac-form select[name=security]`, "possible_enemy")
	rep.setField(`#casevac-form textarea[name=terrain]`, `<img src=x onerror="window.pwned=1">`)
	wounded := eval[string](rep, `(d => { const p = n => String(n).padStart(2, "0");
		return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + "T" + p(d.getHours()) + ":" + p(d.getMinutes()); })(new Date(Date.now() - 8 * 60000))`)
	rep.setField(`#casevac-form input[name=wounded_at]`, wounded)
	// Impossible counts first: the field is named and nothing is filed.
	rep.allow(`status of 400 \(Bad Request\) \[http://[^ ]*/api/v1/casevac\]`)
	rep.setField(`#casevac-form input[name=ambulatory]`, "1")
	rep.do("sending a bad 9-line", stepTimeout, chromedp.Click(chromedp.CSS(`button#casevac-submit`)))
	rep.waitFor("the count error", stepTimeout, `document.querySelector("#casevac-form-error").textContent.trim() !== "" && document.querySelector("#casevac-form [name=litter]").getAttribute("aria-invalid") === "true"`)
	if cs, _ := s.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys}); len(cs) != 0 {
		t.Fatalf("a 9-line with impossible counts was filed: %+v", cs[0])
	}
	rep.setField(`#casevac-form input[name=ambulatory]`, "0")
	rep.do("sending the 9-line", stepTimeout, chromedp.Click(chromedp.CSS(`button#casevac-submit`)))
	rep.waitFor("the request on the board", stepTimeout, `document.querySelector("#casevac-list li[data-casevac]")`)
	var c *bluehelm.Casevac
	waitUntil(t, "the request in the store", stepTimeout, func() (bool, string) {
		cs, err := s.store.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys})
		if err != nil || len(cs) != 1 {
			return false, fmt.Sprint(len(cs), err)
		}
		c = cs[0]
		return true, ""
	})
	if c.CallSign != "BRAVO 2" || c.Litter != 1 || c.Source != "web" || c.MGRS == "" || time.Since(c.WoundedAt) < 8*time.Minute {
		t.Fatalf("stored request %+v", c)
	}
	card := fmt.Sprintf(`#casevac-list li[data-casevac="%d"]`, c.ID)
	rep.waitFor("the recommendation and its reason", stepTimeout,
		`(el => el && /RWAMED-AMB/.test(el.textContent) && el.querySelector(".rec-reason").textContent.length > 20)(document.querySelector('`+card+` [data-recommendation]'))`)
	rep.waitFor("the 10-minute clock warning", stepTimeout, `document.querySelector('`+card+` .cv-clock[data-clock="10m"]').classList.contains("cv-warning")`)
	if eval[bool](rep, `!!window.pwned || !!document.querySelector("#casevac-list img")`) {
		t.Error("the terrain text was run as HTML")
	}
	if eval[bool](rep, `!!document.querySelector('`+card+` [data-action="approve"]')`) {
		t.Error("the reporter is offered to approve")
	}

	// --- the JOC --------------------------------------------------------------------
	ops := newBrowser(t, s, "ops")
	ops.login("ops")
	ops.waitMapReady()
	ops.waitLive()
	ops.do("the board", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-casevac`)),
		chromedp.WaitVisible(chromedp.CSS(card+` [data-recommendation]`)),
		chromedp.Click(chromedp.CSS(card+` button[data-action="approve"]`)),
	)
	ops.waitFor("approved", stepTimeout, `document.querySelector('`+card+`').dataset.status === "approved"`)
	ops.do("launching", stepTimeout, chromedp.Click(chromedp.CSS(card+` button[data-action="launch"]`)))
	ops.waitFor("launched", stepTimeout, `document.querySelector('`+card+`').dataset.status === "launched"`)
	ops.do("the timeline", stepTimeout, chromedp.Click(chromedp.CSS(card+` .casevac-timeline summary`)))
	ops.waitFor("three steps in the timeline", stepTimeout,
		`[...document.querySelectorAll('`+card+` .casevac-timeline li')].map(li => li.dataset.step).join() === "requested,approved,launched"`)
	got, err := s.store.Casevac(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FacilityID != hosp.ID || got.Means != "road" || got.AssetUnit != "RWAMED-AMB" || got.AssetTrack != amb.UID {
		t.Fatalf("approved with %+v", got)
	}

	// The coverage layer: the only ambulance is on this evacuation, so none of the
	// mission area is covered.
	ops.do("the coverage layer", stepTimeout, chromedp.Click(chromedp.CSS(`#casevac-coverage-toggle`)))
	ops.waitFor("the coverage layer on the map", stepTimeout, `window.bluehelmMap.getLayer("casevac-coverage-fill") && (await window.bluehelmMap.getSource("casevac-facilities").getData()).features.length === 1 && document.querySelector("#casevac-coverage-toggle").getAttribute("aria-pressed") === "true"`)
	ops.waitFor("the share outside coverage", stepTimeout, `/100/.test(document.querySelector("#casevac-coverage-share").textContent)`)

	// --- the clock alert ------------------------------------------------------------
	s.pipeline.CheckCasevacs(ctx)
	ops.do("the map", stepTimeout, chromedp.Click(chromedp.CSS(`a#nav-map`)))
	ops.waitFor("the CASEVAC clock alert in the list", stepTimeout, `[...document.querySelectorAll("#alert-list li")].some(li => /BRAVO 2/.test(li.textContent) && /10m/.test(li.textContent))`)

	// --- a medical officer updates the hospital's free beds ----------------------------
	s.addUser(bluehelm.User{Username: "medic", Name: "Force medical officer", Role: bluehelm.RoleMedical, Component: bluehelm.Support, Clearance: bluehelm.Confidential})
	med := newBrowser(t, s, "medic")
	med.login("medic")
	med.waitMapReady()
	fac := fmt.Sprintf(`#casevac-facilities li[data-facility="%d"]`, hosp.ID)
	med.do("the facilities", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-casevac`)),
		chromedp.WaitVisible(chromedp.CSS(`#casevac-facilities summary`)),
		chromedp.Click(chromedp.CSS(`#casevac-facilities summary`)),
		chromedp.WaitVisible(chromedp.CSS(fac+` input.cv-beds`)),
	)
	med.setField(fac+` input.cv-beds`, "3")
	med.do("saving the free beds", stepTimeout, chromedp.Click(chromedp.CSS(fac+` button[data-action="beds"]`)))
	waitUntil(t, "the free beds in the store", stepTimeout, func() (bool, string) {
		f, err := s.store.Facility(ctx, hosp.ID)
		if err != nil || f.BedsAvailable == nil {
			return false, fmt.Sprint(err)
		}
		return *f.BedsAvailable == 3, fmt.Sprint(*f.BedsAvailable)
	})
	med.waitFor("the free beds shown", stepTimeout, `/\b3\b/.test(document.querySelector('`+fac+` p').textContent)`)
}
