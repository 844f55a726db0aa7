package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

const (
	// ServerValidity stays under the 825 days Apple platforms accept for any TLS server
	// certificate, private CA or not: iTAK runs there and would refuse a longer one.
	ServerValidity = 825 * 24 * time.Hour
	// serverRenewBefore is how close to expiry a stored server certificate is
	// replaced, so that a server restarted now and then never serves an expired one.
	serverRenewBefore = 30 * 24 * time.Hour
	// lookupTimeout bounds the device-register query made inside a handshake: a stuck
	// store must refuse the connection, not hang it.
	lookupTimeout = 5 * time.Second
)

// loopbackHosts are always in the server certificate, so that local tools, tests and a
// client on the same machine can connect whatever the configured names are.
var loopbackHosts = []string{"127.0.0.1", "::1", "localhost"}

// ServerCertificate returns the TLS server certificate for hosts (DNS names or IP
// addresses) plus the loopback names. The certificate and its key are kept in the CA
// directory and reused until the hosts change, it is within 30 days of expiry, or it
// was not issued by this CA; then a new one is issued and stored.
func (c *CA) ServerCertificate(hosts []string, now time.Time) (tls.Certificate, error) {
	dnsNames, ips, err := splitHosts(hosts)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(c.dir, ServerCertFile), filepath.Join(c.dir, ServerKeyFile)
	if tc, ok := c.storedServerCert(certPath, keyPath, dnsNames, ips, now); ok {
		return tc, nil
	}

	key, err := newDeviceKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	notAfter := now.Add(ServerValidity)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	if !notAfter.After(now) {
		return tls.Certificate{}, bluehelm.Errorf(bluehelm.ECONFLICT, "the mission CA expired on %s", c.cert.NotAfter.Format(time.DateOnly))
	}
	cn := "bluehelm"
	if len(dnsNames) > 0 && dnsNames[0] != "localhost" {
		cn = dnsNames[0]
	} else if len(ips) > 0 && !ips[0].IsLoopback() {
		cn = ips[0].String()
	}
	leaf, err := c.sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: c.cert.Subject.Organization},
		DNSNames:              dnsNames,
		IPAddresses:           ips,
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}, &key.PublicKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Key first: a crash between the two writes leaves a pair that does not match,
	// which the next call detects and replaces.
	if err := writeFile(keyPath, keyPEM, 0o600, true); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFile(certPath, pemBlock("CERTIFICATE", leaf.Raw), 0o644, true); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// storedServerCert returns the stored server certificate when it can be reused.
func (c *CA) storedServerCert(certPath, keyPath string, dnsNames []string, ips []net.IP, now time.Time) (tls.Certificate, bool) {
	tc, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil || len(tc.Certificate) == 0 {
		return tls.Certificate{}, false // missing, half-written or mismatched: issue anew
	}
	leaf := tc.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(tc.Certificate[0]); err != nil {
			return tls.Certificate{}, false
		}
		tc.Leaf = leaf
	}
	if leaf.CheckSignatureFrom(c.cert) != nil || now.Before(leaf.NotBefore) || !now.Add(serverRenewBefore).Before(leaf.NotAfter) {
		return tls.Certificate{}, false
	}
	if !sameStrings(leaf.DNSNames, dnsNames) || !sameIPs(leaf.IPAddresses, ips) {
		return tls.Certificate{}, false
	}
	return tc, true
}

