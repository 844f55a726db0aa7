package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// cliErr runs a command that is expected to fail and returns its error as the
// person typing sees it.
func cliErr(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	if err == nil {
		t.Fatalf("bluehelm %s succeeded, want an error\n%s", strings.Join(args, " "), out.String())
	}
	return cliMessage(err)
}

func auditCount(t *testing.T, dir string) string {
	t.Helper()
	return regexp.MustCompile(`\d+ entries verified`).FindString(cli(t, "audit", "verify", "--data", dir))
}

func TestCAInitTwice(t *testing.T) {
	dir := t.TempDir()
	out := cli(t, "ca", "init", "--data", dir, "--name", "UNMISS Mission CA")
	if !strings.Contains(out, `"UNMISS Mission CA"`) || !regexp.MustCompile(`fingerprint \(SHA-256\): [0-9a-f]{64}`).MatchString(out) {
		t.Fatalf("ca init output:\n%s", out)
	}
	before, err := os.ReadFile(filepath.Join(dir, "ca", ca.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	msg := cliErr(t, "ca", "init", "--data", dir, "--name", "Another")
	if !strings.Contains(msg, "already exists") {
		t.Fatalf("second ca init: %s", msg)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "ca", ca.KeyFile))
	if !bytes.Equal(before, after) {
		t.Fatal("second ca init replaced the CA key")
	}
	if got := auditCount(t, dir); got != "1 entries verified" {
		t.Fatalf("audit after init: %q", got)
	}
	if msg := cliErr(t, "device", "add", "x", "--user", "u", "--data", t.TempDir()); !strings.Contains(msg, "bluehelm ca init") {
		t.Fatalf("device add without a CA: %s", msg)
	}
}

// ca server-cert issues the server's certificate (for HQ's federation
// listener before its first serve), audited, chained to the mission CA.
func TestCAServerCert(t *testing.T) {
	dir := t.TempDir()
	if msg := cliErr(t, "ca", "server-cert", "--hostname", "hq.example", "--data", dir); !strings.Contains(msg, "bluehelm ca init") {
		t.Fatalf("server-cert without a CA: %s", msg)
	}
	cli(t, "ca", "init", "--data", dir)
	if msg := cliErr(t, "ca", "server-cert", "--data", dir); !strings.Contains(msg, "usage") && !strings.Contains(msg, "hostname") {
		t.Fatalf("server-cert without names: %s", msg)
	}
	out := cli(t, "ca", "server-cert", "--hostname", "hq.example,10.0.0.10", "--data", dir)
	if !strings.Contains(out, "hq.example") || !strings.Contains(out, "10.0.0.10") {
		t.Fatalf("server-cert output:\n%s", out)
	}
	pemCert, err := os.ReadFile(filepath.Join(dir, "ca", ca.ServerCertFile))
	if err != nil {
		t.Fatal(err)
	}
	mission, err := ca.Load(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	certs := parsePEMCerts(t, pemCert)
	if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: "hq.example", Roots: mission.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("the server certificate does not verify for hq.example against the mission CA: %v", err)
	}
	if err := certs[0].VerifyHostname("10.0.0.10"); err != nil {
		t.Fatal(err)
	}
	if got := auditCount(t, dir); got != "2 entries verified" {
		t.Fatalf("audit after init and server-cert: %q", got)
	}
}

func TestDeviceLifecycle(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	cli(t, "ca", "init", "--data", dir)
	cli(t, "user", "create", "--data", dir, "--username", "alice", "--role", "reporter", "--component", "police", "--clearance", "C")

	out := cli(t, "device", "add", "alpha-1", "--data", dir, "--user", "alice", "--group", "Sector 2", "--group", "medics,logistics", "--classification", "C", "--days", "30")
	serial := regexp.MustCompile(`serial:\s+([0-9a-f]+)`).FindStringSubmatch(out)
	if serial == nil || !strings.Contains(out, "added device alpha-1 for user alice") {
		t.Fatalf("device add output:\n%s", out)
	}
	// Flags before the name work too.
	cli(t, "device", "add", "--data", dir, "--user", "alice", "bravo-2")

	var devices []*bluehelm.Device
	if err := json.Unmarshal([]byte(cli(t, "device", "list", "--data", dir, "--json")), &devices); err != nil {
		t.Fatal(err)
	}
	if len(devices) != 2 {
		t.Fatalf("%d devices listed", len(devices))
	}
	i := slices.IndexFunc(devices, func(d *bluehelm.Device) bool { return d.Name == "alpha-1" })
	if i < 0 {
		t.Fatal("alpha-1 not listed")
	}
	alpha := devices[i]
	if alpha.Username != "alice" || alpha.Serial != serial[1] || !slices.Equal(alpha.Groups, []string{"Sector 2", "medics", "logistics"}) ||
		alpha.Classification != bluehelm.Confidential || alpha.RevokedAt != nil {
		t.Fatalf("alpha-1 listed as %+v", alpha)
	}
	if d := time.Until(alpha.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("alpha-1 expires in %v, want 30 days", d)
	}
	bravo := devices[1-i]
	if !slices.Equal(bravo.Groups, []string{bluehelm.DefaultGroup}) || bravo.Classification != bluehelm.Unclassified {
		t.Fatalf("defaults: %+v", bravo)
	}
	p12Path := filepath.Join(dir, "ca", ca.DevicesDir, "alpha-1.p12")
	if fi, err := os.Stat(p12Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("device keystore: %v %v", fi, err)
	}
	if table := cli(t, "device", "list", "--data", dir); !strings.Contains(table, "alpha-1") || !strings.Contains(table, "active") {
		t.Fatalf("device list:\n%s", table)
	}

	zipPath, qrPath := filepath.Join(work, "alpha-1.zip"), filepath.Join(work, "alpha-1.png")
	out = cli(t, "device", "package", "alpha-1", "--data", dir, "--host", "tak.unmiss.example", "--out", zipPath, "--qr", qrPath)
	if !strings.Contains(out, "tak.unmiss.example:8089") {
		t.Fatalf("device package output:\n%s", out)
	}
	if fi, err := os.Stat(zipPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("package file: %v %v", fi, err)
	}
	authority, err := ca.Load(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	checkPackageFile(t, zipPath, authority, alpha)
	img, err := os.ReadFile(qrPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("QR file: %v", err)
	}

	// Revocation: listed as revoked, key deleted, no more packages, audited.
	cli(t, "device", "revoke", "alpha-1", "--data", dir, "--reason", "lost on patrol")
	devices = nil
	if err := json.Unmarshal([]byte(cli(t, "device", "list", "--data", dir, "--json", "--user", "alice")), &devices); err != nil {
		t.Fatal(err)
	}
	i = slices.IndexFunc(devices, func(d *bluehelm.Device) bool { return d.Name == "alpha-1" })
	if i < 0 || devices[i].RevokedAt == nil || devices[i].RevokeReason != "lost on patrol" {
		t.Fatalf("after revoke: %+v", devices)
	}
	if _, err := os.Stat(p12Path); !os.IsNotExist(err) {
		t.Fatalf("the revoked device's key is still on disk: %v", err)
	}
	if msg := cliErr(t, "device", "package", "alpha-1", "--data", dir, "--host", "tak.unmiss.example", "--out", filepath.Join(work, "again.zip")); !strings.Contains(msg, "revoked") {
		t.Fatalf("package of a revoked device: %s", msg)
	}
	if _, err := os.Stat(filepath.Join(work, "again.zip")); !os.IsNotExist(err) {
		t.Fatal("a package was written for a revoked device")
	}
	if msg := cliErr(t, "device", "revoke", "alpha-1", "--data", dir); !strings.Contains(msg, "already revoked") {
		t.Fatalf("second revoke: %s", msg)
	}
	if msg := cliErr(t, "device", "add", "alpha-1", "--data", dir, "--user", "alice"); !strings.Contains(msg, "exists already") {
		t.Fatalf("reusing a revoked name: %s", msg)
	}
	// ca.init, user.create, 2 × device.create, device.package, device.revoke.
	if got := auditCount(t, dir); got != "6 entries verified" {
		t.Fatalf("audit: %q", got)
	}
}

// checkPackageFile reads a data package back as a TAK client would.
func checkPackageFile(t *testing.T, path string, authority *ca.CA, d *bluehelm.Device) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = b
		names = append(names, f.Name)
	}
	want := []string{"MANIFEST/manifest.xml", "server.pref", "truststore.p12", d.Name + ".p12"}
	if !slices.Equal(names, want) {
		t.Fatalf("package entries %v, want %v", names, want)
	}
	var manifest struct {
		Version  string `xml:"version,attr"`
		Contents []struct {
			ZipEntry string `xml:"zipEntry,attr"`
		} `xml:"Contents>Content"`
	}
	if err := xml.Unmarshal(files["MANIFEST/manifest.xml"], &manifest); err != nil {
		t.Fatal(err)
	}
	if manifest.Version != "2" || len(manifest.Contents) != 3 {
		t.Fatalf("manifest:\n%s", files["MANIFEST/manifest.xml"])
	}
	var prefs struct {
		Prefs []struct {
			Name    string `xml:"name,attr"`
			Entries []struct {
				Key   string `xml:"key,attr"`
				Value string `xml:",chardata"`
			} `xml:"entry"`
		} `xml:"preference"`
	}
	if err := xml.Unmarshal(files["server.pref"], &prefs); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range prefs.Prefs {
		for _, e := range p.Entries {
			got[e.Key] = e.Value
		}
	}
	for k, v := range map[string]string{
		"connectString0": "tak.unmiss.example:8089:ssl", "caLocation": "cert/truststore.p12",
		"certificateLocation": "cert/" + d.Name + ".p12", "clientPassword": "atakatak", "caPassword": "atakatak",
	} {
		if got[k] != v {
			t.Errorf("preference %s = %q, want %q", k, got[k], v)
		}
	}
	trust, err := pkcs12.DecodeTrustStore(files["truststore.p12"], "atakatak")
	if err != nil || len(trust) != 1 || !trust[0].Equal(authority.Certificate()) {
		t.Fatalf("truststore: %v", err)
	}
	_, cert, _, err := pkcs12.DecodeChain(files[d.Name+".p12"], "atakatak")
	if err != nil {
		t.Fatal(err)
	}
	if ca.Serial(cert) != d.Serial || ca.Fingerprint(cert) != d.Fingerprint {
		t.Fatal("the packaged certificate is not the registered one")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: authority.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	// The registered device passes the handshake check.
	if err := authority.DeviceCheck(registerOf{d}, time.Now)(cert); err != nil {
		t.Fatalf("packaged certificate refused: %v", err)
	}
}

type registerOf struct{ d *bluehelm.Device }

func (r registerOf) DeviceBySerial(_ context.Context, serial string) (*bluehelm.Device, error) {
	if serial != r.d.Serial {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no device")
	}
	return r.d, nil
}

func TestDeviceAddRefusals(t *testing.T) {
	dir := t.TempDir()
	cli(t, "ca", "init", "--data", dir)
	cli(t, "user", "create", "--data", dir, "--username", "bob", "--role", "viewer", "--component", "civilian", "--clearance", "U")
	cli(t, "user", "create", "--data", dir, "--username", "carol", "--role", "viewer", "--component", "civilian")
	cli(t, "user", "disable", "carol", "--data", dir)
	before := auditCount(t, dir)

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ghost-1", "--user", "ghost"}, `no user "ghost"`},
		{[]string{"bob-1"}, "user: is required"},
		{[]string{"carol-1", "--user", "carol"}, "disabled"},
		{[]string{"bob-1", "--user", "bob", "--classification", "SC"}, "above user \"bob\"'s clearance"},
		{[]string{"bob-1", "--user", "bob", "--group", "bad/group"}, "not a valid group name"},
		{[]string{"../bob", "--user", "bob"}, "name:"},
		{[]string{"bob-1", "--user", "bob", "--days", "0"}, "days"},
	} {
		msg := cliErr(t, append([]string{"device", "add", "--data", dir}, c.args...)...)
		if !strings.Contains(msg, c.want) {
			t.Errorf("device add %v: %q, want it to mention %q", c.args, msg, c.want)
		}
	}
	// Nothing was written: no device, no key file, no audit entry.
	if out := cli(t, "device", "list", "--data", dir, "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("devices after refusals: %s", out)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "ca", ca.DevicesDir)); len(entries) > 0 {
		t.Fatalf("key files written for refused devices: %v", entries)
	}
	if after := auditCount(t, dir); after != before {
		t.Fatalf("audit changed by refused adds: %s → %s", before, after)
	}

	cli(t, "device", "add", "bob-1", "--data", dir, "--user", "bob")
	key, _ := os.ReadFile(filepath.Join(dir, "ca", ca.DevicesDir, "bob-1.p12"))
	if msg := cliErr(t, "device", "add", "bob-1", "--data", dir, "--user", "bob"); !strings.Contains(msg, "exists already") {
		t.Fatalf("duplicate name: %s", msg)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca", ca.DevicesDir, "bob-1.p12")); !bytes.Equal(key, again) {
		t.Fatal("a refused duplicate replaced the first device's key")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bob-1"}, "host: is required"},
		{[]string{"bob-1", "--host", "2001:db8::1"}, "IPv6"},
		{[]string{"nobody", "--host", "tak.example"}, `no device "nobody"`},
	} {
		if msg := cliErr(t, append([]string{"device", "package", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.zip")}, c.args...)...); !strings.Contains(msg, c.want) {
			t.Errorf("device package %v: %q, want it to mention %q", c.args, msg, c.want)
		}
	}
}

// parsePEMCerts decodes every CERTIFICATE block of a PEM file.
func parsePEMCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatal("no certificate in the PEM file")
	}
	return out
}
