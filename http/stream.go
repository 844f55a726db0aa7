package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/coder/websocket"
)

// The live stream (GET /api/v1/stream, WebSocket, text frames of JSON).
//
// Client → server:
//
//	{"type":"subscribe","bbox":[minLon,minLat,maxLon,maxLat],"layers":["tracks","incidents","alerts","areas","operations"]}
//
// bbox defaults to the world and layers to all five ("operations" are the
// approved and underway patrols and the open response tasks). Sending it again changes the
// view. Nothing is sent until the first subscribe.
//
// Server → client, for every subscribe and after every resync:
//
//	{"type":"snapshot.begin","bbox":[…],"layers":[…]}
//	{"type":"position","data":TrackState} … {"type":"incident","data":Incident} …
//	{"type":"alert","data":Alert} … {"type":"area","data":Area} …
//	{"type":"patrol","data":Patrol} … {"type":"task","data":Task} …
//	{"type":"snapshot.end"}
//
// then live messages of the same shapes plus {"type":"area.deleted","data":{"id":n}},
// exactly as the ingest pipeline encoded them. {"type":"resync"} means the client
// fell behind and events were lost: it should forget what it has and take the
// snapshot that follows. A message the server cannot use earns
// {"type":"error","field":…,"detail":…} and changes nothing.
//
// Messages are state, not deltas: a client keeps the newest position per track uid
// (by time) and the highest version per incident, alert and area. A message may
// repeat what the snapshot said, or (for a moment) be older than it. A position
// outside the subscribed box means the track has left the view: drop it.
//
// Authentication: the session cookie (the Origin must then be this host: a cookie
// is sent by the browser whoever opened the socket, so a foreign page could
// otherwise read the stream — cross-site WebSocket hijacking), or a bearer token in
// the Authorization header or, because browsers cannot set headers on a WebSocket,
// in ?access_token=. The credentials are checked again at every ping; a revoked
// token, ended session or changed clearance closes the stream (code 4001) and the
// client reconnects as who it now is.

// snapshotIncidents bounds the incident part of a snapshot: the recent reports a
// map shows, not the archive (that is what search is for).
const (
	snapshotIncidentAge   = 7 * 24 * time.Hour
	snapshotIncidentLimit = 500
	snapshotAlertLimit    = 1000
	streamReadLimit       = 64 << 10
	closeCredentials      = websocket.StatusCode(4001)
)

var allLayers = []string{live.LayerTracks, live.LayerIncidents, live.LayerAlerts, live.LayerAreas, live.LayerOperations}

type clientMessage struct {
	Type   string    `json:"type"`
	BBox   []float64 `json:"bbox"`
	Layers []string  `json:"layers"`
}

type view struct {
	bbox   bluehelm.BBox
	layers []string
}

func (v view) has(layer string) bool { return slices.Contains(v.layers, layer) }

func parseSubscribe(b []byte) (view, error) {
	var m clientMessage
	if err := unmarshalStrict(b, &m); err != nil {
		return view{}, err
	}
	if m.Type != "subscribe" {
		return view{}, invalid("type", "unknown message type %q (want subscribe)", m.Type)
	}
	v := view{bbox: bluehelm.World, layers: allLayers}
	if m.BBox != nil {
		if len(m.BBox) != 4 {
			return view{}, invalid("bbox", "want [minLon, minLat, maxLon, maxLat]")
		}
		v.bbox = bluehelm.BBox{MinLon: m.BBox[0], MinLat: m.BBox[1], MaxLon: m.BBox[2], MaxLat: m.BBox[3]}
		if err := v.bbox.Validate(); err != nil {
			return view{}, err
		}
	}
	if m.Layers != nil {
		v.layers = nil
		for _, l := range m.Layers {
			if !slices.Contains(allLayers, l) {
				return view{}, invalid("layers", "unknown layer %q (want tracks, incidents, alerts, areas or operations)", l)
			}
			if !slices.Contains(v.layers, l) {
				v.layers = append(v.layers, l)
			}
		}
		if len(v.layers) == 0 {
			return view{}, invalid("layers", "name at least one layer")
		}
	}
	return v, nil
}

