package http

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// contentSecurityPolicy is sent with every file of the web app. The page makes no
// request outside its origin (the issue asks for it; the policy enforces it), runs
// no inline or evaluated script, and may not be framed.
//
//   - script-src 'self': ES modules and the vendored UMD files are files here.
//     MapLibre GL JS 6 needs no eval (its only eval is for an RTL-text plugin
//     served as a classic script, which we do not load).
//   - worker-src 'self' blob:: MapLibre 6 starts its worker as a module from
//     maplibre-gl-worker.mjs beside itself (same origin: 'self'); it falls back
//     to a blob: URL only when the worker is on another origin, allowed so that
//     a fallback in a future version does not break the map.
//   - img-src 'self' data: blob:: milsymbol symbols and MapLibre sprites may be
//     data: or blob: URLs made in the page; nothing from outside.
//   - style-src 'self' with style-src-attr 'unsafe-inline': style sheets only
//     from here, but style="" attributes allowed, which maps (marker and popup
//     positions), charts and small UI code set freely. An attribute cannot load
//     anything (url() is bound by img-src/font-src) and cannot select other
//     elements, so this is not a path to exfiltration, unlike an injected
//     <style> element, which stays forbidden.
//   - connect-src 'self': the API, tiles, glyphs and the WebSocket (CSP 3
//     'self' covers ws: and wss: to this host).
//   - frame-ancestors 'none', base-uri 'none', form-action 'self', object-src 'none'.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; " +
	"img-src 'self' data: blob:; style-src 'self'; style-src-attr 'unsafe-inline'; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// staticFiles serves the embedded web app. Each file is read, hashed and, when it
// is text-like, gzip-compressed once (on first request), and both forms are kept:
// the whole app is a few megabytes, and compressing MapLibre on every page load
// would cost ~50 ms of CPU a time on a team-site laptop.
//
// Every file is revalidated (Cache-Control: no-cache) with a strong ETag: the URLs
// carry no version, so a cached copy must be checked, and a 304 costs a round trip
// but no bytes — what matters on a thin link.
//
// Unknown paths are 404, not index.html: the app routes by location.hash, so every
// page is "/", and a missing script answered with HTML would fail with a confusing
// MIME-type error instead of a plain 404.
type staticFiles struct {
	fsys  fs.FS
	mu    sync.Mutex
	files map[string]*staticFile
}

type staticFile struct {
	once   sync.Once
	err    error
	ctype  string
	plain  []byte
	gz     []byte // nil when compression does not pay
	etag   string // of plain
	gzETag string // of gz: another representation needs another strong tag
}

func newStaticFiles(fsys fs.FS) *staticFiles {
	return &staticFiles{fsys: fsys, files: map[string]*staticFile{}}
}

// Content types by extension. Go's table depends on the host's mime.types for
// some of these; the app must not: a module script served as anything but
// JavaScript is refused by the browser (nosniff).
var staticTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".pbf":   "application/x-protobuf",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".webp":  "image/webp",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
	".md":    "text/plain; charset=utf-8",
	".wav":   "audio/wav",
	".mp3":   "audio/mpeg",
	".ogg":   "audio/ogg",
}

func staticType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := staticTypes[ext]; ok {
		return t
	}
	if base := path.Base(name); base == "LICENSE" || base == "NOTICE" || strings.HasPrefix(base, "LICENSE.") {
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible reports whether a content type is worth gzipping: text and
// structured data are; images, audio and fonts are compressed already.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") ||
		ctype == "application/x-protobuf" || ctype == "image/svg+xml"
}

func strongETag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// file returns the prepared file for name (a clean path without a leading
// slash), or fs.ErrNotExist.
func (sf *staticFiles) file(name string) (*staticFile, error) {
	sf.mu.Lock()
	f := sf.files[name]
	if f == nil {
		f = &staticFile{}
		sf.files[name] = f
	}
	sf.mu.Unlock()
	f.once.Do(func() { f.err = f.load(sf.fsys, name) })
	if f.err != nil {
		// Not kept: an fs.FS of a directory on disk (development) may gain the
		// file later, and a miss must not pin memory for every probed path.
		sf.mu.Lock()
		if sf.files[name] == f {
			delete(sf.files, name)
		}
		sf.mu.Unlock()
		return nil, f.err
	}
	return f, nil
}

func (f *staticFile) load(fsys fs.FS, name string) error {
	st, err := fs.Stat(fsys, name)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fs.ErrNotExist
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	f.plain, f.ctype, f.etag = b, staticType(name), strongETag(b)
	if compressible(f.ctype) && len(b) >= 256 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		// Keep it only if it saves at least a tenth: decompressing costs the
		// client something too.
		if buf.Len() < len(b)-len(b)/10 {
			f.gz = buf.Bytes()
			f.gzETag = strongETag(f.gz)
		}
	}
	return nil
}

func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || strings.HasSuffix(r.URL.Path, "/") {
		name = path.Join(name, "index.html")
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	f, err := sf.file(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	body, tag := f.plain, f.etag
	if f.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, tag = f.gz, f.gzETag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	serveBytes(w, r, tag, body)
}

// serveBytes answers a GET or HEAD for body, whose strong entity tag is tag:
// 304 when If-None-Match names it, else the body with its length. Ranges are
// not offered: the files are small, and a range of a gzip representation helps
// nobody. (http.ServeContent would do all this but omits Content-Length when
// the body is already compressed.)
func serveBytes(w http.ResponseWriter, r *http.Request, tag string, body []byte) {
	h := w.Header()
	h.Set("ETag", tag)
	if noneMatch(r.Header.Get("If-None-Match"), tag) {
		h.Del("Content-Type")
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// noneMatch reports whether an If-None-Match header names tag, by the weak
// comparison RFC 9110 §13.1.2 asks for (W/"x" matches "x"), or is "*".
func noneMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	tag = strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding as RFC 9110 §12.5.3 has it: gzip (or x-gzip)
// with a q-value above zero, or else * with one.
func acceptsGzip(r *http.Request) bool {
	star := false
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				return q > 0
			case "*":
				star = q > 0
			}
		}
	}
	return star
}
