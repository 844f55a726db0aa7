// Package ca is bluehelm's mission certificate authority: the one CA that TAK clients
// (ATAK, WinTAK, iTAK) and the TLS listener on 8089 trust. It issues the server
// certificate and one client certificate per device, checks presented device
// certificates against the device register at the handshake, and builds what a
// device needs to connect (a data package with its keystores, a quick-connect QR).
//
// # Design
//
// Certificate onboarding is the most common complaint of users of other TAK servers,
// so this package chooses what the clients are known to accept over what is newest:
//
//   - Device and server keys are RSA 2048. iTAK and older ATAK releases fail to import
//     client .p12 files holding EC keys (their keystores expect RSA, as TAK Server's own
//     scripts produce), and an RSA server key keeps TLS 1.2 clients with RSA-only
//     cipher lists working. The CA key is RSA 3072 because it lives ten years, past
//     the date (2030) after which 2048-bit RSA is no longer recommended for signing.
//   - PKCS#12 files use the legacy 3DES/SHA-1 encoding (see p12Encoder).
//   - A device is identified by its certificate's serial and SHA-256 fingerprint, both
//     recorded in the device register; the CN only names it. A handshake is refused
//     when the serial is unknown, the fingerprint differs, or the device is revoked or
//     expired, so no CRL has to reach the clients.
//
// Files, in the CA directory: ca.pem, ca-key.pem (0600), server.pem, server-key.pem
// (0600) and devices/NAME.p12 (0600). Every file is written atomically (temporary
// file, fsync, rename) so that a crash never leaves a half-written key.
package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// File names inside the CA directory.
const (
	CertFile       = "ca.pem"
	KeyFile        = "ca-key.pem"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server-key.pem"
	DevicesDir     = "devices"
)

const (
	// CAValidity is how long the mission CA lives: longer than any mission phase, so
	// that devices are never re-enrolled because the root ran out.
	CAValidity = 10 * 365 * 24 * time.Hour
	// DefaultClientValidity is used when IssueClient is given no validity.
	DefaultClientValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore: field devices often run minutes off (no network
	// time at a team site), and a certificate "not yet valid" is a confusing failure.
	clockSkew = 5 * time.Minute

	caKeyBits     = 3072
	deviceKeyBits = 2048
)

// CA is a loaded mission certificate authority.
type CA struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
}

// Init creates a self-signed mission CA named name in dir and returns it. It refuses
// (ECONFLICT) when dir already holds a CA or part of one: replacing a CA silently
// would cut off every enrolled device.
func Init(dir, name string, now time.Time) (*CA, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, bluehelm.Invalid("name", "the CA needs a name")
	}
	for _, f := range []string{CertFile, KeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return nil, bluehelm.Errorf(bluehelm.ECONFLICT, "a mission CA already exists in %s (%s); refusing to replace it, which would cut off every enrolled device", dir, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the CA directory: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, caKeyBits)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"bluehelm"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		// The CA signs leaves only: no intermediate may hang below it.
		MaxPathLen:     0,
		MaxPathLenZero: true,
		KeyUsage:       x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	// The key first and without replacing anything: should two inits race, or a crash
	// hit between the two files, Load reports the incomplete CA instead of pairing a
	// certificate with the wrong key.
	if err := writeFile(filepath.Join(dir, KeyFile), keyPEM, 0o600, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, bluehelm.Errorf(bluehelm.ECONFLICT, "a mission CA already exists in %s; refusing to replace it", dir)
		}
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, CertFile), pemBlock("CERTIFICATE", der), 0o644, false); err != nil {
		return nil, err
	}
	return &CA{dir: dir, cert: cert, key: key}, nil
}

// Load reads the mission CA from dir. A missing CA is ENOTFOUND with the command that
// creates one.
func Load(dir string) (*CA, error) {
	certPEM, certErr := os.ReadFile(filepath.Join(dir, CertFile))
	keyPEM, keyErr := os.ReadFile(filepath.Join(dir, KeyFile))
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no mission CA in %s: run \"bluehelm ca init\" first", dir)
	case errors.Is(certErr, fs.ErrNotExist) || errors.Is(keyErr, fs.ErrNotExist):
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "incomplete mission CA in %s (%s and %s must both exist); if no device was enrolled yet, remove the directory and run \"bluehelm ca init\" again", dir, CertFile, KeyFile)
	case certErr != nil:
		return nil, certErr
	case keyErr != nil:
		return nil, keyErr
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CertFile), err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, KeyFile), err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, CertFile))
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not belong to %s", filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile))
	}
	return &CA{dir: dir, cert: cert, key: key}, nil
}

