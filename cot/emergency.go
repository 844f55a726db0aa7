package cot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// An emergency (ATAK's 911 / ring-the-bell / troops-in-contact) is relayed at once,
// raised as a critical alert for the JOC, and resent every EmergencyRepeat to the
// devices that should see it until the device cancels it or the JOC resolves the
// alert: a device that joins late, or missed a packet on a bad link, still learns of it.
type emergency struct {
	ev      *Event
	from    origin
	who     string
	alertID int64
	started time.Time
}

// maxEmergencyRepeat bounds how long an emergency nobody cancels is repeated.
const maxEmergencyRepeat = 24 * time.Hour

func isEmergency(ev *Event) bool {
	if isEmergencyCancel(ev) {
		return false
	}
	if strings.HasPrefix(ev.Type, "b-a-o-") {
		return true
	}
	_, ok := ev.Detail.Find("emergency")
	return ok && ev.Type != TypeDelete
}

func isEmergencyCancel(ev *Event) bool {
	if ev.Type == TypeEmergencyCancel {
		return true
	}
	if el, ok := ev.Detail.Find("emergency"); ok {
		return strings.EqualFold(el.Attr("cancel"), "true")
	}
	return false
}

func emergencyKind(ev *Event) string {
	if el, ok := ev.Detail.Find("emergency"); ok {
		if t := el.Attr("type"); t != "" {
			return t
		}
	}
	switch ev.Type {
	case "b-a-o-tbl":
		return "911 Alert"
	case "b-a-o-pan":
		return "Ring The Bell"
	case "b-a-o-opn":
		return "Troops In Contact"
	}
	return "Emergency"
}

func (s *Server) startEmergency(ctx context.Context, c *conn, ev *Event) {
	key := ev.UID // ATAK uses the same uid for an emergency and its cancel
	s.emMu.Lock()
	e, known := s.emergencies[key]
	if !known {
		e = &emergency{from: c.origin(), who: c.who, started: s.now()}
		s.emergencies[key] = e
	}
	e.ev = ev.Clone()
	s.emMu.Unlock()
	if known {
		return // the device repeats its own emergency; one alert is enough
	}
	name := ev.Callsign()
	if name == "" {
		name = c.callsign
	}
	if name == "" {
		name = c.who
	}
	pt := bluehelm.Point{Lon: ev.Point.Lon, Lat: ev.Point.Lat}
	a := &bluehelm.Alert{
		Source: bluehelm.AlertEmergency, Severity: bluehelm.SevCritical,
		Title:    truncate(fmt.Sprintf("%s from %s", emergencyKind(ev), name), 200),
		Detail:   truncate(fmt.Sprintf("Raised on TAK device %s at %s. %s", c.who, ev.Time.UTC().Format("2006-01-02 15:04:05Z"), remarks(ev)), 5000),
		Location: &pt, TrackUID: c.uid, Marking: c.marking,
	}
	// Raised by the system on the device's behalf: an emergency must never be refused
	// for want of a permission.
	by := bluehelm.SystemPrincipal("tak:" + c.principal.Username)
	if err := s.cfg.Ingest.RaiseAlert(ctx, by, a); err != nil {
		s.log.Error("raising the alert for a TAK emergency", "err", err, "who", c.who)
		return
	}
	s.emMu.Lock()
	e.alertID = a.ID
	s.emMu.Unlock()
	s.log.Warn("TAK emergency", "who", c.who, "kind", emergencyKind(ev), "alert", a.ID, "lat", pt.Lat, "lon", pt.Lon)
}

func (s *Server) cancelEmergency(ctx context.Context, c *conn, ev *Event) {
	key := ev.UID // ATAK uses the same uid for an emergency and its cancel
	s.emMu.Lock()
	e, ok := s.emergencies[key]
	if !ok {
		// ATAK cancels with a new uid linking to the device; match by sender.
		for k, cand := range s.emergencies {
			if cand.from.conn == c || (cand.ev != nil && cand.who == c.who) {
				key, e, ok = k, cand, true
				break
			}
		}
	}
	if ok {
		delete(s.emergencies, key)
	}
	s.emMu.Unlock()
	if !ok || e.alertID == 0 {
		return
	}
	by := bluehelm.SystemPrincipal("tak:" + c.principal.Username)
	if _, err := s.cfg.Ingest.ResolveAlert(ctx, by, e.alertID, 0, "cancelled on the device by "+c.who); err != nil &&
		bluehelm.ErrorCode(err) != bluehelm.ECONFLICT && bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		s.log.Error("resolving the alert of a cancelled TAK emergency", "err", err, "alert", e.alertID)
	}
}

// endEmergencyForAlert stops repeating the emergency behind an alert the JOC
// resolved, and tells devices it is over.
func (s *Server) endEmergencyForAlert(id int64) {
	s.emMu.Lock()
	var found *emergency
	for k, e := range s.emergencies {
		if e.alertID == id {
			found = e
			delete(s.emergencies, k)
			break
		}
	}
	s.emMu.Unlock()
	if found == nil {
		return
	}
	cancel := newEvent(found.ev.UID, TypeEmergencyCancel, HowGIGO, s.now(), time.Minute)
	cancel.Point = found.ev.Point
	cancel.Detail.Contact = found.ev.Detail.Contact
	cancel.Detail.XML = []byte(`<emergency cancel="true">` + escape(emergencyKind(found.ev)) + `</emergency>`)
	s.router.route(found.from, &outMsg{ev: cancel}, cancel)
}

func (s *Server) repeatEmergencies(ctx context.Context) {
	t := time.NewTicker(s.cfg.EmergencyRepeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.now()
		s.emMu.Lock()
		var due []*emergency
		for k, e := range s.emergencies {
			if now.Sub(e.started) > maxEmergencyRepeat {
				delete(s.emergencies, k)
				continue
			}
			due = append(due, e)
		}
		s.emMu.Unlock()
		for _, e := range due {
			ev := e.ev.Clone()
			// Keep it fresh: devices ignore a stale emergency.
			ev.Time, ev.Start, ev.Stale = now, now, now.Add(2*s.cfg.EmergencyRepeat+10*time.Second)
			s.router.route(e.from, &outMsg{ev: ev}, ev)
		}
	}
}
