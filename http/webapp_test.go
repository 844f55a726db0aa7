package http

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/mbtiles"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawGet sends a GET with exactly the headers given: setting Accept-Encoding
// stops Go's transport from asking for and undoing gzip by itself.
func (e *testEnv) rawGet(path, as string, header map[string]string) resp {
	e.t.Helper()
	h := map[string]string{"Accept-Encoding": "identity"}
	for k, v := range header {
		h[k] = v
	}
	return e.do(req{method: "GET", path: path, as: as, header: h})
}

func TestStaticFiles(t *testing.T) {
	js := strings.Repeat("export const answer = 42; // a module that compresses well\n", 100)
	index := "<!doctype html><title>bluehelm</title>" + strings.Repeat("<!-- padding -->", 40)
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 600)
	webFS := fstest.MapFS{
		"index.html":                         {Data: []byte(index)},
		"app.js":                             {Data: []byte(js)},
		"vendor/maplibre-gl/maplibre-gl.mjs": {Data: []byte(js + "// mjs")},
		"vendor/glyphs/Noto Sans Regular/0-255.pbf":     {Data: bytes.Repeat([]byte{0x0a, 0x10, 0x4e, 0x6f}, 200)},
		"vendor/world-atlas/countries-50m.json":         {Data: []byte(`{"type":"Topology","objects":{}` + strings.Repeat(" ", 500) + `}`)},
		"icon.png":                                      {Data: []byte(png)},
		"tiny.css":                                      {Data: []byte("body{margin:0}")},
		"vendor/maplibre-gl/LICENSE.txt":                {Data: []byte("BSD")},
		"map/index.html":                                {Data: []byte("<!doctype html><title>sub</title>")},
		"vendor/maplibre-gl/maplibre-gl-shared.mjs":     {Data: []byte{}},
		"vendor/maplibre-gl/maplibre-gl-worker.mjs":     {Data: []byte(js + "// worker")},
		"vendor/milsymbol/milsymbol.js":                 {Data: []byte(js + "// ms")},
		"i18n/fr.json":                                  {Data: []byte(`{"hello":"bonjour"}`)},
		"vendor/glyphs/Noto Sans Regular/256-511.pbf":   {Data: []byte{1, 2, 3}},
		"vendor/chart.js/chart.umd.js":                  {Data: []byte(js + "// chart")},
		"vendor/mgrs/mgrs.esm.js":                       {Data: []byte(js + "// mgrs")},
		"vendor/topojson-client/topojson-client.js":     {Data: []byte(js + "// topojson")},
		"vendor/world-atlas/land-50m.json":              {Data: []byte(`{}`)},
		"vendor/README.md":                              {Data: []byte("# vendored")},
		"vendor/glyphs/Noto Sans Bold/8192-8447.pbf":    {Data: []byte{9}},
		"vendor/maplibre-gl/maplibre-gl.css":            {Data: []byte(".maplibregl-map{}")},
		"vendor/glyphs/Noto Sans Regular/8192-8447.pbf": {Data: []byte{8}},
	}
	e := newEnv(t, func(c *Config) { c.WebFS = webFS })

	cases := []struct {
		name, path, accept string
		status             int
		ctype              string
		gzipped            bool
		body               string // the decoded body, when checked
	}{
		{name: "index gzip", path: "/", accept: "gzip, deflate, br, zstd", status: 200, ctype: "text/html; charset=utf-8", gzipped: true, body: index},
		{name: "index plain", path: "/", accept: "identity", status: 200, ctype: "text/html; charset=utf-8", body: index},
		{name: "index by name", path: "/index.html", accept: "gzip", status: 200, ctype: "text/html; charset=utf-8", gzipped: true, body: index},
		{name: "gzip refused by q=0", path: "/app.js", accept: "gzip;q=0, br", status: 200, ctype: "text/javascript; charset=utf-8", body: js},
		{name: "star", path: "/app.js", accept: "*", status: 200, ctype: "text/javascript; charset=utf-8", gzipped: true, body: js},
		{name: "module", path: "/vendor/maplibre-gl/maplibre-gl.mjs", accept: "gzip", status: 200, ctype: "text/javascript; charset=utf-8", gzipped: true},
		{name: "empty module", path: "/vendor/maplibre-gl/maplibre-gl-shared.mjs", accept: "gzip", status: 200, ctype: "text/javascript; charset=utf-8", body: ""},
		{name: "glyphs", path: "/vendor/glyphs/Noto%20Sans%20Regular/0-255.pbf", accept: "gzip", status: 200, ctype: "application/x-protobuf", gzipped: true},
		{name: "small glyphs stay plain", path: "/vendor/glyphs/Noto%20Sans%20Regular/256-511.pbf", accept: "gzip", status: 200, ctype: "application/x-protobuf", body: "\x01\x02\x03"},
		{name: "topojson", path: "/vendor/world-atlas/countries-50m.json", accept: "gzip", status: 200, ctype: "application/json", gzipped: true},
		{name: "png is not recompressed", path: "/icon.png", accept: "gzip", status: 200, ctype: "image/png", body: png},
		{name: "licence", path: "/vendor/maplibre-gl/LICENSE.txt", accept: "gzip", status: 200, ctype: "text/plain; charset=utf-8", body: "BSD"},
		{name: "directory index", path: "/map/", accept: "gzip", status: 200, ctype: "text/html; charset=utf-8"},
		{name: "unknown file", path: "/nope.js", accept: "gzip", status: 404},
		{name: "unknown route", path: "/incidents/42", accept: "gzip", status: 404},
		{name: "directory without index", path: "/vendor/", accept: "gzip", status: 404},
		{name: "escape attempt", path: "/../../etc/passwd", accept: "gzip", status: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.rawGet(c.path, "", map[string]string{"Accept-Encoding": c.accept})
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, c.status, r.body)
			}
			h := r.Header
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("CSP %q", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("security headers %v", h)
			}
			if c.status != 200 {
				return
			}
			if got := h.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if h.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(h.Get("ETag"), `"`) {
				t.Errorf("caching headers %v", h)
			}
			body := r.body
			if gz := h.Get("Content-Encoding") == "gzip"; gz != c.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip=%v", h.Get("Content-Encoding"), c.gzipped)
			} else if gz {
				if !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
					t.Errorf("compressed without Vary: %v", h)
				}
				if len(body) >= len(gunzip(t, body)) {
					t.Errorf("compressed %d bytes to %d", len(gunzip(t, body)), len(body))
				}
				body = gunzip(t, body)
			}
			if c.body != "" || c.name == "empty module" {
				if string(body) != c.body {
					t.Errorf("body %q, want %q", body, c.body)
				}
			}
			// Revalidation: the ETag of what was sent gives a 304 with no body.
			again := e.rawGet(c.path, "", map[string]string{"Accept-Encoding": c.accept, "If-None-Match": h.Get("ETag")})
			if again.StatusCode != http.StatusNotModified || len(again.body) != 0 || again.Header.Get("ETag") != h.Get("ETag") {
				t.Errorf("revalidation: %d %v %q", again.StatusCode, again.Header, again.body)
			}
		})
	}

	// The two representations have different strong tags; each revalidates only
	// itself, and a stale tag gets the file again.
	plain := e.rawGet("/app.js", "", map[string]string{"Accept-Encoding": "identity"})
	gzipped := e.rawGet("/app.js", "", map[string]string{"Accept-Encoding": "gzip"})
	if plain.Header.Get("ETag") == gzipped.Header.Get("ETag") {
		t.Error("plain and gzip representations share an ETag")
	}
	if r := e.rawGet("/app.js", "", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": plain.Header.Get("ETag")}); r.StatusCode != 200 {
		t.Errorf("another representation's tag revalidated: %d", r.StatusCode)
	}
	if r := e.rawGet("/app.js", "", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": `"old", W/` + gzipped.Header.Get("ETag")}); r.StatusCode != 304 {
		t.Errorf("a weak copy of the tag in a list: %d", r.StatusCode)
	}
	head := e.do(req{method: "HEAD", path: "/app.js", header: map[string]string{"Accept-Encoding": "gzip"}})
	if head.StatusCode != 200 || len(head.body) != 0 || head.Header.Get("Content-Length") != fmt.Sprint(len(gzipped.body)) {
		t.Errorf("HEAD: %d %v %d bytes", head.StatusCode, head.Header, len(head.body))
	}
	// The API under the web app is still the API.
	e.problem(req{method: "GET", path: "/api/v1/nothing"}, http.StatusNotFound, "")
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false}, {"gzip", true}, {"GZIP", true}, {"x-gzip", true}, {"deflate, gzip;q=0.5", true},
		{"gzip;q=0", false}, {"gzip; q=0.000", false}, {"br, zstd", false}, {"*", true}, {"*;q=0", false},
		{"gzip;q=0, *", false}, {"identity", false}, {"gzip;q=bad", true},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("Accept-Encoding", c.header)
		}
		if got := acceptsGzip(r); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// TestAPICompression checks that large API answers are compressed for clients
