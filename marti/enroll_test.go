package marti

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// The ca package is the Signer cmd/bluehelm wires in.
var _ Signer = (*ca.CA)(nil)

type enrollFixture struct {
	h       http.Handler
	ca      *testCA
	devices *fakeDevices
	reg     *prometheus.Registry
}

func newEnrollFixture(t *testing.T, mod func(*Config)) *enrollFixture {
	t.Helper()
	f := &enrollFixture{ca: newTestCA(t), devices: newFakeDevices(), reg: prometheus.NewRegistry()}
	cfg := Config{Auth: newFakeAuth(), Signer: f.ca, Devices: f.devices, Logger: quietLogger(),
		Registry: f.reg, Now: func() time.Time { return t0 }, Version: "1.2.3",
		Organization: "UNMISS", OrganizationalUnit: "JOC & TAK", CertValidity: 30 * 24 * time.Hour}
	if mod != nil {
		mod(&cfg)
	}
	h, err := NewEnrollHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// makeCSR builds a CSR as ATAK does: CN=<username>, O/OU from the config.
func makeCSR(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "alice", Organization: []string{"UNMISS"}, OrganizationalUnit: []string{"JOC"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signReq(body []byte, accept, user, pass, uid string) *http.Request {
	target := "/Marti/api/tls/signClient/v2?version=4.10.0"
	if uid != "" {
		target += "&clientUid=" + uid
	}
	r := newReq("POST", target, body)
	r.Header.Set("Content-Type", "application/octet-stream")
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	return r
}

// parseEnrollment returns the signed certificate and CAs from either answer form.
func parseEnrollment(t *testing.T, body []byte, asXML bool) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	var signed string
	var cas []string
	if asXML {
		var doc struct {
			XMLName    xml.Name `xml:"enrollment"`
			SignedCert string   `xml:"signedCert"`
			CA         []string `xml:"ca"`
		}
		if err := xml.Unmarshal(body, &doc); err != nil {
			t.Fatalf("enrollment XML: %v\n%s", err, body)
		}
		signed, cas = doc.SignedCert, doc.CA
	} else {
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("enrollment JSON: %v\n%s", err, body)
		}
		signed = m["signedCert"]
		for i := 0; ; i++ {
			v, ok := m["ca"+string(rune('0'+i))]
			if !ok {
				break
			}
			cas = append(cas, v)
		}
	}
	parse := func(s string) *x509.Certificate {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("not base64 DER: %v", err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var out []*x509.Certificate
	for _, c := range cas {
		out = append(out, parse(c))
	}
	return parse(signed), out
}

func TestSignClientIssuesVerifiableCertificateAndDevice(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec := ecKey(t)
	ecDER := makeCSR(t, ec)
	rsaDER := makeCSR(t, rsaKey)
	b64 := base64.StdEncoding.EncodeToString(ecDER)
	wrapped := ""
	for i := 0; i < len(b64); i += 64 {
		wrapped += b64[i:min(i+64, len(b64))] + "\r\n"
	}
	pemBody := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: ecDER})

	tests := []struct {
		name        string
		body        []byte
		accept      string
		xml         bool
		contentType string
	}{
		{"ATAK: base64 DER, XML", []byte(base64.StdEncoding.EncodeToString(rsaDER)), "application/xml", true, "application/xml"},
		{"JSON accept", []byte(b64), "application/json", false, "application/json"},
		{"no accept gets JSON", []byte(b64), "", false, "application/json"},
		{"any accept gets JSON", []byte(b64), "*/*", false, "application/json"},
		{"iTAK text/plain gets JSON labelled text", []byte(b64), "text/plain", false, "text/plain"},
		{"PEM armour", pemBody, "application/json", false, "application/json"},
		{"line-wrapped base64", []byte(wrapped), "application/json", false, "application/json"},
		{"raw DER", ecDER, "application/json", false, "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newEnrollFixture(t, nil)
			w := do(t, f.h, signReq(tc.body, tc.accept, "alice", "correct-horse-1", "ANDROID-0a1b2c3d"))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			cert, cas := parseEnrollment(t, w.Body.Bytes(), tc.xml)
			if len(cas) != 1 || !cas[0].Equal(f.ca.cert) {
				t.Fatalf("CA chain not returned: %d certs", len(cas))
			}
			pool := x509.NewCertPool()
			pool.AddCert(cas[0])
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: t0,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("issued certificate does not verify against the CA: %v", err)
			}
			d, err := f.devices.DeviceByName(t.Context(), "alice-ANDROID-0a1b2c3d")
			if err != nil {
				t.Fatalf("device not recorded: %v", err)
			}
			if cert.Subject.CommonName != d.Name {
				t.Errorf("certificate CN %q, device %q", cert.Subject.CommonName, d.Name)
			}
			fp := sha256.Sum256(cert.Raw)
			if d.Serial != cert.SerialNumber.Text(16) || d.Fingerprint != hex.EncodeToString(fp[:]) {
				t.Errorf("device serial/fingerprint do not match the certificate")
			}
			if d.UserID != alice.ID || d.Username != "alice" || len(d.Groups) != 1 || d.Groups[0] != bluehelm.DefaultGroup ||
				d.Classification != bluehelm.Unclassified || !d.NotAfter.Equal(cert.NotAfter) || !d.CreatedAt.Equal(t0) {
				t.Errorf("device fields: %+v", d)
			}
			if !cert.NotAfter.Equal(t0.Add(30 * 24 * time.Hour)) {
				t.Errorf("validity: not after %v", cert.NotAfter)
			}
			if len(f.devices.audits) != 1 || f.devices.audits[0].Action != "device.enroll" || f.devices.audits[0].Actor != "alice" ||
				!strings.Contains(string(f.devices.audits[0].Detail), d.Serial) {
				t.Errorf("audit: %+v", f.devices.audits)
			}
			if got := counterValue(t, f.reg, "bluehelm_marti_enrollments_total", nil); got != 1 {
				t.Errorf("enrollments metric %v", got)
			}
		})
	}
}

