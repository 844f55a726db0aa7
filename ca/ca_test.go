package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// t0 is a whole second (certificates keep no more) a day ago, so that certificates
// issued "at t0" are valid for the real handshakes some tests make.
var t0 = time.Now().UTC().Truncate(time.Second).Add(-24 * time.Hour)

var (
	sharedOnce sync.Once
	sharedDir  string
	sharedErr  error
)

// testCA returns a CA in a fresh directory of its own. The CA itself is made once per
// test run (a 3072-bit key takes a while, more so under -race) and copied.
func testCA(t *testing.T) *CA {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "bluehelm-ca-test")
		if sharedErr == nil {
			_, sharedErr = Init(sharedDir, "Test Mission CA", t0)
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	dir := t.TempDir()
	for _, f := range []string{CertFile, KeyFile} {
		b, err := os.ReadFile(filepath.Join(sharedDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

func TestInitLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if _, err := Load(dir); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND || !strings.Contains(err.Error(), "bluehelm ca init") {
		t.Fatalf("Load without a CA: %v", err)
	}
	c, err := Init(dir, "UNMISS Mission CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	cert := c.Certificate()
	if !cert.IsCA || cert.Subject.CommonName != "UNMISS Mission CA" || cert.MaxPathLen != 0 || !cert.MaxPathLenZero {
		t.Fatalf("CA certificate: IsCA %v CN %q pathlen %d", cert.IsCA, cert.Subject.CommonName, cert.MaxPathLen)
	}
	if got := cert.NotAfter.Sub(t0); got < CAValidity || got > CAValidity+time.Hour {
		t.Fatalf("CA lives %v, want 10 years", got)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Fatalf("not self-signed: %v", err)
	}
	if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != caKeyBits {
		t.Fatalf("CA key %T", cert.PublicKey)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key mode %v, want 0600", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	if _, err := Init(dir, "Another CA", t0); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Init: %v", err)
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Certificate().Equal(cert) {
		t.Fatal("Load returned another certificate")
	}

	// A key without its certificate (a crash between the two writes) is reported
	// as incomplete, and Init still refuses to overwrite the key.
	if err := os.Remove(filepath.Join(dir, CertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("Load of a half CA: %v", err)
	}
	if _, err := Init(dir, "x", t0); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("Init over a half CA: %v", err)
	}
	if _, err := Init(t.TempDir(), " ", t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Fatalf("Init without a name: %v", err)
	}
}

func TestIssueClient(t *testing.T) {
	c := testCA(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.IssueClient("alpha-1-tablet", &key.PublicKey, 30*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "alpha-1-tablet" || cert.IsCA {
		t.Fatalf("subject %v IsCA %v", cert.Subject, cert.IsCA)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Fatalf("ExtKeyUsage %v", cert.ExtKeyUsage)
	}
	if !cert.NotAfter.Equal(t0.Add(30 * 24 * time.Hour)) {
		t.Fatalf("NotAfter %v", cert.NotAfter)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: c.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate does not verify against the CA: %v", err)
	}
	if cert.SerialNumber.BitLen() > 128 || cert.SerialNumber.BitLen() < 64 {
		t.Fatalf("serial has %d bits", cert.SerialNumber.BitLen())
	}
	if !regexp.MustCompile(`^[0-9a-f]+$`).MatchString(Serial(cert)) || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(Fingerprint(cert)) {
		t.Fatalf("Serial %q Fingerprint %q", Serial(cert), Fingerprint(cert))
	}
	again, err := c.IssueClient("alpha-1-tablet", &key.PublicKey, 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if Serial(again) == Serial(cert) {
		t.Fatal("two certificates share a serial")
	}
	if !again.NotAfter.Equal(t0.Add(DefaultClientValidity)) {
		t.Fatalf("default validity: NotAfter %v", again.NotAfter)
	}
	// Never past the CA.
	long, err := c.IssueClient("x", &key.PublicKey, 50*365*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !long.NotAfter.Equal(c.Certificate().NotAfter) {
		t.Fatalf("certificate outlives the CA: %v > %v", long.NotAfter, c.Certificate().NotAfter)
	}
	if _, err := c.IssueClient("x", &key.PublicKey, time.Hour, c.Certificate().NotAfter.Add(time.Hour)); err == nil {
		t.Fatal("issued with an expired CA")
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.IssueClient("x", &weak.PublicKey, 0, t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Fatalf("1024-bit key: %v", err)
	}
	if _, err := c.IssueClient("", &key.PublicKey, 0, t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Fatalf("empty CN: %v", err)
	}
}

func TestSignClientCSR(t *testing.T) {
	c := testCA(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "i-am-the-admin"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := c.SignClientCSR(csr, "bravo-2-phone", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "bravo-2-phone" {
		t.Fatalf("CN %q: the CSR's subject must be ignored", cert.Subject.CommonName)
	}
	if !publicKeysEqual(cert.PublicKey, &key.PublicKey) {
		t.Fatal("certificate is not for the CSR's key")
	}
	// A CSR whose key is not the one that signed it proves nothing.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := *csr
	forged.PublicKey = &other.PublicKey
	if _, err := c.SignClientCSR(&forged, "mallory", 0, t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		t.Fatalf("forged CSR: %v", err)
	}
}

func TestServerCertificate(t *testing.T) {
	c := testCA(t)
	tc, err := c.ServerCertificate([]string{"tak.unmiss.example", "10.0.0.5"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	leaf := tc.Leaf
	for _, h := range []string{"tak.unmiss.example", "10.0.0.5", "127.0.0.1", "::1", "localhost"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("server certificate does not cover %s: %v", h, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.Pool(), CurrentTime: t0, DNSName: "tak.unmiss.example"}); err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "tak.unmiss.example" {
		t.Errorf("CN %q", leaf.Subject.CommonName)
	}
	if fi, err := os.Stat(filepath.Join(c.Dir(), ServerKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("server key file: %v %v", fi, err)
	}
	// Same hosts in another order, a month later: the stored certificate is reused.
	same, err := c.ServerCertificate([]string{"10.0.0.5", "TAK.unmiss.example", "localhost"}, t0.Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if Serial(same.Leaf) != Serial(leaf) {
		t.Fatal("server certificate was not reused for the same hosts")
	}
	// Another host: a new certificate.
	moved, err := c.ServerCertificate([]string{"tak.unmiss.example"}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if Serial(moved.Leaf) == Serial(leaf) || moved.Leaf.VerifyHostname("10.0.0.5") == nil {
		t.Fatal("hosts changed but the old certificate was kept")
	}
	// Within 30 days of expiry: renewed.
	late := moved.Leaf.NotAfter.Add(-29 * 24 * time.Hour)
	renewed, err := c.ServerCertificate([]string{"tak.unmiss.example"}, late)
	if err != nil {
		t.Fatal(err)
	}
	if Serial(renewed.Leaf) == Serial(moved.Leaf) || !renewed.Leaf.NotAfter.After(moved.Leaf.NotAfter) {
		t.Fatal("a certificate about to expire was not renewed")
	}
	if renewed.Leaf.NotAfter.Sub(late) > ServerValidity {
		t.Fatalf("server certificate valid for %v, over Apple's 825 days", renewed.Leaf.NotAfter.Sub(late))
	}
	for _, bad := range []string{"https://tak.example", "tak.example:8089", "under_score.example", "a b"} {
		if _, err := c.ServerCertificate([]string{bad}, t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("host %q: %v", bad, err)
		}
	}
}

func TestServerCertificateReplacesMismatchedFiles(t *testing.T) {
	c := testCA(t)
	first, err := c.ServerCertificate(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	// A crash between writing the key and the certificate leaves a pair that does
	// not match: the next start must issue a new one rather than fail.
	other, err := newDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := encodeKey(other)
	if err := os.WriteFile(filepath.Join(c.Dir(), ServerKeyFile), pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := c.ServerCertificate(nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if Serial(second.Leaf) == Serial(first.Leaf) {
		t.Fatal("mismatched key and certificate were reused")
	}
}

func TestDeviceFiles(t *testing.T) {
	c := testCA(t)
	creds, err := c.IssueDevice("charlie-3", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := creds.Certificate.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Fatalf("device key: %T", creds.Certificate.PublicKey)
	}
	if _, err := c.LoadDevice("charlie-3"); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		t.Fatalf("IssueDevice must not store anything: %v", err)
	}
	if err := c.SaveDevice("charlie-3", creds); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(c.Dir(), DevicesDir, "charlie-3.p12")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("device keystore mode %v", fi.Mode().Perm())
	}
	// The stored file is a keystore a TAK client could import as it is.
	b, _ := os.ReadFile(path)
	key, cert, chain, err := pkcs12.DecodeChain(b, DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(creds.Certificate) || len(chain) != 1 || !chain[0].Equal(c.Certificate()) {
		t.Fatal("stored keystore has the wrong certificates")
	}
	if !publicKeysEqual(cert.PublicKey, key.(*rsa.PrivateKey).Public()) {
		t.Fatal("stored key does not match")
	}
	loaded, err := c.LoadDevice("charlie-3")
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Certificate.Equal(creds.Certificate) {
		t.Fatal("LoadDevice returned another certificate")
	}
	if err := c.RemoveDevice("charlie-3"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveDevice("charlie-3"); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	if _, err := c.LoadDevice("charlie-3"); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		t.Fatalf("after removal: %v", err)
	}
	for _, bad := range []string{"../escape", ".hidden", "a/b", ""} {
		if _, err := c.IssueDevice(bad, 0, t0); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("device name %q: %v", bad, err)
		}
		if err := c.SaveDevice(bad, creds); bluehelm.ErrorCode(err) != bluehelm.EINVALID {
			t.Errorf("save as %q: %v", bad, err)
		}
	}

	ts, err := c.TrustStore("secret")
	if err != nil {
		t.Fatal(err)
	}
	certs, err := pkcs12.DecodeTrustStore(ts, "secret")
	if err != nil || len(certs) != 1 || !certs[0].Equal(c.Certificate()) {
		t.Fatalf("trust store: %v %v", certs, err)
	}
	if _, err := pkcs12.DecodeTrustStore(ts, DefaultPassword); err == nil {
		t.Fatal("trust store opened with the wrong password")
	}
}

// fakeDevices is an in-memory device register for DeviceCheck.
type fakeDevices struct {
	mu      sync.Mutex
	devices map[string]*bluehelm.Device
	err     error
}

func (f *fakeDevices) DeviceBySerial(_ context.Context, serial string) (*bluehelm.Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	d, ok := f.devices[serial]
	if !ok {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no device with serial %s", serial)
	}
	cp := *d
	return &cp, nil
}

func (f *fakeDevices) add(d *bluehelm.Device) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.devices == nil {
		f.devices = map[string]*bluehelm.Device{}
	}
	f.devices[d.Serial] = d
}

func (f *fakeDevices) update(serial string, fn func(*bluehelm.Device)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.devices[serial])
}

func registered(creds *DeviceCredentials) *bluehelm.Device {
	return &bluehelm.Device{
		Name: creds.Certificate.Subject.CommonName, Serial: Serial(creds.Certificate),
		Fingerprint: Fingerprint(creds.Certificate), NotAfter: creds.Certificate.NotAfter,
	}
}

func TestDeviceCheck(t *testing.T) {
	c := testCA(t)
	now := t0.Add(time.Hour)
	clock := func() time.Time { return now }
	store := &fakeDevices{}
	check := c.DeviceCheck(store, clock)

	creds, err := c.IssueDevice("delta-4", 30*24*time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(creds.Certificate); bluehelm.ErrorCode(err) != bluehelm.EUNAUTHENTICATED {
		t.Fatalf("unknown device: %v", err)
	}
	store.add(registered(creds))
	if err := check(creds.Certificate); err != nil {
		t.Fatalf("registered device refused: %v", err)
	}

	// Same serial, another certificate: refused.
	store.update(Serial(creds.Certificate), func(d *bluehelm.Device) { d.Fingerprint = strings.Repeat("0", 64) })
	if err := check(creds.Certificate); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("fingerprint mismatch: %v", err)
	}
	store.update(Serial(creds.Certificate), func(d *bluehelm.Device) { d.Fingerprint = Fingerprint(creds.Certificate) })

	now = t0.Add(31 * 24 * time.Hour)
	if err := check(creds.Certificate); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired device: %v", err)
	}
	now = t0.Add(time.Hour)

	revoked := now
	store.update(Serial(creds.Certificate), func(d *bluehelm.Device) { d.RevokedAt = &revoked })
	if err := check(creds.Certificate); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("revoked device: %v", err)
	}

	// A certificate from another CA with a registered serial and fingerprint is
	// still refused.
	other, err := Init(t.TempDir(), "Rogue CA", t0)
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := other.IssueDevice("delta-4", 0, t0)
	if err != nil {
		t.Fatal(err)
	}
	store.add(registered(rogue))
	if err := check(rogue.Certificate); err == nil || !strings.Contains(err.Error(), "not issued by the mission CA") {
		t.Fatalf("foreign certificate: %v", err)
	}

	// The register failing refuses the device (fail closed).
	store.err = bluehelm.Errorf(bluehelm.EUNAVAILABLE, "store closed")
	if err := check(creds.Certificate); err == nil {
		t.Fatal("a failing register let a device in")
	}
}

func TestSplitHostsIPv4Mapped(t *testing.T) {
	_, ips, err := splitHosts([]string{"192.0.2.7", "[2001:db8::1]"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"192.0.2.7": true, "2001:db8::1": true, "127.0.0.1": true, "::1": true}
	if len(ips) != len(want) {
		t.Fatalf("ips %v", ips)
	}
	for _, ip := range ips {
		if !want[ip.String()] {
			t.Fatalf("unexpected %v", ip)
		}
	}
	if !ips[len(ips)-1].IsLoopback() || ips[0].IsLoopback() {
		t.Fatalf("configured addresses must come before loopback: %v", ips)
	}
}