// that accept it, small ones and the stream never.
func TestAPICompression(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	for i := range 30 {
		e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, fmt.Sprintf("Protest number %d at the market", i))
	}
	cases := []struct {
		name, path, accept string
		encoding           string
	}{
		{"large gzip", "/api/v1/incidents", "gzip", "gzip"},
		{"large zstd", "/api/v1/incidents", "zstd", "zstd"},
		{"large identity", "/api/v1/incidents", "identity", ""},
		{"small", "/api/v1/me", "gzip", ""},
		{"taxonomy", "/api/v1/taxonomy", "gzip", "gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.rawGet(c.path, "viewer", map[string]string{"Accept-Encoding": c.accept})
			if r.StatusCode != 200 {
				t.Fatalf("%d %s", r.StatusCode, r.body)
			}
			if got := r.Header.Get("Content-Encoding"); got != c.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, c.encoding)
			}
			if c.encoding == "gzip" && !bytes.Contains(gunzip(t, r.body), []byte(`"incidents"`)) && c.name != "taxonomy" {
				t.Errorf("decoded body %q", gunzip(t, r.body))
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})
	}
	// The stream is a WebSocket whatever the client accepts.
	c := e.dialAs("viewer")
	c.send(map[string]any{"type": "subscribe", "layers": []string{"incidents"}})
	if n := len(c.snapshot()); n == 0 {
		t.Fatal("empty snapshot")
	}
}

