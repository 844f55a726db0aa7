package ingest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/sender"
)

// Community takes community alerts in (SMS gateways, the public web form, hotline
// operators), annotates them (language, keyword hints, suggested place), protects
// their senders, groups duplicates, and runs their triage. It writes through the
// pipeline's store and audit chain.
type Community struct {
	p   *Pipeline
	cfg CommunityConfig
	wg  sync.WaitGroup // outbound acknowledgements in flight
}

// Replier sends an SMS through a gateway that can send (an acknowledgement, a reply).
type Replier interface {
	Send(ctx context.Context, number, text string) error
}

// CommunityConfig configures the intake.
type CommunityConfig struct {
	// Keys pseudonymise and seal sender numbers. Nil: numbers are not kept at all.
	Keys *sender.Keys
	// Places returns the matcher of the mission area's place names (built on first
	// use: the gazetteer takes a moment to load); nil or a nil result: no suggestion.
	Places func() *bluehelm.PlaceMatcher
	// Window is how long after a message another one from the same sender, or a
	// near-identical one about the same place, joins its group. Zero means 2 hours.
	Window time.Duration
	// Repliers send acknowledgements and replies, by source ("sms:android"); a source
	// without one gets its acknowledgement in the webhook response, if at all.
	Repliers map[string]Replier
	// NoAck turns acknowledgements off (a network whose senders are safer unanswered).
	NoAck bool
}

// NewCommunity returns the community intake of p.
func NewCommunity(p *Pipeline, cfg CommunityConfig) *Community {
	if cfg.Window <= 0 {
		cfg.Window = 2 * time.Hour
	}
	return &Community{p: p, cfg: cfg}
}

// Wait waits for outbound acknowledgements in flight (at shutdown, in tests).
func (c *Community) Wait() { c.wg.Wait() }

// Inbound is one message as an intake received it.
type Inbound struct {
	Channel    bluehelm.CommunityChannel
	Source     string    // "sms:generic", "sms:android", "web", "hotline"
	ExternalID string    // the gateway's message id, for idempotence ("" if none)
	From       string    // the sender's number as given ("" when unknown)
	Text       string    // as given
	ReceivedAt time.Time // zero: now
}

// Received is the outcome of an intake call.
type Received struct {
	Alert    *bluehelm.CommunityAlert
	Existing bool   // the gateway id was seen before: nothing new was stored
	Ack      string // the acknowledgement for the sender ("" for none), to return in the webhook response
	AckSent  bool   // the acknowledgement went out through a Replier instead
}

// Acknowledgements by language guess; the reference lets the sender quote the message.
var communityAcks = map[string]string{
	"en": "Thank you. The mission has received your message (ref. %s).",
	"fr": "Merci. La mission a bien reçu votre message (réf. %s).",
	"ar": "شكراً. وصلت رسالتك إلى البعثة (المرجع %s).",
}

// Ack returns the acknowledgement of alert id in language lang (English when unknown).
func Ack(lang string, id int64) string {
	f, ok := communityAcks[lang]
	if !ok {
		f = communityAcks["en"]
	}
	return strings.Replace(f, "%s", strconv.FormatInt(id, 10), 1)
}

func (c *Community) store() (bluehelm.CommunityStore, error) {
	st, ok := c.p.store.(bluehelm.CommunityStore)
	if !ok {
		return nil, bluehelm.Errorf(bluehelm.EUNAVAILABLE, "this store keeps no community alerts")
	}
	return st, nil
}

