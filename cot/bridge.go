package cot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
)

// bridge forwards bluehelm's own changes — tracks reported over the API or by the
// simulator, incidents, alerts, areas — to devices as CoT, so that ATAK users see
// the UN picture. Positions that came from devices are skipped: the router already
// relayed them with their full detail.
//
// It is one hub subscriber that sees everything; each message is converted and
// encoded once, then queued for every device whose user may see its marking.
func (s *Server) bridge(ctx context.Context) {
	sub := s.cfg.Hub.Subscribe(live.SubscribeOptions{Viewer: bluehelm.SystemPrincipal("cot"), QueueSize: 8192})
	defer sub.Close()
	stop := context.AfterFunc(ctx, sub.Close)
	defer stop()
	var buf []live.Event
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
		}
		events, lagged := sub.Drain(buf[:0])
		if lagged {
			s.m.dropped.WithLabelValues("bridge_lag").Inc()
		}
		for _, e := range events {
			s.forward(e)
		}
		buf = events
	}
}

type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// forward converts one hub event and sends it to the devices that may see it.
func (s *Server) forward(e live.Event) {
	if e.Origin == positionSource {
		return // relayed by the router with its full detail already
	}
	var env envelope
	if err := json.Unmarshal(e.Data, &env); err != nil {
		return
	}
	now := s.now()
	switch env.Type {
	case "position":
		var ts bluehelm.TrackState
		if json.Unmarshal(env.Data, &ts) != nil {
			return
		}
		s.router.broadcast(&outMsg{ev: trackEvent(ts, s.cfg.PositionStale), key: ts.UID, coalesce: true, received: now}, e.Marking)
	case "incident":
		var inc bluehelm.Incident
		if json.Unmarshal(env.Data, &inc) != nil {
			return
		}
		s.router.broadcast(&outMsg{ev: incidentMessage(&inc, now)}, e.Marking)
	case "alert":
		var a bluehelm.Alert
		if json.Unmarshal(env.Data, &a) != nil {
			return
		}
		if a.State == bluehelm.AlertResolved {
			s.endEmergencyForAlert(a.ID)
		}
		if ev := alertMessage(&a, now); ev != nil {
			s.router.broadcast(&outMsg{ev: ev}, e.Marking)
		}
	case "area":
		var a bluehelm.Area
		if json.Unmarshal(env.Data, &a) != nil {
			return
		}
		if ev := areaEvent(&a, now); ev != nil {
			s.router.broadcast(&outMsg{ev: ev}, e.Marking)
		}
	case "area.deleted":
		var d struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(env.Data, &d) == nil && d.ID != 0 {
			s.router.broadcast(&outMsg{ev: deleteEvent(AreaUID(d.ID), TypeShape, now)}, e.Marking)
		}
	}
}

// incidentMessage is the marker of a live incident, or its deletion once rejected.
func incidentMessage(inc *bluehelm.Incident, now time.Time) *Event {
	if inc.Status == bluehelm.StatusRejected {
		return deleteEvent(IncidentUID(inc.ID), TypeSpotMarker, now)
	}
	return incidentEvent(inc, now)
}

// alertMessage is the marker of an open alert with a place, the deletion of a
// resolved one, or nil.
func alertMessage(a *bluehelm.Alert, now time.Time) *Event {
	if a.Location == nil {
		return nil
	}
	if a.State == bluehelm.AlertResolved {
		return deleteEvent(AlertUID(a.ID), TypeSpotMarker, now)
	}
	return alertEvent(a, now)
}

// Recent incidents replayed to a device when it connects.
const (
	replayIncidentWindow = 7 * 24 * time.Hour
	replayIncidentLimit  = 500
)

// replayPicture sends a newly connected device what bluehelm knows that it may
// see: tracks, areas, open alerts and the last week's incidents.
func (s *Server) replayPicture(ctx context.Context, c *conn) {
	now := s.now()
	if s.cfg.Picture != nil {
		s.cfg.Picture.Search(bluehelm.World, c.principal, func(ts bluehelm.TrackState) bool {
			if ts.Position.Source != positionSource && now.Sub(ts.Position.Time) < s.cfg.PositionStale {
				c.send(&outMsg{ev: trackEvent(ts, s.cfg.PositionStale), key: ts.UID, coalesce: true})
			}
			return true
		})
	}
	if areas, err := s.cfg.Records.Areas(ctx); err == nil {
		for _, a := range areas {
			if c.principal.CanSee(a.Marking) {
				if ev := areaEvent(a, now); ev != nil {
					c.send(&outMsg{ev: ev})
				}
			}
		}
	} else {
		s.log.Warn("replaying areas to a device", "err", err)
	}
	if alerts, err := s.cfg.Records.Alerts(ctx, bluehelm.AlertFilter{Viewer: c.principal,
		States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 200}); err == nil {
		for _, a := range alerts {
			if ev := alertMessage(a, now); ev != nil {
				c.send(&outMsg{ev: ev})
			}
		}
	} else {
		s.log.Warn("replaying alerts to a device", "err", err)
	}
	page, err := s.cfg.Records.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: c.principal, From: now.Add(-replayIncidentWindow),
		Statuses: []bluehelm.Status{bluehelm.StatusSubmitted, bluehelm.StatusVerified, bluehelm.StatusApproved}, Limit: replayIncidentLimit})
	if err != nil {
		s.log.Warn("replaying incidents to a device", "err", err)
		return
	}
	for _, inc := range page.Incidents {
		c.send(&outMsg{ev: incidentEvent(inc, now)})
	}
}