// mbtilesFixture writes a small MBTiles file.
func mbtilesFixture(t *testing.T, meta map[string]string, tiles map[[3]int][]byte) *mbtiles.Tileset {
	t.Helper()
	path := filepath.Join(t.TempDir(), "basemap.mbtiles")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`CREATE TABLE metadata (name TEXT, value TEXT)`,
		`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range meta {
		db.Exec(`INSERT INTO metadata VALUES (?, ?)`, k, v)
	}
	for zxy, b := range tiles {
		// Stored as TMS rows.
		db.Exec(`INSERT INTO tiles VALUES (?, ?, ?, ?)`, zxy[0], zxy[1], (1<<zxy[0])-1-zxy[2], b)
	}
	db.Close()
	ts, err := mbtiles.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestConfig(t *testing.T) {
	vector := mbtilesFixture(t, map[string]string{"name": "OSM", "format": "pbf", "minzoom": "0", "maxzoom": "14",
		"bounds": "24,3.5,36,12.5", "attribution": "© OpenStreetMap contributors",
		"json": `{"vector_layers":[{"id":"roads","fields":{"class":"String"}}]}`}, nil)
	raster := mbtilesFixture(t, map[string]string{"format": "jpg", "minzoom": "2", "maxzoom": "9"}, nil)
	cases := []struct {
		name string
		opt  envOption
		want string
	}{
		{"no basemap", nil, `{"basemap":null,"stale_after_seconds":300,"version":"dev","places":false,"languages":["en","fr","ar"]}`},
		{"vector", func(c *Config) { c.Basemap, c.StaleAfter, c.Version = vector, 90*time.Second, "1.2.3" },
			`{"basemap":{"type":"vector","format":"pbf","name":"OSM","tiles":["/basemap/{z}/{x}/{y}"],"tile_size":512,"minzoom":0,"maxzoom":14,` +
				`"bounds":[24,3.5,36,12.5],"attribution":"© OpenStreetMap contributors","vector_layers":[{"id":"roads","fields":{"class":"String"}}]},` +
				`"stale_after_seconds":90,"version":"1.2.3","places":false,"languages":["en","fr","ar"]}`},
		{"raster and places", func(c *Config) {
			c.Basemap, c.Places, c.PlacesAttribution = raster, fakeGazetteer{}, "Places: GeoNames, CC BY 4.0"
		},
			`{"basemap":{"type":"raster","format":"jpg","tiles":["/basemap/{z}/{x}/{y}"],"tile_size":256,"minzoom":2,"maxzoom":9,` +
				`"bounds":[-180,-85.05112878,180,85.05112878],"attribution":"","vector_layers":[]},` +
				`"stale_after_seconds":300,"version":"dev","places":true,"places_attribution":"Places: GeoNames, CC BY 4.0","languages":["en","fr","ar"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opts []envOption
			if c.opt != nil {
				opts = append(opts, c.opt)
			}
			e := newEnv(t, opts...)
			e.standardUsers()
			e.problem(req{method: "GET", path: "/api/v1/config"}, http.StatusUnauthorized, "")
			r := e.ok(req{method: "GET", path: "/api/v1/config", as: "viewer"}, http.StatusOK, nil)
			if got := strings.TrimSpace(string(r.body)); got != c.want {
				t.Errorf("config\n got  %s\n want %s", got, c.want)
			}
		})
	}
}

func TestBasemapTiles(t *testing.T) {
	mvt := []byte("vector tile bytes, pretend protobuf")
	vector := mbtilesFixture(t, map[string]string{"format": "pbf", "minzoom": "0", "maxzoom": "6"},
		map[[3]int][]byte{{5, 18, 15}: gzipBytes(mvt), {5, 18, 16}: mvt})
	png := []byte("\x89PNG\r\n\x1a\n a raster tile")
	raster := mbtilesFixture(t, map[string]string{"format": "png", "minzoom": "0", "maxzoom": "3"},
		map[[3]int][]byte{{3, 4, 3}: png})

	e := newEnv(t, func(c *Config) { c.Basemap = vector })
	e.standardUsers()
	cases := []struct {
		name, path, as, accept string
		status                 int
		ctype, encoding, body  string
	}{
		{name: "gzipped vector tile", path: "/basemap/5/18/15", as: "viewer", accept: "gzip, br", status: 200,
			ctype: "application/x-protobuf", encoding: "gzip", body: string(mvt)},
		{name: "with extension", path: "/basemap/5/18/15.pbf", as: "viewer", accept: "gzip", status: 200,
			ctype: "application/x-protobuf", encoding: "gzip", body: string(mvt)},
		{name: "client without gzip", path: "/basemap/5/18/15", as: "viewer", accept: "identity", status: 200,
			ctype: "application/x-protobuf", body: string(mvt)},
		{name: "plain vector tile", path: "/basemap/5/18/16", as: "viewer", accept: "gzip", status: 200,
			ctype: "application/x-protobuf", body: string(mvt)},
		{name: "missing tile", path: "/basemap/5/0/0", as: "viewer", accept: "gzip", status: 204},
		{name: "beyond maxzoom", path: "/basemap/7/0/0", as: "viewer", accept: "gzip", status: 204},
		{name: "outside the world", path: "/basemap/2/4/0", as: "viewer", accept: "gzip", status: 400},
		{name: "not a number", path: "/basemap/2/a/0", as: "viewer", accept: "gzip", status: 400},
		{name: "negative", path: "/basemap/2/0/-1", as: "viewer", accept: "gzip", status: 400},
		{name: "anonymous", path: "/basemap/5/18/15", accept: "gzip", status: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.rawGet(c.path, c.as, map[string]string{"Accept-Encoding": c.accept})
			if r.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, c.status, r.body)
			}
			if c.status >= 400 {
				if r.Header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("error as %q", r.Header.Get("Content-Type"))
				}
				return
			}
			if cc := r.Header.Get("Cache-Control"); cc != "private, max-age=3600" {
				t.Errorf("Cache-Control %q", cc)
			}
			if c.status == 204 {
				if len(r.body) != 0 {
					t.Errorf("204 with a body %q", r.body)
				}
				return
			}
			body := r.body
			if got := r.Header.Get("Content-Encoding"); got != c.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, c.encoding)
			}
			if c.encoding == "gzip" {
				body = gunzip(t, body)
			}
			if r.Header.Get("Content-Type") != c.ctype || string(body) != c.body {
				t.Errorf("%s %q", r.Header.Get("Content-Type"), body)
			}
			again := e.rawGet(c.path, c.as, map[string]string{"Accept-Encoding": c.accept, "If-None-Match": r.Header.Get("ETag")})
			if again.StatusCode != http.StatusNotModified {
				t.Errorf("revalidation: %d", again.StatusCode)
			}
		})
	}

	t.Run("raster", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Basemap = raster })
		e.standardUsers()
		r := e.rawGet("/basemap/3/4/3", "viewer", map[string]string{"Accept-Encoding": "gzip"})
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("Content-Encoding") != "" || !bytes.Equal(r.body, png) {
			t.Fatalf("%d %v %q", r.StatusCode, r.Header, r.body)
		}
	})
	t.Run("no basemap", func(t *testing.T) {
		e := newEnv(t)
		e.standardUsers()
		p := e.problem(req{method: "GET", path: "/basemap/0/0/0", as: "viewer"}, http.StatusNotFound, "")
		if !strings.Contains(p.Detail, "--basemap") {
			t.Errorf("detail %q", p.Detail)
		}
	})
}

