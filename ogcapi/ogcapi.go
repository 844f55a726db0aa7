// Package ogcapi serves read access to the mission picture through OGC API –
// Features – Part 1 (Core, GeoJSON and OpenAPI 3.0 conformance classes), so that
// GIS tools — QGIS, GDAL/OGR's "OAPIF" driver — can load incidents, areas and the
// latest track positions as layers.
//
// The handler serves paths relative to its mount point: the http package mounts it
// with http.StripPrefix("/ogc", …) behind its authentication and tells it, per
// request, who is asking (Config.Principal) and where it is mounted
// (Config.BaseURL). Every record goes through the one access rule
// (bluehelm.Principal.CanSee, or the store query's Viewer that applies it), and a
// record the caller may not see is answered exactly like one that does not exist.
//
// Collections and their filters:
//
//	incidents  points; datetime filters on occurred_start; paged with the store's
//	           cursor (newest first); no numberMatched (the store does not count)
//	areas      polygons, multipolygons and lines (routes); an area has no time of
//	           validity, so datetime is validated but does not filter; numberMatched
//	tracks     the latest position of every track from the live picture; datetime
//	           filters on the position time; numberMatched
//
// Only JSON is served (GeoJSON for features); there is no HTML encoding.
package ogcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Store is the part of the store this package reads.
type Store interface {
	// FindIncidents applies the access rule through IncidentFilter.Viewer.
	FindIncidents(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentPage, error)
	// Incident returns one incident regardless of access; the handler checks CanSee.
	Incident(ctx context.Context, id int64) (*bluehelm.Incident, error)
	Areas(ctx context.Context) ([]*bluehelm.Area, error)
	Area(ctx context.Context, id int64) (*bluehelm.Area, error)
}

// Picture is the part of the live picture this package reads (live.Picture).
type Picture interface {
	// Search calls fn with every track inside bbox that viewer may see.
	Search(bbox bluehelm.BBox, viewer bluehelm.Principal, fn func(bluehelm.TrackState) bool)
	// Get returns one track regardless of access; the handler checks CanSee.
	Get(uid string) (bluehelm.TrackState, bool)
}

