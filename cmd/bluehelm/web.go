package main

import (
	"flag"
	"fmt"
	"log/slog"
	"sync"

	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/mbtiles"
	"github.com/bluehelm/bluehelm/places"
)

// webFlags are the browser app's options, shared by serve and demo.
type webFlags struct {
	basemap string
}

func (w *webFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.basemap, "basemap", env("basemap", ""),
		"MBTiles file (raster or vector tiles) served as the offline basemap; empty for the embedded Natural Earth one [BLUEHELM_BASEMAP]")
}

// openBasemap opens the --basemap file, so that a wrong path or a file that is
// not MBTiles stops the server at start with the reason, rather than leaving a
// blank map to be discovered later.
func (w *webFlags) openBasemap(log *slog.Logger) (*mbtiles.Tileset, error) {
	if w.basemap == "" {
		return nil, nil
	}
	ts, err := mbtiles.Open(w.basemap)
	if err != nil {
		return nil, fmt.Errorf("--basemap: %w", err)
	}
	m := ts.Metadata()
	log.Info("basemap", "file", w.basemap, "format", m.Format, "zoom", fmt.Sprintf("%d-%d", m.MinZoom, m.MaxZoom), "bounds", m.Bounds)
	return ts, nil
}

// gazetteer adapts the embedded places index to the HTTP server's interface. The
// index is built on the first search: it takes a moment and some memory, which a
// server nobody searches from need not spend.
type gazetteer struct {
	load func() (*places.Index, error)
	log  *slog.Logger
}

func newGazetteer(log *slog.Logger) *gazetteer {
	return &gazetteer{load: sync.OnceValues(places.Load), log: log}
}

func (g *gazetteer) Search(q string, limit int) []http.Place {
	ix, err := g.load()
	if err != nil {
		g.log.Error("loading the gazetteer", "err", err)
		return nil
	}
	found := ix.Search(q, limit)
	out := make([]http.Place, len(found))
	for i, p := range found {
		out[i] = http.Place{Name: p.Name, Country: p.Country, Admin1: p.Admin1, Lat: p.Lat, Lon: p.Lon, Population: p.Population, Kind: p.Kind}
	}
	return out
}
