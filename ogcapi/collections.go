package ogcapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/bluehelm/bluehelm"
)

// collection is one feature collection: how to list, fetch and bound its features
// for a viewer.
type collection struct {
	id, title, description string
	items                  func(ctx context.Context, p bluehelm.Principal, q itemsQuery) (*page, error)
	// item returns nil (and no error) for a feature that does not exist or that p
	// may not see: the two must be indistinguishable.
	item func(ctx context.Context, p bluehelm.Principal, id string) (*feature, error)
	// extent returns the extent of what p may see, nil when unknown or empty. It
	// is nil for incidents: the store cannot bound a table without reading it.
	extent func(ctx context.Context, p bluehelm.Principal) (*extent, error)
}

// page is one page of features.
type page struct {
	features []feature
	next     string // cursor of the next page; "" on the last page
	matched  int    // number of features on all pages, when known
	counted  bool   // whether matched is known
}

// feature is a GeoJSON Feature.
type feature struct {
	Type       string `json:"type"`
	ID         any    `json:"id"`
	Geometry   any    `json:"geometry"`
	Properties any    `json:"properties"`
	Links      []link `json:"links,omitempty"`
}

// featureCollection is the /items response.
type featureCollection struct {
	Type           string    `json:"type"`
	Features       []feature `json:"features"`
	Links          []link    `json:"links"`
	TimeStamp      string    `json:"timeStamp"`
	NumberMatched  *int      `json:"numberMatched,omitempty"`
	NumberReturned int       `json:"numberReturned"`
}

type extent struct {
	Spatial  *spatialExtent  `json:"spatial,omitempty"`
	Temporal *temporalExtent `json:"temporal,omitempty"`
}

type spatialExtent struct {
	BBox [][4]float64 `json:"bbox"`
	CRS  string       `json:"crs"`
}

type temporalExtent struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

const gregorian = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

// collectionDoc is the description of one collection in /collections and
// /collections/{id}.
type collectionDoc struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	ItemType    string   `json:"itemType"`
	CRS         []string `json:"crs"`
	Extent      *extent  `json:"extent,omitempty"`
	Links       []link   `json:"links"`
}

func (h *handler) describe(ctx context.Context, r *http.Request, p bluehelm.Principal, c *collection) (collectionDoc, error) {
	d := collectionDoc{
		ID: c.id, Title: c.title, Description: c.description, ItemType: "feature", CRS: []string{crs84},
		Links: []link{
			{Href: h.url(r, "collections", c.id), Rel: "self", Type: mediaJSON, Title: "This collection"},
			{Href: h.url(r, "collections", c.id, "items"), Rel: "items", Type: mediaGeoJSON, Title: c.title + " as GeoJSON"},
		},
	}
	if c.extent != nil {
		e, err := c.extent(ctx, p)
		if err != nil {
			return d, err
		}
		d.Extent = e
	}
	return d, nil
}

func (h *handler) serveCollections(w http.ResponseWriter, r *http.Request, p bluehelm.Principal) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	docs := make([]collectionDoc, 0, len(h.order))
	for _, c := range h.order {
		d, err := h.describe(r.Context(), r, p, c)
		if err != nil {
			h.storeError(w, r, err)
			return
		}
		docs = append(docs, d)
	}
	h.writeJSON(w, r, http.StatusOK, mediaJSON, map[string]any{
		"links":       []link{{Href: h.url(r, "collections"), Rel: "self", Type: mediaJSON, Title: "This document"}},
		"collections": docs,
	})
}

func (h *handler) serveCollection(w http.ResponseWriter, r *http.Request, p bluehelm.Principal, c *collection) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	d, err := h.describe(r.Context(), r, p, c)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, mediaJSON, d)
}

func (h *handler) serveItems(w http.ResponseWriter, r *http.Request, p bluehelm.Principal, c *collection) {
	if !h.checkParams(w, r, paramF, paramBBox, paramBBoxCRS, paramDatetime, paramLimit, paramCursor) {
		return
	}
	params := r.URL.Query()
	q, err := parseItemsQuery(params)
	if err != nil {
		h.invalid(w, r, err)
		return
	}
	pg, err := c.items(r.Context(), p, q)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	base := h.url(r, "collections", c.id, "items")
	self := base
	if len(params) > 0 {
		self += "?" + params.Encode()
	}
	fc := featureCollection{
		Type:     "FeatureCollection",
		Features: pg.features,
		Links: []link{
			{Href: self, Rel: "self", Type: mediaGeoJSON, Title: "This page"},
			{Href: h.url(r, "collections", c.id), Rel: "collection", Type: mediaJSON, Title: "The collection"},
		},
		TimeStamp:      h.cfg.Now().UTC().Format(time.RFC3339),
		NumberReturned: len(pg.features),
	}
	if fc.Features == nil {
		fc.Features = []feature{} // an empty page is [], never null
	}
	if pg.counted {
		fc.NumberMatched = &pg.matched
	}
	if pg.next != "" {
		// The next link repeats every filter with the effective limit, so a client
		// that only follows links (GDAL does) pages through the same query.
		next := url.Values{}
		for k, v := range params {
			next[k] = v
		}
		next.Set(paramLimit, itoa(q.limit))
		next.Set(paramCursor, pg.next)
		fc.Links = append(fc.Links, link{Href: base + "?" + next.Encode(), Rel: "next", Type: mediaGeoJSON, Title: "Next page"})
	}
	h.writeJSON(w, r, http.StatusOK, mediaGeoJSON, fc)
}

func (h *handler) serveItem(w http.ResponseWriter, r *http.Request, p bluehelm.Principal, c *collection, id string) {
	if !h.checkParams(w, r, paramF) {
		return
	}
	f, err := c.item(r.Context(), p, id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	if f == nil {
		h.featureNotFound(w, r, c, id)
		return
	}
	f.Links = []link{
		{Href: h.url(r, "collections", c.id, "items", id), Rel: "self", Type: mediaGeoJSON, Title: "This feature"},
		{Href: h.url(r, "collections", c.id), Rel: "collection", Type: mediaJSON, Title: "The collection"},
	}
	h.writeJSON(w, r, http.StatusOK, mediaGeoJSON, f)
}