// Config is what New needs.
type Config struct {
	Store Store
	// Picture serves the tracks collection; nil leaves that collection out (a
	// process without a live picture has no current positions to offer).
	Picture Picture
	// Principal returns who made the request, as established by the http
	// package's authentication. false means the request is not authenticated and
	// gets 401: the handler never serves anonymous readers, even if mounted wrongly.
	Principal func(*http.Request) (bluehelm.Principal, bool)
	// BaseURL returns the absolute URL of the mount point without a trailing slash,
	// e.g. "https://hq.example.org/ogc". Links must be absolute because GIS clients
	// follow them as given, and the mounting package knows best which scheme, host
	// and prefix a client used. nil means the connection's scheme, the Host header
	// and "/ogc" (as http.Server.OGCBaseURL).
	BaseURL func(*http.Request) string
	// Now stamps responses (timeStamp); nil means time.Now.
	Now func() time.Time
	// Logger receives internal errors, whose details are not shown to clients;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Media types.
const (
	mediaJSON    = "application/json"
	mediaGeoJSON = "application/geo+json"
	mediaProblem = "application/problem+json"
	mediaOpenAPI = "application/vnd.oai.openapi+json;version=3.0"
)

// Collection identifiers.
const (
	collIncidents = "incidents"
	collAreas     = "areas"
	collTracks    = "tracks"
)

type handler struct {
	cfg        Config
	log        *slog.Logger
	collection map[string]*collection
	order      []*collection
	catLabel   map[bluehelm.Category]string
	subLabel   map[[2]string]string
}

// New returns the OGC API – Features handler. Store and Principal are required;
// New panics without them because a handler that cannot tell who asks must not
// be mounted at all.
func New(cfg Config) http.Handler {
	if cfg.Store == nil || cfg.Principal == nil {
		panic("ogcapi: Config.Store and Config.Principal are required")
	}
	if cfg.BaseURL == nil {
		cfg.BaseURL = defaultBaseURL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &handler{cfg: cfg, log: cfg.Logger, collection: map[string]*collection{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.catLabel = make(map[bluehelm.Category]string, len(bluehelm.Taxonomy))
	h.subLabel = map[[2]string]string{}
	for _, c := range bluehelm.Taxonomy {
		h.catLabel[c.Code] = c.Label
		for code, label := range c.Subcategories {
			h.subLabel[[2]string{string(c.Code), code}] = label
		}
	}
	h.order = []*collection{
		{id: collIncidents, title: "Incidents", description: incidentsDescription, items: h.incidentItems, item: h.incidentItem},
		{id: collAreas, title: "Areas", description: areasDescription, items: h.areaItems, item: h.areaItem, extent: h.areaExtent},
	}
	if cfg.Picture != nil {
		h.order = append(h.order, &collection{id: collTracks, title: "Tracks", description: tracksDescription,
			items: h.trackItems, item: h.trackItem, extent: h.trackExtent})
	}
	for _, c := range h.order {
		h.collection[c.id] = c
	}
	return h
}

const (
	incidentsDescription = "Reported incidents (SINCREP / flash reports, imported UCDP and ACLED events) as points, " +
		"newest first. datetime filters on occurred_start. Properties are flattened for GIS: " +
		"casualty counts are summed over groups, lists are joined with '; '."
	areasDescription = "Named areas: areas of responsibility, camps and camp zones, restricted areas and patrol " +
		"sectors (polygons) and routes (lines). Areas have no time of validity: datetime is accepted and does not filter."
	tracksDescription = "The latest position of every track (units, vehicles, aircraft, UAVs, people, sensors) " +
		"from the live picture. datetime filters on the position time."
)

// defaultBaseURL assumes the mount at /ogc. The scheme comes from the connection,
// not from X-Forwarded-Proto, so a forged header cannot make the links point
// elsewhere.
func defaultBaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/ogc"
}

// ServeHTTP routes by hand rather than with http.ServeMux: mounted under
// StripPrefix, a request for the bare mount ("/ogc", which GDAL uses as its root)
// arrives with an empty path, and ServeMux would redirect it to "/" — the root of
// the whole server, not of this API. Segments are split on the escaped path so
// that a track uid containing "/" (sent as %2F) stays one segment.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store") // responses depend on who asks
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.problem(w, r, codeMethod, "", "this API is read-only: use GET")
		return
	}
	p, ok := h.cfg.Principal(r)
	if !ok {
		h.problem(w, r, bluehelm.EUNAUTHENTICATED, "", "authentication required")
		return
	}
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		h.notFound(w, r)
		return
	}
	switch {
	case len(segs) == 0:
		h.serveLanding(w, r)
	case len(segs) == 1 && segs[0] == "conformance":
		h.serveConformance(w, r)
	case len(segs) == 1 && segs[0] == "api":
		h.serveAPI(w, r)
	case len(segs) == 1 && segs[0] == "collections":
		h.serveCollections(w, r, p)
	case len(segs) >= 2 && len(segs) <= 4 && segs[0] == "collections":
		c := h.collection[segs[1]]
		if c == nil {
			h.problem(w, r, bluehelm.ENOTFOUND, "", "no collection "+strconv.Quote(segs[1]))
			return
		}
		switch {
		case len(segs) == 2:
			h.serveCollection(w, r, p, c)
		case segs[2] != "items":
			h.notFound(w, r)
		case len(segs) == 3:
			h.serveItems(w, r, p, c)
		default:
			h.serveItem(w, r, p, c, segs[3])
		}
	default:
		h.notFound(w, r)
	}
}

// splitPath returns the unescaped segments of an escaped path, ignoring a leading
// and a trailing slash ("", "/" → none). ok is false for a malformed escape or an
// empty segment in the middle ("a//b").
func splitPath(escaped string) (segs []string, ok bool) {
	escaped = strings.TrimPrefix(escaped, "/")
	escaped = strings.TrimSuffix(escaped, "/")
	if escaped == "" {
		return nil, true
	}
	for _, s := range strings.Split(escaped, "/") {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, false
		}
		segs = append(segs, u)
	}
	return segs, true
}

// link is an OGC / RFC 8288 web link.
type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// url returns the absolute URL of a path below the mount; segments are escaped.
func (h *handler) url(r *http.Request, segs ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(h.cfg.BaseURL(r), "/"))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (h *handler) serveLanding(w http.ResponseWriter, r *http.Request) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	h.writeJSON(w, r, http.StatusOK, mediaJSON, map[string]any{
		"title":       "bluehelm mission picture",
		"description": "OGC API – Features access to the incidents, areas and track positions you are cleared to see.",
		"links": []link{
			{Href: h.url(r) + "/", Rel: "self", Type: mediaJSON, Title: "This document"},
			{Href: h.url(r, "api"), Rel: "service-desc", Type: mediaOpenAPI, Title: "The API definition (OpenAPI 3.0)"},
			{Href: h.url(r, "conformance"), Rel: "conformance", Type: mediaJSON, Title: "Conformance classes implemented"},
			{Href: h.url(r, "conformance"), Rel: "http://www.opengis.net/def/rel/ogc/1.0/conformance", Type: mediaJSON, Title: "Conformance classes implemented"},
			{Href: h.url(r, "collections"), Rel: "data", Type: mediaJSON, Title: "Collections"},
			{Href: h.url(r, "collections"), Rel: "http://www.opengis.net/def/rel/ogc/1.0/data", Type: mediaJSON, Title: "Collections"},
		},
	})
}

// conformsTo lists only what the handler fully implements: no HTML encoding, no
// CRS other than CRS84 (Part 2), no filtering language (Part 3).
var conformsTo = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}

func (h *handler) serveConformance(w http.ResponseWriter, r *http.Request) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	h.writeJSON(w, r, http.StatusOK, mediaJSON, map[string]any{
		"conformsTo": conformsTo,
		"links":      []link{{Href: h.url(r, "conformance"), Rel: "self", Type: mediaJSON, Title: "This document"}},
	})
}

func (h *handler) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	h.writeJSON(w, r, http.StatusOK, mediaOpenAPI, h.openAPI(r))
}

// writeJSON encodes v into a buffer first, so that an encoding failure becomes a
// clean 500 rather than half a document with a 200 status.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, mediaType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs with & stay readable
	if err := enc.Encode(v); err != nil {
		h.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// problemDoc is an RFC 9457 problem detail in the same shape as the REST API's
// (package http), so a client parses one error format: Code is the stable
// bluehelm error code and Field the offending query parameter.
type problemDoc struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
}

// codeMethod exists only on the HTTP wire; the domain has no use for it.
const codeMethod = "method_not_allowed"

// statuses maps the codes this handler answers with to HTTP statuses and titles.
var statuses = map[string]struct {
	status int
	title  string
}{
	bluehelm.EINVALID:         {http.StatusBadRequest, "Invalid input"},
	bluehelm.EUNAUTHENTICATED: {http.StatusUnauthorized, "Authentication required"},
	bluehelm.ENOTFOUND:        {http.StatusNotFound, "Not found"},
	bluehelm.EUNAVAILABLE:     {http.StatusServiceUnavailable, "Unavailable"},
	bluehelm.EINTERNAL:        {http.StatusInternalServerError, "Internal error"},
	codeMethod:                {http.StatusMethodNotAllowed, "Method not allowed"},
}

func (h *handler) problem(w http.ResponseWriter, r *http.Request, code, field, detail string) {
	st, ok := statuses[code]
	if !ok {
		code, st = bluehelm.EINTERNAL, statuses[bluehelm.EINTERNAL]
	}
	switch st.status {
	case http.StatusUnauthorized:
		// RFC 9110 requires a challenge on every 401.
		w.Header().Set("WWW-Authenticate", `Bearer realm="bluehelm"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	h.writeJSON(w, r, st.status, mediaProblem, problemDoc{
		Type: "urn:bluehelm:problem:" + code, Title: st.title, Status: st.status,
		Detail: detail, Code: code, Field: field,
	})
}

// invalid answers 400 for a domain error naming a parameter.
func (h *handler) invalid(w http.ResponseWriter, r *http.Request, err error) {
	h.problem(w, r, bluehelm.EINVALID, bluehelm.ErrorField(err), bluehelm.ErrorMessage(err))
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.problem(w, r, bluehelm.ENOTFOUND, "", "no such resource; the API starts at "+h.url(r)+"/")
}

// featureNotFound is the one answer for a feature that does not exist and for one
// the caller may not see, so that probing ids reveals nothing.
func (h *handler) featureNotFound(w http.ResponseWriter, r *http.Request, c *collection, id string) {
	h.problem(w, r, bluehelm.ENOTFOUND, "", "no feature "+strconv.Quote(id)+" in collection "+c.id)
}

func (h *handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("ogcapi: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	h.problem(w, r, bluehelm.EINTERNAL, "", "internal error; the server log has the details")
}

// storeError maps a store error to its HTTP status in one place.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch bluehelm.ErrorCode(err) {
	case bluehelm.EINVALID:
		h.invalid(w, r, err)
	case bluehelm.ENOTFOUND:
		h.notFound(w, r)
	case bluehelm.EUNAVAILABLE:
		h.problem(w, r, bluehelm.EUNAVAILABLE, "", bluehelm.ErrorMessage(err))
	default:
		h.internal(w, r, err)
	}
}
