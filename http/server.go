// Package http is bluehelm's HTTP face: the REST API under /api/v1, the live
// WebSocket stream, login with sessions and bearer tokens, health and metrics, and
// the mounts for the web app and OGC API – Features.
//
// Reads go to the store and the live picture with the caller as the viewer; every
// write goes through the ingest pipeline (or auth.Service for accounts), so this
// package decodes, authenticates and maps errors, and decides nothing about the
// domain.
package http

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/mbtiles"
	"github.com/klauspost/compress/gzhttp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Store is what the HTTP layer reads. Writes never go to the store directly (except
// the audit entries that have no other write: failed logins and exports).
type Store interface {
	Incident(ctx context.Context, id int64) (*bluehelm.Incident, error)
	IncidentRevisions(ctx context.Context, id int64) ([]bluehelm.Revision, error)
	FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error)
	FindIncidentSummaries(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentSummaryPage, error)
	Positions(ctx context.Context, q bluehelm.PositionQuery) ([]bluehelm.Position, error)
	SamplePositions(ctx context.Context, q bluehelm.PositionQuery, step time.Duration) ([]bluehelm.Position, error)
	Tracks(ctx context.Context) ([]bluehelm.Track, error)
	Area(ctx context.Context, id int64) (*bluehelm.Area, error)
	Areas(ctx context.Context) ([]*bluehelm.Area, error)
	Alert(ctx context.Context, id int64) (*bluehelm.Alert, error)
	Alerts(ctx context.Context, f bluehelm.AlertFilter) ([]*bluehelm.Alert, error)
	Unit(ctx context.Context, id int64) (*bluehelm.Unit, error)
	Units(ctx context.Context) ([]*bluehelm.Unit, error)
	Facility(ctx context.Context, id int64) (*bluehelm.MedicalFacility, error)
	Facilities(ctx context.Context) ([]*bluehelm.MedicalFacility, error)
	Patrol(ctx context.Context, id int64) (*bluehelm.Patrol, error)
	FindPatrols(ctx context.Context, f bluehelm.PatrolFilter) ([]*bluehelm.Patrol, error)
	Task(ctx context.Context, id int64) (*bluehelm.Task, error)
	FindTasks(ctx context.Context, f bluehelm.TaskFilter) ([]*bluehelm.Task, error)
	ProximityRule(ctx context.Context, id int64) (*bluehelm.ProximityRule, error)
	ProximityRules(ctx context.Context) ([]*bluehelm.ProximityRule, error)
	User(ctx context.Context, id int64) (*bluehelm.User, error)
	Users(ctx context.Context) ([]*bluehelm.User, error)
	Tokens(ctx context.Context, userID int64) ([]*bluehelm.Token, error)
	FatalityCounts(ctx context.Context) ([]bluehelm.FatalityCount, error)
	AppendAudit(ctx context.Context, e bluehelm.AuditEntry) error
}

// Config wires a Server. Pipeline, Store, Auth, Hub and Picture are required.
type Config struct {
	Pipeline *ingest.Pipeline
	Store    Store
	Auth     *auth.Service
	Hub      *live.Hub
	Picture  *live.Picture
	Logger   *slog.Logger
	// Registry is served at /metrics; the server registers its own collectors on it.
	// Nil gives a private registry.
	Registry *prometheus.Registry
	// Ready reports whether the store is reachable (for /readyz). Nil means ready.
	Ready func() error
	// WebFS is the browser app served at /; nil serves nothing there.
	WebFS fs.FS
	// Basemap is the optional offline basemap (--basemap FILE.mbtiles) served at
	// /basemap/{z}/{x}/{y} and described by /api/v1/config; nil for none.
	Basemap *mbtiles.Tileset
	// Places is the gazetteer behind /api/v1/places; nil answers no places.
	// PlacesAttribution credits its source where the page shows results.
	Places            Gazetteer
	PlacesAttribution string
	// StaleAfter is how old a track's last report may be before the map greys
	// it (told to the page in /api/v1/config). Zero means 5 minutes, the stale
	// time bluehelm gives tracks it sends to TAK devices.
	StaleAfter time.Duration
	// Forecasts is the early-warning service behind /api/v1/forecast; nil
	// answers that early warning is off.
	Forecasts Forecasts
	// Version is the build's version, shown by the page.
	Version string
	// OGC is OGC API – Features, mounted at /ogc/ behind the same authentication.
	// It may also be set later with SetOGC (it needs PrincipalOf).
	OGC http.Handler
	Now func() time.Time
	// Community is the community alert intake (issue 8, community.go); nil: off.
	Community *CommunityOptions

	// LoginRate and LoginBurst limit login attempts per client address and per
	// username. Zero means 5 a minute with a burst of 5.
	LoginRate  rate.Limit
	LoginBurst int
	// StreamPing is how often an idle stream is pinged; StreamWriteTimeout is how
	// long one write may take before the client is judged too slow and dropped.
	StreamPing         time.Duration
	StreamWriteTimeout time.Duration
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	routes  []route
	ogc     atomic.Pointer[http.Handler]
	logins  *loginLimiter
	metrics *serverMetrics
	handler http.Handler
}

