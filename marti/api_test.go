package marti

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/prometheus/client_golang/prometheus"
)

type apiFixture struct {
	h     http.Handler
	atts  *fakeAttachments
	dir   string
	reg   *prometheus.Registry
	files *Files
}

type testCaller struct {
	p   bluehelm.Principal
	dev *bluehelm.Device
}

var callers = map[string]testCaller{
	"alice": {alice.Principal(), &bluehelm.Device{ID: 1, Name: "alice-ANDROID-1", UserID: 1, Username: "alice",
		Groups: []string{"mission", "alpha"}, Classification: bluehelm.Unclassified, CreatedAt: t0}},
	"mike": {bluehelm.Principal{UserID: 2, Username: "mike", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Confidential},
		&bluehelm.Device{ID: 2, Name: "mike-ANDROID-2", UserID: 2, Username: "mike", Groups: []string{"mission"}, Classification: bluehelm.Unclassified, CreatedAt: t0}},
	"paul": {bluehelm.Principal{UserID: 3, Username: "paul", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Confidential},
		&bluehelm.Device{ID: 3, Name: "paul-ANDROID-3", UserID: 3, Username: "paul", Groups: []string{"police"}, Classification: bluehelm.Confidential, CreatedAt: t0}},
	"victor": {bluehelm.Principal{UserID: 5, Username: "victor", Role: bluehelm.RoleViewer, Component: bluehelm.Military},
		&bluehelm.Device{ID: 5, Name: "victor-ANDROID-5", UserID: 5, Username: "victor", Groups: []string{"mission"}, CreatedAt: t0}},
	"nodev": {bluehelm.Principal{UserID: 6, Username: "nodev", Role: bluehelm.RoleReporter, Component: bluehelm.Military}, nil},
}

// testIdentify stands in for CertIdentifier: the caller is named in a header.
func testIdentify(r *http.Request) (bluehelm.Principal, *bluehelm.Device, error) {
	c, ok := callers[r.Header.Get("X-Test-Caller")]
	if !ok {
		return bluehelm.Principal{}, nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown device certificate")
	}
	return c.p, c.dev, nil
}

func newAPIFixture(t *testing.T, mod func(*Config)) *apiFixture {
	t.Helper()
	f := &apiFixture{atts: newFakeAttachments(), dir: t.TempDir(), reg: prometheus.NewRegistry()}
	files, err := NewFiles(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	f.files = files
	now := t0
	cfg := Config{Identify: testIdentify, Attachments: f.atts, Files: files, Logger: quietLogger(), Registry: f.reg,
		Version: "1.2.3", Hostname: "localhost", NodeID: "node-1",
		Now: func() time.Time { now = now.Add(time.Second); return now },
		Directory: &fakeDirectory{contacts: []Contact{
			{UID: "ANDROID-2", Callsign: "MIKE", Username: "mike", Team: "Cyan", Role: "Team Lead", LastEventTime: t0.Add(-30 * time.Second), Connected: true},
			{UID: "ANDROID-7", Callsign: "OLD", Username: "olga", LastEventTime: t0.Add(-2 * time.Hour)},
			{UID: "ANDROID-3", Callsign: "PAUL", Username: "paul", Team: "police-only", LastEventTime: t0},
		}},
	}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewAPIHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func as(caller string, r *http.Request) *http.Request {
	r.Header.Set("X-Test-Caller", caller)
	return r
}

// storedBlobs lists committed blobs and leftover temporary files.
func storedBlobs(t *testing.T, dir string) (blobs, tmp []string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if filepath.Base(filepath.Dir(p)) == "tmp" {
			tmp = append(tmp, p)
		} else {
			blobs = append(blobs, filepath.Base(p))
		}
		return nil
	})
	return blobs, tmp
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// multipartBody builds a body with one file part (and a form field before it,
// as some clients send).
func multipartBody(t testing.TB, field, filename, ctype string, content []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("Groups", "ignored")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, field, filename))
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	p, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	p.Write(content)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func missionUpload(t testing.TB, caller, hash, filename, creator string, content []byte) *http.Request {
	body, ct := multipartBody(t, "assetfile", filename, "application/x-zip-compressed", content)
	r := newReq("POST", "/Marti/sync/missionupload?hash="+hash+"&filename="+filename+"&creatorUid="+creator, body)
	r.Header.Set("Content-Type", ct)
	return as(caller, r)
}

