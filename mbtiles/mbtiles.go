// Package mbtiles reads MBTiles files (the MBTiles 1.3 specification): a SQLite
// database of map tiles with a metadata table. bluehelm serves one as the
// optional higher-detail offline basemap (bluehelm serve --basemap FILE.mbtiles):
// satellite imagery or an OpenStreetMap extract prepared elsewhere, raster or
// vector.
//
// The file is opened read-only and never changed. Tiles are addressed here in the
// XYZ scheme web maps use (row 0 at the north); the file stores TMS rows (row 0 at
// the south), and Tile flips them.
package mbtiles

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // tile sizes
	_ "image/png"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver bluehelm's store uses too
)

// Format is what the tiles are.
type Format string

const (
	PBF  Format = "pbf" // Mapbox Vector Tiles, usually gzip-compressed
	PNG  Format = "png"
	JPEG Format = "jpg"
	WebP Format = "webp"
)

// ContentType is the media type of one tile of this format.
func (f Format) ContentType() string {
	switch f {
	case PBF:
		return "application/x-protobuf"
	case PNG:
		return "image/png"
	case JPEG:
		return "image/jpeg"
	case WebP:
		return "image/webp"
	}
	return "application/octet-stream"
}

// Vector reports whether the tiles are vector tiles (a "vector" source in a
// MapLibre style) rather than images ("raster").
func (f Format) Vector() bool { return f == PBF }

// Metadata is what the file says about itself.
type Metadata struct {
	Name        string
	Format      Format
	MinZoom     int
	MaxZoom     int
	Bounds      [4]float64 // west, south, east, north (WGS 84)
	Center      []float64  // lon, lat[, zoom]; nil when the file names none
	Attribution string
	Description string
	// TileSize is the width of a raster tile in pixels (256, or 512 for
	// high-density tiles), read from a tile; 512 for vector tiles, which have no
	// pixels and are drawn at that size.
	TileSize int
	// VectorLayers is the vector_layers array of the "json" metadata row, as
	// written (each {"id", "fields", ...}); empty for raster tiles.
	VectorLayers []json.RawMessage
}

// Tileset is an open MBTiles file. It is safe for concurrent use.
type Tileset struct {
	path string
	db   *sql.DB
	meta Metadata
}

// worldBounds is the web-mercator world, the spec's default for bounds.
var worldBounds = [4]float64{-180, -85.05112878, 180, 85.05112878}

// maxZoom is the deepest zoom a tile address may have: 2^30 columns fit in an
// int32 column and no real tileset goes further.
const maxZoom = 30

// Open opens an MBTiles file read-only and reads its metadata. It fails with a
// message naming what is wrong when the file is not SQLite, has no tiles table or
// metadata, or holds tiles of a format a map cannot draw.
func Open(path string) (*Tileset, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("mbtiles %s: "+format, append([]any{path}, a...)...)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fail("%w", err)
	}
	// Check the header first: SQLite opens any file read-only without complaint
	// and only fails at the first query, with "file is not a database".
	f, err := os.Open(abs)
	if err != nil {
		return nil, fail("%w", err)
	}
	head := make([]byte, 16)
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || string(head) != "SQLite format 3\x00" {
		return nil, fail("not an MBTiles file (an MBTiles file is an SQLite database; this one does not start with the SQLite header)")
	}
	// mode=ro: a basemap is never written, and read-only cannot create a journal
	// next to a file on a read-only medium (a USB stick, a mounted image).
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?mode=ro&_pragma=" + url.QueryEscape("query_only(1)")
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fail("%w", err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ts := &Tileset{path: path, db: db}
	if err := ts.readMetadata(context.Background()); err != nil {
		db.Close()
		return nil, fail("%w", err)
	}
	return ts, nil
}

// Close closes the file. Closing a nil Tileset (no basemap) does nothing.
func (t *Tileset) Close() error {
	if t == nil {
		return nil
	}
	return t.db.Close()
}

// Metadata returns what the file says about itself, with defaults filled in.
func (t *Tileset) Metadata() Metadata { return t.meta }

// Path is the file the tileset was opened from.
func (t *Tileset) Path() string { return t.path }