// Receive stores a message. SMS and web messages come in as the system (by is the
// intake's system principal); hotline messages are entered by an operator, who needs
// ActTriageCommunity. Bad input (empty, oversized, not UTF-8, a From that is not a
// phone number) is refused with the reason and stores nothing.
func (c *Community) Receive(ctx context.Context, by bluehelm.Principal, in Inbound) (*Received, error) {
	if in.Channel == bluehelm.ChannelHotline {
		if err := by.Require(bluehelm.ActTriageCommunity); err != nil {
			return nil, c.p.reject("community_alert", err)
		}
	}
	st, err := c.store()
	if err != nil {
		return nil, err
	}
	now := c.p.now()
	if err := bluehelm.ValidateCommunityText(in.Text); err != nil {
		return nil, c.p.reject("community_alert", err)
	}
	a := &bluehelm.CommunityAlert{
		ReceivedAt: in.ReceivedAt, Channel: in.Channel, Source: in.Source, ExternalID: in.ExternalID,
		Text: in.Text, State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking,
	}
	if a.ReceivedAt.IsZero() || a.ReceivedAt.After(now) {
		a.ReceivedAt = now // a phone's clock ahead of ours is not a reason to lose the message
	}
	if in.Channel == bluehelm.ChannelHotline {
		a.EnteredBy = by.Username
	}
	var number string
	if strings.TrimSpace(in.From) != "" && c.cfg.Keys != nil {
		if number, err = sender.Normalize(in.From); err != nil {
			return nil, c.p.reject("community_alert", err)
		}
		a.SenderPseudonym = c.cfg.Keys.Pseudonym(number)
		if a.SenderSealed, err = c.cfg.Keys.Seal(number); err != nil {
			return nil, err
		}
	}
	a.Language = bluehelm.GuessLanguage(a.Text)
	a.Hints = bluehelm.KeywordHints(a.Text)
	if c.cfg.Places != nil {
		a.Place = c.cfg.Places().Match(a.Text)
	}
	if err := a.Validate(now); err != nil {
		return nil, c.p.reject("community_alert", err)
	}
	detail := map[string]any{"channel": a.Channel, "source": a.Source, "chars": utf8.RuneCountInString(a.Text)}
	existing, err := st.CreateCommunityAlert(ctx, a, bluehelm.CommunityGrouping{Window: c.cfg.Window, TextKey: bluehelm.TextKey(a.Text)},
		c.p.audit(by, "community.receive", "", detail))
	if err != nil {
		return nil, c.p.reject("community_alert", err)
	}
	out := &Received{Alert: a, Existing: existing}
	if c.cfg.NoAck || existing || in.Channel == bluehelm.ChannelHotline {
		return out, nil
	}
	out.Ack = Ack(a.Language, a.ID)
	if r := c.cfg.Repliers[in.Source]; r != nil && number != "" {
		out.AckSent = true
		c.wg.Add(1)
		go func(id int64, text string) {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if err := r.Send(ctx, number, text); err != nil {
				c.p.log.Warn("community alert acknowledgement not sent", "alert", id, "source", in.Source, "err", err)
			}
		}(a.ID, out.Ack)
		out.Ack = ""
	}
	return out, nil
}

// visible loads alert id for by, who needs ActTriageCommunity; an alert by may not
// see is not found.
func (c *Community) visible(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.CommunityAlert, error) {
	if err := by.Require(bluehelm.ActTriageCommunity); err != nil {
		return nil, err
	}
	st, err := c.store()
	if err != nil {
		return nil, err
	}
	a, err := st.CommunityAlert(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(a.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "community alert %d not found", id)
	}
	return a, nil
}

// Get returns one alert for by.
func (c *Community) Get(ctx context.Context, by bluehelm.Principal, id int64) (*bluehelm.CommunityAlert, error) {
	return c.visible(ctx, by, id)
}

// List returns the alerts f selects that by may see, newest first.
func (c *Community) List(ctx context.Context, by bluehelm.Principal, f bluehelm.CommunityFilter) ([]*bluehelm.CommunityAlert, error) {
	if err := by.Require(bluehelm.ActTriageCommunity); err != nil {
		return nil, err
	}
	st, err := c.store()
	if err != nil {
		return nil, err
	}
	all, err := st.FindCommunityAlerts(ctx, f)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if by.CanSee(a.Marking) {
			out = append(out, a)
		}
	}
	return out, nil
}