// Dir returns the directory the CA lives in.
func (c *CA) Dir() string { return c.dir }

// Certificate returns the CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }

// CACerts returns the chain a client needs to trust, root last. Today that is the root
// alone; callers use this rather than Certificate so that an intermediate can come later.
func (c *CA) CACerts() []*x509.Certificate { return []*x509.Certificate{c.cert} }

// Pool returns a pool holding the CA, for verifying client certificates.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, cert := range c.CACerts() {
		p.AddCert(cert)
	}
	return p
}

// IssueClient issues a client certificate (TLS client authentication) for cn and pub,
// valid from now for validity (DefaultClientValidity when 0), but never past the CA.
func (c *CA) IssueClient(cn string, pub crypto.PublicKey, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	if strings.TrimSpace(cn) == "" {
		return nil, bluehelm.Invalid("name", "a client certificate needs a common name")
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if validity < 0 {
		return nil, bluehelm.Invalid("validity", "must not be negative")
	}
	if validity == 0 {
		validity = DefaultClientValidity
	}
	notAfter := now.Add(validity)
	// A certificate outliving its CA would be rejected by every client anyway; clamping
	// makes the device register's expiry date the real one.
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	if !notAfter.After(now) {
		return nil, bluehelm.Errorf(bluehelm.ECONFLICT, "the mission CA expired on %s", c.cert.NotAfter.Format(time.DateOnly))
	}
	ku := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		// Some TLS stacks insist on keyEncipherment for RSA client keys; it costs nothing.
		ku |= x509.KeyUsageKeyEncipherment
	}
	return c.sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: c.cert.Subject.Organization},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              ku,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}, pub)
}

// SignClientCSR issues a client certificate for the key in csr, after checking the
// CSR's self-signature (proof that the requester holds the key). The subject is cn:
// whatever the CSR asks for is ignored, because the name is the CA's decision.
func (c *CA) SignClientCSR(csr *x509.CertificateRequest, cn string, validity time.Duration, now time.Time) (*x509.Certificate, error) {
	if csr == nil {
		return nil, bluehelm.Invalid("csr", "missing")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, bluehelm.Invalid("csr", "bad signature: %v", err)
	}
	return c.IssueClient(cn, csr.PublicKey, validity, now)
}

// sign fills the serial and signs tmpl with the CA key.
func (c *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Serial returns cert's serial number in lower-case hex, as Device.Serial holds it.
func Serial(cert *x509.Certificate) string { return cert.SerialNumber.Text(16) }

// Fingerprint returns the SHA-256 of cert's DER encoding in lower-case hex, as
// Device.Fingerprint holds it.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// newSerial returns a random positive 128-bit serial. Random serials make two
// certificates from a re-created CA distinguishable and are what RFC 5280 and the
// CA/Browser Forum expect (at least 64 bits of entropy).
func newSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
		if err != nil {
			return nil, err
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// checkPublicKey accepts the keys TAK clients and Go's TLS stack both handle.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return bluehelm.Invalid("key", "RSA keys must have at least 2048 bits, got %d", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return bluehelm.Invalid("key", "ECDSA keys must use P-256 or P-384")
		}
	default:
		return bluehelm.Invalid("key", "unsupported key type %T (want RSA or ECDSA)", pub)
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func newDeviceKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, deviceKeyBits) }

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func encodeKey(key crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKeyPEM(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return s, nil
}

// writeFile writes data to path atomically: a temporary file in the same directory is
// written, fsynced and then renamed over path (replace) or hard-linked to it (no
// replace: fails with fs.ErrExist when path exists, even against a concurrent writer).
// The directory is fsynced too, so that the new name survives a power cut.
func writeFile(path string, data []byte, perm fs.FileMode, replace bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a rename this is a no-op; after a link it drops the extra name
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems refuse to fsync a directory; the data itself is synced
	// already, so that refusal is not worth failing the write for.
	_ = d.Sync()
	return nil
}