// splitHosts validates hosts, adds the loopback names and returns the DNS names and IP
// addresses sorted and without duplicates, so that two calls with the same set compare
// equal whatever the order.
func splitHosts(hosts []string) ([]string, []net.IP, error) {
	var dnsNames []string
	var ips []net.IP
	for _, h := range append(slices.Clone(hosts), loopbackHosts...) {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if !validDNSName(h) {
			return nil, nil, bluehelm.Invalid("hosts", "%q is neither an IP address nor a DNS name (give names without port or scheme)", h)
		}
		if !slices.Contains(dnsNames, h) {
			dnsNames = append(dnsNames, h)
		}
	}
	slices.Sort(dnsNames)
	slices.SortFunc(ips, func(a, b net.IP) int { return strings.Compare(a.String(), b.String()) })
	// Put configured names before localhost, so the first one can serve as the CN.
	slices.SortStableFunc(dnsNames, func(a, b string) int {
		switch {
		case a == "localhost" && b != "localhost":
			return 1
		case b == "localhost" && a != "localhost":
			return -1
		}
		return 0
	})
	slices.SortStableFunc(ips, func(a, b net.IP) int {
		switch {
		case a.IsLoopback() && !b.IsLoopback():
			return 1
		case b.IsLoopback() && !a.IsLoopback():
			return -1
		}
		return 0
	})
	return dnsNames, ips, nil
}

func validDNSName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func sameStrings(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sameIPs(a, b []net.IP) bool {
	str := func(ips []net.IP) []string {
		out := make([]string, len(ips))
		for i, ip := range ips {
			out[i] = ip.String()
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(str(a), str(b))
}

// ServerTLSConfig returns the configuration of the TAK TLS listener: TLS 1.2 or newer,
// a client certificate from this CA required, and check called on the client's
// certificate so that an unknown, revoked or expired device is refused during the
// handshake, before a single CoT byte is read. A nil check refuses every client:
// failing closed is the only safe default for a listener that grants a user's access.
func (c *CA) ServerTLSConfig(cert tls.Certificate, check func(*x509.Certificate) error) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.Pool(),
		MinVersion:   tls.VersionTLS12,
		// VerifyConnection rather than VerifyPeerCertificate: it also runs when a
		// client resumes a session, so a device revoked after its first connection
		// cannot come back on a session ticket.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			if check == nil {
				return errors.New("no device check configured")
			}
			return check(cs.PeerCertificates[0])
		},
	}
}

// DeviceLookup is the part of bluehelm.DeviceStore that DeviceCheck needs.
type DeviceLookup interface {
	DeviceBySerial(ctx context.Context, serial string) (*bluehelm.Device, error)
}

// DeviceCheck returns a check for ServerTLSConfig that accepts a client certificate
// only when it was issued by this CA and matches, by serial and SHA-256 fingerprint, a
// device in the register that is neither revoked nor expired at now(). A failing
// register lookup refuses the handshake too.
func (c *CA) DeviceCheck(store DeviceLookup, now func() time.Time) func(*x509.Certificate) error {
	if now == nil {
		now = time.Now
	}
	return func(leaf *x509.Certificate) error {
		if leaf == nil {
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "no client certificate")
		}
		// The TLS stack has verified the chain already; checking again keeps this
		// function safe to use on its own (say, behind a TLS-terminating proxy).
		if err := leaf.CheckSignatureFrom(c.cert); err != nil {
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "client certificate %q was not issued by the mission CA", leaf.Subject.CommonName)
		}
		serial := Serial(leaf)
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		d, err := store.DeviceBySerial(ctx, serial)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "unknown device certificate %q (serial %s)", leaf.Subject.CommonName, serial)
		}
		if err != nil {
			return fmt.Errorf("looking up device serial %s: %w", serial, err)
		}
		if d.Fingerprint != Fingerprint(leaf) {
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "certificate for device %q (serial %s) does not match the one issued", d.Name, serial)
		}
		t := now()
		if d.RevokedAt != nil {
			return bluehelm.Errorf(bluehelm.EFORBIDDEN, "device %q was revoked on %s", d.Name, d.RevokedAt.UTC().Format(time.DateOnly))
		}
		if !d.Active(t) || t.After(leaf.NotAfter) {
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "the certificate of device %q expired on %s", d.Name, d.NotAfter.UTC().Format(time.DateOnly))
		}
		return nil
	}
}
