package mbtiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tile is one row of a fixture, addressed as stored (TMS row).
type tile struct {
	z, x, tmsRow int
	data         []byte
}

// fixture writes an MBTiles file with the metadata and tiles given; a nil
// metadata map leaves out the metadata table.
func fixture(t *testing.T, meta map[string]string, tiles []tile) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fixture.mbtiles")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`,
		`CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)`}
	if meta != nil {
		stmts = append(stmts, `CREATE TABLE metadata (name TEXT, value TEXT)`)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range meta {
		if _, err := db.Exec(`INSERT INTO metadata VALUES (?, ?)`, k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, tl := range tiles {
		if _, err := db.Exec(`INSERT INTO tiles VALUES (?, ?, ?, ?)`, tl.z, tl.x, tl.tmsRow, tl.data); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

var pngTile = []byte("\x89PNG\r\n\x1a\n fake image")

// pngOf encodes a blank square PNG tile of the given width.
func pngOf(t *testing.T, size int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, size, size))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestOpen(t *testing.T) {
	raster := map[string]string{"name": "Juba imagery", "format": "png", "minzoom": "0", "maxzoom": "3",
		"bounds": "31.4,4.7,31.8,5.0", "center": "31.6,4.85,2", "attribution": "© imagery provider"}
	vector := map[string]string{"name": "OSM South Sudan", "format": "pbf", "minzoom": "0", "maxzoom": "14",
		"json": `{"vector_layers":[{"id":"roads","fields":{"class":"String"}},{"id":"water","fields":{}}]}`}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		path    func(t *testing.T) string
		wantErr string
		check   func(t *testing.T, m Metadata)
	}{
		{name: "raster", path: func(t *testing.T) string { return fixture(t, raster, []tile{{0, 0, 0, pngTile}}) },
			check: func(t *testing.T, m Metadata) {
				if m.Format != PNG || m.Format.Vector() || m.MinZoom != 0 || m.MaxZoom != 3 || m.Bounds != [4]float64{31.4, 4.7, 31.8, 5.0} ||
					m.Attribution != "© imagery provider" || len(m.Center) != 3 || len(m.VectorLayers) != 0 || m.Name != "Juba imagery" ||
					m.TileSize != 256 {
					t.Errorf("%+v", m)
				}
			}},
		{name: "vector", path: func(t *testing.T) string { return fixture(t, vector, []tile{{0, 0, 0, gz([]byte("mvt"))}}) },
			check: func(t *testing.T, m Metadata) {
				if m.Format != PBF || !m.Format.Vector() || m.MaxZoom != 14 || m.Bounds != worldBounds || len(m.VectorLayers) != 2 || m.TileSize != 512 ||
					!strings.Contains(string(m.VectorLayers[0]), `"roads"`) {
					t.Errorf("%+v", m)
				}
			}},
		{name: "high-density raster", path: func(t *testing.T) string { return fixture(t, raster, []tile{{0, 0, 0, pngOf(t, 512)}}) },
			check: func(t *testing.T, m Metadata) {
				if m.TileSize != 512 {
					t.Errorf("tile size %d, want 512", m.TileSize)
				}
			}},
		{name: "jpeg spelled jpeg", path: func(t *testing.T) string { return fixture(t, with(raster, "format", "JPEG"), nil) },
			check: func(t *testing.T, m Metadata) {
				if m.Format != JPEG || m.Format.ContentType() != "image/jpeg" {
					t.Errorf("%+v", m)
				}
			}},
		{name: "format and zooms from the tiles", path: func(t *testing.T) string {
			m := with(with(with(raster, "format", ""), "minzoom", ""), "maxzoom", "")
			return fixture(t, m, []tile{{2, 0, 0, pngTile}, {5, 0, 0, pngTile}})
		}, check: func(t *testing.T, m Metadata) {
			if m.Format != PNG || m.MinZoom != 2 || m.MaxZoom != 5 {
				t.Errorf("%+v", m)
			}
		}},
		{name: "missing file", path: func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.mbtiles") },
			wantErr: "no such file"},
		{name: "not sqlite", path: func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x.mbtiles")
			os.WriteFile(p, []byte("this is a GeoTIFF, honest"), 0o600)
			return p
		}, wantErr: "not an MBTiles file"},
		{name: "empty file", path: func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x.mbtiles")
			os.WriteFile(p, nil, 0o600)
			return p
		}, wantErr: "SQLite header"},
		{name: "sqlite without tiles", path: func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "other.db")
			db, _ := sql.Open("sqlite", p)
			db.Exec(`CREATE TABLE notes (x)`)
			db.Close()
			return p
		}, wantErr: "no tiles table"},
		{name: "no metadata", path: func(t *testing.T) string { return fixture(t, nil, nil) }, wantErr: "no metadata table"},
		{name: "unknown format", path: func(t *testing.T) string { return fixture(t, with(raster, "format", "tiff"), nil) },
			wantErr: `format "tiff"`},
		{name: "unknown tiles without format", path: func(t *testing.T) string {
			return fixture(t, with(raster, "format", ""), []tile{{0, 0, 0, []byte("GIF89a")}})
		}, wantErr: "names no format"},
		{name: "empty without zooms", path: func(t *testing.T) string { return fixture(t, with(raster, "maxzoom", ""), nil) },
			wantErr: "tiles table is empty"},
		{name: "bad bounds", path: func(t *testing.T) string { return fixture(t, with(raster, "bounds", "31,5,30,4"), nil) },
			wantErr: "bounds"},
		{name: "bad zoom", path: func(t *testing.T) string { return fixture(t, with(raster, "maxzoom", "high"), nil) },
			wantErr: "maxzoom"},
		{name: "inverted zooms", path: func(t *testing.T) string { return fixture(t, with(raster, "minzoom", "9"), nil) },
			wantErr: "above maxzoom"},
		{name: "bad json", path: func(t *testing.T) string { return fixture(t, with(vector, "json", "{"), nil) },
			wantErr: "not JSON"},
		{name: "layer without id", path: func(t *testing.T) string {
			return fixture(t, with(vector, "json", `{"vector_layers":[{"fields":{}}]}`), nil)
		}, wantErr: "vector_layers[0] has no id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			ts, err := Open(path)
			if c.wantErr != "" {
				if err == nil {
					ts.Close()
					t.Fatalf("opened; want an error with %q", c.wantErr)
				}
				if !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %q, want one naming the file and %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			c.check(t, ts.Metadata())
		})
	}
}

