package cot

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// An event from a device is handled in two steps. The reader accepts it (protocol
// messages answered at once, bad ones refused) and queues it; the connection's
// worker then acts on queued events in order: positions go through the ingest
// pipeline — stored before anyone sees them — chat is kept, emergencies raise
// alerts, markers of hostile or unknown things become reports, and each event is
// routed to the devices that should get it. Consecutive positions are ingested as
// one batch, so a device's reading never waits on the disk and a busy server
// commits many reports per fsync.

// item is an accepted event waiting for the worker.
type item struct {
	ev       *Event
	received time.Time
	self     bool          // the device's own position report
	position bool          // goes through the ingest pipeline as a position
	report   ingest.Report // the position, when position is set
}

// accept runs on the reader. It reports false when the event was handled or refused.
func (s *Server) accept(c *conn, ev *Event) (item, bool) {
	now := s.now()
	switch ev.Type {
	case TypePing:
		// Answered directly, never fanned out.
		c.send(&outMsg{ev: pong(now), control: true})
		return item{}, false
	case TypePong, TypeNegotiationOffer, TypeNegotiationAnswer, TypeNegotiationRequest:
		return item{}, false
	}
	if !validType(ev.Type) {
		c.reject("unknown_type", errors.New("unknown CoT type "+ev.Type))
		return item{}, false
	}
	if !ev.Stale.IsZero() && ev.Stale.Before(now.Add(-time.Minute)) {
		c.reject("stale", errors.New("event was stale on arrival"))
		return item{}, false
	}
	if _, loop := ev.Detail.FlowTag(s.flowKey); loop {
		// We already relayed this one: a loop through another server or a bridge.
		c.reject("loop", errors.New("event already carries this server's flow tag"))
		return item{}, false
	}
	ev.Detail.StampFlowTag(s.flowKey, now)
	it := item{ev: ev, received: now, self: selfReport(ev)}
	it.position = affiliation(ev.Type) != 0 && (it.self || !isReportedMarker(ev.Type)) &&
		!isEmergency(ev) && !isEmergencyCancel(ev)
	if it.position {
		// Refuse a bad report here, alone, rather than failing the batch it joins.
		it.report = toReport(ev, c.marking)
		if err := it.report.Position.Validate(now); err != nil {
			c.reject("invalid", err)
			return item{}, false
		}
	}
	return it, true
}

// maxIngestBatch bounds the positions of one device ingested together.
const maxIngestBatch = 256

// work is the connection's worker: it processes accepted events in order until the
// reader closes the queue, then finishes what was already read.
func (c *conn) work(ctx context.Context) {
	s := c.s
	var (
		batch   []item
		reports []ingest.Report
	)
	for it := range c.queue {
		batch = append(batch[:0], it)
	more:
		for len(batch) < maxIngestBatch {
			select {
			case next, ok := <-c.queue:
				if !ok {
					break more
				}
				batch = append(batch, next)
			default:
				break more
			}
		}
		for i := 0; i < len(batch); {
			if !batch[i].position {
				s.act(ctx, c, batch[i])
				i++
				continue
			}
			j := i
			reports = reports[:0]
			for j < len(batch) && batch[j].position {
				reports = append(reports, batch[j].report)
				j++
			}
			s.ingestPositions(ctx, c, batch[i:j], reports)
			i = j
		}
		clear(batch)
	}
}

// ingestPositions stores a run of positions and routes those that were stored. A
// batch is all or nothing, so when it fails each report is tried alone, and only the
// bad ones are refused.
func (s *Server) ingestPositions(ctx context.Context, c *conn, items []item, reports []ingest.Report) {
	err := s.cfg.Ingest.Positions(ctx, c.principal, reports)
	if err == nil {
		for _, it := range items {
			s.relay(c, it, true)
		}
		return
	}
	if len(items) == 1 {
		c.reject(ingestReason(err), err)
		return
	}
	for i, it := range items {
		if err := s.cfg.Ingest.Positions(ctx, c.principal, reports[i:i+1]); err != nil {
			c.reject(ingestReason(err), err)
			continue
		}
		s.relay(c, it, true)
	}
}

func ingestReason(err error) string {
	switch bluehelm.ErrorCode(err) {
	case bluehelm.EFORBIDDEN:
		return "forbidden"
	case bluehelm.EINVALID:
		return "invalid"
	}
	return "store"
}

// act handles an event that is not a position, then routes it.
func (s *Server) act(ctx context.Context, c *conn, it item) {
	ev := it.ev
	switch {
	case isEmergency(ev):
		s.startEmergency(ctx, c, ev)
	case isEmergencyCancel(ev):
		s.cancelEmergency(ctx, c, ev)
	case ev.Type == TypeChat:
		if !s.keepChat(ctx, c, ev) {
			return
		}
	case ev.Type == TypeCasevac:
		s.casevacRequest(ctx, c, ev) // issue 8 (casevac.go)
	case affiliation(ev.Type) != 0 && isReportedMarker(ev.Type):
		s.reportMarker(ctx, c, ev)
	}
	s.relay(c, it, false)
}

// relay routes an accepted event to the devices that should get it.
func (s *Server) relay(c *conn, it item, coalesce bool) {
	ev := it.ev
	if ct := ev.Detail.Contact; ct != nil && ct.Endpoint != "" {
		// Devices reach each other through the server, whatever their LAN address.
		ct.Endpoint = ServerEndpoint
	}
	m := &outMsg{ev: ev, key: ev.UID, coalesce: coalesce, received: it.received}
	if it.self {
		s.router.updateContact(c, ev, m)
	}
	s.router.route(c.origin(), m, ev)
}

