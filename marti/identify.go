package marti

import (
	"context"
	"crypto/sha256"
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
		fp := sha256.Sum256(cert.Raw)
		u, d, err := bluehelm.IdentifyDevice(r.Context(), devices, users,
			strings.ToLower(cert.SerialNumber.Text(16)), hex.EncodeToString(fp[:]), now())
		if err != nil {
			return bluehelm.Principal{}, nil, err
		}
		return u.Principal(), d, nil
	}
}
