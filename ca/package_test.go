package ca

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/xml"
	"image/png"
	"io"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// readZip returns the entries of a zip by name, in order.
func readZip(t *testing.T, b []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = data
		names = append(names, f.Name)
	}
	return files, names
}

// checkPackage verifies a data package as a TAK client reads it: the manifest lists
// every file, the preferences point at the keystores and carry their password, the
// truststore holds the CA and the device keystore a key matching a certificate from
// the CA. It returns the parsed preferences (key → value).
func checkPackage(t *testing.T, zipData []byte, c *CA, name, password string) map[string]string {
	t.Helper()
	files, names := readZip(t, zipData)
	want := []string{ManifestEntry, PrefEntry, TrustStoreEntry, name + ".p12"}
	if !slices.Equal(names, want) {
		t.Fatalf("package entries %v, want %v", names, want)
	}

	var m manifest
	if err := xml.Unmarshal(files[ManifestEntry], &m); err != nil {
		t.Fatalf("manifest: %v\n%s", err, files[ManifestEntry])
	}
	if m.Version != "2" {
		t.Fatalf("manifest version %q", m.Version)
	}
	params := map[string]string{}
	for _, p := range m.Configuration.Parameters {
		params[p.Name] = p.Value
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(params["uid"]) {
		t.Fatalf("manifest uid %q is not a random UUID", params["uid"])
	}
	if params["name"] == "" {
		t.Fatal("manifest has no name")
	}
	var listed []string
	for _, ct := range m.Contents.Contents {
		if ct.Ignore != "false" {
			t.Fatalf("content %q ignored", ct.ZipEntry)
		}
		listed = append(listed, ct.ZipEntry)
	}
	if !slices.Equal(listed, want[1:]) {
		t.Fatalf("manifest lists %v, want %v", listed, want[1:])
	}

	var p preferences
	if err := xml.Unmarshal(files[PrefEntry], &p); err != nil {
		t.Fatalf("preferences: %v\n%s", err, files[PrefEntry])
	}
	prefs := map[string]string{}
	classes := map[string]string{}
	for _, pr := range p.Prefs {
		for _, e := range pr.Entries {
			prefs[pr.Name+"/"+e.Key] = e.Value
			classes[e.Key] = e.Class
		}
	}
	for k, v := range map[string]string{
		"cot_streams/count":                                         "1",
		"cot_streams/enabled0":                                      "true",
		"com.atakmap.app_preferences/caLocation":                    "cert/truststore.p12",
		"com.atakmap.app_preferences/certificateLocation":           "cert/" + name + ".p12",
		"com.atakmap.app_preferences/caPassword":                    password,
		"com.atakmap.app_preferences/clientPassword":                password,
		"com.atakmap.app_preferences/displayServerConnectionWidget": "true",
	} {
		if prefs[k] != v {
			t.Errorf("preference %s = %q, want %q", k, prefs[k], v)
		}
	}
	if classes["count"] != "class java.lang.Integer" || classes["enabled0"] != "class java.lang.Boolean" || classes["connectString0"] != "class java.lang.String" {
		t.Errorf("preference classes %v", classes)
	}

	certs, err := pkcs12.DecodeTrustStore(files[TrustStoreEntry], password)
	if err != nil {
		t.Fatalf("truststore: %v", err)
	}
	if len(certs) != 1 || !certs[0].Equal(c.Certificate()) {
		t.Fatal("truststore does not hold the mission CA")
	}
	key, cert, chain, err := pkcs12.DecodeChain(files[name+".p12"], password)
	if err != nil {
		t.Fatalf("device keystore: %v", err)
	}
	if cert.Subject.CommonName != name {
		t.Fatalf("device certificate CN %q", cert.Subject.CommonName)
	}
	if len(chain) != 1 || !chain[0].Equal(c.Certificate()) {
		t.Fatal("device keystore lacks the CA chain")
	}
	if !publicKeysEqual(cert.PublicKey, key.(crypto.Signer).Public()) {
		t.Fatal("device key does not match its certificate")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: c.Pool(), CurrentTime: cert.NotBefore.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("device certificate does not verify: %v", err)
	}
	return prefs
}

func TestPackage(t *testing.T) {
	c := testCA(t)
	creds, err := c.IssueDevice("golf-7", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Package(PackageOptions{Name: "golf-7", Host: "tak.unmiss.example", Device: creds, CACerts: c.CACerts()})
	if err != nil {
		t.Fatal(err)
	}
	prefs := checkPackage(t, b, c, "golf-7", DefaultPassword)
	if got := prefs["cot_streams/connectString0"]; got != "tak.unmiss.example:8089:ssl" {
		t.Fatalf("connectString0 %q", got)
	}
	if prefs["cot_streams/description0"] != "bluehelm" {
		t.Fatalf("description0 %q", prefs["cot_streams/description0"])
	}

	// Own password, port and a description that needs escaping.
	b, err = Package(PackageOptions{Name: "golf-7", Host: "192.0.2.10", Port: 8443, Description: `Juba <JOC> & "sector 2"`, Device: creds, CACerts: c.CACerts(), Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	prefs = checkPackage(t, b, c, "golf-7", "s3cret")
	if prefs["cot_streams/connectString0"] != "192.0.2.10:8443:ssl" || prefs["cot_streams/description0"] != `Juba <JOC> & "sector 2"` {
		t.Fatalf("prefs %v", prefs)
	}

	for _, o := range []PackageOptions{
		{Name: "golf-7", Host: "", Device: creds, CACerts: c.CACerts()},
		{Name: "golf-7", Host: "2001:db8::1", Device: creds, CACerts: c.CACerts()},
		{Name: "golf-7", Host: "tak.example:8089", Device: creds, CACerts: c.CACerts()},
		{Name: "golf-7", Host: "tak.example", Port: 70000, Device: creds, CACerts: c.CACerts()},
		{Name: "../golf", Host: "tak.example", Device: creds, CACerts: c.CACerts()},
	} {
		if _, err := Package(o); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("Package(%q, %q, %d): %v", o.Name, o.Host, o.Port, err)
		}
	}
}

func decodeQR(t *testing.T, pngData []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("QR is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dx() != b.Dy() {
		t.Fatalf("QR image %v", b)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR does not decode: %v", err)
	}
	return res.GetText()
}

func TestQR(t *testing.T) {
	itak := ITAKQuickConnect("UNMISS, Juba", "tak.unmiss.example", 0)
	if itak != "UNMISS Juba,tak.unmiss.example,8089,ssl" {
		t.Fatalf("iTAK quick connect %q", itak)
	}
	atak := ATAKEnrollURL("tak.unmiss.example", "j.doe", "a&b=c d")
	if atak != "tak://com.atakmap.app/enroll?host=tak.unmiss.example&username=j.doe&token=a%26b%3Dc%20d" {
		t.Fatalf("ATAK enrollment URL %q", atak)
	}
	for _, text := range []string{itak, atak} {
		png, err := QR(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, png); got != text {
			t.Fatalf("QR round trip: %q, want %q", got, text)
		}
	}
}