// TriageAction is a triage step on an alert.
type TriageAction struct {
	Action  string `json:"-"`                 // "triage", "link" or "dismiss"
	Version int    `json:"version,omitempty"` // the version the triager saw; 0: any
	Note    string `json:"note,omitempty"`
	// Group applies the step to every alert of the alert's group that can take it.
	Group bool `json:"group,omitempty"`
	// IncidentID links to an existing incident; CreateIncident links to a new draft
	// made from the alert (its text, suggested place and first hint's category), with
	// Location given when the alert suggests no place.
	IncidentID     int64             `json:"incident_id,omitempty"`
	CreateIncident bool              `json:"create_incident,omitempty"`
	Title          string            `json:"title,omitempty"`
	Category       bluehelm.Category `json:"category,omitempty"`
	Location       *bluehelm.Point   `json:"location,omitempty"`
	Marking        *bluehelm.Marking `json:"marking,omitempty"`
}

var triageStates = map[string]bluehelm.CommunityState{
	"triage": bluehelm.CommunityTriaged, "link": bluehelm.CommunityLinked, "dismiss": bluehelm.CommunityDismissed,
}

// Triage applies a triage step to alert id (and its group when asked). It returns the
// alert after the step and, for a link, the incident.
func (c *Community) Triage(ctx context.Context, by bluehelm.Principal, id int64, in TriageAction) (*bluehelm.CommunityAlert, *bluehelm.Incident, error) {
	next, ok := triageStates[in.Action]
	if !ok {
		return nil, nil, c.p.reject("community_alert", bluehelm.Invalid("action", "unknown action %q (want triage, link or dismiss)", in.Action))
	}
	a, err := c.visible(ctx, by, id)
	if err != nil {
		return nil, nil, c.p.reject("community_alert", err)
	}
	if in.Version != 0 && in.Version != a.Version {
		return nil, nil, stale("community alert", id, a.Version, in.Version)
	}
	if !a.State.CanMove(next) {
		return nil, nil, c.p.reject("community_alert", bluehelm.Errorf(bluehelm.ECONFLICT, "community alert %d is %s and cannot be moved to %s", id, a.State, next))
	}
	if utf8.RuneCountInString(in.Note) > bluehelm.MaxCommunityNote {
		return nil, nil, c.p.reject("community_alert", bluehelm.Invalid("note", "longer than %d characters", bluehelm.MaxCommunityNote))
	}
	var inc *bluehelm.Incident
	if next == bluehelm.CommunityLinked {
		switch {
		case in.CreateIncident && in.IncidentID != 0:
			return nil, nil, c.p.reject("community_alert", bluehelm.Invalid("incident_id", "give an incident or ask for a new one, not both"))
		case in.CreateIncident:
			if err := by.Require(bluehelm.ActReportIncident); err != nil {
				return nil, nil, c.p.reject("community_alert", err)
			}
			inc = draftFromAlert(a, in)
			if err := c.p.CreateIncident(ctx, by, inc); err != nil {
				return nil, nil, err
			}
		case in.IncidentID > 0:
			if inc, err = c.p.visibleIncident(ctx, by, in.IncidentID); err != nil {
				return nil, nil, c.p.reject("community_alert", bluehelm.Invalid("incident_id", "incident %d not found", in.IncidentID))
			}
		default:
			return nil, nil, c.p.reject("community_alert", bluehelm.Invalid("incident_id", "is required to link (or ask for a new draft incident)"))
		}
	}
	targets := []*bluehelm.CommunityAlert{a}
	if in.Group {
		members, err := c.List(ctx, by, bluehelm.CommunityFilter{GroupID: a.GroupID, Limit: 1000})
		if err != nil {
			return nil, nil, err
		}
		for _, m := range members {
			if m.ID != a.ID && m.State.CanMove(next) {
				targets = append(targets, m)
			}
		}
	}
	st, err := c.store()
	if err != nil {
		return nil, nil, err
	}
	now := c.p.now()
	for _, t := range targets {
		t.State, t.StateBy, t.StateAt = next, by.Username, &now
		if in.Note != "" {
			t.Note = in.Note
		}
		detail := map[string]any{"state": next, "version": t.Version + 1}
		if inc != nil {
			t.Incident = inc.ID
			detail["incident_id"] = inc.ID
		}
		if err := st.UpdateCommunityAlert(ctx, t, c.p.audit(by, "community."+in.Action, objectID("community_alert", t.ID), detail)); err != nil {
			return nil, nil, c.p.reject("community_alert", err)
		}
	}
	return a, inc, nil
}

