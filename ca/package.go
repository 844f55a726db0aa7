package ca

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// DefaultPort is the TAK streaming TLS port clients expect.
const DefaultPort = 8089

// Entries of a data package. The files sit at the root of the zip, not in a "certs/"
// folder as in TAK Server's documentation: ATAK files each entry by its type wherever
// it is, but iTAK only finds the preferences and keystores at the root. Both resolve
// the "cert/NAME" locations in the preferences by file name.
const (
	ManifestEntry   = "MANIFEST/manifest.xml"
	PrefEntry       = "server.pref"
	TrustStoreEntry = "truststore.p12"
)

// PackageOptions describe a device's connection data package.
type PackageOptions struct {
	Name        string              // the device name: NAME.p12 in the package
	Host        string              // DNS name or IPv4 address the device connects to
	Port        int                 // 0 means DefaultPort
	Description string              // the server's label in the client; "" means "bluehelm"
	Device      *DeviceCredentials  // the device's key and certificate
	CACerts     []*x509.Certificate // the chain to trust (CA.CACerts)
	Password    string              // for both keystores; "" means DefaultPassword
	UID         string              // the package's uid; "" means a random UUID
	Modified    time.Time           // time stamp of the zip entries; zero means now
}

// Package builds the data package (a .zip) that configures an ATAK, WinTAK or iTAK
// client in one import: a server connection to HOST:PORT over TLS, the CA truststore
// and the device's own keystore.
func Package(opts PackageOptions) ([]byte, error) {
	if err := checkDeviceName(opts.Name); err != nil {
		return nil, err
	}
	if err := checkConnectHost(opts.Host); err != nil {
		return nil, err
	}
	if opts.Port == 0 {
		opts.Port = DefaultPort
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, bluehelm.Invalid("port", "must be 1-65535")
	}
	if opts.Device == nil || opts.Device.Key == nil || opts.Device.Certificate == nil {
		return nil, errors.New("ca: package without device credentials")
	}
	if len(opts.CACerts) == 0 {
		return nil, errors.New("ca: package without CA certificates")
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.Description == "" {
		opts.Description = "bluehelm"
	}
	if opts.UID == "" {
		uid, err := newUUID()
		if err != nil {
			return nil, err
		}
		opts.UID = uid
	}
	if opts.Modified.IsZero() {
		opts.Modified = time.Now()
	}

	clientP12, err := p12Encoder.Encode(opts.Device.Key, opts.Device.Certificate, opts.CACerts, opts.Password)
	if err != nil {
		return nil, err
	}
	trust, err := EncodeTrustStore(opts.CACerts, opts.Password)
	if err != nil {
		return nil, err
	}
	clientEntry := opts.Name + ".p12"
	pref, err := marshalXML(preferences{Prefs: []preference{
		{Version: "1", Name: "cot_streams", Entries: []prefEntry{
			intEntry("count", 1),
			stringEntry("description0", opts.Description),
			boolEntry("enabled0", true),
			stringEntry("connectString0", opts.Host+":"+strconv.Itoa(opts.Port)+":ssl"),
		}},
		{Version: "1", Name: "com.atakmap.app_preferences", Entries: []prefEntry{
			boolEntry("displayServerConnectionWidget", true),
			stringEntry("caLocation", "cert/"+TrustStoreEntry),
			stringEntry("caPassword", opts.Password),
			stringEntry("certificateLocation", "cert/"+clientEntry),
			stringEntry("clientPassword", opts.Password),
		}},
	}})
	if err != nil {
		return nil, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{PrefEntry, pref},
		{TrustStoreEntry, trust},
		{clientEntry, clientP12},
	}
	m := manifest{Version: "2", Configuration: manifestConfig{Parameters: []manifestParam{
		{Name: "uid", Value: opts.UID},
		{Name: "name", Value: "bluehelm-" + opts.Name},
		// The package holds a private key: once imported, the client deletes the zip
		// so the key lives only in its keystore.
		{Name: "onReceiveDelete", Value: "true"},
	}}}
	for _, f := range files {
		m.Contents.Contents = append(m.Contents.Contents, manifestContent{Ignore: "false", ZipEntry: f.name})
	}
	manifestXML, err := marshalXML(m)
	if err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range append([]struct {
		name string
		data []byte
	}{{ManifestEntry, manifestXML}}, files...) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: opts.Modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkConnectHost accepts what a TAK connect string (HOST:PORT:PROTO) can carry: a
// DNS name or an IPv4 address. An IPv6 literal's colons would split the string wrong.
func checkConnectHost(host string) error {
	if host == "" {
		return bluehelm.Invalid("host", "the address devices connect to is required")
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		if ip.To4() == nil {
			return bluehelm.Invalid("host", "TAK clients cannot take an IPv6 address here; give a DNS name or an IPv4 address")
		}
		return nil
	}
	if !validDNSName(strings.ToLower(host)) {
		return bluehelm.Invalid("host", "%q is neither a DNS name nor an IPv4 address (give no port or scheme)", host)
	}
	return nil
}

// TAK preference files: <preferences><preference name=…><entry key=… class=…>value.
type preferences struct {
	XMLName xml.Name     `xml:"preferences"`
	Prefs   []preference `xml:"preference"`
}

type preference struct {
	Version string      `xml:"version,attr"`
	Name    string      `xml:"name,attr"`
	Entries []prefEntry `xml:"entry"`
}

// prefEntry's class is a Java class name as ATAK writes it ("class java.lang.String").
type prefEntry struct {
	Key   string `xml:"key,attr"`
	Class string `xml:"class,attr"`
	Value string `xml:",chardata"`
}

func stringEntry(k, v string) prefEntry { return prefEntry{k, "class java.lang.String", v} }
func boolEntry(k string, v bool) prefEntry {
	return prefEntry{k, "class java.lang.Boolean", strconv.FormatBool(v)}
}
func intEntry(k string, v int) prefEntry {
	return prefEntry{k, "class java.lang.Integer", strconv.Itoa(v)}
}

type manifest struct {
	XMLName       xml.Name         `xml:"MissionPackageManifest"`
	Version       string           `xml:"version,attr"`
	Configuration manifestConfig   `xml:"Configuration"`
	Contents      manifestContents `xml:"Contents"`
}

type manifestConfig struct {
	Parameters []manifestParam `xml:"Parameter"`
}

type manifestParam struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type manifestContents struct {
	Contents []manifestContent `xml:"Content"`
}

type manifestContent struct {
	Ignore   string `xml:"ignore,attr"`
	ZipEntry string `xml:"zipEntry,attr"`
}

func marshalXML(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`+"\n"), append(b, '\n')...), nil
}

// newUUID returns a random (version 4) UUID, the form TAK clients use for uids.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
