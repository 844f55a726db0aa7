package http

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/sms"
	"golang.org/x/time/rate"
)

// This file serves community alerts (issue 8): the SMS gateway webhooks and the public
// report form, which need no login (a gateway proves itself with its shared secret; the
// form is rate limited per client address and checked for bots), and the triage queue
// for those allowed. Senders are never in an answer except the liaison's audited reveal.

// CommunityOptions configure the community alert intake (Config.Community).
type CommunityOptions struct {
	Intake *ingest.Community
	// Secrets are the shared secrets of the SMS gateways by form ("generic",
	// "android"); a gateway without one refuses every call.
	Secrets map[sms.Gateway]string
	// FormRate and FormBurst limit public form reports per client address. Zero
	// means 6 an hour with a burst of 3.
	FormRate  rate.Limit
	FormBurst int
	// FormMinAge is the least time between loading the form and sending it (people
	// need some seconds to write; bots post at once). Zero means 3 seconds.
	// FormMaxAge is how long a loaded form stays valid. Zero means 2 hours.
	FormMinAge, FormMaxAge time.Duration

	once    sync.Once
	limiter *loginLimiter
	formKey []byte
}

func (o *CommunityOptions) init() {
	o.once.Do(func() {
		if o.FormRate == 0 {
			o.FormRate = rate.Every(time.Hour / 6)
		}
		if o.FormBurst <= 0 {
			o.FormBurst = 3
		}
		if o.FormMinAge <= 0 {
			o.FormMinAge = 3 * time.Second
		}
		if o.FormMaxAge <= 0 {
			o.FormMaxAge = 2 * time.Hour
		}
		o.limiter = newLoginLimiter(o.FormRate, o.FormBurst)
		o.formKey = make([]byte, 32)
		_, _ = rand.Read(o.formKey)
	})
}

func (s *Server) community() (*CommunityOptions, error) {
	c := s.cfg.Community
	if c == nil || c.Intake == nil {
		return nil, bluehelm.Errorf(bluehelm.EUNAVAILABLE, "community alerts are not enabled on this server")
	}
	c.init()
	return c, nil
}

func (s *Server) communityRoutes(v1 string) []route {
	return []route{
		{method: "POST", path: v1 + "/community/sms/{gateway}", public: true, h: s.communitySMS},
		{method: "GET", path: v1 + "/community/report/form", public: true, h: s.communityForm},
		{method: "POST", path: v1 + "/community/report", public: true, h: s.communityReport},
		{method: "GET", path: "/report", public: true, h: func(w http.ResponseWriter, r *http.Request) error {
			http.Redirect(w, r, "/report.html", http.StatusFound)
			return nil
		}},
		{method: "GET", path: v1 + "/community/alerts", h: s.listCommunityAlerts},
		{method: "POST", path: v1 + "/community/alerts", h: s.createCommunityAlert},
		{method: "GET", path: v1 + "/community/alerts/{id}", h: s.getCommunityAlert},
		{method: "POST", path: v1 + "/community/alerts/{id}/actions/{action}", h: s.communityAction},
		{method: "POST", path: v1 + "/community/alerts/{id}/sender", h: s.revealCommunitySender},
		{method: "POST", path: v1 + "/community/alerts/{id}/reply", h: s.replyCommunity},
	}
}

// communityAlertJSON is an alert as answered: times in UTC; the sender is never part
// of it (its fields do not serialise).
func communityAlertJSON(a *bluehelm.CommunityAlert) *bluehelm.CommunityAlert {
	out := *a
	out.ReceivedAt = out.ReceivedAt.UTC()
	out.StateAt = utcTimePtr(out.StateAt)
	out.SenderPseudonym, out.SenderSealed = "", nil
	return &out
}

// communitySMS is the webhook of an SMS gateway. The shared secret is checked before
// the body is even parsed: a spoofed call gets 401 and stores nothing.
func (s *Server) communitySMS(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	g := sms.Gateway(r.PathValue("gateway"))
	if g != sms.Generic && g != sms.Android {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "unknown SMS gateway %q (generic or android)", g)
	}
	body, err := readJSON(w, r, limitSmall)
	if err != nil {
		return err
	}
	if err := sms.Verify(g, c.Secrets[g], r.Header, body, s.now()); err != nil {
		s.log.Warn("community SMS webhook refused", "gateway", g, "client", clientKey(r), "reason", bluehelm.ErrorMessage(err))
		return err
	}
	m, err := sms.Parse(g, body)
	if err == sms.ErrIgnored {
		return writeJSON(w, http.StatusOK, map[string]any{"ignored": true})
	}
	if err != nil {
		return err
	}
	src := "sms:" + string(g)
	got, err := c.Intake.Receive(r.Context(), bluehelm.SystemPrincipal(src), ingest.Inbound{
		Channel: bluehelm.ChannelSMS, Source: src, ExternalID: m.ID, From: m.From, Text: m.Text, ReceivedAt: m.ReceivedAt})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if got.Existing {
		status = http.StatusOK
	}
	resp := map[string]any{"id": got.Alert.ID, "duplicate": got.Existing}
	if got.Ack != "" {
		resp["reply"] = got.Ack
	}
	return writeJSON(w, status, resp)
}

// Form tokens: the unix time the form was loaded and an HMAC of it.
func (c *CommunityOptions) token(at time.Time) string {
	b := make([]byte, 8, 8+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(at.UnixMilli()))
	m := hmac.New(sha256.New, c.formKey)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b))
}

