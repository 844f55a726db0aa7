package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMBTiles writes a one-tile raster MBTiles file.
func writeMBTiles(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "juba.mbtiles")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE metadata (name TEXT, value TEXT)`,
		`CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)`,
		`INSERT INTO metadata VALUES ('format', 'png'), ('minzoom', '0'), ('maxzoom', '1'), ('attribution', 'test imagery')`,
		`INSERT INTO tiles VALUES (1, 1, 0, x'89504e470d0a1a0a00')`, // XYZ 1/1/1
	} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestBasemapFlagRefusesBadFiles checks that serve and demo stop at start, with
// the reason, when --basemap is not a usable MBTiles file.
func TestBasemapFlagRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a tileset"), 0o600)
	for _, c := range []struct{ cmd, file, want string }{
		{"serve", text, "not an MBTiles file"},
		{"serve", filepath.Join(dir, "missing.mbtiles"), "no such file"},
		{"demo", text, "not an MBTiles file"},
	} {
		t.Run(c.cmd+" "+filepath.Base(c.file), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{c.cmd, "--data", filepath.Join(dir, c.cmd), "--listen", "127.0.0.1:0", "--basemap", c.file}, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "--basemap") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want --basemap … %s", err, c.want)
			}
		})
	}
}

// TestServeWebApp starts a real server with --basemap and checks what the
// browser app relies on: the page, its config, a basemap tile and the gazetteer.
func TestServeWebApp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	cli(t, "user", "create", "--data", dir, "--username", "joc", "--role", "operations", "--component", "military")
	token := strings.TrimSpace(cli(t, "user", "token", "joc", "--data", dir, "--name", "web test"))
	t.Setenv("BLUEHELM_BASEMAP", writeMBTiles(t))
	_, base := startChild(t, dir)
	get := func(path string, auth bool) (*nethttp.Response, []byte) {
		t.Helper()
		req, _ := nethttp.NewRequest("GET", base+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := nethttp.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, page := get("/", false)
	if res.StatusCode != 200 || !bytes.Contains(page, []byte("<html")) || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("page: %d %v", res.StatusCode, res.Header)
	}
	var cfg struct {
		Basemap *struct {
			Type, Attribution string
			Tiles             []string
		}
		Places            bool
		PlacesAttribution string `json:"places_attribution"`
		Version           string
	}
	_, b := get("/api/v1/config", true)
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Basemap == nil || cfg.Basemap.Type != "raster" ||
		cfg.Basemap.Attribution != "test imagery" || !cfg.Places || cfg.PlacesAttribution == "" {
		t.Fatalf("config %s (%v)", b, err)
	}
	res, b = get("/basemap/1/1/1", true)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("tile: %d %v %q", res.StatusCode, res.Header, b)
	}
	if res, _ = get("/basemap/1/0/0", true); res.StatusCode != 204 {
		t.Fatalf("missing tile: %d", res.StatusCode)
	}
	var places struct {
		Places []struct {
			Name, Country string
			Lat, Lon      float64
		}
	}
	_, b = get("/api/v1/places?q=juba&limit=3", true)
	if err := json.Unmarshal(b, &places); err != nil || len(places.Places) == 0 || places.Places[0].Name != "Juba" || places.Places[0].Country != "SS" {
		t.Fatalf("places %s (%v)", b, err)
	}
}
