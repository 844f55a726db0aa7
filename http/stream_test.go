package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/coder/websocket"
)

// waitLimit bounds every wait for a stream message. It is not a timing assertion:
// a healthy run takes milliseconds; the limit only keeps a broken run from hanging.
const waitLimit = 60 * time.Second

type wsClient struct {
	t testing.TB
	c *websocket.Conn
}

type wsMsg struct {
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data"`
	Field  string          `json:"field"`
	Detail string          `json:"detail"`
}

func (m wsMsg) id() int64 {
	var v struct{ ID int64 }
	json.Unmarshal(m.Data, &v)
	return v.ID
}

func (e *testEnv) dial(header http.Header, query string) (*wsClient, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/stream" + query
	c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, res, err
	}
	c.SetReadLimit(1 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: e.t, c: c}, res, nil
}

func (e *testEnv) dialAs(username string) *wsClient {
	e.t.Helper()
	c, _, err := e.dial(http.Header{"Authorization": {"Bearer " + e.tokens[username]}}, "")
	if err != nil {
		e.t.Fatalf("dial as %s: %v", username, err)
	}
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) next() wsMsg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	_, b, err := c.c.Read(ctx)
	if err != nil {
		c.t.Fatalf("reading stream: %v", err)
	}
	var m wsMsg
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("stream message %s: %v", b, err)
	}
	return m
}

// snapshot reads one snapshot and returns its messages by type.
func (c *wsClient) snapshot() map[string][]wsMsg {
	c.t.Helper()
	if m := c.next(); m.Type != "snapshot.begin" {
		c.t.Fatalf("want snapshot.begin, got %+v", m)
	}
	out := map[string][]wsMsg{}
	for {
		m := c.next()
		if m.Type == "snapshot.end" {
			return out
		}
		out[m.Type] = append(out[m.Type], m)
	}
}