func (c *CommunityOptions) checkToken(tok string, now time.Time) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 8+sha256.Size {
		return bluehelm.Invalid("token", "the form is not valid; reload the page")
	}
	m := hmac.New(sha256.New, c.formKey)
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil), b[8:]) {
		return bluehelm.Invalid("token", "the form is not valid; reload the page")
	}
	age := now.Sub(time.UnixMilli(int64(binary.BigEndian.Uint64(b[:8]))))
	if age < c.FormMinAge {
		return bluehelm.Invalid("token", "sent too quickly; please read your message again and send it")
	}
	if age > c.FormMaxAge {
		return bluehelm.Invalid("token", "the form has expired; reload the page")
	}
	return nil
}

func (s *Server) communityForm(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"token": c.token(s.now()), "min_seconds": int(math.Ceil(c.FormMinAge.Seconds())), "max_chars": bluehelm.MaxCommunityText})
}

// communityReport takes a report from the public form: no login, one bucket per client
// address, a honeypot field people never see and a minimum time to write.
func (s *Server) communityReport(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	if wait, ok := c.limiter.allow(s.now(), "report:"+clientKey(r)); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		return bluehelm.Errorf(bluehelm.ERATELIMIT, "too many reports from this connection; try again in %d minutes, or call the hotline", (secs+59)/60)
	}
	var req struct {
		Text    string `json:"text"`
		Token   string `json:"token"`
		Website string `json:"website"` // the honeypot: hidden from people, filled by bots
	}
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	if req.Website != "" {
		return bluehelm.Invalid("website", "must be left empty")
	}
	if err := c.checkToken(req.Token, s.now()); err != nil {
		return err
	}
	got, err := c.Intake.Receive(r.Context(), bluehelm.SystemPrincipal("web"), ingest.Inbound{
		Channel: bluehelm.ChannelWeb, Source: "web", Text: req.Text})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"reference": got.Alert.ID, "ack": got.Ack})
}

func (s *Server) listCommunityAlerts(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	q := newQuery(r)
	var f bluehelm.CommunityFilter
	for _, st := range q.list("state") {
		state := bluehelm.CommunityState(st)
		if !state.Valid() {
			return invalid("state", "unknown state %q (new, triaged, linked or dismissed)", st)
		}
		f.States = append(f.States, state)
	}
	if g := q.get("group_id"); g != "" {
		if f.GroupID, err = strconv.ParseInt(g, 10, 64); err != nil || f.GroupID <= 0 {
			return invalid("group_id", "must be a positive integer")
		}
	}
	if f.Since, err = q.time("since"); err != nil {
		return err
	}
	if f.Limit, err = q.int("limit", 200, 1, 1000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	all, err := c.Intake.List(r.Context(), principal(r), f)
	if err != nil {
		return err
	}
	out := make([]*bluehelm.CommunityAlert, len(all))
	for i, a := range all {
		out[i] = communityAlertJSON(a)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

// createCommunityAlert is the hotline operator's entry.
func (s *Server) createCommunityAlert(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	var req struct {
		Text       string     `json:"text"`
		From       string     `json:"from"`
		ReceivedAt *time.Time `json:"received_at"`
	}
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	in := ingest.Inbound{Channel: bluehelm.ChannelHotline, Source: "hotline", From: req.From, Text: req.Text}
	if req.ReceivedAt != nil {
		in.ReceivedAt = *req.ReceivedAt
	}
	got, err := c.Intake.Receive(r.Context(), principal(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/community/alerts/"+itoa64(got.Alert.ID))
	return writeJSON(w, http.StatusCreated, communityAlertJSON(got.Alert))
}

func (s *Server) getCommunityAlert(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := c.Intake.Get(r.Context(), principal(r), id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(a.Version))
	return writeJSON(w, http.StatusOK, communityAlertJSON(a))
}

func (s *Server) communityAction(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in ingest.TriageAction
	if err := decodeOptionalJSON(w, r, limitSmall, &in); err != nil {
		return err
	}
	in.Action = r.PathValue("action")
	if v, present, err := ifMatch(r); err != nil {
		return err
	} else if present {
		in.Version = v
	}
	a, inc, err := c.Intake.Triage(r.Context(), principal(r), id, in)
	if err != nil {
		// A stale If-Match is a 412 (reload), other conflicts (a final state) a 409.
		if bluehelm.ErrorCode(err) == bluehelm.ECONFLICT && in.Version != 0 {
			if cur, gerr := c.Intake.Get(r.Context(), principal(r), id); gerr == nil && cur.Version != in.Version {
				return stale("community alert", id, cur.Version, in.Version)
			}
		}
		return err
	}
	resp := map[string]any{"alert": communityAlertJSON(a)}
	if inc != nil {
		resp["incident"] = utcIncident(inc)
	}
	w.Header().Set("ETag", etag(a.Version))
	return writeJSON(w, http.StatusOK, resp)
}

func (s *Server) revealCommunitySender(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	n, err := c.Intake.RevealSender(r.Context(), principal(r), id, strings.TrimSpace(req.Reason))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"number": n})
}

func (s *Server) replyCommunity(w http.ResponseWriter, r *http.Request) error {
	c, err := s.community()
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	if err := c.Intake.Reply(r.Context(), principal(r), id, req.Text); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