func TestSignClientDeviceNamesAreUnique(t *testing.T) {
	f := newEnrollFixture(t, nil)
	body := []byte(base64.StdEncoding.EncodeToString(makeCSR(t, ecKey(t))))
	for _, want := range []string{"alice-ANDROID-1", "alice-ANDROID-1-2", "alice-ANDROID-1-3"} {
		w := do(t, f.h, signReq(body, "application/json", "alice", "correct-horse-1", "ANDROID-1"))
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		cert, _ := parseEnrollment(t, w.Body.Bytes(), false)
		if cert.Subject.CommonName != want {
			t.Errorf("name %q, want %q", cert.Subject.CommonName, want)
		}
	}
	// A uid with characters a device name may not hold, and a very long one.
	w := do(t, f.h, signReq(body, "", "alice", "correct-horse-1", "S-1-5-21%20WinTAK%2F%E2%9C%93"))
	cert, _ := parseEnrollment(t, w.Body.Bytes(), false)
	if cert.Subject.CommonName != "alice-S-1-5-21-WinTAK" {
		t.Errorf("sanitised name %q", cert.Subject.CommonName)
	}
	w = do(t, f.h, signReq(body, "", "alice", "correct-horse-1", strings.Repeat("x", 128)))
	cert, _ = parseEnrollment(t, w.Body.Bytes(), false)
	if n := cert.Subject.CommonName; len(n) > 64 || !strings.HasPrefix(n, "alice-xxx") {
		t.Errorf("long name %q", n)
	}
}

func TestSignClientRetriesWhenNameRaceIsLost(t *testing.T) {
	f := newEnrollFixture(t, nil)
	f.devices.conflicts = 1
	body := []byte(base64.StdEncoding.EncodeToString(makeCSR(t, ecKey(t))))
	w := do(t, f.h, signReq(body, "", "alice", "correct-horse-1", "ANDROID-9"))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	cert, _ := parseEnrollment(t, w.Body.Bytes(), false)
	if cert.Subject.CommonName != "alice-ANDROID-9-2" {
		t.Errorf("after a lost race the certificate is for %q", cert.Subject.CommonName)
	}
	d, err := f.devices.DeviceByName(t.Context(), "alice-ANDROID-9-2")
	if err != nil || d.Serial != cert.SerialNumber.Text(16) {
		t.Errorf("device for the handed-out certificate: %+v %v", d, err)
	}
}

func TestSignClientRefusesBadInput(t *testing.T) {
	good := []byte(base64.StdEncoding.EncodeToString(makeCSR(t, ecKey(t))))
	tampered := makeCSR(t, ecKey(t))
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakDER := makeCSR(t, weak)
	tests := []struct {
		name       string
		r          *http.Request
		status     int
		challenge  bool
		problemFor string
	}{
		{"no credentials", signReq(good, "", "", "", "ANDROID-1"), 401, true, ""},
		{"wrong password", signReq(good, "", "alice", "nope", "ANDROID-1"), 401, true, ""},
		{"unknown user", signReq(good, "", "mallory", "x", "ANDROID-1"), 401, true, ""},
		{"disabled user", signReq(good, "", "dave", "correct-horse-4", "ANDROID-1"), 403, false, ""},
		{"no clientUid", signReq(good, "", "alice", "correct-horse-1", ""), 400, false, "clientUid"},
		{"control char in clientUid", signReq(good, "", "alice", "correct-horse-1", "A%0AB"), 400, false, "clientUid"},
		{"empty body", signReq(nil, "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"not base64", signReq([]byte("this is not a csr!"), "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"base64 of garbage", signReq([]byte(base64.StdEncoding.EncodeToString([]byte("garbage"))), "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"wrong PEM type", signReq(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"bad signature", signReq([]byte(base64.StdEncoding.EncodeToString(tampered)), "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"weak RSA key", signReq([]byte(base64.StdEncoding.EncodeToString(weakDER)), "", "alice", "correct-horse-1", "ANDROID-1"), 400, false, "csr"},
		{"oversized body", signReq([]byte(strings.Repeat("A", maxCSRBody+10)), "", "alice", "correct-horse-1", "ANDROID-1"), 413, false, ""},
		{"GET instead of POST", func() *http.Request {
			r := newReq("GET", "/Marti/api/tls/signClient/v2?clientUid=x", nil)
			r.SetBasicAuth("alice", "correct-horse-1")
			return r
		}(), 405, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newEnrollFixture(t, nil)
			w := do(t, f.h, tc.r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); tc.challenge != strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tc.status || p.Detail == "" {
				t.Errorf("problem body %s (%v)", w.Body, err)
			}
			if tc.problemFor != "" && p.Field != tc.problemFor {
				t.Errorf("field %q, want %q", p.Field, tc.problemFor)
			}
			if n := f.devices.count(); n != 0 {
				t.Errorf("%d devices created by a refused request", n)
			}
		})
	}
}

func TestTLSConfigAndProfile(t *testing.T) {
	f := newEnrollFixture(t, nil)
	r := newReq("GET", "/Marti/api/tls/config", nil)
	r.SetBasicAuth("alice", "correct-horse-1")
	w := do(t, f.h, r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/xml" {
		t.Fatalf("status %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if !strings.Contains(w.Body.String(), "<ns2:certificateConfig ") {
		t.Errorf("root element is not ns2:certificateConfig: %s", w.Body)
	}
	var doc struct {
		XMLName      xml.Name
		ValidityDays int `xml:"validityDays,attr"`
		Entries      []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"nameEntries>nameEntry"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.XMLName.Local != "certificateConfig" || doc.ValidityDays != 30 || len(doc.Entries) != 2 ||
		doc.Entries[0] != (struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		}{"O", "UNMISS"}) || doc.Entries[1].Name != "OU" || doc.Entries[1].Value != "JOC & TAK" {
		t.Errorf("certificateConfig: %+v", doc)
	}

	r = newReq("GET", "/Marti/api/tls/config", nil)
	if w := do(t, f.h, r); w.Code != 401 {
		t.Errorf("tls/config without credentials: %d", w.Code)
	}

	r = newReq("GET", "/Marti/api/tls/profile/enrollment?clientUid=ANDROID-1", nil)
	r.SetBasicAuth("alice", "correct-horse-1")
	if w := do(t, f.h, r); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("profile: %d %s", w.Code, w.Body)
	}

	if w := do(t, f.h, newReq("GET", "/Marti/api/version", nil)); w.Code != 200 || w.Body.String() != "bluehelm 1.2.3" {
		t.Errorf("version on the enrollment port: %d %s", w.Code, w.Body)
	}
	if w := do(t, f.h, newReq("GET", "/Marti/api/nope", nil)); w.Code != 404 {
		t.Errorf("unknown route: %d", w.Code)
	}
}

func TestEnrollRateLimitsFailedLoginsPerAddress(t *testing.T) {
	now := t0
	f := newEnrollFixture(t, func(c *Config) {
		c.LoginRate = rate.Every(time.Minute)
		c.LoginBurst = 2
		c.Now = func() time.Time { return now }
	})
	get := func(ip, pass string) *http.Response {
		r := newReq("GET", "/Marti/api/tls/config", nil)
		r.RemoteAddr = ip + ":40000"
		r.SetBasicAuth("alice", pass)
		return do(t, f.h, r).Result()
	}
	// Successful logins never use the allowance.
	for range 5 {
		if res := get("127.0.0.1", "correct-horse-1"); res.StatusCode != 200 {
			t.Fatalf("good login: %d", res.StatusCode)
		}
	}
	for i := range 2 {
		if res := get("127.0.0.1", "wrong"); res.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
	}
	// Now even the right password is refused from that address...
	res := get("127.0.0.1", "correct-horse-1")
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("after the burst: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// ...but not from another one.
	if res := get("127.0.0.2", "correct-horse-1"); res.StatusCode != 200 {
		t.Errorf("other address: %d", res.StatusCode)
	}
	// The bucket refills with time.
	now = now.Add(time.Minute)
	if res := get("127.0.0.1", "correct-horse-1"); res.StatusCode != 200 {
		t.Errorf("after a minute: %d", res.StatusCode)
	}
	if got := counterValue(t, f.reg, "bluehelm_marti_logins_rate_limited_total", nil); got != 1 {
		t.Errorf("rate-limited metric %v", got)
	}
	if got := counterValue(t, f.reg, "bluehelm_marti_requests_total",
		map[string]string{"listener": "enroll", "route": "GET /Marti/api/tls/config", "code": "429"}); got != 1 {
		t.Errorf("requests metric for 429: %v", got)
	}
}

// The real mission CA signs what enrollment hands it (ATAK sends RSA-2048 CSRs).
func TestSignClientWithMissionCA(t *testing.T) {
	mca, err := ca.Init(t.TempDir(), "Test Mission", t0)
	if err != nil {
		t.Fatal(err)
	}
	f := newEnrollFixture(t, func(c *Config) { c.Signer = mca })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	w := do(t, f.h, signReq([]byte(base64.StdEncoding.EncodeToString(makeCSR(t, key))), "application/xml", "alice", "correct-horse-1", "ANDROID-42"))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	cert, cas := parseEnrollment(t, w.Body.Bytes(), true)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: mca.Pool(), CurrentTime: t0.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	if len(cas) != 1 || ca.Serial(cert) == "" {
		t.Errorf("cas %d", len(cas))
	}
	d, err := f.devices.DeviceByName(t.Context(), "alice-ANDROID-42")
	if err != nil || d.Serial != ca.Serial(cert) || d.Fingerprint != ca.Fingerprint(cert) {
		t.Errorf("device %+v %v", d, err)
	}
}

type slowAuth struct {
	*fakeAuth
	mu    sync.Mutex
	calls int
}

func (a *slowAuth) Authenticate(ctx context.Context, u, p string) (*bluehelm.User, error) {
	a.mu.Lock()
	a.calls++
	a.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // argon2 takes a while
	return a.fakeAuth.Authenticate(ctx, u, p)
}

// Guesses sent all at once get no more password checks than the allowance.
func TestEnrollRateLimitHoldsUnderConcurrency(t *testing.T) {
	sa := &slowAuth{fakeAuth: newFakeAuth()}
	f := newEnrollFixture(t, func(c *Config) {
		c.Auth = sa
		c.LoginRate = rate.Every(time.Hour)
		c.LoginBurst = 3
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			r := newReq("GET", "/Marti/api/tls/config", nil)
			r.SetBasicAuth("alice", "guess")
			do(t, f.h, r)
		})
	}
	wg.Wait()
	if sa.calls > 3 {
		t.Errorf("%d passwords checked, allowance 3", sa.calls)
	}
}

// cmd/bluehelm serves both handlers' metrics from one registry.
func TestHandlersShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	files, err := NewFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Auth: newFakeAuth(), Signer: newTestCA(t), Devices: newFakeDevices(), Identify: testIdentify,
		Attachments: newFakeAttachments(), Files: files, Registry: reg, Logger: quietLogger()}
	eh, err := NewEnrollHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ah, err := NewAPIHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	do(t, eh, newReq("GET", "/Marti/api/version", nil))
	do(t, ah, newReq("GET", "/Marti/api/version", nil))
	do(t, ah, newReq("GET", "/Marti/api/version", nil))
	for listener, want := range map[string]float64{"enroll": 1, "api": 2} {
		if got := counterValue(t, reg, "bluehelm_marti_requests_total", map[string]string{"listener": listener, "route": "GET /Marti/api/version"}); got != want {
			t.Errorf("%s: %v requests counted, want %v", listener, got, want)
		}
	}
	if _, err := NewEnrollHandler(Config{}); err == nil {
		t.Error("enrollment handler without Auth/Signer/Devices")
	}
	if _, err := NewAPIHandler(Config{}); err == nil {
		t.Error("API handler without Identify/Attachments/Files")
	}
}

// A raw DER request is binary: one whose last byte is an ASCII space or
// line break (about one in forty) must not be trimmed.
func TestParseCSRRawDEREndingInSpaceByte(t *testing.T) {
	key := ecKey(t)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("no request ending in a space byte in 2,000 tries")
		}
		der := makeCSR(t, key)
		if !strings.ContainsRune(" \t\n\v\f\r", rune(der[len(der)-1])) {
			continue
		}
		if _, err := parseCSR(der); err != nil {
			t.Fatalf("raw DER ending in %#x: %v", der[len(der)-1], err)
		}
		return
	}
}
