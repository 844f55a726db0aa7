package marti

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluehelm/bluehelm"
)

func TestFilesPutOpenDedupe(t *testing.T) {
	dir := t.TempDir()
	// A temporary file left by a crash is removed on open.
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o750)
	os.WriteFile(filepath.Join(dir, "tmp", "upload-123"), []byte("half"), 0o600)
	f, err := NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, tmp := storedBlobs(t, dir); len(tmp) != 0 {
		t.Errorf("leftover temp files: %v", tmp)
	}
	h1, n, err := f.Put(strings.NewReader("hello"))
	if err != nil || n != 5 || h1 != sha([]byte("hello")) {
		t.Fatalf("put: %s %d %v", h1, n, err)
	}
	h2, _, err := f.Put(strings.NewReader("hello"))
	if err != nil || h2 != h1 {
		t.Fatalf("second put: %s %v", h2, err)
	}
	if blobs, tmp := storedBlobs(t, dir); len(blobs) != 1 || len(tmp) != 0 {
		t.Errorf("blobs %v tmp %v", blobs, tmp)
	}
	rc, err := f.Open(h1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello" || !f.Has(h1) {
		t.Errorf("read back %q", b)
	}
	for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
		if _, err := f.Open(bad); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("Open(%q): %v", bad, err)
		}
		if f.Has(bad) {
			t.Errorf("Has(%q)", bad)
		}
	}
	if _, err := f.Open(strings.Repeat("b", 64)); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		t.Errorf("missing: %v", err)
	}
}

func TestFilesStageDiscardAndLimit(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.max = 10
	s, err := f.Stage(strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	s.Discard()
	s.Discard() // twice is harmless
	if blobs, tmp := storedBlobs(t, dir); len(blobs)+len(tmp) != 0 {
		t.Errorf("after discard: %v %v", blobs, tmp)
	}
	if _, err := f.Stage(strings.NewReader("0123456789a")); bluehelm.ErrorCode(err) != bluehelm.ETOOLARGE {
		t.Errorf("over the limit: %v", err)
	}
	if blobs, tmp := storedBlobs(t, dir); len(blobs)+len(tmp) != 0 {
		t.Errorf("after refusal: %v %v", blobs, tmp)
	}
	s, _ = f.Stage(strings.NewReader("abc"))
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err == nil {
		t.Error("second commit succeeded")
	}
}

func TestSafeZipName(t *testing.T) {
	for name, want := range map[string]bool{
		"MANIFEST/manifest.xml": true, "a/b/c.cot": true, "a/..b/c": true, "dir/": true,
		"": false, "../x": false, "a/../../x": false, "/etc/passwd": false, `a\..\x`: false, "C:/x": false, "a\x00b": false, "..": false,
	} {
		if got := safeZipName(name); got != want {
			t.Errorf("safeZipName(%q) = %v", name, got)
		}
	}
}

func TestInspectZipBoundsWhatItReads(t *testing.T) {
	// A CoT entry far larger than the per-entry limit: only its start is read, and
	// the uid is still found.
	big := `<event uid="marker-big" type="a-u-G">` + strings.Repeat("<x/>", 2*maxEntryRead/4) + `</event>`
	z := buildZip(t, zipEntry{name: "MANIFEST/manifest.xml", body: "<MissionPackageManifest/>"},
		zipEntry{name: "a/a.cot", body: big}, zipEntry{name: "b/b.cot", body: "not xml"},
		zipEntry{name: "c/c.cot", body: `<notanevent uid="x"/>`})
	dp, err := inspectZip(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if !dp.manifest || len(dp.markers) != 1 || dp.markers[0] != "marker-big" {
		t.Errorf("got %+v", dp)
	}
	if !looksLikeZip(bytes.NewReader(z), int64(len(z))) || looksLikeZip(strings.NewReader("PK"), 2) {
		t.Error("looksLikeZip")
	}
}

func TestDeviceNameBase(t *testing.T) {
	for _, tc := range []struct{ user, uid, want string }{
		{"alice", "ANDROID-0a1b", "alice-ANDROID-0a1b"},
		{"alice", "{4F2C-…}", "alice-4F2C"},
		{"alice", "///", "alice-tak"},
		{"bob", strings.Repeat("z", 100), "bob-" + strings.Repeat("z", 56)},
	} {
		got := deviceNameBase(tc.user, tc.uid)
		if got != tc.want {
			t.Errorf("deviceNameBase(%q, %q) = %q, want %q", tc.user, tc.uid, got, tc.want)
		}
		d := bluehelm.Device{Name: got + "-100", UserID: 1, Groups: []string{"mission"}}
		if err := d.Validate(); err != nil {
			t.Errorf("%q with the largest suffix is not a valid device name: %v", got, err)
		}
	}
}
