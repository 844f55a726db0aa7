package marti

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// DeviceLookup is what CertIdentifier needs from the device store.
type DeviceLookup interface {
	DeviceBySerial(ctx context.Context, serial string) (*bluehelm.Device, error)
}

// UserLookup is what CertIdentifier needs from the user store.
type UserLookup interface {
	User(ctx context.Context, id int64) (*bluehelm.User, error)
}

// CertIdentifier returns a Config.Identify for the API port: the caller is the
// device whose serial and fingerprint match the TLS client certificate (already
// verified against the mission CA by the TLS handshake), acting as its user. A
// revoked or expired device, or a disabled or missing user, is unauthenticated;
// so is a request without a client certificate.
func CertIdentifier(devices DeviceLookup, users UserLookup, now func() time.Time) func(*http.Request) (bluehelm.Principal, *bluehelm.Device, error) {
	if now == nil {
		now = time.Now
	}
	fail := func(msg string) error { return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "%s", msg) }
	return func(r *http.Request) (bluehelm.Principal, *bluehelm.Device, error) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return bluehelm.Principal{}, nil, fail("a client certificate from the mission CA is required")
		}
		cert := r.TLS.PeerCertificates[0]
		serial := strings.ToLower(cert.SerialNumber.Text(16))
		d, err := devices.DeviceBySerial(r.Context(), serial)
		if err != nil {
			if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
				return bluehelm.Principal{}, nil, fail("unknown device certificate")
			}
			return bluehelm.Principal{}, nil, err
		}
		fp := sha256.Sum256(cert.Raw)
		// The serial alone could collide with a certificate from another CA the
		// listener might trust; the fingerprint pins the exact certificate.
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(fp[:])), []byte(d.Fingerprint)) != 1 {
			return bluehelm.Principal{}, nil, fail("unknown device certificate")
		}
		if !d.Active(now()) {
			return bluehelm.Principal{}, nil, fail("device certificate revoked or expired")
		}
		u, err := users.User(r.Context(), d.UserID)
		if err != nil {
			if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
				return bluehelm.Principal{}, nil, fail("the device's user no longer exists")
			}
			return bluehelm.Principal{}, nil, err
		}
		if u.Disabled {
			return bluehelm.Principal{}, nil, fail("the device's user is disabled")
		}
		return u.Principal(), d, nil
	}
}