// handlerFunc is an endpoint: it writes a success response or returns the error to
// be written as problem+json.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method, path string
	public       bool // no authentication (login, health, the API description)
	// raw answers are never compressed here: the WebSocket (which must not be
	// wrapped), and the metrics and tiles (compressed already, when they are).
	raw bool
	// queryToken accepts ?access_token=: only for the WebSocket, which browsers cannot
	// give an Authorization header. Elsewhere a token in a URL would end up in logs and
	// histories for no reason.
	queryToken bool
	h          handlerFunc
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.LoginRate == 0 {
		cfg.LoginRate = rate.Every(time.Minute / 5)
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 5
	}
	if cfg.StreamPing <= 0 {
		cfg.StreamPing = 30 * time.Second
	}
	if cfg.StreamWriteTimeout <= 0 {
		cfg.StreamWriteTimeout = 10 * time.Second
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 5 * time.Minute
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux()}
	s.logins = newLoginLimiter(cfg.LoginRate, cfg.LoginBurst)
	s.metrics = newServerMetrics(cfg.Registry, cfg.Hub, s.log)
	if cfg.OGC != nil {
		s.SetOGC(cfg.OGC)
	}
	// API answers of a kilobyte and more are compressed for clients that accept
	// it (gzip, or zstd which browsers now offer too): incident lists and the
	// map's GeoJSON shrink five- to tenfold, which is what a thin link needs.
	compress, err := gzhttp.NewWrapper(gzhttp.MinSize(1024))
	if err != nil {
		panic(err) // the options are constant
	}
	s.routes = s.apiRoutes()
	for _, rt := range s.routes {
		var h http.Handler = s.endpoint(rt)
		if !rt.raw {
			h = compress(h)
		}
		s.mux.Handle(rt.pattern(), h)
	}
	// Unknown API paths get a problem rather than the web app's index or a text 404.
	s.mux.Handle("GET /api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeProblem(w, r, bluehelm.Errorf(bluehelm.ENOTFOUND, "no such endpoint %s (see /api/v1/openapi.json)", r.URL.Path))
	}))
	// OGC API – Features routes its own paths below the mount; GDAL opens the bare
	// "/ogc" as the landing page, so that is mounted too. GET only (which includes
	// HEAD): the API is read-only, and a method-less pattern would conflict with
	// the web app's "GET /".
	ogc := compress(s.endpoint(route{h: s.serveOGC}))
	s.mux.Handle("GET /ogc/", ogc)
	s.mux.Handle("GET /ogc", ogc)
	if cfg.WebFS != nil {
		// Compressed once, ahead of time, by the file handler itself.
		s.mux.Handle("GET /", newStaticFiles(cfg.WebFS))
	}
	s.handler = s.instrument(s.mux)
	return s
}

// SetOGC mounts the OGC API – Features handler at /ogc/. It exists because that
// handler is built with s.PrincipalOf, after the server.
func (s *Server) SetOGC(h http.Handler) { s.ogc.Store(&h) }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) serveOGC(w http.ResponseWriter, r *http.Request) error {
	h := s.ogc.Load()
	if h == nil {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "OGC API – Features is not enabled on this server")
	}
	http.StripPrefix("/ogc", *h).ServeHTTP(w, r)
	return nil
}

// OGCBaseURL is the absolute URL of the OGC API mount for links in its documents
// (ogcapi.Config.BaseURL). The scheme comes from the connection, not from
// X-Forwarded-Proto: bluehelm is served directly, and a forged header would make
// it hand out links to another scheme.
func (s *Server) OGCBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/ogc"
}

