package marti

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// apiVersion is the Marti API generation TAK Server 4.x/5.x reports; clients
// compare it, so it is TAK's number and not bluehelm's.
const apiVersion = "3"

// envelope is TAK Server's response wrapper; "type" is what ATAK checks before
// parsing "data" (a Java class name for groups and endpoints).
type envelope struct {
	Version string `json:"version"`
	Type    string `json:"type"`
	Data    any    `json:"data"`
	NodeID  string `json:"nodeId"`
}

// versionRoutes are served on both ports without authentication: they reveal
// nothing but the version, and clients and probes call them before they have
// credentials.
type versionRoutes struct{ cfg *Config }

func (v versionRoutes) version(w http.ResponseWriter, r *http.Request) error {
	return writeText(w, "text/plain", "bluehelm "+v.cfg.Version)
}

func (v versionRoutes) config(w http.ResponseWriter, r *http.Request) error {
	host := v.cfg.Hostname
	if host == "" {
		host = requestHost(r)
	}
	return writeJSON(w, http.StatusOK, envelope{Version: apiVersion, Type: "ServerConfig", NodeID: v.cfg.NodeID,
		Data: map[string]string{"version": v.cfg.Version, "api": apiVersion, "hostname": host}})
}

type api struct {
	*core
	cfg Config
}

// NewAPIHandler returns the Marti API handler for the TAK API port (8443), to be
// served over TLS with a client certificate required. It needs cfg.Identify,
// cfg.Attachments and cfg.Files; cfg.Directory and cfg.Incidents are optional.
// It also works over plain HTTP when Identify does not look at r.TLS (tests).
func NewAPIHandler(cfg Config) (http.Handler, error) {
	if cfg.Identify == nil || cfg.Attachments == nil || cfg.Files == nil {
		return nil, fmt.Errorf("%w: the API needs Identify, Attachments and Files", errMissing)
	}
	cfg.defaults()
	a := &api{core: newCore("api", &cfg, ""), cfg: cfg}
	v := versionRoutes{cfg: &a.cfg}
	a.handle("GET", "/Marti/api/version", v.version)
	a.handle("GET", "/Marti/api/version/config", v.config)
	a.handle("GET", "/Marti/api/clientEndPoints", a.identified(a.clientEndPoints))
	a.handle("GET", "/Marti/api/groups/all", a.identified(a.groups))
	a.handle("POST", "/Marti/sync/upload", a.identified(a.upload))
	a.handle("POST", "/Marti/sync/missionupload", a.identified(a.missionUpload))
	a.handle("PUT", "/Marti/sync/missionupload", a.identified(a.missionUpload))
	a.handle("GET", "/Marti/sync/missionquery", a.identified(a.missionQuery))
	a.handle("GET", "/Marti/sync/content", a.identified(a.content))
	a.handle("GET", "/Marti/sync/search", a.identified(a.search))
	a.handle("PUT", "/Marti/api/sync/metadata/{hash}/tool", a.identified(a.setTool))
	return a.handler(), nil
}

// caller is who is asking on the API port.
type caller struct {
	p   bluehelm.Principal
	dev *bluehelm.Device // nil when Identify found a principal without a device
}

func (a *api) identified(h func(http.ResponseWriter, *http.Request, caller) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, dev, err := a.cfg.Identify(r)
		if err != nil {
			return err
		}
		return h(w, r, caller{p: p, dev: dev})
	}
}

// takTime formats like TAK Server's yyyy-MM-dd'T'HH:mm:ss.SSS'Z', which ATAK parses.
func takTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

type clientEndpoint struct {
	UID           string `json:"uid"`
	Callsign      string `json:"callsign"`
	Username      string `json:"username"`
	Team          string `json:"team,omitempty"`
	Role          string `json:"role,omitempty"`
	LastEventTime string `json:"lastEventTime"`
	LastStatus    string `json:"lastStatus"`
}

// clientEndPoints lists contacts. ATAK requires the envelope type
// com.bbn.marti.remote.ClientEndpoint and lastStatus "Connected" or
// "Disconnected"; one unparsable item makes it reject the whole list. secAgo
// (seconds) limits the list to recently seen contacts as in TAK Server.
func (a *api) clientEndPoints(w http.ResponseWriter, r *http.Request, c caller) error {
	var since time.Time
	if s := r.URL.Query().Get("secAgo"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return invalid("secAgo", "must be a whole number of seconds")
		}
		if n > 0 {
			since = a.now().Add(-time.Duration(min(n, 10*365*24*3600)) * time.Second)
		}
	}
	out := []clientEndpoint{}
	if a.cfg.Directory != nil {
		cs, err := a.cfg.Directory.Contacts(r.Context(), ContactQuery{Viewer: c.p, Device: c.dev, Since: since})
		if err != nil {
			return err
		}
		for _, ct := range cs {
			if !since.IsZero() && ct.LastEventTime.Before(since) {
				continue
			}
			st := "Disconnected"
			if ct.Connected {
				st = "Connected"
			}
			out = append(out, clientEndpoint{UID: ct.UID, Callsign: ct.Callsign, Username: ct.Username,
				Team: ct.Team, Role: ct.Role, LastEventTime: takTime(ct.LastEventTime), LastStatus: st})
		}
	}
	return writeJSON(w, http.StatusOK, envelope{Version: apiVersion, Type: "com.bbn.marti.remote.ClientEndpoint",
		NodeID: a.cfg.NodeID, Data: out})
}

type takGroup struct {
	Name      string `json:"name"`
	Direction string `json:"direction"`
	Created   string `json:"created"`
	Type      string `json:"type"`
	BitPos    int    `json:"bitpos"`
	Active    bool   `json:"active"`
}

// groups lists the caller device's groups as TAK channels. A bluehelm device both
// sends to and receives from each of its groups, so each appears twice, IN and
// OUT, as TAK Server lists a group the user can read and write. ATAK drops groups
// without a non-negative bitpos; the bit position is the group's index in sorted
// order, stable for a device as long as its groups do not change (bluehelm routes
// by name, so nothing else depends on it).
func (a *api) groups(w http.ResponseWriter, r *http.Request, c caller) error {
	out := []takGroup{}
	if c.dev != nil {
		names := slices.Clone(c.dev.Groups)
		slices.Sort(names)
		names = slices.Compact(names)
		created := c.dev.CreatedAt.UTC().Format("2006-01-02")
		for i, g := range names {
			for _, dir := range []string{"IN", "OUT"} {
				out = append(out, takGroup{Name: g, Direction: dir, Created: created, Type: "SYSTEM", BitPos: i, Active: true})
			}
		}
	}
	return writeJSON(w, http.StatusOK, envelope{Version: apiVersion, Type: "com.bbn.marti.remote.groups.Group",
		NodeID: a.cfg.NodeID, Data: out})
}

// requestHost is the host the client used to reach this server (it is given
// back only to that client, in URLs it will fetch again).
func requestHost(r *http.Request) string {
	return r.Host
}