type zipEntry struct {
	name, body string
	symlink    bool
}

func buildZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.symlink {
			fh.SetMode(fs.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(fh)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const manifestXML = `<MissionPackageManifest version="2">
<Configuration><Parameter name="uid" value="pkg-uid-1"/><Parameter name="name" value="Patrol report"/></Configuration>
<Contents>
<Content ignore="false" zipEntry="marker-1/marker-1.cot"><Parameter name="uid" value="marker-1"/></Content>
<Content ignore="false" zipEntry="marker-1/photo.jpg"><Parameter name="uid" value="marker-1"/></Content>
</Contents></MissionPackageManifest>`

const markerCoT = `<?xml version="1.0" encoding="utf-16" standalone="yes"?>
<event version="2.0" uid="marker-1" type="a-u-G" how="h-e" time="2026-03-01T11:00:00.000Z" start="2026-03-01T11:00:00.000Z" stale="2026-03-02T11:00:00.000Z"><point lat="4.85" lon="31.58" hae="0" ce="9999999" le="9999999"/><detail/></event>`

func buildDataPackage(t testing.TB) []byte {
	return buildZip(t,
		zipEntry{name: "MANIFEST/manifest.xml", body: manifestXML},
		zipEntry{name: "marker-1/marker-1.cot", body: markerCoT},
		zipEntry{name: "marker-1/photo.jpg", body: "\xff\xd8\xff\xe0 not really a jpeg"})
}

func TestVersionRoutes(t *testing.T) {
	f := newAPIFixture(t, nil)
	w := do(t, f.h, newReq("GET", "/Marti/api/version", nil))
	if w.Code != 200 || w.Body.String() != "bluehelm 1.2.3" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("version: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	w = do(t, f.h, newReq("GET", "/Marti/api/version/config", nil))
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("version/config: %v %s", err, w.Body)
	}
	want := map[string]any{"version": "3", "type": "ServerConfig", "nodeId": "node-1",
		"data": map[string]any{"version": "1.2.3", "api": "3", "hostname": "localhost"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("version/config\n got %v\nwant %v", got, want)
	}
}

func TestClientEndPoints(t *testing.T) {
	f := newAPIFixture(t, func(c *Config) { c.Now = func() time.Time { return t0 } })
	type ep struct {
		UID, Callsign, Username, LastEventTime, LastStatus string
	}
	get := func(caller, q string) (int, []ep) {
		w := do(t, f.h, as(caller, newReq("GET", "/Marti/api/clientEndPoints"+q, nil)))
		if w.Code != 200 {
			return w.Code, nil
		}
		var env struct {
			Version, Type, NodeID string
			Data                  []ep
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		if env.Type != "com.bbn.marti.remote.ClientEndpoint" || env.Version != "3" {
			t.Errorf("envelope %+v", env)
		}
		return w.Code, env.Data
	}
	_, all := get("mike", "")
	if len(all) != 2 || all[0] != (ep{"ANDROID-2", "MIKE", "mike", "2026-03-01T11:59:30.000Z", "Connected"}) ||
		all[1].LastStatus != "Disconnected" {
		t.Errorf("military viewer: %+v", all)
	}
	if _, pol := get("paul", ""); len(pol) != 3 {
		t.Errorf("police viewer sees %d contacts", len(pol))
	}
	if _, recent := get("mike", "?secAgo=60"); len(recent) != 1 || recent[0].UID != "ANDROID-2" {
		t.Errorf("secAgo=60: %+v", recent)
	}
	if code, _ := get("mike", "?secAgo=soon"); code != 400 {
		t.Errorf("bad secAgo: %d", code)
	}
	if code, _ := get("stranger", ""); code != 401 {
		t.Errorf("unidentified caller: %d", code)
	}
	g := newAPIFixture(t, func(c *Config) { c.Directory = nil })
	w := do(t, g.h, as("mike", newReq("GET", "/Marti/api/clientEndPoints", nil)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"data":[]`) {
		t.Errorf("no directory: %d %s", w.Code, w.Body)
	}
}

func TestGroupsAll(t *testing.T) {
	f := newAPIFixture(t, nil)
	w := do(t, f.h, as("alice", newReq("GET", "/Marti/api/groups/all?useCache=true", nil)))
	var env struct {
		Version, Type, NodeID string
		Data                  []takGroup
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
		t.Fatal(err)
	}
	want := []takGroup{
		{"alpha", "IN", "2026-03-01", "SYSTEM", 0, true}, {"alpha", "OUT", "2026-03-01", "SYSTEM", 0, true},
		{"mission", "IN", "2026-03-01", "SYSTEM", 1, true}, {"mission", "OUT", "2026-03-01", "SYSTEM", 1, true},
	}
	if env.Type != "com.bbn.marti.remote.groups.Group" || env.Version != "3" || env.NodeID != "node-1" || fmt.Sprint(env.Data) != fmt.Sprint(want) {
		t.Errorf("groups: %s", w.Body)
	}
	w = do(t, f.h, as("nodev", newReq("GET", "/Marti/api/groups/all", nil)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"data":[]`) {
		t.Errorf("caller without device: %d %s", w.Code, w.Body)
	}
}

func TestMissionUploadQueryContentSearchRoundTrip(t *testing.T) {
	f := newAPIFixture(t, nil)
	pkg := buildDataPackage(t)
	hash := sha(pkg)

	// ATAK asks first: not there yet.
	if w := do(t, f.h, as("alice", newReq("GET", "/Marti/sync/missionquery?hash="+hash, nil))); w.Code != 404 {
		t.Fatalf("missionquery before upload: %d", w.Code)
	}
	w := do(t, f.h, missionUpload(t, "alice", strings.ToUpper(hash), "Patrol-report.zip", "ANDROID-1", pkg))
	wantURL := "http://127.0.0.1:8443/Marti/sync/content?hash=" + hash
	if w.Code != 200 || w.Body.String() != wantURL {
		t.Fatalf("missionupload: %d %s", w.Code, w.Body)
	}
	w = do(t, f.h, as("mike", newReq("GET", "/Marti/sync/missionquery?hash="+hash, nil)))
	if w.Code != 200 || w.Body.String() != wantURL {
		t.Errorf("missionquery: %d %s", w.Code, w.Body)
	}
	// ATAK then marks the package public; accepted for a visible file, refused otherwise.
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/Marti/api/sync/metadata/" + hash + "/tool", "public", 200},
		{"/Marti/api/sync/metadata/" + hash + "/tool", "everyone", 400},
		{"/Marti/api/sync/metadata/" + strings.Repeat("0", 64) + "/tool", "public", 404},
		{"/Marti/api/sync/metadata/nothex/tool", "public", 400},
	} {
		if w := do(t, f.h, as("alice", newReq("PUT", c.path, []byte(c.body)))); w.Code != c.code {
			t.Errorf("PUT %s %q: %d, want %d", c.path, c.body, w.Code, c.code)
		}
	}

	w = do(t, f.h, as("mike", newReq("GET", "/Marti/sync/content?hash="+hash, nil)))
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), pkg) {
		t.Fatalf("content: %d (%d bytes)", w.Code, w.Body.Len())
	}
	for k, v := range map[string]string{
		"Content-Type":           "application/x-zip-compressed",
		"Content-Disposition":    `attachment; filename=Patrol-report.zip`,
		"Content-Length":         fmt.Sprint(len(pkg)),
		"X-Content-Type-Options": "nosniff",
	} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	// Resumed download.
	r := as("mike", newReq("GET", "/Marti/sync/content?hash="+hash, nil))
	r.Header.Set("Range", "bytes=10-19")
	if w := do(t, f.h, r); w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), pkg[10:20]) {
		t.Errorf("range: %d", w.Code)
	}

	w = do(t, f.h, as("mike", newReq("GET", "/Marti/sync/search?keywords=missionpackage&tool=public", nil)))
	var res struct {
		ResultCount int        `json:"resultCount"`
		Results     []metadata `json:"results"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.ResultCount != 1 || len(res.Results) != 1 {
		t.Fatalf("search: %s", w.Body)
	}
	m := res.Results[0]
	if m.UID != hash || m.Hash != hash || m.Name != "Patrol-report.zip" || m.PrimaryKey != "1" || m.SubmissionUser != "alice" ||
		m.CreatorUid != "ANDROID-1" || m.MIMEType != "application/x-zip-compressed" || m.Size != fmt.Sprint(len(pkg)) ||
		len(m.Keywords) != 1 || m.Keywords[0] != "missionpackage" || m.SubmissionDateTime != "2026-03-01T12:00:01.000Z" {
		t.Errorf("search result %+v", m)
	}
	// The raw JSON has TAK's Title-case keys.
	for _, k := range []string{`"UID"`, `"SubmissionDateTime"`, `"Keywords"`, `"MIMEType"`, `"SubmissionUser"`, `"Hash"`, `"CreatorUid"`, `"Name"`, `"Size"`, `"PrimaryKey"`} {
		if !strings.Contains(w.Body.String(), k) {
			t.Errorf("search JSON lacks %s", k)
		}
	}
	if w := do(t, f.h, as("mike", newReq("GET", "/Marti/sync/search?keywords=other", nil))); !strings.Contains(w.Body.String(), `"resultCount":0`) {
		t.Errorf("search for another keyword: %s", w.Body)
	}

	// A retry after a lost answer does not make a second record.
	if w := do(t, f.h, missionUpload(t, "alice", hash, "Patrol-report.zip", "ANDROID-1", pkg)); w.Code != 200 {
		t.Fatalf("retry: %d", w.Code)
	}
	if n := len(f.atts.all()); n != 1 {
		t.Errorf("%d records after a retry", n)
	}
	a := f.atts.all()[0]
	if a.Classification != bluehelm.Unclassified || a.Component != bluehelm.Military || a.UploadedBy != "alice" {
		t.Errorf("marking %+v", a)
	}
	if len(f.atts.audits) != 1 || f.atts.audits[0].Action != "attachment.create" {
		t.Errorf("audits %+v", f.atts.audits)
	}
	blobs, tmp := storedBlobs(t, f.dir)
	if len(blobs) != 1 || blobs[0] != hash || len(tmp) != 0 {
		t.Errorf("store holds %v, tmp %v", blobs, tmp)
	}
	if _, err := os.Stat(filepath.Join(f.dir, hash[:2], hash)); err != nil {
		t.Errorf("blob not at <dir>/<aa>/<hash>: %v", err)
	}
	if got := counterValue(t, f.reg, "bluehelm_marti_upload_bytes_total", nil); got != float64(len(pkg)) {
		t.Errorf("upload bytes metric %v, want %d", got, len(pkg))
	}
	if got := counterValue(t, f.reg, "bluehelm_marti_requests_total",
		map[string]string{"listener": "api", "route": "GET /Marti/sync/content", "code": "200"}); got != 1 {
		t.Errorf("requests metric %v", got)
	}
}

func TestSyncUploadRawAndMultipart(t *testing.T) {
	f := newAPIFixture(t, nil)
	photo := []byte("\x89PNG\r\n\x1a\n pretend image")
	r := as("alice", newReq("POST", "/Marti/sync/upload?name=photo.png&keywords=patrol,%20alpha&CreatorUid=ANDROID-1", photo))
	w := do(t, f.h, r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("raw upload: %d %s", w.Code, w.Body)
	}
	var m metadata
	json.Unmarshal(w.Body.Bytes(), &m)
	if m.Hash != sha(photo) || m.Name != "photo.png" || m.MIMEType != "image/png" || fmt.Sprint(m.Keywords) != "[patrol alpha]" || m.CreatorUid != "ANDROID-1" {
		t.Errorf("metadata %+v", m)
	}

	// iTAK: multipart, CreatorUid capitalised, name only in the part.
	doc := []byte("%PDF-1.4 report")
	body, ct := multipartBody(t, "assetfile", `C:\Users\x\report.pdf`, "", doc)
	r = as("alice", newReq("POST", "/Marti/sync/upload?keywords=missionpackage", body))
	r.Header.Set("Content-Type", ct)
	w = do(t, f.h, r)
	json.Unmarshal(w.Body.Bytes(), &m)
	if w.Code != 200 || m.Name != "report.pdf" || m.MIMEType != "application/pdf" || m.Hash != sha(doc) {
		t.Errorf("multipart upload: %d %+v", w.Code, m)
	}
	// A raw missionupload (the body is the file) is accepted too.
	pkg := buildDataPackage(t)
	r = as("alice", newReq("PUT", "/Marti/sync/missionupload?hash="+sha(pkg)+"&filename=p.zip", pkg))
	if w := do(t, f.h, r); w.Code != 200 {
		t.Errorf("raw missionupload: %d %s", w.Code, w.Body)
	}
}

func TestUploadsRefuseBadInputAndChangeNothing(t *testing.T) {
	pkg := buildDataPackage(t)
	hash := sha(pkg)
	traversal := buildZip(t, zipEntry{name: "MANIFEST/manifest.xml", body: manifestXML}, zipEntry{name: "../../etc/cron.d/x", body: "boom"})
	absolute := buildZip(t, zipEntry{name: "/etc/passwd", body: "x"})
	backslash := buildZip(t, zipEntry{name: `..\..\evil.exe`, body: "x"})
	symlink := buildZip(t, zipEntry{name: "MANIFEST/manifest.xml", body: manifestXML}, zipEntry{name: "link", body: "/etc", symlink: true})
	many := make([]zipEntry, maxZipEntries+1)
	for i := range many {
		many[i] = zipEntry{name: fmt.Sprintf("f%d", i)}
	}
	tooMany := buildZip(t, many...)
	corrupt := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 100)...)

	raw := func(caller, target string, body []byte) *http.Request {
		return as(caller, newReq("POST", target, body))
	}
	tests := []struct {
		name   string
		r      *http.Request
		status int
		field  string
	}{
		{"missionupload without hash", raw("alice", "/Marti/sync/missionupload?filename=a.zip", pkg), 400, "hash"},
		{"missionupload bad hash", raw("alice", "/Marti/sync/missionupload?hash=abc&filename=a.zip", pkg), 400, "hash"},
		{"missionupload non-hex hash", raw("alice", "/Marti/sync/missionupload?hash="+strings.Repeat("g", 64)+"&filename=a.zip", pkg), 400, "hash"},
		{"missionupload hash mismatch", missionUpload(t, "alice", sha([]byte("other")), "a.zip", "", pkg), 400, "hash"},
		{"missionupload without filename", raw("alice", "/Marti/sync/missionupload?hash="+hash, pkg), 400, "filename"},
		{"upload without name", raw("alice", "/Marti/sync/upload", []byte("x")), 400, "name"},
		{"multipart without assetfile", func() *http.Request {
			body, ct := multipartBody(t, "other", "a.zip", "", pkg)
			r := raw("alice", "/Marti/sync/upload?name=a.zip", body)
			r.Header.Set("Content-Type", ct)
			return r
		}(), 400, "assetfile"},
		{"multipart without boundary", func() *http.Request {
			r := raw("alice", "/Marti/sync/upload?name=a.zip", pkg)
			r.Header.Set("Content-Type", "multipart/form-data")
			return r
		}(), 400, "Content-Type"},
		{"too many keywords", raw("alice", "/Marti/sync/upload?name=a&keywords="+manyKeywords(bluehelm.MaxListItems+1), []byte("x")), 400, "keywords"},
		{"path traversal in data package", missionUpload(t, "alice", sha(traversal), "t.zip", "", traversal), 400, "file"},
		{"absolute path in zip", raw("alice", "/Marti/sync/upload?name=a.zip", absolute), 400, "file"},
		{"backslash path in zip", raw("alice", "/Marti/sync/upload?name=a.zip", backslash), 400, "file"},
		{"symlink in zip", raw("alice", "/Marti/sync/upload?name=a.zip", symlink), 400, "file"},
		{"too many zip entries", raw("alice", "/Marti/sync/upload?name=a.zip", tooMany), 400, "file"},
		{"corrupt zip", raw("alice", "/Marti/sync/upload?name=a.zip", corrupt), 400, "file"},
		{"viewer may not send", missionUpload(t, "victor", hash, "a.zip", "", pkg), 403, ""},
		{"caller without device", missionUpload(t, "nodev", hash, "a.zip", "", pkg), 403, ""},
		{"unidentified caller", missionUpload(t, "stranger", hash, "a.zip", "", pkg), 401, ""},
		{"GET on upload", as("alice", newReq("GET", "/Marti/sync/upload", nil)), 405, ""},
		{"unknown route", as("alice", newReq("GET", "/Marti/sync/nothing", nil)), 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t, nil)
			w := do(t, f.h, tc.r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Detail == "" {
				t.Errorf("problem: %s", w.Body)
			}
			if p.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
			if n := len(f.atts.all()); n != 0 {
				t.Errorf("%d records created", n)
			}
			if blobs, tmp := storedBlobs(t, f.dir); len(blobs)+len(tmp) != 0 {
				t.Errorf("files left: %v %v", blobs, tmp)
			}
		})
	}
}

// endless yields n zero bytes without holding them in memory.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), e.n)
	clear(p[:k])
	e.n -= k
	return int(k), nil
}

func TestUploadTooLarge(t *testing.T) {
	for _, size := range []int64{bluehelm.MaxAttachmentSize + 1, bluehelm.MaxAttachmentSize + multipartSlack + 1} {
		f := newAPIFixture(t, nil)
		r := httptestRequest("POST", "/Marti/sync/upload?name=big.bin", &endless{n: size})
		w := do(t, f.h, as("alice", r))
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d bytes: status %d %s", size, w.Code, w.Body)
		}
		if blobs, tmp := storedBlobs(t, f.dir); len(blobs)+len(tmp) != 0 || len(f.atts.all()) != 0 {
			t.Errorf("%d bytes left files %v %v", size, blobs, tmp)
		}
	}
}

func httptestRequest(method, target string, body io.Reader) *http.Request {
	r, _ := http.NewRequest(method, "http://127.0.0.1:8443"+target, body)
	r.RemoteAddr = "127.0.0.9:1234"
	r.RequestURI = target
	return r
}

func TestConfidentialPoliceUploadInvisibleToMilitary(t *testing.T) {
	f := newAPIFixture(t, nil)
	secret := []byte("police informant statement")
	hash := sha(secret)
	w := do(t, f.h, as("paul", newReq("POST", "/Marti/sync/upload?name=statement.txt&keywords=missionpackage", secret)))
	if w.Code != 200 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	if a := f.atts.all()[0]; a.Classification != bluehelm.Confidential || a.Component != bluehelm.Police {
		t.Fatalf("marking %+v", a.Marking)
	}
	public := []byte("public notice")
	do(t, f.h, as("alice", newReq("POST", "/Marti/sync/upload?name=notice.txt&keywords=missionpackage", public)))

	for _, c := range []struct {
		caller string
		sees   bool
	}{{"mike", false}, {"alice", false}, {"paul", true}} {
		w := do(t, f.h, as(c.caller, newReq("GET", "/Marti/sync/content?hash="+hash, nil)))
		if (w.Code == 200) != c.sees || (!c.sees && w.Code != 404) {
			t.Errorf("%s content: %d", c.caller, w.Code)
		}
		if !c.sees && strings.Contains(w.Body.String(), "informant") {
			t.Errorf("%s got the bytes", c.caller)
		}
		w = do(t, f.h, as(c.caller, newReq("GET", "/Marti/sync/missionquery?hash="+hash, nil)))
		if (w.Code == 200) != c.sees {
			t.Errorf("%s missionquery: %d", c.caller, w.Code)
		}
		w = do(t, f.h, as(c.caller, newReq("GET", "/Marti/sync/search?keywords=missionpackage", nil)))
		if strings.Contains(w.Body.String(), hash) != c.sees || !strings.Contains(w.Body.String(), sha(public)) {
			t.Errorf("%s search: %s", c.caller, w.Body)
		}
	}
	// The same bytes shared again by a military device get their own record, which
	// military users may see; the police record stays as it was.
	w = do(t, f.h, as("alice", newReq("POST", "/Marti/sync/upload?name=copy.txt", secret)))
	if w.Code != 200 || len(f.atts.all()) != 3 {
		t.Fatalf("second share: %d", w.Code)
	}
	w = do(t, f.h, as("mike", newReq("GET", "/Marti/sync/content?hash="+hash, nil)))
	if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Disposition"), "copy.txt") {
		t.Errorf("military copy: %d %q", w.Code, w.Header().Get("Content-Disposition"))
	}
}

func TestUploadsLinkToIncidents(t *testing.T) {
	linker := fakeLinker{"marker-1": 42, "marker-9": 99}
	tests := []struct {
		name     string
		r        func(t *testing.T) *http.Request
		incident int64
		marker   string
	}{
		{"data package with the marker's CoT", func(t *testing.T) *http.Request {
			pkg := buildDataPackage(t)
			return missionUpload(t, "alice", sha(pkg), "report.zip", "ANDROID-1", pkg)
		}, 42, "marker-1"},
		{"data package naming the marker in its manifest only", func(t *testing.T) *http.Request {
			pkg := buildZip(t, zipEntry{name: "pkg/MANIFEST/manifest.xml", body: manifestXML}, zipEntry{name: "pkg/marker-1/photo.jpg", body: "x"})
			return missionUpload(t, "alice", sha(pkg), "report.zip", "ANDROID-1", pkg)
		}, 42, "marker-1"},
		{"CreatorUid names a marker", func(t *testing.T) *http.Request {
			return as("alice", newReq("POST", "/Marti/sync/upload?name=photo.jpg&CreatorUid=marker-9", []byte("jpeg")))
		}, 99, "marker-9"},
		{"keyword names a marker", func(t *testing.T) *http.Request {
			return as("alice", newReq("POST", "/Marti/sync/upload?name=photo.jpg&keywords=photo,marker-9", []byte("jpeg")))
		}, 99, "marker-9"},
		{"plain zip is not inspected for markers", func(t *testing.T) *http.Request {
			z := buildZip(t, zipEntry{name: "marker-1/marker-1.cot", body: markerCoT})
			return as("alice", newReq("POST", "/Marti/sync/upload?name=x.zip", z))
		}, 0, ""},
		{"no marker", func(t *testing.T) *http.Request {
			return as("alice", newReq("POST", "/Marti/sync/upload?name=photo.jpg&CreatorUid=ANDROID-1", []byte("jpeg")))
		}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAPIFixture(t, func(c *Config) { c.Incidents = linker })
			if w := do(t, f.h, tc.r(t)); w.Code != 200 {
				t.Fatalf("upload: %d %s", w.Code, w.Body)
			}
			a := f.atts.all()[0]
			if a.IncidentID != tc.incident {
				t.Errorf("linked to %d, want %d", a.IncidentID, tc.incident)
			}
			var linkAudit *bluehelm.AuditEntry
			for i, e := range f.atts.audits {
				if e.Action == "attachment.link" {
					linkAudit = &f.atts.audits[i]
				}
			}
			if (linkAudit != nil) != (tc.incident != 0) ||
				(linkAudit != nil && (!strings.Contains(string(linkAudit.Detail), tc.marker) || linkAudit.Actor != "alice")) {
				t.Errorf("link audit %+v", linkAudit)
			}
		})
	}
}

func TestCertIdentifier(t *testing.T) {
	ca := newTestCA(t)
	csr, _ := parseCSR(makeCSR(t, ecKey(t)))
	cert, err := ca.SignClientCSR(csr, "alice-ANDROID-1", 24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ca.SignClientCSR(csr, "alice-ANDROID-1", 24*time.Hour, t0)
	fp := sha256.Sum256(cert.Raw)
	revoked := t0
	base := bluehelm.Device{ID: 1, Name: "alice-ANDROID-1", UserID: 1, Serial: cert.SerialNumber.Text(16),
		Fingerprint: hex.EncodeToString(fp[:]), Groups: []string{"mission"}, NotAfter: t0.Add(24 * time.Hour)}
	users := userMap{1: alice, 4: dave}
	tests := []struct {
		name   string
		dev    func(d *bluehelm.Device)
		peer   *tls.ConnectionState
		wantOK bool
	}{
		{"active device", nil, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, true},
		{"no TLS", nil, nil, false},
		{"no client certificate", nil, &tls.ConnectionState{}, false},
		{"unknown serial", nil, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{other}}, false},
		{"fingerprint differs", func(d *bluehelm.Device) { d.Fingerprint = strings.Repeat("0", 64) }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, false},
		{"revoked", func(d *bluehelm.Device) { d.RevokedAt = &revoked }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, false},
		{"expired", func(d *bluehelm.Device) { d.NotAfter = t0 }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, false},
		{"disabled user", func(d *bluehelm.Device) { d.UserID = 4 }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, false},
		{"missing user", func(d *bluehelm.Device) { d.UserID = 77 }, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			devs := newFakeDevices()
			d := base
			if tc.dev != nil {
				tc.dev(&d)
			}
			devs.byName[d.Name] = &d
			id := CertIdentifier(devs, users, func() time.Time { return t0.Add(time.Hour) })
			r := newReq("GET", "/Marti/api/groups/all", nil)
			r.TLS = tc.peer
			p, dev, err := id(r)
			if tc.wantOK {
				if err != nil || p.Username != "alice" || p.Component != bluehelm.Military || dev == nil || dev.ID != 1 {
					t.Errorf("got %+v %+v %v", p, dev, err)
				}
				return
			}
			if bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
				t.Errorf("err %v, want unauthenticated", err)
			}
		})
	}
}

type userMap map[int64]*bluehelm.User

func (m userMap) User(_ context.Context, id int64) (*bluehelm.User, error) {
	if u, ok := m[id]; ok {
		return u, nil
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no user %d", id)
}

func manyKeywords(n int) string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprint("k", i))
	}
	return strings.Join(s, ",")
}
