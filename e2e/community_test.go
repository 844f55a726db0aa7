package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	nethttp "net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sms"
	"github.com/chromedp/chromedp"
)

// Community alerts end to end (issue 8): an SMS arrives through the gateway webhook,
// shows in the liaison's queue with its hints and place, is triaged and linked to a
// new draft incident; the liaison reveals the sender (audited); a spoofed webhook is
// refused; the public form works without login.

const e2eSMSSecret = "e2e-gateway-secret"

func (o serverOptions) communityOptions(p *ingest.Pipeline) *http.CommunityOptions {
	if o.community == nil {
		return nil
	}
	return o.community(p)
}

func communityServer(t *testing.T) *server {
	t.Helper()
	return startServer(t, serverOptions{community: func(p *ingest.Pipeline) *http.CommunityOptions {
		keys, err := sender.New(bytes.Repeat([]byte{5}, sender.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		places := bluehelm.NewPlaceMatcher(sim.CommunityPlaces())
		return &http.CommunityOptions{
			Intake:  ingest.NewCommunity(p, ingest.CommunityConfig{Keys: keys, Places: func() *bluehelm.PlaceMatcher { return places }}),
			Secrets: map[sms.Gateway]string{sms.Generic: e2eSMSSecret},
			// The test's one browser may post several times.
			FormBurst: 10,
		}
	}})
}

// postSMS calls the generic webhook as a gateway would (or as a forger, without the
// secret) and returns the status.
func postSMS(t *testing.T, s *server, secret string, msg map[string]string) int {
	t.Helper()
	b, _ := json.Marshal(msg)
	req, err := nethttp.NewRequest("POST", s.URL+"/api/v1/community/sms/generic", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	res, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (s *server) communityAlerts(t *testing.T) []*bluehelm.CommunityAlert {
	t.Helper()
	all, err := s.store.FindCommunityAlerts(context.Background(), bluehelm.CommunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func TestCommunityAlertToIncident(t *testing.T) {
	s := communityServer(t)
	s.addUser(bluehelm.User{Username: "cla", Name: "Community liaison assistant", Role: bluehelm.RoleLiaison, Component: bluehelm.Civilian, Clearance: bluehelm.Confidential})

	// A forged call without the secret: refused, nothing stored.
	if st := postSMS(t, s, "", map[string]string{"id": "f1", "from": "+211955500100", "text": "fake"}); st != nethttp.StatusUnauthorized {
		t.Fatalf("spoofed webhook: status %d, want 401", st)
	}
	if st := postSMS(t, s, "wrong", map[string]string{"id": "f2", "from": "+211955500100", "text": "fake"}); st != nethttp.StatusUnauthorized {
		t.Fatalf("webhook with a wrong secret: status %d, want 401", st)
	}
	if n := len(s.communityAlerts(t)); n != 0 {
		t.Fatalf("spoofed calls stored %d alerts", n)
	}

	// The gateway delivers an Arabic warning and an English one carrying markup.
	arabic := "هجوم على السوق في بور، مسلحين كثيرين"
	markup := `<img src=x onerror="window.pwned=1">Armed men near Malakal`
	for i, text := range []string{arabic, markup} {
		if st := postSMS(t, s, e2eSMSSecret, map[string]string{"id": "gw-" + strconv.Itoa(i), "from": "+211 955 500 10" + strconv.Itoa(i), "text": text}); st != nethttp.StatusCreated {
			t.Fatalf("webhook: status %d", st)
		}
	}
	stored := s.communityAlerts(t)
	if len(stored) != 2 {
		t.Fatalf("%d alerts stored, want 2", len(stored))
	}
	var arID, mkID int64
	for _, a := range stored {
		if a.Text == arabic {
			arID = a.ID
		}
		if a.Text == markup {
			mkID = a.ID
		}
	}

	b := newBrowser(t, s, "cla")
	b.login("cla")
	b.waitMapReady()
	b.do("the community queue", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-community`)),
		chromedp.WaitVisible(chromedp.CSS(`#community-section`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-alert="`+itoa(arID)+`"]`)),
	)
	ar := `document.querySelector('[data-alert="` + itoa(arID) + `"]')`
	mk := `document.querySelector('[data-alert="` + itoa(mkID) + `"]')`
	// Newest first; the text verbatim, as text; Arabic right to left; hints and place.
	if first := eval[string](b, `document.querySelector('#community-list [data-alert]').dataset.alert`); first != itoa(mkID) {
		t.Errorf("first in the queue is %s, want the newest %d", first, mkID)
	}
	if got := eval[string](b, ar+`.querySelector('.community-text').textContent`); got != arabic {
		t.Errorf("Arabic text shown as %q", got)
	}
	if got := eval[string](b, mk+`.querySelector('.community-text').textContent`); got != markup {
		t.Errorf("markup text shown as %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#community-list img').length + (window.pwned ? 100 : 0)`); n != 0 {
		t.Errorf("the message's markup became elements (%d)", n)
	}
	if dir := eval[string](b, `getComputedStyle(`+ar+`.querySelector('.community-text')).direction`); dir != "rtl" {
		t.Errorf("Arabic message direction %q, want rtl", dir)
	}
	if dir := eval[string](b, `getComputedStyle(`+ar+`.querySelector('.community-keyword:lang(ar)')).direction`); dir != "rtl" {
		t.Errorf("Arabic keyword hint direction %q, want rtl", dir)
	}
	if p := eval[string](b, ar+`.querySelector('.community-place').textContent`); !strings.Contains(p, "Bor") {
		t.Errorf("suggested place %q", p)
	}
	if p := eval[string](b, mk+`.querySelector('.community-place').textContent`); !strings.Contains(p, "Malakal") {
		t.Errorf("suggested place %q", p)
	}
	b.do("showing the place on the map", stepTimeout, chromedp.Click(chromedp.CSS(`[data-alert="`+itoa(arID)+`"] .community-place button`)))

	// Triage, then link to a new draft incident.
	b.do("triage", stepTimeout, chromedp.Click(chromedp.CSS(`[data-alert="`+itoa(arID)+`"] button.act-triage`)))
	b.waitFor("the alert triaged", stepTimeout, ar+`?.classList.contains('cstate-triaged')`)
	b.do("link to a new draft", stepTimeout,
		chromedp.Click(chromedp.CSS(`[data-alert="`+itoa(arID)+`"] button.act-link-new`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog button.primary`)),
		chromedp.Click(chromedp.CSS(`dialog button.primary`)),
	)
	var linked *bluehelm.CommunityAlert
	waitUntil(t, "the alert linked to a draft incident", stepTimeout, func() (bool, string) {
		a, err := s.store.CommunityAlert(context.Background(), arID)
		if err != nil {
			return false, err.Error()
		}
		linked = a
		return a.State == bluehelm.CommunityLinked && a.Incident != 0, string(a.State)
	})
	inc, err := s.store.Incident(context.Background(), linked.Incident)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != bluehelm.StatusDraft || inc.Category != bluehelm.CatArmedClash || inc.PlaceName != "Bor" || !strings.Contains(inc.Narrative, arabic) || linked.StateBy != "cla" {
		t.Errorf("draft incident %+v from %+v", inc, linked)
	}
	// The open filter no longer lists it; "all" does, with the link to the incident.
	b.waitFor("the linked alert leaving the open queue", stepTimeout, ar+` === null`)
	b.do("all messages", stepTimeout, chromedp.SetValue(chromedp.CSS(`#community-filter`), "all"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#community-filter').dispatchEvent(new Event('change'))`))
	b.waitFor("the incident link", stepTimeout, ar+`?.querySelector('a[href="#/incidents/`+itoa(inc.ID)+`"]')`)

	// The liaison reveals the sender of the other message, with a reason.
	b.do("reveal the sender", stepTimeout,
		chromedp.Click(chromedp.CSS(`[data-alert="`+itoa(mkID)+`"] button.act-reveal`)),
		chromedp.WaitVisible(chromedp.CSS(`dialog textarea`)),
		chromedp.SendKeys(chromedp.CSS(`dialog textarea`), "call back to confirm"),
		chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)),
	)
	b.waitFor("the number", stepTimeout, mk+`?.querySelector('.sender-number')?.textContent.includes('+211955500101')`)
	log, err := s.store.AuditLog(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range log {
		if e.Action == "community.sender.reveal" && e.Actor == "cla" && e.Object == "community_alert/"+itoa(mkID) {
			audited = true
		}
	}
	if !audited {
		t.Error("the reveal is not in the audit log")
	}
	// An operations officer triages too but never sees a sender control.
	ops := newBrowser(t, s, "ops")
	ops.login("ops")
	ops.waitMapReady()
	ops.do("the queue as ops", stepTimeout,
		chromedp.Click(chromedp.CSS(`a#nav-community`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-alert="`+itoa(mkID)+`"]`)),
	)
	if n := eval[int](ops, `document.querySelectorAll('#community-list .act-reveal, #community-list .community-sender').length`); n != 0 {
		t.Errorf("ops sees %d sender controls", n)
	}
	if strings.Contains(eval[string](ops, `document.body.textContent`), "955500") {
		t.Error("ops's page carries a sender number")
	}
	// In French, the queue's own strings follow; the Arabic hint stays right to left.
	ops.setField("select#lang", "fr")
	ops.waitFor("the queue in French", stepTimeout, `document.querySelector('#community-heading')?.textContent === 'Alertes communautaires'`)
	// The language switch re-renders the page, so a node found by one CDP call may be gone by
	// the next: set and dispatch in a single evaluation on whatever filter is there now.
	ops.waitFor("all messages", stepTimeout, `(() => { const f = document.querySelector('#community-filter');
		if (!f) return false; f.value = 'all'; f.dispatchEvent(new Event('change')); return true })()`)
	ops.waitFor("the linked alert in French", stepTimeout, `document.querySelector('[data-alert="`+itoa(arID)+`"] .badge')?.textContent === 'Rattachée'`)
	if dir := eval[string](ops, `getComputedStyle(document.querySelector('[data-alert="`+itoa(arID)+`"] .community-keyword:lang(ar)')).direction`); dir != "rtl" {
		t.Errorf("Arabic keyword hint direction %q in the French page, want rtl", dir)
	}
}

func TestCommunityPublicForm(t *testing.T) {
	s := communityServer(t)
	b := newBrowser(t, s, "public")
	text := "Des hommes armés près de Yei <b>ce matin</b>"
	b.do("the public form, no login", stepTimeout,
		chromedp.Navigate(s.URL+"/report"),
		chromedp.WaitVisible(chromedp.CSS(`form#report-form textarea#report-text`)),
		chromedp.SendKeys(chromedp.CSS(`#report-text`), text),
		chromedp.Click(chromedp.CSS(`#report-send`)),
		chromedp.WaitVisible(chromedp.CSS(`#report-done`)),
	)
	if got := eval[string](b, `location.pathname`); got != "/report.html" {
		t.Errorf("page at %s", got)
	}
	all := s.communityAlerts(t)
	if len(all) != 1 || all[0].Text != text || all[0].Channel != bluehelm.ChannelWeb || all[0].Language != "fr" || all[0].HasSender {
		t.Fatalf("stored %+v", all)
	}
	if got := eval[string](b, `document.querySelector('#report-done').textContent`); !strings.Contains(got, itoa(all[0].ID)) {
		t.Errorf("confirmation %q has no reference", got)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