type fakeGazetteer struct{}

func (fakeGazetteer) Search(q string, limit int) []Place {
	all := []Place{
		{Name: "Juba", Country: "SS", Admin1: "Central Equatoria", Lat: 4.85, Lon: 31.58, Population: 525953, Kind: "capital"},
		{Name: "Jur River", Country: "SS", Lat: 7.6, Lon: 28.1, Kind: "town"},
		{Name: "Bor", Country: "SS", Lat: 6.21, Lon: 31.56, Population: 315351, Kind: "city"},
	}
	var out []Place
	for _, p := range all {
		if strings.HasPrefix(strings.ToLower(p.Name), strings.ToLower(q)) {
			out = append(out, p)
		}
	}
	// A gazetteer that ignores the limit must not make the answer longer.
	return out
}

func TestPlaces(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Places = fakeGazetteer{} })
	e.standardUsers()
	cases := []struct {
		query string
		want  []string
		field string // of the error, when one is expected
	}{
		{query: "q=ju", want: []string{"Juba", "Jur River"}},
		{query: "q=ju&limit=1", want: []string{"Juba"}},
		{query: "q=%20bor%20", want: []string{"Bor"}},
		{query: "q=nowhere", want: []string{}},
		{query: "", field: "q"},
		{query: "q=", field: "q"},
		{query: "q=" + strings.Repeat("a", 101), field: "q"},
		{query: "q=ju&limit=0", field: "limit"},
		{query: "q=ju&limit=51", field: "limit"},
		{query: "q=ju&lang=fr", field: "lang"},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			path := "/api/v1/places?" + c.query
			if c.field != "" {
				e.problem(req{method: "GET", path: path, as: "viewer"}, http.StatusBadRequest, c.field)
				return
			}
			var res struct{ Places []Place }
			r := e.ok(req{method: "GET", path: path, as: "viewer"}, http.StatusOK, &res)
			var names []string
			for _, p := range res.Places {
				names = append(names, p.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(c.want) || !strings.Contains(string(r.body), `"places":[`) {
				t.Errorf("places %s, want %v", r.body, c.want)
			}
		})
	}
	t.Run("juba in full", func(t *testing.T) {
		r := e.ok(req{method: "GET", path: "/api/v1/places?q=Juba", as: "viewer"}, http.StatusOK, nil)
		want := `{"places":[{"name":"Juba","country":"SS","admin1":"Central Equatoria","lat":4.85,"lon":31.58,"population":525953,"kind":"capital"}]}`
		if strings.TrimSpace(string(r.body)) != want {
			t.Errorf("got  %s\nwant %s", r.body, want)
		}
	})
	t.Run("no gazetteer", func(t *testing.T) {
		e := newEnv(t)
		e.standardUsers()
		r := e.ok(req{method: "GET", path: "/api/v1/places?q=juba", as: "viewer"}, http.StatusOK, nil)
		if strings.TrimSpace(string(r.body)) != `{"places":[]}` {
			t.Errorf("%s", r.body)
		}
	})
}

func TestPreferences(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	var me meResponse
	e.ok(req{method: "GET", path: "/api/v1/me", as: "viewer"}, http.StatusOK, &me)
	if me.User.Language != "" || !strings.Contains(string(e.ok(req{method: "GET", path: "/api/v1/me", as: "viewer"}, 200, nil).body), `"language":""`) {
		t.Fatalf("new user's language %+v", me.User)
	}
	cases := []struct {
		name   string
		as     string
		body   any
		status int
		field  string
		want   string
	}{
		{name: "french", as: "viewer", body: map[string]string{"language": "fr"}, status: 200, want: "fr"},
		{name: "arabic", as: "viewer", body: map[string]string{"language": "ar"}, status: 200, want: "ar"},
		{name: "none", as: "viewer", body: map[string]string{"language": ""}, status: 200, want: ""},
		{name: "unknown language", as: "viewer", body: map[string]string{"language": "de"}, status: 400, field: "language"},
		{name: "missing", as: "viewer", body: map[string]string{}, status: 400, field: "language"},
		{name: "unknown field", as: "viewer", body: map[string]string{"language": "fr", "theme": "dark"}, status: 400, field: "theme"},
		{name: "an administrator too", as: "admin", body: map[string]string{"language": "en"}, status: 200, want: "en"},
		{name: "anonymous", body: map[string]string{"language": "fr"}, status: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rq := req{method: "PUT", path: "/api/v1/me/preferences", as: c.as, body: c.body}
			if c.status != 200 {
				before := e.counts()
				e.problem(rq, c.status, c.field)
				e.sameCounts(before, c.name)
				return
			}
			var got meResponse
			e.ok(rq, 200, &got)
			if got.User.Language != c.want || got.User.Username != c.as || len(got.Can) == 0 && c.as == "admin" {
				t.Fatalf("answer %+v", got)
			}
			var me meResponse
			e.ok(req{method: "GET", path: "/api/v1/me", as: c.as}, http.StatusOK, &me)
			if me.User.Language != c.want {
				t.Fatalf("/me language %q, want %q", me.User.Language, c.want)
			}
			log, err := e.db.AuditLog(e.ctx, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			last := log[len(log)-1]
			if last.Action != "user.preferences" || last.Actor != c.as || !strings.Contains(last.Object, fmt.Sprint(e.users[c.as].ID)) {
				t.Errorf("audit %+v", last)
			}
		})
	}

	t.Run("cookie session needs the CSRF token", func(t *testing.T) {
		cookie, csrf := e.login("reporter")
		body := map[string]string{"language": "fr"}
		e.problem(req{method: "PUT", path: "/api/v1/me/preferences", body: body, cookies: []*http.Cookie{cookie}}, http.StatusForbidden, "X-CSRF-Token")
		var got meResponse
		e.ok(req{method: "PUT", path: "/api/v1/me/preferences", body: body, cookies: []*http.Cookie{cookie},
			header: map[string]string{"X-CSRF-Token": csrf}}, http.StatusOK, &got)
		if got.User.Language != "fr" || got.CSRFToken != csrf || got.ExpiresAt == nil {
			t.Fatalf("%+v", got)
		}
	})

	t.Run("does not undo an administrator's change", func(t *testing.T) {
		// The analyst's page was loaded before their clearance was lowered;
		// saving the language must keep the lowered clearance.
		e.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d", e.users["analyst"].ID), as: "admin",
			body: map[string]string{"clearance": "UNCLASSIFIED"}}, http.StatusOK, nil)
		var got meResponse
		e.ok(req{method: "PUT", path: "/api/v1/me/preferences", as: "analyst", body: map[string]string{"language": "fr"}}, http.StatusOK, &got)
		if got.User.Clearance != bluehelm.Unclassified || got.User.Language != "fr" {
			t.Fatalf("%+v", got.User)
		}
		// And an administrator's update keeps the user's language.
		var u bluehelm.User
		e.ok(req{method: "PUT", path: fmt.Sprintf("/api/v1/users/%d", e.users["analyst"].ID), as: "admin",
			body: map[string]string{"name": "A. Nalyst"}}, http.StatusOK, &u)
		if u.Language != "fr" {
			t.Fatalf("language after an admin update: %q", u.Language)
		}
	})
}