// sameOrigin reports whether the browser page that opened the socket is served by
// this host. A missing Origin is not a browser (browsers always send one on a
// WebSocket handshake), so it cannot be a cross-site page either.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	if id.session != nil && !sameOrigin(r) {
		return bluehelm.Errorf(bluehelm.EFORBIDDEN, "a session stream must be opened by a page of this server (Origin %q, Host %q)",
			r.Header.Get("Origin"), r.Host)
	}
	// Origin was checked above for the only credential a browser sends by itself;
	// a token holder may stream from any page or tool.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		// Accept has written the HTTP error itself.
		s.log.Debug("websocket handshake failed", "err", err)
		return nil
	}
	c.SetReadLimit(streamReadLimit)
	s.metrics.streams.Inc()
	defer s.metrics.streams.Dec()
	st := &streamConn{s: s, c: c, id: id, recheck: s.credentialCheck(r, id)}
	err = st.run(r.Context())
	var ce *closeError
	switch {
	case errors.As(err, &ce):
		c.Close(ce.code, ce.reason)
	case websocket.CloseStatus(err) != -1, errors.Is(err, context.Canceled):
		// The client closed, or went away mid-read.
		c.CloseNow()
	default:
		// A store failure while building a snapshot, or a broken connection.
		s.log.Warn("stream ended", "user", id.principal.Username, "err", err)
		c.Close(websocket.StatusInternalError, "internal error")
	}
	return nil
}

// credentialCheck returns a function that re-authenticates the stream's
// credentials, so that a long-lived stream does not outlive its right to exist.
func (s *Server) credentialCheck(r *http.Request, id *identity) func(ctx context.Context) (bluehelm.Principal, error) {
	var session, token string
	if id.session != nil {
		session = id.secret
	} else if h := r.Header.Get("Authorization"); h != "" {
		_, token, _ = strings.Cut(h, " ")
		token = strings.TrimSpace(token)
	} else {
		token = r.URL.Query().Get("access_token")
	}
	return func(ctx context.Context) (bluehelm.Principal, error) {
		if session != "" {
			_, u, err := s.cfg.Auth.SessionUser(ctx, session)
			if err != nil {
				return bluehelm.Principal{}, err
			}
			return u.Principal(), nil
		}
		u, err := s.cfg.Auth.TokenUser(ctx, token)
		if err != nil {
			return bluehelm.Principal{}, err
		}
		return u.Principal(), nil
	}
}

type closeError struct {
	code   websocket.StatusCode
	reason string
}

func (e *closeError) Error() string { return e.reason }

type streamConn struct {
	s       *Server
	c       *websocket.Conn
	id      *identity
	recheck func(context.Context) (bluehelm.Principal, error)
	sub     *live.Subscription
	view    view
	buf     []live.Event
}

// inbound is what the reader goroutine hands the writer: a new view, or an error
// message to send back.
type inbound struct {
	view view
	err  error
}