// apiRoutes is the route table: the mux and the OpenAPI test both read it.
func (s *Server) apiRoutes() []route {
	const v1 = "/api/v1"
	routes := []route{
		{method: "GET", path: "/healthz", public: true, h: s.healthz},
		{method: "GET", path: "/readyz", public: true, h: s.readyz},
		{method: "GET", path: "/metrics", public: true, raw: true, h: s.serveMetrics},
		{method: "GET", path: v1 + "/openapi.json", public: true, h: s.openapi},

		{method: "POST", path: v1 + "/login", public: true, h: s.login},
		{method: "POST", path: v1 + "/logout", h: s.logout},
		{method: "GET", path: v1 + "/me", h: s.me},
		{method: "PUT", path: v1 + "/me/preferences", h: s.setPreferences},
		{method: "GET", path: v1 + "/config", h: s.config},
		{method: "GET", path: v1 + "/places", h: s.searchPlaces},
		{method: "GET", path: "/basemap/{z}/{x}/{y}", raw: true, h: s.basemapTile},

		{method: "GET", path: v1 + "/taxonomy", h: s.taxonomy},
		{method: "GET", path: v1 + "/incidents", h: s.searchIncidents},
		{method: "POST", path: v1 + "/incidents", h: s.createIncident},
		{method: "GET", path: v1 + "/incidents/export", h: s.exportIncidents},
		{method: "GET", path: v1 + "/incidents/map", h: s.incidentsMap},
		{method: "GET", path: v1 + "/incidents/stats", h: s.incidentStatsHandler},
		{method: "GET", path: v1 + "/incidents/{id}", h: s.getIncident},
		{method: "PUT", path: v1 + "/incidents/{id}", h: s.updateIncident},
		{method: "GET", path: v1 + "/incidents/{id}/revisions", h: s.incidentRevisions},
		{method: "POST", path: v1 + "/incidents/{id}/actions/{action}", h: s.incidentAction},

		{method: "POST", path: v1 + "/positions", h: s.postPositions},
		{method: "GET", path: v1 + "/positions/latest", h: s.latestPositions},
		{method: "GET", path: v1 + "/positions/replay", h: s.replayPositions},
		{method: "GET", path: v1 + "/tracks/{uid}/history", h: s.trackHistory},

		{method: "GET", path: v1 + "/areas", h: s.listAreas},
		{method: "POST", path: v1 + "/areas", h: s.createArea},
		{method: "GET", path: v1 + "/areas/{id}", h: s.getArea},
		{method: "PUT", path: v1 + "/areas/{id}", h: s.updateArea},
		{method: "DELETE", path: v1 + "/areas/{id}", h: s.deleteArea},

		{method: "GET", path: v1 + "/alerts", h: s.listAlerts},
		{method: "POST", path: v1 + "/alerts", h: s.raiseAlert},
		{method: "GET", path: v1 + "/alerts/{id}", h: s.getAlert},
		{method: "POST", path: v1 + "/alerts/{id}/acknowledge", h: s.acknowledgeAlert},
		{method: "POST", path: v1 + "/alerts/{id}/resolve", h: s.resolveAlert},

		{method: "GET", path: v1 + "/users", h: s.listUsers},
		{method: "POST", path: v1 + "/users", h: s.createUser},
		{method: "PUT", path: v1 + "/users/{id}", h: s.updateUser},
		{method: "GET", path: v1 + "/users/{id}/tokens", h: s.listTokens},
		{method: "POST", path: v1 + "/users/{id}/tokens", h: s.issueToken},
		{method: "DELETE", path: v1 + "/tokens/{id}", h: s.revokeToken},

		{method: "GET", path: v1 + "/forecast", h: s.forecastSurface},
		{method: "GET", path: v1 + "/forecast/cells/{cell}", h: s.forecastCell},
		{method: "GET", path: v1 + "/fatalities/summary", h: s.fatalitiesSummary},

		{method: "GET", path: v1 + "/stream", queryToken: true, raw: true, h: s.stream},
	}
	routes = append(routes, s.sensorRoutes(v1)...) // issue 7: camp sensors and readings (sensors.go)
	routes = append(routes, s.operationsRoutes(v1)...)
	// Camp records and the camp dashboard (issue 7).
	routes = append(routes, s.campRoutes(v1)...)
	routes = append(routes, s.casevacRoutes(v1)...)   // issue 8: CASEVAC and medical coverage (casevac.go)
	routes = append(routes, s.communityRoutes(v1)...) // issue 8: community alerts (community.go)
	return routes
}

// endpoint wraps a route with authentication, CSRF protection and error writing.
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			// API answers carry what a user may see; no cache should keep them.
			w.Header().Set("Cache-Control", "no-store")
		}
		if !rt.public {
			id, err := s.authenticate(r, rt.queryToken)
			if err != nil {
				s.writeProblem(w, r, err)
				return
			}
			if err := checkCSRF(r, id); err != nil {
				s.writeProblem(w, r, err)
				return
			}
			if info := requestInfoOf(r.Context()); info != nil {
				info.user = id.principal.Username
			}
			r = r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
		}
		if err := rt.h(w, r); err != nil {
			s.writeProblem(w, r, err)
		}
	})
}

// PrincipalOf returns who made an authenticated request; for handlers mounted
// behind this server's authentication (OGC API – Features).
func (s *Server) PrincipalOf(r *http.Request) (bluehelm.Principal, bool) {
	id, ok := r.Context().Value(identityKey{}).(*identity)
	if !ok {
		return bluehelm.Principal{}, false
	}
	return id.principal, true
}

// principal returns the caller of an authenticated endpoint.
func principal(r *http.Request) bluehelm.Principal {
	id, _ := r.Context().Value(identityKey{}).(*identity)
	if id == nil {
		// Unreachable for authenticated routes; the zero principal sees only
		// UNCLASSIFIED records and may do nothing, so failing here is safe.
		return bluehelm.Principal{}
	}
	return id.principal
}

func identityOf(r *http.Request) *identity {
	id, _ := r.Context().Value(identityKey{}).(*identity)
	return id
}
