package e2e

import (
	"bytes"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/mbtiles"
	"github.com/bluehelm/bluehelm/places"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestPlaceSearchAndOfflineBasemap covers what a patrol leader does on a tablet
// with a detailed offline basemap: the tiles come from the server's --basemap file,
// and the search box finds a town by name (the embedded gazetteer) and a position
// typed as "lat, lon".
func TestPlaceSearchAndOfflineBasemap(t *testing.T) {
	s := startServer(t, serverOptions{basemap: rasterTiles(t, 4), places: gazetteer{}})
	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.waitMapReady()

	// The page adds the file as a raster source and asks the server for its tiles.
	if !eval[bool](b, `Object.values(window.bluehelmMap.getStyle().sources).some(s => s.type === "raster" && (s.tiles || []).some(u => u.includes("/basemap/")))`) {
		t.Fatalf("no raster source for /basemap/ in the style: %s", eval[string](b, `JSON.stringify(Object.keys(window.bluehelmMap.getStyle().sources))`))
	}
	waitUntil(t, "basemap tiles to be fetched", stepTimeout, func() (bool, string) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.tileReqs > 0, "no /basemap/ request finished"
	})

	// A place by name: the first suggestion for "Malakal" is the town.
	b.do("typing a place name", stepTimeout,
		chromedp.Click(chromedp.CSS(`input#place-search`)),
		chromedp.SendKeys(chromedp.CSS(`input#place-search`), "Malakal"),
	)
	b.waitFor("a suggestion naming Malakal", stepTimeout,
		`Array.from(document.querySelectorAll('#place-results [role="option"]')).some(o => o.textContent.includes("Malakal"))`)
	b.do("choosing it", stepTimeout, chromedp.SendKeys(chromedp.CSS(`input#place-search`), kb.Enter))
	b.waitNear("Malakal", 31.66, 9.53, 0.2)

	// A position typed as "lat, lon" needs no server.
	b.setField(`input#place-search`, "4.85, 31.6")
	b.do("going there", stepTimeout, chromedp.SendKeys(chromedp.CSS(`input#place-search`), kb.Enter))
	b.waitNear("4.85, 31.6", 31.6, 4.85, 0.05)
}

// waitNear waits for the map to come to rest centred within tol degrees of (lon, lat).
func (b *browser) waitNear(what string, lon, lat, tol float64) {
	b.t.Helper()
	type view struct {
		Lon, Lat float64
		Moving   bool
	}
	waitUntil(b.t, "the map to centre on "+what, stepTimeout, func() (bool, string) {
		v := eval[view](b, `(m => ({lon: m.getCenter().lng, lat: m.getCenter().lat, moving: m.isMoving()}))(window.bluehelmMap)`)
		return !v.Moving && math.Abs(v.Lon-lon) <= tol && math.Abs(v.Lat-lat) <= tol, fmt.Sprintf("centre %.4f, %.4f (moving %v)", v.Lon, v.Lat, v.Moving)
	})
}

// gazetteer serves the embedded places index, loaded once for the whole test binary
// (as cmd/bluehelm loads it on the first search).
type gazetteer struct{}

var placesIndex = sync.OnceValues(places.Load)

func (gazetteer) Search(q string, limit int) []http.Place {
	ix, err := placesIndex()
	if err != nil {
		panic(err) // the embedded data is fixed at build time
	}
	var out []http.Place
	for _, p := range ix.Search(q, limit) {
		out = append(out, http.Place{Name: p.Name, Country: p.Country, Admin1: p.Admin1, Lat: p.Lat, Lon: p.Lon, Population: p.Population, Kind: p.Kind})
	}
	return out
}

// rasterTiles writes an MBTiles file holding every tile of zooms 0..maxZoom (a
// plain PNG each: what is drawn does not matter, that it is fetched from here does)
// and opens it as the server would.
func rasterTiles(t *testing.T, maxZoom int) *mbtiles.Tileset {
	t.Helper()
	path := filepath.Join(t.TempDir(), "area.mbtiles")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = []byte{0x2a, 0x4d, 0x3b, 0xff}[i%4]
	}
	img.Set(0, 0, color.White)
	var tile bytes.Buffer
	if err := png.Encode(&tile, img); err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		`CREATE TABLE metadata (name TEXT, value TEXT)`,
		`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`,
		`INSERT INTO metadata VALUES ('name', 'test imagery'), ('format', 'png'), ('minzoom', '0'), ('maxzoom', '` + strconv.Itoa(maxZoom) + `'), ('attribution', 'test imagery')`,
	}
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	for z := 0; z <= maxZoom; z++ {
		for x := 0; x < 1<<z; x++ {
			for y := 0; y < 1<<z; y++ {
				if _, err := db.Exec(`INSERT INTO tiles VALUES (?, ?, ?, ?)`, z, x, y, tile.Bytes()); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ts, err := mbtiles.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	return ts
}

// TestIncidentListWithinDrawnArea draws a triangle on the map (with the
// keyboard-and-touch path: move the map, "add the centre", finish) and checks
// that the list keeps the incident inside it and drops the one that is only
// inside its bounding box.
func TestIncidentListWithinDrawnArea(t *testing.T) {
	s := startServer(t, serverOptions{})
	open := bluehelm.Marking{Component: bluehelm.Military}
	inside := s.incident("Roadblock inside the drawn area", bluehelm.CatMovement, open, 31.57, 4.86)
	corner := s.incident("Looting in the box's empty corner", bluehelm.CatRobbery, open, 31.62, 4.95)
	far := s.incident("Clash far away in Malakal", bluehelm.CatArmedClash, open, 31.66, 9.53)

	b := newBrowser(t, s, "ops")
	b.login("ops")
	b.waitMapReady()
	want := func(what string, ids ...int64) {
		t.Helper()
		var ws []string
		for _, id := range ids {
			ws = append(ws, strconv.FormatInt(id, 10))
		}
		slices.Sort(ws)
		waitUntil(t, what, stepTimeout, func() (bool, string) {
			got := b.listIDs("ul#incident-list")
			slices.Sort(got)
			return slices.Equal(got, ws), fmt.Sprintf("list holds %v, want %v", got, ws)
		})
	}
	want("all three incidents listed", inside.ID, corner.ID, far.ID)

	b.do("starting to draw", stepTimeout, chromedp.Click(chromedp.CSS(`button#filter-area`)))
	for _, c := range [][2]float64{{31.5, 4.8}, {31.65, 4.8}, {31.5, 5.0}} {
		eval[bool](b, fmt.Sprintf(`(window.bluehelmMap.jumpTo({center: [%v, %v]}), true)`, c[0], c[1]))
		b.do("adding a corner", stepTimeout, chromedp.Click(chromedp.CSS(`button[data-bh-i18n="map.draw.addCentre"]`)))
	}
	b.do("finishing the area", stepTimeout, chromedp.Click(chromedp.CSS(`button[data-bh-i18n="map.draw.finish"]`)))
	want("only the incident inside the triangle", inside.ID)
}