func pong(now time.Time) *Event {
	ev := newEvent("takPong", TypePong, HowGIGO, now, 20*time.Second)
	ev.Point = Point{HAE: Unknown, CE: Unknown, LE: Unknown}
	return ev
}

// offer is the t-x-takp-v message a server sends on connect to offer TAK protocol v1.
func (s *Server) offer() *outMsg {
	ev := newEvent("protouid", TypeNegotiationOffer, HowMachine, s.now(), time.Minute)
	ev.Point = Point{HAE: UnknownThreshold, CE: UnknownThreshold, LE: UnknownThreshold}
	ev.Detail.XML = append(ev.Detail.XML, `<TakControl><TakProtocolSupport version="1"/><TakServerVersionInfo serverVersion="`...)
	ev.Detail.XML = AppendEscaped(ev.Detail.XML, "bluehelm "+s.cfg.Version)
	ev.Detail.XML = append(ev.Detail.XML, `" apiVersion="3"/></TakControl>`...)
	return &outMsg{ev: ev, control: true}
}

// negotiate answers a t-x-takp-q. It reports whether both sides now speak v1: the
// answer is the last XML the device gets, and the caller reads v1 from here on.
func (c *conn) negotiate(ev *Event) bool {
	version := ""
	if tc, ok := ev.Detail.Find("TakControl"); ok {
		tc.Each(func(el Element) bool {
			if el.Name == "TakRequest" {
				version = el.Attr("version")
				return false
			}
			return true
		})
	}
	ok := version == "1"
	ans := newEvent("protouid", TypeNegotiationAnswer, HowMachine, c.s.now(), time.Minute)
	ans.Point = Point{HAE: UnknownThreshold, CE: UnknownThreshold, LE: UnknownThreshold}
	status := "false"
	if ok {
		status = "true"
	}
	ans.Detail.XML = []byte(`<TakControl><TakResponse status="` + status + `"/></TakControl>`)
	c.send(&outMsg{ev: ans, control: true, switchProto: ok})
	c.s.log.Debug("CoT protocol negotiated", "who", c.who, "version", version, "accepted", ok)
	return ok
}

// keepChat stores a GeoChat message before it is relayed. It reports false when the
// message must not be relayed.
func (s *Server) keepChat(ctx context.Context, c *conn, ev *Event) bool {
	if err := c.principal.Require(bluehelm.ActSendMessage); err != nil {
		c.reject("forbidden", err)
		return false
	}
	if s.cfg.Chat == nil {
		return true
	}
	m := &bluehelm.ChatMessage{UID: ev.UID, SenderUser: c.principal.Username, Time: ev.Time,
		Text: truncate(remarks(ev), bluehelm.MaxChatText/4), Marking: c.marking}
	if chat, ok := ev.Detail.Find("__chat"); ok {
		m.Chatroom, m.SenderCallsign = chat.Attr("chatroom"), chat.Attr("senderCallsign")
		chat.Each(func(el Element) bool {
			if el.Name != "chatgrp" {
				return true
			}
			m.SenderUID = el.Attr("uid0")
			for i := 1; i < 32; i++ {
				u := el.Attr("uid" + strconv.Itoa(i))
				if u == "" {
					break
				}
				if u != "All Chat Rooms" {
					m.RecipientUIDs = append(m.RecipientUIDs, u)
				}
			}
			return false
		})
	}
	if m.SenderUID == "" {
		if link, ok := ev.Detail.Find("link"); ok {
			m.SenderUID = link.Attr("uid")
		}
	}
	if m.SenderUID == "" {
		m.SenderUID = c.uid
	}
	if m.SenderCallsign == "" {
		m.SenderCallsign = c.callsign
	}
	if m.Time.IsZero() || m.Time.After(s.now().Add(bluehelm.MaxClockSkew)) {
		m.Time = s.now()
	}
	if err := m.Validate(); err != nil {
		c.reject("invalid", err)
		return false
	}
	if err := s.cfg.Chat.AppendChat(ctx, m); err != nil {
		// Relay it anyway: a chat that reaches its reader unrecorded beats one lost.
		s.log.Error("storing a GeoChat message", "err", err, "uid", ev.UID)
	}
	return true
}

// reportMarker files a hostile or unknown marker as an incident report, once per
// marker uid: later moves of the same marker are relayed to devices but do not
// rewrite a report the JOC may already be working on. The store's unique external
// id is what makes it once; the lookup only spares a failed write.
func (s *Server) reportMarker(ctx context.Context, c *conn, ev *Event) {
	if _, err := s.cfg.Records.IncidentByExternalID(ctx, MarkerExternalID(ev.UID)); err == nil {
		return
	}
	inc := markerIncident(ev, c)
	err := s.cfg.Ingest.CreateIncident(ctx, c.principal, inc)
	switch {
	case err == nil:
		s.log.Info("TAK marker filed as a report", "who", c.who, "uid", ev.UID, "incident", inc.ID)
	case bluehelm.ErrorCode(err) == bluehelm.ECONFLICT:
		// Filed before (by an earlier run of the server).
	default:
		s.log.Warn("TAK marker not filed as a report", "who", c.who, "uid", ev.UID, "err", err)
	}
}
