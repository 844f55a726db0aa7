package marti

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Bounds on what is read from an uploaded zip. A data package from ATAK holds a
// manifest, a few CoT files and attachments; these are far above that and far
// below what could tie up the server (the zip is never extracted, only the
// manifest and .cot entries are read, each through a limit).
const (
	maxZipEntries  = 2000
	maxCoTEntries  = 500
	maxEntryRead   = 1 << 20
	maxTotalRead   = 16 << 20
	maxMarkerUIDs  = 100
	maxMarkerUIDLn = 256
)

var zipMagic = []byte("PK\x03\x04")
var emptyZipMagic = []byte("PK\x05\x06")

// looksLikeZip reports whether the content starts like a zip archive; names and
// content types from clients are not trusted for this.
func looksLikeZip(ra io.ReaderAt, size int64) bool {
	if size < 4 {
		return false
	}
	b := make([]byte, 4)
	if _, err := ra.ReadAt(b, 0); err != nil {
		return false
	}
	return string(b) == string(zipMagic) || string(b) == string(emptyZipMagic)
}

// dataPackage is what an uploaded zip reveals.
type dataPackage struct {
	manifest bool     // has MANIFEST/manifest.xml: an ATAK data (mission) package
	markers  []string // uids of the CoT events it carries (manifest and .cot files)
}

// inspectZip checks an uploaded zip and, for a data package, collects the uids
// of the map items it carries. A zip with an entry that could escape an
// extraction directory (absolute path, "..", backslash, drive letter, symlink)
// is refused: bluehelm never extracts, but every TAK client that receives the
// package does.
//
// Data package layout (ATAK's MissionPackageManifest version 2, as described by
// client and server projects): MANIFEST/manifest.xml with
// <Contents><Content zipEntry=…><Parameter name="uid" value=…/></Content>; CoT
// items are stored as <uid>/<uid>.cot; paths are relative to the directory that
// holds MANIFEST/.
func inspectZip(ra io.ReaderAt, size int64) (dataPackage, error) {
	var dp dataPackage
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return dp, invalid("file", "the zip archive cannot be read: %v", err)
	}
	if len(zr.File) > maxZipEntries {
		return dp, invalid("file", "the zip archive has %d entries; at most %d are accepted", len(zr.File), maxZipEntries)
	}
	var manifest *zip.File
	var cots []*zip.File
	for _, f := range zr.File {
		if !safeZipName(f.Name) {
			return dp, invalid("file", "zip entry %q is not a relative path inside the archive", f.Name)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			return dp, invalid("file", "zip entry %q is a symbolic link", f.Name)
		}
		lower := strings.ToLower(f.Name)
		switch {
		case lower == "manifest/manifest.xml" || strings.HasSuffix(lower, "/manifest/manifest.xml"):
			if manifest == nil {
				manifest = f
			}
		case path.Ext(lower) == ".cot" && len(cots) < maxCoTEntries:
			cots = append(cots, f)
		}
	}
	if manifest == nil {
		// A plain zip: stored as a file, its contents mean nothing here.
		return dp, nil
	}
	dp.manifest = true
	budget := int64(maxTotalRead)
	seen := map[string]bool{}
	add := func(uid string) {
		if uid != "" && len(uid) <= maxMarkerUIDLn && !strings.ContainsFunc(uid, isControl) &&
			!seen[uid] && len(dp.markers) < maxMarkerUIDs {
			seen[uid] = true
			dp.markers = append(dp.markers, uid)
		}
	}
	read := func(f *zip.File, fn func(io.Reader) error) error {
		if budget <= 0 {
			return nil
		}
		rc, err := f.Open()
		if err != nil {
			return invalid("file", "zip entry %q cannot be read: %v", f.Name, err)
		}
		defer rc.Close()
		n := min(int64(maxEntryRead), budget)
		lr := &io.LimitedReader{R: rc, N: n}
		err = fn(lr)
		budget -= n - lr.N
		return err
	}
	// CoT files first: they are the map items themselves. Unparsable ones are
	// skipped rather than refused; they cannot harm anyone and ATAK ignores them
	// too.
	for _, f := range cots {
		if err := read(f, func(r io.Reader) error {
			add(cotEventUID(r))
			return nil
		}); err != nil {
			return dp, err
		}
	}
	if err := read(manifest, func(r io.Reader) error {
		for _, uid := range manifestContentUIDs(r) {
			add(uid)
		}
		return nil
	}); err != nil {
		return dp, err
	}
	return dp, nil
}

// safeZipName reports whether a zip entry name stays inside the extraction
// directory on every client OS.
func safeZipName(n string) bool {
	if n == "" || strings.ContainsAny(n, "\\\x00") || strings.HasPrefix(n, "/") {
		return false
	}
	if len(n) >= 2 && n[1] == ':' {
		return false
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// newXMLDecoder ignores the declared encoding: WinTAK has been seen declaring
// utf-16 for UTF-8 bytes, and CoT is UTF-8 in practice.
func newXMLDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return d
}

// cotEventUID returns the uid attribute of a CoT document's root <event>, or "".
func cotEventUID(r io.Reader) string {
	d := newXMLDecoder(r)
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "event" {
				return ""
			}
			for _, a := range se.Attr {
				if a.Name.Local == "uid" {
					return strings.TrimSpace(a.Value)
				}
			}
			return ""
		}
	}
}

// manifestContentUIDs returns the uid parameters of a manifest's <Content>
// entries (ATAK writes one for each map item in the package). The package's own
// uid, under <Configuration>, is not a map item and is skipped.
func manifestContentUIDs(r io.Reader) []string {
	d := newXMLDecoder(r)
	var out []string
	depthInContent := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "Content" {
				depthInContent++
			}
			if depthInContent > 0 && t.Name.Local == "Parameter" {
				var name, value string
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "name":
						name = a.Value
					case "value":
						value = a.Value
					}
				}
				if name == "uid" {
					out = append(out, strings.TrimSpace(value))
				}
			}
		case xml.EndElement:
			if t.Name.Local == "Content" && depthInContent > 0 {
				depthInContent--
			}
		}
	}
}
