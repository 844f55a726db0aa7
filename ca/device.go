package ca

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/bluehelm/bluehelm"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// DefaultPassword protects the PKCS#12 files handed to devices unless another is
// chosen. It is the password TAK Server's scripts and every TAK guide use, so field
// staff type it without asking. It is no secret: the data package carries it in
// clear text next to the keystore (that is how TAK preferences work), so the package
// itself must be handled as the secret it is.
const DefaultPassword = "atakatak"

// p12Encoder writes PKCS#12 files with 3DES and SHA-1 MACs. Keystores in the modern
// encoding (PBES2/AES, OpenSSL 3's default) are widely reported to fail to import in
// iTAK (Apple's PKCS#12 importer) and in older ATAK releases, which is why TAK guides
// tell administrators to pass -legacy to OpenSSL 3. LegacyDES is what OpenSSL's
// -descert produces: the encoding read by the most software, OpenSSL 3 included.
// LegacyRC2 would encrypt the certificates with 40-bit RC2, which OpenSSL 3 refuses by
// default, for no gain. The weak encryption is acceptable only because the password
// is public anyway (see DefaultPassword).
var p12Encoder = pkcs12.LegacyDES

// DeviceCredentials are a device's private key and certificate.
type DeviceCredentials struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
}

// deviceFileRE keeps device names usable as file names (the same rule as
// bluehelm.Device.Validate, repeated because the file system depends on it).
var deviceFileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkDeviceName(name string) error {
	if !deviceFileRE.MatchString(name) {
		return bluehelm.Invalid("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	return nil
}

// IssueDevice generates a key for device name and issues its client certificate.
// Nothing is stored: the caller records the device first and then calls SaveDevice,
// so that a refused registration leaves no key behind.
func (c *CA) IssueDevice(name string, validity time.Duration, now time.Time) (*DeviceCredentials, error) {
	if err := checkDeviceName(name); err != nil {
		return nil, err
	}
	key, err := newDeviceKey()
	if err != nil {
		return nil, err
	}
	cert, err := c.IssueClient(name, &key.PublicKey, validity, now)
	if err != nil {
		return nil, err
	}
	return &DeviceCredentials{Key: key, Certificate: cert}, nil
}

func (c *CA) devicePath(name string) string {
	return filepath.Join(c.dir, DevicesDir, name+".p12")
}

// SaveDevice stores the device's key and certificate as devices/NAME.p12 (mode 0600,
// DefaultPassword, CA chain included) so that a package can be made later.
func (c *CA) SaveDevice(name string, creds *DeviceCredentials) error {
	if err := checkDeviceName(name); err != nil {
		return err
	}
	p12, err := c.EncodeP12(creds, DefaultPassword)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(c.dir, DevicesDir), 0o700); err != nil {
		return err
	}
	return writeFile(c.devicePath(name), p12, 0o600, true)
}

// LoadDevice reads what SaveDevice stored; ENOTFOUND when there is nothing.
func (c *CA) LoadDevice(name string) (*DeviceCredentials, error) {
	if err := checkDeviceName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(c.devicePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no key material for device %q in %s (it was revoked, or never completed): revoke it and add a new device", name, filepath.Join(c.dir, DevicesDir))
	}
	if err != nil {
		return nil, err
	}
	key, cert, _, err := pkcs12.DecodeChain(b, DefaultPassword)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.devicePath(name), err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok || !publicKeysEqual(cert.PublicKey, signer.Public()) {
		return nil, fmt.Errorf("%s: key and certificate do not match", c.devicePath(name))
	}
	if err := cert.CheckSignatureFrom(c.cert); err != nil {
		return nil, fmt.Errorf("%s: not issued by this mission CA", c.devicePath(name))
	}
	return &DeviceCredentials{Key: signer, Certificate: cert}, nil
}

// RemoveDevice deletes the stored key of a device (after revocation: the key can no
// longer be used, and a key that does not exist cannot leak). Removing a missing
// file is not an error.
func (c *CA) RemoveDevice(name string) error {
	if err := checkDeviceName(name); err != nil {
		return err
	}
	err := os.Remove(c.devicePath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// EncodeP12 encodes creds with the CA chain as a PKCS#12 keystore for a TAK client.
func (c *CA) EncodeP12(creds *DeviceCredentials, password string) ([]byte, error) {
	if creds == nil || creds.Key == nil || creds.Certificate == nil {
		return nil, errors.New("ca: no device credentials")
	}
	return p12Encoder.Encode(creds.Key, creds.Certificate, c.CACerts(), password)
}

// TrustStore encodes the CA chain as a certificate-only PKCS#12 (the "truststore"
// TAK clients are given to trust the server).
func (c *CA) TrustStore(password string) ([]byte, error) {
	return EncodeTrustStore(c.CACerts(), password)
}

// EncodeTrustStore encodes certs as a certificate-only PKCS#12.
func EncodeTrustStore(certs []*x509.Certificate, password string) ([]byte, error) {
	return p12Encoder.EncodeTrustStore(certs, password)
}