// draftFromAlert makes the draft incident a link creates.
func draftFromAlert(a *bluehelm.CommunityAlert, in TriageAction) *bluehelm.Incident {
	inc := &bluehelm.Incident{
		Title: in.Title, Category: in.Category, Status: bluehelm.StatusDraft,
		OccurredStart: a.ReceivedAt, TimePrecision: bluehelm.TimeDay,
		Narrative: "Community alert " + strconv.FormatInt(a.ID, 10) + " (" + string(a.Channel) + "):\n" + a.Text,
		Sources:   []bluehelm.Source{{Name: "community alert network", Reference: objectID("community_alert", a.ID)}},
		Links:     []bluehelm.Link{{Kind: "community_alert", Ref: strconv.FormatInt(a.ID, 10)}},
		Marking:   a.Marking,
	}
	if in.Marking != nil {
		inc.Marking = *in.Marking
	}
	if inc.Category == "" {
		inc.Category = bluehelm.CatOther
		if len(a.Hints) > 0 {
			inc.Category = a.Hints[0].Category
		}
	}
	if inc.Title == "" {
		t := strings.Join(strings.Fields(a.Text), " ")
		if utf8.RuneCountInString(t) > 80 {
			t = string([]rune(t)[:79]) + "…"
		}
		inc.Title = t
	}
	switch {
	case in.Location != nil:
		inc.Location, inc.GeoPrecision = *in.Location, bluehelm.GeoExact
	case a.Place != nil:
		inc.Location, inc.GeoPrecision, inc.PlaceName, inc.Country = a.Place.Location, bluehelm.GeoNear, a.Place.Name, a.Place.Country
	}
	return inc
}

// RevealSender returns alert id's sender number to the one role that may see it
// (ActSeeSender), and records who looked and why in the audit chain.
func (c *Community) RevealSender(ctx context.Context, by bluehelm.Principal, id int64, reason string) (string, error) {
	if err := by.Require(bluehelm.ActSeeSender); err != nil {
		return "", c.p.reject("community_sender", err)
	}
	a, err := c.visible(ctx, by, id)
	if err != nil {
		return "", c.p.reject("community_sender", err)
	}
	number, err := c.open(a)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(reason) > 500 {
		return "", bluehelm.Invalid("reason", "longer than 500 characters")
	}
	if err := c.p.store.AppendAudit(ctx, c.p.audit(by, "community.sender.reveal", objectID("community_alert", id), map[string]any{"reason": reason})); err != nil {
		return "", err
	}
	return number, nil
}

func (c *Community) open(a *bluehelm.CommunityAlert) (string, error) {
	if len(a.SenderSealed) == 0 {
		return "", bluehelm.Errorf(bluehelm.ENOTFOUND, "community alert %d has no sender on file", a.ID)
	}
	if c.cfg.Keys == nil {
		return "", bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the sender key is not loaded on this server")
	}
	n, err := c.cfg.Keys.Open(a.SenderSealed)
	if err != nil {
		return "", bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the sender key does not open this number (was the key changed?)")
	}
	return n, nil
}

// Reply sends text to alert id's sender through the gateway it came from; the liaison
// (ActSeeSender) replies. The audit records that a reply went, not its recipient.
func (c *Community) Reply(ctx context.Context, by bluehelm.Principal, id int64, text string) error {
	if err := by.Require(bluehelm.ActSeeSender); err != nil {
		return c.p.reject("community_reply", err)
	}
	if err := bluehelm.ValidateCommunityText(text); err != nil {
		return err
	}
	a, err := c.visible(ctx, by, id)
	if err != nil {
		return c.p.reject("community_reply", err)
	}
	r := c.cfg.Repliers[a.Source]
	if r == nil {
		return bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the gateway of this message (%s) cannot send replies", a.Source)
	}
	number, err := c.open(a)
	if err != nil {
		return err
	}
	if err := r.Send(ctx, number, text); err != nil {
		c.p.log.Warn("community reply not sent", "alert", id, "err", err)
		return bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the gateway did not take the reply")
	}
	return c.p.store.AppendAudit(ctx, c.p.audit(by, "community.reply", objectID("community_alert", id), map[string]any{"chars": utf8.RuneCountInString(text)}))
}