func (st *streamConn) run(ctx context.Context) error {
	// The reader reads with the request's context, not one cancelled when run
	// returns: cancelling a pending Read makes the library drop the TCP connection
	// at once, and the close frame the caller sends next (4001 tells the client
	// why it must sign in again) would race it and be lost. The caller's Close
	// ends the reader instead; stop only frees it if it is handing over a message.
	stop := make(chan struct{})
	defer close(stop)
	in := make(chan inbound, 4)
	readErr := make(chan error, 1)
	go func() {
		// The reader owns reading: it also lets the library answer pings and see
		// pongs and the close handshake.
		for {
			typ, b, err := st.c.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			var m inbound
			if typ != websocket.MessageText {
				m.err = invalid("", "send JSON text messages")
			} else {
				m.view, m.err = parseSubscribe(b)
			}
			select {
			case in <- m:
			case <-stop:
				return
			}
		}
	}()
	defer func() {
		if st.sub != nil {
			st.sub.Close()
		}
	}()

	ping := time.NewTicker(st.s.cfg.StreamPing)
	defer ping.Stop()
	var ready <-chan struct{}
	for {
		select {
		case err := <-readErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case m := <-in:
			// A client panning the map sends subscribes faster than snapshots can be
			// sent: only the last view waiting is worth a snapshot.
			var errs []error
			view, hasView := m.view, m.err == nil
			if m.err != nil {
				errs = append(errs, m.err)
			}
		more:
			for {
				select {
				case m2 := <-in:
					if m2.err != nil {
						errs = append(errs, m2.err)
					} else {
						view, hasView = m2.view, true
					}
				default:
					break more
				}
			}
			for _, e := range errs {
				if err := st.sendError(ctx, e); err != nil {
					return err
				}
			}
			if !hasView {
				continue
			}
			st.view = view
			if st.sub == nil {
				st.sub = st.s.cfg.Hub.Subscribe(live.SubscribeOptions{Viewer: st.id.principal, BBox: view.bbox, Layers: view.layers})
				ready = st.sub.Ready()
			} else {
				st.sub.Update(view.bbox, view.layers)
			}
			if err := st.snapshot(ctx); err != nil {
				return err
			}
		case _, ok := <-ready:
			if !ok {
				return &closeError{code: websocket.StatusGoingAway, reason: "server shutting down"}
			}
			evs, lagged := st.sub.Drain(st.buf)
			st.buf = evs[:0]
			if lagged {
				// Events were lost: the client's picture has holes. What was drained is
				// older than the snapshot that replaces it, so it is dropped.
				st.s.metrics.streamResyncs.Inc()
				if err := st.write(ctx, []byte(`{"type":"resync"}`)); err != nil {
					return err
				}
				if err := st.snapshot(ctx); err != nil {
					return err
				}
				continue
			}
			for _, e := range evs {
				if err := st.write(ctx, e.Data); err != nil {
					return err
				}
			}
			clear(st.buf[:cap(st.buf)])
		case <-ping.C:
			p, err := st.recheck(ctx)
			if err != nil || p != st.id.principal {
				return &closeError{code: closeCredentials, reason: "credentials changed or expired: reconnect"}
			}
			pctx, done := context.WithTimeout(ctx, st.s.cfg.StreamWriteTimeout)
			err = st.c.Ping(pctx)
			done()
			if err != nil {
				st.s.metrics.streamSlow.Inc()
				return &closeError{code: websocket.StatusPolicyViolation, reason: "no pong"}
			}
		}
	}
}

// write sends one message, dropping a client that cannot take it in time: its
// queue in the hub coalesces meanwhile, but a socket blocked for the whole timeout
// is a dead link or a stalled reader, and holding it would hold its buffers.
func (st *streamConn) write(ctx context.Context, b []byte) error {
	wctx, done := context.WithTimeout(ctx, st.s.cfg.StreamWriteTimeout)
	defer done()
	if err := st.c.Write(wctx, websocket.MessageText, b); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			st.s.metrics.streamSlow.Inc()
			return &closeError{code: websocket.StatusPolicyViolation, reason: "too slow"}
		}
		return err
	}
	st.s.metrics.streamSent.Inc()
	return nil
}

func (st *streamConn) writeMessage(ctx context.Context, typ string, data any) error {
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data,omitempty"`
	}{typ, data})
	if err != nil {
		return err
	}
	return st.write(ctx, b)
}

func (st *streamConn) sendError(ctx context.Context, err error) error {
	b, _ := json.Marshal(map[string]string{"type": "error", "field": bluehelm.ErrorField(err), "detail": bluehelm.ErrorMessage(err)})
	return st.write(ctx, b)
}

