package cot

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
)

// router decides who gets what. It keeps the connected devices, indexed by the uid
// and callsign of their own position reports (refreshed from every report, so a
// callsign change does not break direct messages), and each device's latest
// position report for replay to newcomers.
//
// The rules, in order: a <marti><dest callsign|uid> list is exclusive (only those
// devices); otherwise an event goes to every device sharing a group with the
// sender; never back to the sender; and always only to devices whose user may see
// the event's marking (Principal.CanSee, the one access rule).
type router struct {
	s          *Server
	mu         sync.RWMutex
	conns      map[*conn]struct{}
	byUID      map[string]*conn
	byCallsign map[string][]*conn
	// recent remembers devices that went away, for /Marti/api/clientEndPoints.
	recent map[string]ContactInfo
}

// ContactInfo is a device as the directory of connected devices shows it.
type ContactInfo struct {
	UID       string
	Callsign  string
	Username  string
	Groups    []string
	Marking   bluehelm.Marking
	LastSeen  time.Time
	Connected bool
}

func newRouter(s *Server) *router {
	return &router{s: s, conns: map[*conn]struct{}{}, byUID: map[string]*conn{},
		byCallsign: map[string][]*conn{}, recent: map[string]ContactInfo{}}
}

// origin is who an event comes from: a connection, or (for a repeated emergency
// whose sender has gone) what is remembered of it.
type origin struct {
	conn    *conn
	groups  []string
	marking bluehelm.Marking
}

func (c *conn) origin() origin { return origin{conn: c, groups: c.groups, marking: c.marking} }

func shareGroup(a, b []string) bool {
	for _, g := range a {
		if slices.Contains(b, g) {
			return true
		}
	}
	return false
}

// add registers an identified connection and replays the picture to it: the latest
// position of every connected device it may see, then bluehelm's own picture.
func (r *router) add(ctx context.Context, c *conn) {
	r.mu.Lock()
	r.conns[c] = struct{}{}
	var replay []*outMsg
	for o := range r.conns {
		if o != c && o.lastSA != nil && shareGroup(o.groups, c.groups) && c.principal.CanSee(o.marking) {
			replay = append(replay, o.lastSA)
		}
	}
	r.mu.Unlock()
	for _, m := range replay {
		c.send(m)
	}
	r.s.replayPicture(ctx, c)
	r.s.log.Info("CoT device connected", "remote", c.remote, "who", c.who, "listener", c.kind, "groups", c.groups)
}

// remove unregisters c and tells the devices that could see it that it is gone
// (t-x-d-d with a link to its uid), as TAK clients expect.
func (r *router) remove(c *conn) {
	r.mu.Lock()
	if _, ok := r.conns[c]; !ok {
		r.mu.Unlock()
		return
	}
	delete(r.conns, c)
	uid, callsign, typ := c.uid, c.callsign, c.lastSAType
	if uid != "" && r.byUID[uid] == c {
		delete(r.byUID, uid)
		r.recent[uid] = ContactInfo{UID: uid, Callsign: callsign, Username: c.principal.Username,
			Groups: slices.Clone(c.groups), Marking: c.marking, LastSeen: c.lastSeen}
		r.trimRecentLocked()
	}
	r.unindexCallsignLocked(c)
	r.mu.Unlock()
	if uid == "" {
		return
	}
	r.route(c.origin(), &outMsg{ev: deleteEvent(uid, typ, r.s.now())}, nil)
}

func (r *router) trimRecentLocked() {
	for k := range r.recent {
		if len(r.recent) <= 4096 {
			return
		}
		delete(r.recent, k)
	}
}

func (r *router) unindexCallsignLocked(c *conn) {
	if c.callsign == "" {
		return
	}
	list := slices.DeleteFunc(r.byCallsign[c.callsign], func(o *conn) bool { return o == c })
	if len(list) == 0 {
		delete(r.byCallsign, c.callsign)
	} else {
		r.byCallsign[c.callsign] = list
	}
}