func TestStreamSnapshotAndLive(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	u := bluehelm.Marking{Component: bluehelm.Military}
	inc := e.seedIncident(u, "Roadblock on the Juba–Nimule road")
	old := &bluehelm.Incident{Title: "Old report", Category: bluehelm.CatOther, OccurredStart: e.now.Add(-30 * 24 * time.Hour),
		Location: bluehelm.Point{Lon: 31.6, Lat: 4.86}, Marking: u}
	if err := e.pipeline.CreateIncident(e.ctx, bluehelm.SystemPrincipal("seed"), old); err != nil {
		t.Fatal(err)
	}
	far := &bluehelm.Incident{Title: "Far away", Category: bluehelm.CatOther, OccurredStart: e.now.Add(-time.Hour),
		Location: bluehelm.Point{Lon: 29.8, Lat: 9.2}, Marking: u}
	if err := e.pipeline.CreateIncident(e.ctx, bluehelm.SystemPrincipal("seed"), far); err != nil {
		t.Fatal(err)
	}
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{"positions": []map[string]any{
		{"uid": "P1", "time": e.now.Add(-time.Minute).Format(time.RFC3339), "lat": 4.86, "lon": 31.57},
		{"uid": "P2", "time": e.now.Add(-time.Minute).Format(time.RFC3339), "lat": 9.2, "lon": 29.8},
	}}}, http.StatusOK, nil)
	e.ok(req{method: "POST", path: "/api/v1/areas", as: "ops1", body: squareArea("Juba sector", 31.5, 4.8, 0.2)}, http.StatusCreated, nil)
	var alert bluehelm.Alert
	e.ok(req{method: "POST", path: "/api/v1/alerts", as: "ops1", body: map[string]any{"severity": "info", "title": "Curfew from 2100"}}, http.StatusCreated, &alert)

	c := e.dialAs("ops1")
	juba := []float64{31, 4, 32, 5}
	c.send(map[string]any{"type": "subscribe", "bbox": juba})
	snap := c.snapshot()
	if len(snap["position"]) != 1 || len(snap["area"]) != 1 || len(snap["alert"]) != 1 || len(snap["incident"]) != 1 {
		t.Fatalf("snapshot %v", snapCounts(snap))
	}
	if snap["incident"][0].id() != inc.ID {
		t.Fatalf("snapshot incident %s", snap["incident"][0].Data)
	}

	// Live: a position inside the box arrives, one outside does not.
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{"positions": []map[string]any{
		{"uid": "P2", "time": e.now.Format(time.RFC3339), "lat": 9.21, "lon": 29.81},
		{"uid": "P1", "time": e.now.Format(time.RFC3339), "lat": 4.87, "lon": 31.58},
	}}}, http.StatusOK, nil)
	m := c.next()
	var st bluehelm.TrackState
	json.Unmarshal(m.Data, &st)
	if m.Type != "position" || st.UID != "P1" || st.Position.Lat != 4.87 {
		t.Fatalf("live message %s %s", m.Type, m.Data)
	}
	var created bluehelm.Incident
	e.ok(req{method: "POST", path: "/api/v1/incidents", as: "reporter", body: e.incidentBody(func(m map[string]any) {
		m["location"] = map[string]any{"type": "Point", "coordinates": []float64{31.6, 4.9}}
	})}, http.StatusCreated, &created)
	if m := c.next(); m.Type != "incident" || m.id() != created.ID {
		t.Fatalf("live incident %s %s", m.Type, m.Data)
	}

	// Changing the view sends a snapshot of the new one.
	c.send(map[string]any{"type": "subscribe", "bbox": []float64{29, 9, 30, 10}, "layers": []string{"tracks", "incidents"}})
	snap = c.snapshot()
	if len(snap["position"]) != 1 || len(snap["incident"]) != 1 || len(snap["area"]) != 0 || len(snap["alert"]) != 0 {
		t.Fatalf("new view snapshot %v", snapCounts(snap))
	}
	if snap["incident"][0].id() != far.ID {
		t.Fatalf("new view incident %s", snap["incident"][0].Data)
	}
	// Alerts are not in the view any more.
	e.ok(req{method: "POST", path: fmt.Sprintf("/api/v1/alerts/%d/acknowledge", alert.ID), as: "ops1"}, http.StatusOK, nil)
	e.ok(req{method: "POST", path: "/api/v1/positions", as: "reporter", body: map[string]any{
		"uid": "P2", "time": e.now.Add(time.Second).Format(time.RFC3339), "lat": 9.22, "lon": 29.82}}, http.StatusOK, nil)
	if m := c.next(); m.Type != "position" {
		t.Fatalf("after the alert the next message should be the position: %s %s", m.Type, m.Data)
	}

	// Bad client messages get an error and change nothing.
	for _, bad := range []struct {
		msg   any
		field string
	}{
		{map[string]any{"type": "subscribe", "bbox": []float64{1, 2, 3}}, "bbox"},
		{map[string]any{"type": "subscribe", "bbox": []float64{0, 0, 200, 1}}, "bbox"},
		{map[string]any{"type": "subscribe", "layers": []string{"weather"}}, "layers"},
		{map[string]any{"type": "unsubscribe"}, "type"},
		{map[string]any{"type": "subscribe", "zoom": 3}, "zoom"},
		{"not an object", ""},
	} {
		c.send(bad.msg)
		m := c.next()
		if m.Type != "error" || m.Field != bad.field || m.Detail == "" {
			t.Fatalf("%v: got %+v, want an error about %q", bad.msg, m, bad.field)
		}
	}
}

func snapCounts(s map[string][]wsMsg) map[string]int {
	out := map[string]int{}
	for k, v := range s {
		out[k] = len(v)
	}
	return out
}

