package federation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

// testCA makes an authority and a certificate it signed for 127.0.0.1.
func testCA(t *testing.T, name string) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hq"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

// A hub with a certificate takes camps over TLS only: a camp that trusts the
// hub's authority links and its reports cross; one without TLS, or trusting
// another authority, never links.
func TestLeafLinkTLS(t *testing.T) {
	pool, cert := testCA(t, "mission CA")
	otherPool, _ := testCA(t, "another CA")
	hqLink := openLink()
	hqLink.Peer = "camp1"
	hq := startNode(t, "hq", nodeOpts{links: []Link{hqLink}, leafListen: true, leafTLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	addr := fmt.Sprintf("127.0.0.1:%d", hq.srv.LeafPort)
	campLink := openLink()
	campLink.Peer = "hq"

	for _, tc := range []struct {
		name string
		url  string
		tls  *tls.Config
	}{
		{"plain TCP", "nats-leaf://" + addr, nil},
		{"another authority", "tls://" + addr, &tls.Config{RootCAs: otherPool}},
	} {
		camp := startNode(t, "camp1", nodeOpts{links: []Link{campLink}, federateTo: tc.url, leafTLS: tc.tls})
		// The link would be up within a second; give it five.
		time.Sleep(5 * time.Second)
		if camp.fed.LinkUp("hq") || hq.srv.NumLeafNodes() != 0 {
			t.Fatalf("%s: the camp linked to a TLS hub", tc.name)
		}
		camp.stop()
	}

	camp := startNode(t, "camp1", nodeOpts{links: []Link{campLink}, federateTo: "tls://" + addr, leafTLS: &tls.Config{RootCAs: pool}})
	waitFor(t, 20*time.Second, "the TLS link up", func() bool { return hq.fed.LinkUp("camp1") && camp.fed.LinkUp("hq") })
	inc := newIncident("over TLS", bluehelm.Marking{Component: bluehelm.Military})
	if err := camp.p.CreateIncident(testCtx, joc, inc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the incident at HQ", func() bool { return fedIncident(t, hq, "camp1", inc.ID) != nil })
}