// seedTracks posts positions as the system: a patrol every 10 s for the last
// hour, UNCLASSIFIED, and a CONFIDENTIAL military vehicle beside it.
func (e *testEnv) seedTracks(t *testing.T) {
	t.Helper()
	var reps []ingest.Report
	for i := range 360 {
		at := e.now.Add(-time.Hour + time.Duration(i)*10*time.Second)
		reps = append(reps,
			ingest.Report{Track: bluehelm.Track{UID: "PATROL-1", Callsign: "Patrol 1", Kind: bluehelm.KindUnit, SIDC: "SFGPUCI----K"},
				Position: bluehelm.Position{UID: "PATROL-1", Time: at, Lat: 4.8 + float64(i)*1e-4, Lon: 31.5 + float64(i)*1e-4, Course: 45}},
			ingest.Report{Track: bluehelm.Track{UID: "VEH-9", Callsign: "Convoy 9", Kind: bluehelm.KindVehicle,
				Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}},
				Position: bluehelm.Position{UID: "VEH-9", Time: at.Add(time.Second), Lat: 5.8, Lon: 31.5 + float64(i)*1e-4, Course: 90}},
		)
	}
	if err := e.pipeline.Positions(e.ctx, bluehelm.SystemPrincipal("seed"), reps); err != nil {
		t.Fatal(err)
	}
}

type replayResult struct {
	From, To  time.Time
	Step      int64
	Tracks    []bluehelm.Track
	Fixes     [][5]float64
	Truncated bool
}