func TestStreamAuth(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	cookie, _ := e.login("ops1")

	cases := []struct {
		name   string
		header http.Header
		query  string
		status int // 0: the handshake succeeds
	}{
		{"no credentials", nil, "", http.StatusUnauthorized},
		{"bearer header", http.Header{"Authorization": {"Bearer " + e.tokens["viewer"]}}, "", 0},
		{"access_token query", nil, "?access_token=" + e.tokens["viewer"], 0},
		{"bad access_token", nil, "?access_token=bh_nope", http.StatusUnauthorized},
		{"cookie, same origin", http.Header{"Cookie": {cookie.String()}, "Origin": {e.ts.URL}}, "", 0},
		{"cookie, foreign origin", http.Header{"Cookie": {cookie.String()}, "Origin": {"https://evil.example"}}, "", http.StatusForbidden},
		{"bearer, foreign origin", http.Header{"Authorization": {"Bearer " + e.tokens["viewer"]}, "Origin": {"https://gis.example"}}, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws, res, err := e.dial(c.header, c.query)
			if c.status == 0 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				ws.send(map[string]any{"type": "subscribe", "layers": []string{"alerts"}})
				ws.snapshot()
				return
			}
			if err == nil || res == nil || res.StatusCode != c.status {
				t.Fatalf("want %d, got %v %v", c.status, res, err)
			}
		})
	}
}

// TestStreamClosesWhenCredentialsEnd checks the re-authentication at every ping: a
// revoked token must not keep a stream of classified tracks open.
func TestStreamClosesWhenCredentialsEnd(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.StreamPing = 50 * time.Millisecond })
	e.standardUsers()
	c := e.dialAs("ops1")
	c.send(map[string]any{"type": "subscribe"})
	c.snapshot()
	toks, err := e.db.Tokens(e.ctx, e.users["ops1"].ID)
	if err != nil || len(toks) != 1 {
		t.Fatal(toks, err)
	}
	if err := e.auth.RevokeToken(e.ctx, bluehelm.SystemPrincipal("test"), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for {
		_, _, err := c.c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != closeCredentials {
				t.Fatalf("closed with %v, want %d", err, closeCredentials)
			}
			return
		}
	}
}

// TestStreamResync stalls a subscriber (it reads nothing while large events pile
// up, so the socket buffers fill and the server's writer blocks) until the hub drops
// events for it; the client must then get a resync and a fresh snapshot. The
// write timeout is long here so that the stalled client is not dropped instead.
func TestStreamResync(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.StreamWriteTimeout = waitLimit })
	e.standardUsers()
	var stored bluehelm.Alert
	e.ok(req{method: "POST", path: "/api/v1/alerts", as: "ops1", body: map[string]any{"severity": "info", "title": "stored"}}, http.StatusCreated, &stored)
	c := e.dialAs("ops1")
	c.send(map[string]any{"type": "subscribe", "layers": []string{"alerts"}})
	c.snapshot()

	// Events go straight to the hub: this tests the stream, and the store need not
	// hold thousands of alerts for it.
	data, _ := json.Marshal(map[string]any{"type": "alert", "data": map[string]any{"id": -1, "title": strings.Repeat("x", 64<<10)}})
	ev := live.Event{Layer: live.LayerAlerts, Key: "alert/-1", Marking: bluehelm.Marking{Component: bluehelm.Military},
		Where: bluehelm.World, Data: data}
	for i := 0; e.hub.Stats().Dropped == 0; i++ {
		if i == 20000 {
			t.Fatal("no event dropped after 20000 x 64 KiB: is the subscriber queue unbounded?")
		}
		e.hub.Publish(ev)
	}
	for {
		m := c.next()
		if m.Type == "resync" {
			break
		}
		if m.Type != "alert" || m.id() != -1 {
			t.Fatalf("before the resync: %+v", m)
		}
	}
	snap := c.snapshot()
	if len(snap["alert"]) != 1 || snap["alert"][0].id() != stored.ID {
		t.Fatalf("resync snapshot %v", snapCounts(snap))
	}
}