// updateContact records the device's own position report: its uid and callsign for
// direct delivery, and the message itself for replay to devices that join later.
func (r *router) updateContact(c *conn, ev *Event, m *outMsg) {
	cs := ev.Callsign()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.conns[c]; !ok {
		return
	}
	if c.uid != ev.UID {
		if c.uid != "" && r.byUID[c.uid] == c {
			delete(r.byUID, c.uid)
		}
		c.uid = ev.UID
		r.byUID[c.uid] = c
		delete(r.recent, c.uid)
	}
	if cs != "" && cs != c.callsign {
		r.unindexCallsignLocked(c)
		c.callsign = cs
		r.byCallsign[cs] = append(r.byCallsign[cs], c)
	}
	c.lastSA, c.lastSAType, c.lastSeen = m, ev.Type, m.received
}

// dests returns the explicit recipients of ev (<marti><dest …/></marti>).
func dests(ev *Event) (callsigns, uids []string) {
	if ev == nil {
		return nil, nil
	}
	marti, ok := ev.Detail.Find("marti")
	if !ok {
		return nil, nil
	}
	marti.Each(func(el Element) bool {
		if el.Name == "dest" {
			if v := el.Attr("callsign"); v != "" {
				callsigns = append(callsigns, v)
			}
			if v := el.Attr("uid"); v != "" {
				uids = append(uids, v)
			}
		}
		return true
	})
	return callsigns, uids
}

// route delivers a device's event (ev may be nil for messages the server makes on
// a device's behalf) and returns how many devices it was queued for.
func (r *router) route(from origin, m *outMsg, ev *Event) int {
	callsigns, uids := dests(ev)
	n := 0
	deliver := func(to *conn) {
		if to == from.conn || !to.identified() || !to.principal.CanSee(from.marking) {
			return
		}
		if to.send(m) {
			n++
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(callsigns) > 0 || len(uids) > 0 {
		// Exclusive: only the named devices, each once.
		seen := make(map[*conn]bool, len(callsigns)+len(uids))
		for _, cs := range callsigns {
			for _, to := range r.byCallsign[cs] {
				if !seen[to] {
					seen[to] = true
					deliver(to)
				}
			}
		}
		for _, u := range uids {
			if to := r.byUID[u]; to != nil && !seen[to] {
				seen[to] = true
				deliver(to)
			}
		}
		return n
	}
	for to := range r.conns {
		if shareGroup(from.groups, to.groups) {
			deliver(to)
		}
	}
	return n
}

// broadcast delivers bluehelm's own content (a track, an incident, an alert, an
// area) to every device whose user may see it; groups do not apply, the access
// rule does.
func (r *router) broadcast(m *outMsg, mk bluehelm.Marking) int {
	n := 0
	r.mu.RLock()
	defer r.mu.RUnlock()
	for to := range r.conns {
		if to.identified() && to.principal.CanSee(mk) && to.send(m) {
			n++
		}
	}
	return n
}

// Contacts lists the devices viewer may see — those connected now and those that
// were recently — and, when groups is not nil, only those sharing one of them
// (what a device in those groups is routed).
func (s *Server) Contacts(viewer bluehelm.Principal, groups []string) []ContactInfo {
	r := s.router
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []ContactInfo
	for c := range r.conns {
		if c.uid == "" || !viewer.CanSee(c.marking) || (groups != nil && !shareGroup(groups, c.groups)) {
			continue
		}
		out = append(out, ContactInfo{UID: c.uid, Callsign: c.callsign, Username: c.principal.Username,
			Groups: slices.Clone(c.groups), Marking: c.marking, LastSeen: c.lastSeen, Connected: true})
	}
	for _, ci := range r.recent {
		if viewer.CanSee(ci.Marking) && (groups == nil || shareGroup(groups, ci.Groups)) {
			out = append(out, ci)
		}
	}
	slices.SortFunc(out, func(a, b ContactInfo) int {
		if a.Callsign < b.Callsign {
			return -1
		}
		if a.Callsign > b.Callsign {
			return 1
		}
		return 0
	})
	return out
}

// Connections returns how many devices are connected.
func (s *Server) Connections() int {
	s.router.mu.RLock()
	defer s.router.mu.RUnlock()
	return len(s.router.conns)
}