func (t *Tileset) readMetadata(ctx context.Context) error {
	var n int
	if err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'tiles' AND type IN ('table', 'view')`).Scan(&n); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	if n == 0 {
		return errors.New("no tiles table or view: not an MBTiles file")
	}
	if err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'metadata' AND type IN ('table', 'view')`).Scan(&n); err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	if n == 0 {
		return errors.New("no metadata table: not an MBTiles file")
	}
	rows, err := t.db.QueryContext(ctx, `SELECT name, value FROM metadata`)
	if err != nil {
		return fmt.Errorf("reading metadata: %w", err)
	}
	kv := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return fmt.Errorf("reading metadata: %w", err)
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading metadata: %w", err)
	}

	m := Metadata{Name: kv["name"], Attribution: kv["attribution"], Description: kv["description"], Bounds: worldBounds}
	switch f := strings.ToLower(kv["format"]); f {
	case "pbf", "mvt":
		m.Format = PBF
	case "png":
		m.Format = PNG
	case "jpg", "jpeg":
		m.Format = JPEG
	case "webp":
		m.Format = WebP
	case "":
		// Older files omit it; the first tile says what they hold.
		if m.Format, err = t.sniffFormat(ctx); err != nil {
			return err
		}
	default:
		return fmt.Errorf("tile format %q cannot be drawn (want pbf, png, jpg or webp)", kv["format"])
	}

	zoomFromTiles := func() error {
		var lo, hi sql.NullInt64
		if err := t.db.QueryRowContext(ctx, `SELECT min(zoom_level), max(zoom_level) FROM tiles`).Scan(&lo, &hi); err != nil {
			return fmt.Errorf("reading zoom levels: %w", err)
		}
		if !lo.Valid {
			return errors.New("the tiles table is empty")
		}
		m.MinZoom, m.MaxZoom = int(lo.Int64), int(hi.Int64)
		return nil
	}
	if kv["minzoom"] == "" || kv["maxzoom"] == "" {
		if err := zoomFromTiles(); err != nil {
			return err
		}
	}
	for _, z := range []struct {
		key string
		dst *int
	}{{"minzoom", &m.MinZoom}, {"maxzoom", &m.MaxZoom}} {
		if v := kv[z.key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > maxZoom {
				return fmt.Errorf("metadata %s %q is not a zoom level from 0 to %d", z.key, v, maxZoom)
			}
			*z.dst = n
		}
	}
	if m.MinZoom > m.MaxZoom {
		return fmt.Errorf("metadata minzoom %d is above maxzoom %d", m.MinZoom, m.MaxZoom)
	}
	if v := kv["bounds"]; v != "" {
		b, err := parseFloats(v, 4)
		if err != nil || b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90 || b[0] >= b[2] || b[1] >= b[3] {
			return fmt.Errorf("metadata bounds %q is not \"west,south,east,north\" in degrees", v)
		}
		m.Bounds = [4]float64(b)
	}
	if v := kv["center"]; v != "" {
		c, err := parseFloats(v, 0)
		if err != nil || len(c) < 2 || len(c) > 3 {
			return fmt.Errorf("metadata center %q is not \"lon,lat[,zoom]\"", v)
		}
		m.Center = c
	}
	if v := kv["json"]; v != "" {
		var doc struct {
			VectorLayers []json.RawMessage `json:"vector_layers"`
		}
		if err := json.Unmarshal([]byte(v), &doc); err != nil {
			return fmt.Errorf("metadata json is not JSON: %w", err)
		}
		for i, l := range doc.VectorLayers {
			var id struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(l, &id) != nil || id.ID == "" {
				return fmt.Errorf("metadata json: vector_layers[%d] has no id", i)
			}
		}
		m.VectorLayers = doc.VectorLayers
	}
	if m.VectorLayers == nil {
		m.VectorLayers = []json.RawMessage{}
	}
	m.TileSize = 512
	if !m.Format.Vector() {
		m.TileSize = t.rasterSize(ctx)
	}
	t.meta = m
	return nil
}

// sniffFormat names the format of a file whose metadata does not, from the magic
// bytes of one tile.
func (t *Tileset) sniffFormat(ctx context.Context) (Format, error) {
	var b []byte
	err := t.db.QueryRowContext(ctx, `SELECT tile_data FROM tiles LIMIT 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errors.New("metadata names no format and the tiles table is empty")
	}
	if err != nil {
		return "", fmt.Errorf("reading a tile: %w", err)
	}
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, nil
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return JPEG, nil
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP, nil
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return PBF, nil // vector tiles are stored gzip-compressed
	}
	return "", errors.New("metadata names no format and the tiles are not PNG, JPEG, WebP or gzip-compressed vector tiles")
}

// rasterSize reads the width of one tile; 256, the convention, when there is no
// tile or its header cannot be read (WebP is not decoded here).
func (t *Tileset) rasterSize(ctx context.Context) int {
	var b []byte
	if err := t.db.QueryRowContext(ctx, `SELECT tile_data FROM tiles LIMIT 1`).Scan(&b); err != nil {
		return 256
	}
	if c, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil && c.Width >= 64 && c.Width <= 4096 {
		return c.Width
	}
	return 256
}

func parseFloats(s string, want int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if want > 0 && len(parts) != want {
		return nil, fmt.Errorf("want %d numbers", want)
	}
	out := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out[i] = f
	}
	return out, nil
}

// ErrBadAddress is returned by Tile for a z/x/y that names no tile of the world
// (a negative number, a column or row beyond 2^z).
var ErrBadAddress = errors.New("no such tile address")

// ValidAddress reports whether z/x/y names a tile of the world in the XYZ scheme.
func ValidAddress(z, x, y int) bool {
	if z < 0 || z > maxZoom || x < 0 || y < 0 {
		return false
	}
	n := 1 << z
	return x < n && y < n
}

// Tile returns the tile at z/x/y in the XYZ scheme (row 0 at the north), as
// stored: vector tiles are usually gzip-compressed (see Gzipped). A tile the file
// does not hold is (nil, nil): maps ask for tiles outside a file's extent all the
// time, and that is not an error.
func (t *Tileset) Tile(ctx context.Context, z, x, y int) ([]byte, error) {
	if !ValidAddress(z, x, y) {
		return nil, ErrBadAddress
	}
	if z < t.meta.MinZoom || z > t.meta.MaxZoom {
		return nil, nil
	}
	row := (1 << z) - 1 - y
	var b []byte
	err := t.db.QueryRowContext(ctx, `SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?`, z, x, row).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mbtiles %s: tile %d/%d/%d: %w", t.path, z, x, y, err)
	}
	return b, nil
}

// Gzipped reports whether tile data is gzip-compressed (as vector tiles in MBTiles
// usually are), so that it can be served with Content-Encoding: gzip as it is.
func Gzipped(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }
