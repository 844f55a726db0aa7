package marti

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/prometheus/client_golang/prometheus"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// --- Authenticator ---

type fakeAuth struct {
	users map[string]*bluehelm.User
	pw    map[string]string
}

func (a *fakeAuth) Authenticate(_ context.Context, username, password string) (*bluehelm.User, error) {
	u, ok := a.users[username]
	if !ok || a.pw[username] != password {
		return nil, bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "wrong username or password")
	}
	return u, nil
}

var (
	alice = &bluehelm.User{ID: 1, Username: "alice", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Clearance: bluehelm.Confidential}
	dave  = &bluehelm.User{ID: 4, Username: "dave", Role: bluehelm.RoleReporter, Component: bluehelm.Military, Disabled: true}
)

func newFakeAuth() *fakeAuth {
	return &fakeAuth{
		users: map[string]*bluehelm.User{"alice": alice, "dave": dave},
		pw:    map[string]string{"alice": "correct-horse-1", "dave": "correct-horse-4"},
	}
}

// --- Signer: a small self-signed CA ---

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test mission CA"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

func (c *testCA) SignClientCSR(csr *x509.CertificateRequest, cn string, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(validity),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, csr.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (c *testCA) CACerts() []*x509.Certificate { return []*x509.Certificate{c.cert} }

// --- Devices ---

type fakeDevices struct {
	mu        sync.Mutex
	byName    map[string]*bluehelm.Device
	audits    []bluehelm.AuditEntry
	conflicts int // CreateDevice answers ECONFLICT this many times first (a lost race)
	nextID    int64
}

func newFakeDevices() *fakeDevices { return &fakeDevices{byName: map[string]*bluehelm.Device{}} }

func (s *fakeDevices) CreateDevice(_ context.Context, d *bluehelm.Device, e bluehelm.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conflicts > 0 {
		s.conflicts--
		// Someone else took the name between lookup and create.
		s.byName[d.Name] = &bluehelm.Device{Name: d.Name, Serial: "taken"}
		return bluehelm.Errorf(bluehelm.ECONFLICT, "name taken")
	}
	if _, ok := s.byName[d.Name]; ok {
		return bluehelm.Errorf(bluehelm.ECONFLICT, "name taken")
	}
	for _, o := range s.byName {
		if o.Serial == d.Serial {
			return bluehelm.Errorf(bluehelm.ECONFLICT, "serial taken")
		}
	}
	s.nextID++
	d.ID = s.nextID
	c := *d
	s.byName[d.Name] = &c
	s.audits = append(s.audits, e)
	return nil
}

func (s *fakeDevices) DeviceByName(_ context.Context, name string) (*bluehelm.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.byName[name]; ok {
		c := *d
		return &c, nil
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no device %q", name)
}

func (s *fakeDevices) DeviceBySerial(_ context.Context, serial string) (*bluehelm.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.byName {
		if d.Serial == serial {
			c := *d
			return &c, nil
		}
	}
	return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no device with serial %s", serial)
}

func (s *fakeDevices) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byName)
}

// --- Attachments ---

type fakeAttachments struct {
	mu     sync.Mutex
	list   []*bluehelm.Attachment
	audits []bluehelm.AuditEntry
	links  map[int64]int64
}

func newFakeAttachments() *fakeAttachments { return &fakeAttachments{links: map[int64]int64{}} }

func (s *fakeAttachments) CreateAttachment(_ context.Context, a *bluehelm.Attachment, e bluehelm.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := a.Validate(); err != nil {
		return err
	}
	a.ID = int64(len(s.list) + 1)
	c := *a
	s.list = append(s.list, &c)
	s.audits = append(s.audits, e)
	return nil
}

func (s *fakeAttachments) AttachmentsByHash(_ context.Context, h string) ([]*bluehelm.Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*bluehelm.Attachment
	for _, a := range s.list {
		if a.SHA256 == h {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *fakeAttachments) Attachments(_ context.Context, f bluehelm.AttachmentFilter) ([]*bluehelm.Attachment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*bluehelm.Attachment
	for _, a := range s.list {
		if f.Viewer.CanSee(a.Marking) && (f.Keyword == "" || slices.Contains(a.Keywords, f.Keyword)) {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

func (s *fakeAttachments) LinkAttachment(_ context.Context, id, incidentID int64, e bluehelm.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.list {
		if a.ID == id {
			a.IncidentID = incidentID
			s.links[id] = incidentID
			s.audits = append(s.audits, e)
			return nil
		}
	}
	return bluehelm.Errorf(bluehelm.ENOTFOUND, "no attachment %d", id)
}

func (s *fakeAttachments) all() []*bluehelm.Attachment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*bluehelm.Attachment, len(s.list))
	for i, a := range s.list {
		c := *a
		out[i] = &c
	}
	return out
}

// --- Directory and IncidentLinker ---

type fakeDirectory struct{ contacts []Contact }

func (d *fakeDirectory) Contacts(_ context.Context, q ContactQuery) ([]Contact, error) {
	// A military viewer does not see the police contact: the directory applies the rule.
	var out []Contact
	for _, c := range d.contacts {
		if c.Team == "police-only" && q.Viewer.Component != bluehelm.Police {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

type fakeLinker map[string]int64

func (l fakeLinker) IncidentForMarker(_ context.Context, uid string) (int64, bool) {
	id, ok := l[uid]
	return id, ok
}

// --- request helpers ---

func do(t testing.TB, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newReq(method, target string, body []byte) *http.Request {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// A loopback host, as a client on the same machine would use.
	return httptest.NewRequest(method, "http://127.0.0.1:8443"+target, rd)
}

func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