func TestTile(t *testing.T) {
	mvt := gz([]byte("vector tile 2/1/0"))
	path := fixture(t, map[string]string{"format": "pbf", "minzoom": "1", "maxzoom": "2"}, []tile{
		// XYZ 2/1/0 (north row) is TMS row 3.
		{2, 1, 3, mvt},
		{2, 1, 0, []byte("south row")},
		{0, 0, 0, []byte("below minzoom")},
	})
	ts, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	ctx := context.Background()
	cases := []struct {
		z, x, y int
		want    []byte
		err     error
	}{
		{2, 1, 0, mvt, nil},
		{2, 1, 3, []byte("south row"), nil},
		{2, 0, 0, nil, nil}, // absent
		{1, 0, 0, nil, nil}, // absent at a served zoom
		{0, 0, 0, nil, nil}, // stored, but outside the metadata's zooms
		{3, 0, 0, nil, nil}, // deeper than maxzoom
		{2, 4, 0, nil, ErrBadAddress},
		{2, 0, -1, nil, ErrBadAddress},
		{-1, 0, 0, nil, ErrBadAddress},
		{31, 0, 0, nil, ErrBadAddress},
	}
	for _, c := range cases {
		got, err := ts.Tile(ctx, c.z, c.x, c.y)
		if !errors.Is(err, c.err) || !bytes.Equal(got, c.want) {
			t.Errorf("Tile(%d,%d,%d) = %q, %v; want %q, %v", c.z, c.x, c.y, got, err, c.want, c.err)
		}
	}
	if !Gzipped(mvt) || Gzipped([]byte("south row")) || Gzipped(nil) {
		t.Error("Gzipped")
	}
}

// TestReadOnly checks the file is not changed by serving it: no journal or WAL
// file appears beside it, so a basemap on read-only media works.
func TestReadOnly(t *testing.T) {
	path := fixture(t, map[string]string{"format": "png", "minzoom": "0", "maxzoom": "0"}, []tile{{0, 0, 0, pngTile}})
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	ts, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ts.Tile(context.Background(), 0, 0, 0); err != nil || !bytes.Equal(b, pngTile) {
		t.Fatalf("%q %v", b, err)
	}
	ts.Close()
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the tileset after reading: %v", entries)
	}
}
