package http

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/mbtiles"
)

// What the browser app needs from the server beyond the domain API: its
// configuration, the optional offline basemap, the gazetteer, and the user's
// language.

// basemapTiles is the tile URL template of the --basemap file, relative to the
// site root (the page adds its origin).
const basemapTiles = "/basemap/{z}/{x}/{y}"

type basemapConfig struct {
	Type         string            `json:"type"` // "raster" or "vector": the MapLibre source type
	Format       mbtiles.Format    `json:"format"`
	Name         string            `json:"name,omitempty"`
	Tiles        []string          `json:"tiles"`
	TileSize     int               `json:"tile_size"`
	MinZoom      int               `json:"minzoom"`
	MaxZoom      int               `json:"maxzoom"`
	Bounds       [4]float64        `json:"bounds"`
	Center       []float64         `json:"center,omitempty"`
	Attribution  string            `json:"attribution"`
	VectorLayers []json.RawMessage `json:"vector_layers"`
}

type appConfig struct {
	Basemap           *basemapConfig `json:"basemap"`
	StaleAfterSeconds int            `json:"stale_after_seconds"`
	Version           string         `json:"version"`
	Places            bool           `json:"places"` // whether GET /api/v1/places has a gazetteer
	PlacesAttribution string         `json:"places_attribution,omitempty"`
	Languages         []string       `json:"languages"`
}

func (s *Server) config(w http.ResponseWriter, r *http.Request) error {
	c := appConfig{StaleAfterSeconds: int(s.cfg.StaleAfter / time.Second), Version: s.cfg.Version,
		Places: s.cfg.Places != nil, PlacesAttribution: s.cfg.PlacesAttribution, Languages: bluehelm.Languages}
	if b := s.cfg.Basemap; b != nil {
		m := b.Metadata()
		c.Basemap = &basemapConfig{Type: "raster", Format: m.Format, Name: m.Name, Tiles: []string{basemapTiles},
			TileSize: m.TileSize, MinZoom: m.MinZoom, MaxZoom: m.MaxZoom, Bounds: m.Bounds, Center: m.Center,
			Attribution: m.Attribution, VectorLayers: m.VectorLayers}
		if m.Format.Vector() {
			c.Basemap.Type = "vector"
		}
	}
	return writeJSON(w, http.StatusOK, c)
}

// tileCoord reads one path component of a tile address. The last may carry the
// format's extension (…/7.pbf), which some styles and tools add.
func tileCoord(r *http.Request, name string) (int, error) {
	v := r.PathValue(name)
	if name == "y" {
		if i := strings.IndexByte(v, '.'); i > 0 {
			v = v[:i]
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, invalid(name, "%q is not a tile coordinate", r.PathValue(name))
	}
	return n, nil
}

// basemapTile serves one tile of the --basemap file. It stays behind
// authentication like everything else: the map fetches tiles from this origin,
// so the session cookie goes with them, and a mission's imagery is not for
// anyone who finds the address. A tile the file does not hold is 204 No Content:
// maps ask for tiles outside a file's extent all the time, MapLibre reads an
// empty answer as an empty tile, and the browser does not log a 204 as a failed
// request the way it logs a 404.
func (s *Server) basemapTile(w http.ResponseWriter, r *http.Request) error {
	b := s.cfg.Basemap
	if b == nil {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "no basemap file is served (start the server with --basemap FILE.mbtiles)")
	}
	var zxy [3]int
	for i, name := range []string{"z", "x", "y"} {
		n, err := tileCoord(r, name)
		if err != nil {
			return err
		}
		zxy[i] = n
	}
	if !mbtiles.ValidAddress(zxy[0], zxy[1], zxy[2]) {
		return invalid("", "tile %d/%d/%d is outside the world (x and y run from 0 to 2^z-1, z from 0 to 30)", zxy[0], zxy[1], zxy[2])
	}
	data, err := b.Tile(r.Context(), zxy[0], zxy[1], zxy[2])
	if err != nil {
		return err
	}
	h := w.Header()
	// The file changes only when the server restarts with another; an hour of
	// caching spares a thin link most refetches, the ETag the rest.
	h.Set("Cache-Control", "private, max-age=3600")
	if data == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	format := b.Metadata().Format
	h.Set("Content-Type", format.ContentType())
	tag := tileETag(data)
	if mbtiles.Gzipped(data) {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
		} else {
			// Every browser accepts gzip; a script or an old tool may not.
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				return err
			}
			if data, err = io.ReadAll(io.LimitReader(zr, 64<<20)); err != nil {
				return err
			}
			tag = tileETag(data)
		}
	}
	serveBytes(w, r, tag, data)
	return nil
}

// tileETag is a strong tag from a cheap hash: tiles are small and many, and the
// tag only has to tell this file's tile from another file's.
func tileETag(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return `"` + strconv.FormatUint(h.Sum64(), 36) + `"`
}

// Place is one entry of the gazetteer: a populated place the map can fly to.
type Place struct {
	Name       string  `json:"name"`
	Country    string  `json:"country"`
	Admin1     string  `json:"admin1"`
	Lat        float64 `json:"lat"`
	Lon        float64 `json:"lon"`
	Population int     `json:"population"`
	Kind       string  `json:"kind"`
}

// Gazetteer finds places by name. The server needs nothing else of it, so it is
// declared here and adapted where the program is wired.
type Gazetteer interface {
	Search(q string, limit int) []Place
}

// searchPlaces looks up populated places by name for the map's search box.
// Without a gazetteer it answers an empty list (and /api/v1/config says
// "places": false), so the page needs no special case.
func (s *Server) searchPlaces(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	text := q.get("q")
	limit, err := q.int("limit", 10, 1, 50)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	if text == "" {
		return invalid("q", "is required: part of a place name")
	}
	if utf8.RuneCountInString(text) > 100 {
		return invalid("q", "longer than 100 characters")
	}
	out := []Place{}
	if s.cfg.Places != nil {
		if found := s.cfg.Places.Search(text, limit); len(found) > 0 {
			out = found[:min(len(found), limit)]
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"places": out})
}

type preferencesRequest struct {
	Language *string `json:"language"`
}

// setPreferences stores the caller's own preferences (the interface language)
// and answers as GET /api/v1/me does, so the page has one shape to read.
func (s *Server) setPreferences(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	var req preferencesRequest
	if err := decodeJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	if req.Language == nil {
		return invalid("language", "is required: \"en\", \"fr\", \"ar\" or \"\" for none")
	}
	u, err := s.cfg.Auth.SetLanguage(r.Context(), id.principal, *req.Language)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newMe(u, id.session))
}
