package http

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sms"
)

const (
	genericSecret = "generic-gateway-secret"
	androidSecret = "android-signing-key"
	testNumber    = "+211912345678"
)

// communityEnv is a server with the community intake, a movable clock for the form's
// time-to-submit check, and an Android gateway double on 127.0.0.1 taking replies.
type communityEnv struct {
	*testEnv
	clock   *movableClock
	intake  *ingest.Community
	mu      sync.Mutex
	outbox  []string // what the gateway double was asked to send
	gateway *httptest.Server
}

type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movableClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newCommunityEnv(t *testing.T) *communityEnv {
	ce := &communityEnv{clock: &movableClock{t: time.Now().UTC().Truncate(time.Second)}}
	ce.gateway = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			TextMessage  struct{ Text string } `json:"textMessage"`
			PhoneNumbers []string              `json:"phoneNumbers"`
		}
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &m)
		ce.mu.Lock()
		ce.outbox = append(ce.outbox, strings.Join(m.PhoneNumbers, ",")+": "+m.TextMessage.Text)
		ce.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(ce.gateway.Close)
	opts := &CommunityOptions{Secrets: map[sms.Gateway]string{sms.Generic: genericSecret, sms.Android: androidSecret}, FormBurst: 4}
	ce.testEnv = newEnv(t, func(c *Config) {
		c.Now = ce.clock.now
		c.Community = opts
	})
	keys, err := sender.New(bytes.Repeat([]byte{9}, sender.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	places := bluehelm.NewPlaceMatcher([]bluehelm.GazetteerPlace{{Name: "Bor", Country: "SS", Location: bluehelm.Point{Lon: 31.559, Lat: 6.207}}})
	ce.intake = ingest.NewCommunity(ce.pipeline, ingest.CommunityConfig{Keys: keys,
		Places:   func() *bluehelm.PlaceMatcher { return places },
		Repliers: map[string]ingest.Replier{"sms:android": &sms.AndroidSender{BaseURL: ce.gateway.URL, Username: "sms", Password: "pw"}}})
	opts.Intake = ce.intake
	ce.standardUsers()
	ce.user("liaison", bluehelm.RoleLiaison, bluehelm.Civilian, bluehelm.Confidential)
	return ce
}

func (ce *communityEnv) stored(t *testing.T) []*bluehelm.CommunityAlert {
	t.Helper()
	all, err := ce.db.FindCommunityAlerts(ce.ctx, bluehelm.CommunityFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func genericSMS(id, text string) map[string]string {
	return map[string]string{"id": id, "from": testNumber, "text": text, "received_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}
}

func TestCommunityWebhookAuthentication(t *testing.T) {
	ce := newCommunityEnv(t)
	path := "/api/v1/community/sms/generic"
	body, _ := json.Marshal(genericSMS("g1", "Armed men in Bor"))
	spoofs := []struct {
		name   string
		header map[string]string
	}{
		{"no secret", nil},
		{"wrong bearer", map[string]string{"Authorization": "Bearer guess"}},
		{"another gateway's secret", map[string]string{"Authorization": "Bearer " + androidSecret}},
		{"bad signature", map[string]string{"X-Signature": "00ff"}},
	}
	for _, s := range spoofs {
		ce.problem(req{method: "POST", path: path, body: body, header: s.header}, http.StatusUnauthorized, "")
	}
	// A signed Android call replayed with another body, and an unsigned one.
	ts := strconv.FormatInt(ce.clock.now().Unix(), 10)
	ce.problem(req{method: "POST", path: "/api/v1/community/sms/android", body: `{"event":"sms:received","id":"x","payload":{"message":"x","phoneNumber":"1234"}}`,
		header: map[string]string{"X-Timestamp": ts, "X-Signature": sms.SignAndroid(androidSecret, []byte(`{}`), ts)}}, http.StatusUnauthorized, "")
	ce.problem(req{method: "POST", path: "/api/v1/community/sms/android", body: `{"event":"sms:received"}`}, http.StatusUnauthorized, "")
	if n := len(ce.stored(t)); n != 0 {
		t.Fatalf("spoofed calls stored %d alerts", n)
	}
	ce.problem(req{method: "POST", path: "/api/v1/community/sms/kannel", body: body}, http.StatusNotFound, "")

	// The real gateway: stored, acknowledged in the response, idempotent on its id.
	auth := map[string]string{"Authorization": "Bearer " + genericSecret}
	var got struct {
		ID        int64  `json:"id"`
		Duplicate bool   `json:"duplicate"`
		Reply     string `json:"reply"`
	}
	ce.ok(req{method: "POST", path: path, body: body, header: auth}, http.StatusCreated, &got)
	if got.ID == 0 || got.Duplicate || !strings.Contains(got.Reply, "ref. "+itoa64(got.ID)) {
		t.Errorf("first call: %+v", got)
	}
	got.Reply = ""
	ce.ok(req{method: "POST", path: path, body: body, header: auth}, http.StatusOK, &got)
	if !got.Duplicate || got.Reply != "" {
		t.Errorf("retried call: %+v", got)
	}
	// Signed by body HMAC instead of a bearer.
	body2, _ := json.Marshal(genericSMS("g2", "Hommes armés à Bor"))
	ce.ok(req{method: "POST", path: path, body: body2, header: map[string]string{"X-Signature": "sha256=" + hexOf(sms.Sign(genericSecret, body2))}}, http.StatusCreated, nil)
	// Oversized: refused with the reason, nothing stored.
	big, _ := json.Marshal(genericSMS("g3", strings.Repeat("é", 1601)))
	p := ce.problem(req{method: "POST", path: path, body: big, header: auth}, http.StatusBadRequest, "text")
	if !strings.Contains(p.Detail, "1600") {
		t.Errorf("oversized detail %q does not give the limit", p.Detail)
	}
	if n := len(ce.stored(t)); n != 2 {
		t.Errorf("%d alerts stored, want 2", n)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestCommunityAndroidGatewayAck(t *testing.T) {
	ce := newCommunityEnv(t)
	body := []byte(`{"deviceId":"ffffffffceb0b1db00000193991c27e5","event":"sms:received","id":"evt-1","webhookId":"wh",` +
		`"payload":{"messageId":"m1","message":"مسلحين في بور","phoneNumber":"+211 912 345 678","simNumber":1,"receivedAt":"2026-11-27T10:59:55.000+03:00"}}`)
	ts := strconv.FormatInt(ce.clock.now().Unix(), 10)
	hdr := map[string]string{"X-Timestamp": ts, "X-Signature": sms.SignAndroid(androidSecret, body, ts)}
	var got map[string]any
	ce.ok(req{method: "POST", path: "/api/v1/community/sms/android", body: body, header: hdr}, http.StatusCreated, &got)
	if _, inline := got["reply"]; inline {
		t.Errorf("the android gateway's ack should go out through its API, not the response: %v", got)
	}
	ce.intake.Wait()
	ce.mu.Lock()
	outbox := append([]string(nil), ce.outbox...)
	ce.mu.Unlock()
	if len(outbox) != 1 || !strings.HasPrefix(outbox[0], testNumber+": شكراً") {
		t.Errorf("gateway was asked to send %q", outbox)
	}
	// The liaison replies through the same gateway; others may not.
	id := itoa64(int64(got["id"].(float64)))
	ce.problem(req{method: "POST", path: "/api/v1/community/alerts/" + id + "/reply", as: "ops1", body: map[string]string{"text": "x"}}, http.StatusForbidden, "")
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts/" + id + "/reply", as: "liaison", body: map[string]string{"text": "Une patrouille arrive"}}, http.StatusNoContent, nil)
	ce.mu.Lock()
	outbox = append([]string(nil), ce.outbox...)
	ce.mu.Unlock()
	if len(outbox) != 2 || outbox[1] != testNumber+": Une patrouille arrive" {
		t.Errorf("reply: gateway was asked to send %q", outbox)
	}
	// A delivery report is answered and ignored.
	other := []byte(`{"event":"sms:delivered","id":"evt-2","payload":{"messageId":"m1","phoneNumber":"+211912345678"}}`)
	ce.ok(req{method: "POST", path: "/api/v1/community/sms/android", body: other,
		header: map[string]string{"X-Timestamp": ts, "X-Signature": sms.SignAndroid(androidSecret, other, ts)}}, http.StatusOK, nil)
	if n := len(ce.stored(t)); n != 1 {
		t.Errorf("%d alerts stored, want 1", n)
	}
}

func TestCommunityPublicForm(t *testing.T) {
	ce := newCommunityEnv(t)
	var form struct {
		Token string `json:"token"`
	}
	ce.ok(req{method: "GET", path: "/api/v1/community/report/form"}, http.StatusOK, &form)
	text := `<script>alert("x")</script> هجوم على بور`
	// Sent at once: a bot.
	ce.problem(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": text, "token": form.Token}}, http.StatusBadRequest, "token")
	ce.clock.add(10 * time.Second)
	ce.problem(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": text, "token": form.Token, "website": "http://spam"}}, http.StatusBadRequest, "website")
	ce.problem(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": text, "token": form.Token + "x"}}, http.StatusBadRequest, "token")
	// Every post takes a token from the client's bucket (burst 4 here), refused or
	// not: an hour refills it.
	ce.clock.add(time.Hour)
	ce.ok(req{method: "GET", path: "/api/v1/community/report/form"}, http.StatusOK, &form)
	ce.clock.add(10 * time.Second)
	var got struct {
		Reference int64  `json:"reference"`
		Ack       string `json:"ack"`
	}
	ce.ok(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": text, "token": form.Token}}, http.StatusCreated, &got)
	if got.Reference == 0 || got.Ack == "" {
		t.Errorf("report: %+v", got)
	}
	for i := 0; i < 3; i++ {
		ce.ok(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": "more " + strconv.Itoa(i), "token": form.Token}}, http.StatusCreated, nil)
	}
	r := ce.do(req{method: "POST", path: "/api/v1/community/report", body: map[string]string{"text": "third", "token": form.Token}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("flood: status %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	// The text comes back verbatim.
	var a bluehelm.CommunityAlert
	ce.ok(req{method: "GET", path: "/api/v1/community/alerts/" + itoa64(got.Reference), as: "analyst"}, http.StatusOK, &a)
	if a.Text != text || a.Channel != bluehelm.ChannelWeb || a.HasSender {
		t.Errorf("stored %+v", a)
	}
	if rr := ce.do(req{method: "GET", path: "/report"}); rr.Request.URL.Path != "/report.html" {
		t.Errorf("/report went to %s", rr.Request.URL.Path)
	}
}

func TestCommunityQueueAndSender(t *testing.T) {
	ce := newCommunityEnv(t)
	auth := map[string]string{"Authorization": "Bearer " + genericSecret}
	var first, dup struct{ ID int64 }
	b1, _ := json.Marshal(genericSMS("q1", "Armed men attacked the market in Bor"))
	ce.ok(req{method: "POST", path: "/api/v1/community/sms/generic", body: b1, header: auth}, http.StatusCreated, &first)
	b2, _ := json.Marshal(genericSMS("q2", "they are burning houses"))
	ce.ok(req{method: "POST", path: "/api/v1/community/sms/generic", body: b2, header: auth}, http.StatusCreated, &dup)

	ce.problem(req{method: "GET", path: "/api/v1/community/alerts"}, http.StatusUnauthorized, "")
	ce.problem(req{method: "GET", path: "/api/v1/community/alerts", as: "viewer"}, http.StatusForbidden, "")
	r := ce.do(req{method: "GET", path: "/api/v1/community/alerts?state=new", as: "analyst"})
	var list struct{ Alerts []bluehelm.CommunityAlert }
	r.json(t, &list)
	if r.StatusCode != 200 || len(list.Alerts) != 2 || list.Alerts[0].ID != dup.ID || list.Alerts[0].GroupID != first.ID {
		t.Fatalf("queue: %d %s", r.StatusCode, r.body)
	}
	if bytes.Contains(r.body, []byte("912345678")) {
		t.Error("the queue carries the sender's number")
	}
	// Hotline entry.
	var hot bluehelm.CommunityAlert
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts", as: "ops1", body: map[string]string{"text": "Caller reports fire in Bor"}}, http.StatusCreated, &hot)
	if hot.Channel != bluehelm.ChannelHotline || hot.EnteredBy != "ops1" {
		t.Errorf("hotline: %+v", hot)
	}
	ce.problem(req{method: "POST", path: "/api/v1/community/alerts", as: "viewer", body: map[string]string{"text": "x"}}, http.StatusForbidden, "")

	// Reveal: only the liaison, audited.
	ce.problem(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(first.ID) + "/sender", as: "analyst"}, http.StatusForbidden, "")
	var rev struct{ Number string }
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(first.ID) + "/sender", as: "liaison", body: map[string]string{"reason": "call back"}}, http.StatusOK, &rev)
	if rev.Number != testNumber {
		t.Errorf("revealed %q", rev.Number)
	}
	log, err := ce.db.AuditLog(ce.ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range log {
		if e.Action == "community.sender.reveal" && e.Actor == "liaison" && e.Object == "community_alert/"+itoa64(first.ID) {
			found = true
		}
	}
	if !found {
		t.Error("the reveal is not in the audit log")
	}

	// Triage → link to a new draft incident, for the whole group.
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(first.ID) + "/actions/triage", as: "liaison", body: map[string]string{"note": "credible"}}, http.StatusOK, nil)
	var linked struct {
		Alert    bluehelm.CommunityAlert
		Incident bluehelm.Incident
	}
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(first.ID) + "/actions/link", as: "liaison",
		body: map[string]any{"create_incident": true, "group": true}}, http.StatusOK, &linked)
	if linked.Alert.State != bluehelm.CommunityLinked || linked.Incident.ID == 0 || linked.Incident.Status != bluehelm.StatusDraft || linked.Incident.PlaceName != "Bor" {
		t.Fatalf("linked: %+v", linked)
	}
	var d bluehelm.CommunityAlert
	ce.ok(req{method: "GET", path: "/api/v1/community/alerts/" + itoa64(dup.ID), as: "analyst"}, http.StatusOK, &d)
	if d.State != bluehelm.CommunityLinked || d.Incident != linked.Incident.ID {
		t.Errorf("group member: %+v", d)
	}
	ce.problem(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(hot.ID) + "/actions/link", as: "analyst", body: map[string]any{}}, http.StatusBadRequest, "incident_id")
	ce.problem(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(hot.ID) + "/actions/dismiss", as: "analyst", header: map[string]string{"If-Match": `"7"`}}, http.StatusPreconditionFailed, "If-Match")
	ce.ok(req{method: "POST", path: "/api/v1/community/alerts/" + itoa64(hot.ID) + "/actions/dismiss", as: "analyst", body: map[string]string{"note": "test call"}}, http.StatusOK, nil)
}