func TestReplay(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	e.seedTracks(t)
	at := func(d time.Duration) string { return e.now.Add(d).Format(time.RFC3339) }

	cases := []struct {
		name      string
		as, query string
		uids      []string
		perTrack  int // fixes of each track
		step      int64
	}{
		{name: "last 24 hours by default", as: "ops1", uids: []string{"PATROL-1", "VEH-9"}, perTrack: 60, step: 60},
		{name: "viewer sees only the unclassified track", as: "viewer", uids: []string{"PATROL-1"}, perTrack: 60, step: 60},
		{name: "five minutes", as: "ops1", query: "step=5m", uids: []string{"PATROL-1", "VEH-9"}, perTrack: 12, step: 300},
		{name: "seconds", as: "ops1", query: "step=600", uids: []string{"PATROL-1", "VEH-9"}, perTrack: 6, step: 600},
		{name: "every report", as: "ops1", query: "step=1s&from=" + at(-30*time.Minute) + "&to=" + at(-20*time.Minute), uids: []string{"PATROL-1", "VEH-9"}, perTrack: 60, step: 1},
		{name: "box", as: "ops1", query: "bbox=31,4.5,32,5.5", uids: []string{"PATROL-1"}, perTrack: 60, step: 60},
		{name: "empty window", as: "ops1", query: "from=" + at(-48*time.Hour) + "&to=" + at(-47*time.Hour), step: 60},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var res replayResult
			e.ok(req{method: "GET", path: "/api/v1/positions/replay?" + c.query, as: c.as}, http.StatusOK, &res)
			if res.Step != c.step || res.Truncated || !res.From.Before(res.To) {
				t.Fatalf("step %d truncated %v window %v–%v", res.Step, res.Truncated, res.From, res.To)
			}
			var uids []string
			for _, tr := range res.Tracks {
				uids = append(uids, tr.UID)
			}
			if fmt.Sprint(uids) != fmt.Sprint(c.uids) && !(len(uids) == 2 && len(c.uids) == 2 && uids[0] == c.uids[1]) {
				t.Fatalf("tracks %v, want %v", uids, c.uids)
			}
			per := map[int]int{}
			last := map[int]float64{}
			for i, f := range res.Fixes {
				ti := int(f[0])
				if ti < 0 || ti >= len(res.Tracks) {
					t.Fatalf("fix %v names no track", f)
				}
				if i > 0 && f[1] < res.Fixes[i-1][1] {
					t.Fatalf("fixes out of time order at %d", i)
				}
				if seen, ok := last[ti]; ok && f[1]-seen < float64(c.step)-10 {
					t.Fatalf("two fixes of track %d %v s apart, step %d", ti, f[1]-seen, c.step)
				}
				last[ti] = f[1]
				per[ti]++
				if res.Tracks[ti].UID == "VEH-9" && (f[3] != 5.8 || f[4] != 90) {
					t.Fatalf("fix %v", f)
				}
			}
			for i := range res.Tracks {
				if per[i] != c.perTrack {
					t.Errorf("track %s: %d fixes, want %d", res.Tracks[i].UID, per[i], c.perTrack)
				}
			}
		})
	}
	for _, c := range []struct{ query, field string }{
		{"from=" + at(-8*24*time.Hour) + "&to=" + at(0), "from"},
		{"from=" + at(0) + "&to=" + at(-time.Hour), "to"},
		{"step=0s", "step"},
		{"step=soon", "step"},
		{"step=500ms", "step"},
		{"step=49h", "step"},
		{"bbox=1,2,3", "bbox"},
		{"uid=PATROL-1", "uid"},
	} {
		t.Run(c.query, func(t *testing.T) {
			e.problem(req{method: "GET", path: "/api/v1/positions/replay?" + c.query, as: "ops1"}, http.StatusBadRequest, c.field)
		})
	}
}

// TestReplayWidensTheStep checks the output bound: a window whose tracks times
// steps exceed the cap gets a wider step, said in the answer.
func TestReplayWidensTheStep(t *testing.T) {
	e := newEnv(t)
	e.standardUsers()
	e.seedTracks(t)
	var res replayResult
	// 2 visible tracks × 7 days at 1 s = 1.2M fixes > 250,000.
	e.ok(req{method: "GET", path: "/api/v1/positions/replay?step=1s&from=" + e.now.Add(-7*24*time.Hour).Format(time.RFC3339) +
		"&to=" + e.now.Format(time.RFC3339), as: "ops1"}, http.StatusOK, &res)
	if want := int64(7 * 24 * 3600 * 2 / maxReplayFixes); res.Step < want || res.Step > want+1 {
		t.Fatalf("step %d, want about %d", res.Step, want)
	}
	// Still finer than the tracks report (every 10 s): every report is a fix.
	if len(res.Fixes) != 720 || res.Truncated {
		t.Errorf("%d fixes at step %d, truncated %v", len(res.Fixes), res.Step, res.Truncated)
	}
}