// snapshot sends the current state of the view. It first throws away what the
// subscription has queued: all of it is older than what the snapshot reads (the
// pipeline persists and applies before it publishes), and anything published from
// here on stays queued and follows the snapshot.
func (st *streamConn) snapshot(ctx context.Context) error {
	evs, _ := st.sub.Drain(st.buf)
	clear(evs)
	st.buf = evs[:0]

	v, p := st.view, st.id.principal
	b := v.bbox
	if err := st.writeMessage(ctx, "snapshot.begin", map[string]any{
		"bbox": []float64{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}, "layers": v.layers}); err != nil {
		return err
	}
	if v.has(live.LayerTracks) {
		var werr error
		st.s.cfg.Picture.Search(v.bbox, p, func(ts bluehelm.TrackState) bool {
			werr = st.writeMessage(ctx, "position", utcState(ts))
			return werr == nil
		})
		if werr != nil {
			return werr
		}
	}
	if v.has(live.LayerAreas) {
		areas, err := st.s.cfg.Store.Areas(ctx)
		if err != nil {
			return err
		}
		for _, a := range areas {
			if p.CanSee(a.Marking) && v.bbox.Intersects(a.Geometry.Bound()) {
				if err := st.writeMessage(ctx, "area", utcArea(a)); err != nil {
					return err
				}
			}
		}
	}
	if v.has(live.LayerAlerts) {
		alerts, err := st.s.cfg.Store.Alerts(ctx, bluehelm.AlertFilter{Viewer: p,
			States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: snapshotAlertLimit})
		if err != nil {
			return err
		}
		for _, a := range alerts {
			// The hub routes an alert without a place to every box (bluehelm.World);
			// the snapshot does the same.
			if !p.CanSee(a.Marking) || (a.Location != nil && !v.bbox.Contains(*a.Location)) {
				continue
			}
			if err := st.writeMessage(ctx, "alert", utcAlert(a)); err != nil {
				return err
			}
		}
	}
	if v.has(live.LayerIncidents) {
		bbox := v.bbox
		page, err := st.s.cfg.Store.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: p, BBox: &bbox,
			From: st.s.now().Add(-snapshotIncidentAge), Limit: snapshotIncidentLimit})
		if err != nil {
			return err
		}
		for _, inc := range page.Incidents {
			if !p.CanSee(inc.Marking) {
				continue
			}
			if err := st.writeMessage(ctx, "incident", utcIncident(inc)); err != nil {
				return err
			}
		}
	}
	if v.has(live.LayerOperations) {
		if err := st.snapshotOperations(ctx); err != nil {
			return err
		}
	}
	return st.writeMessage(ctx, "snapshot.end", nil)
}

// snapshotOperations sends the patrols that are approved or underway and the
// open response tasks: what the JOC watches now. Plans in draft and finished
// patrols are in the planner, not on the live map. Live "patrol" and "task"
// messages carry every change, whatever the status, so that a client can drop a
// patrol from the map when it completes: a client shows the active ones.
func (st *streamConn) snapshotOperations(ctx context.Context) error {
	v, p := st.view, st.id.principal
	patrols, err := st.s.cfg.Store.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: p,
		Statuses: []bluehelm.PatrolStatus{bluehelm.PatrolApproved, bluehelm.PatrolUnderway}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, pt := range patrols {
		if p.CanSee(pt.Marking) && v.bbox.Intersects(pt.Route.Bound()) {
			if err := st.writeMessage(ctx, "patrol", pt); err != nil {
				return err
			}
		}
	}
	tasks, err := st.s.cfg.Store.FindTasks(ctx, bluehelm.TaskFilter{Viewer: p,
		Statuses: []bluehelm.TaskStatus{bluehelm.TaskAssigned, bluehelm.TaskEnRoute, bluehelm.TaskOnScene}, Limit: 5000})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if p.CanSee(t.Marking) && v.bbox.Contains(t.Location) {
			if err := st.writeMessage(ctx, "task", t); err != nil {
				return err
			}
		}
	}
	return nil
}
