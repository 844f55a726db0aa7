package bluehelm

import (
	"context"
	"crypto/subtle"
	"regexp"
	"time"
)

// Device is a TAK client (ATAK, WinTAK, iTAK) bound to a user by a client certificate
// from the mission CA. Whatever the device sends is sent as that user; whatever it
// receives passes that user's access rule.
type Device struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"` // unique, e.g. "alpha-1-tablet"; the certificate's common name
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
	// Serial is the certificate's serial number in lower-case hex; Fingerprint is the
	// SHA-256 of its DER encoding in lower-case hex. A handshake is accepted only when
	// both match a device that is not revoked.
	Serial      string `json:"serial"`
	Fingerprint string `json:"fingerprint"`
	// Groups are the TAK groups (channels) the device shares with: events a device
	// sends go to devices that share at least one group with it.
	Groups []string `json:"groups"`
	// Classification is the marking given to what the device reports (its position,
	// chat, markers), in the user's component. TAK itself carries no marking.
	Classification Classification `json:"classification"`
	NotAfter       time.Time      `json:"not_after"`
	CreatedAt      time.Time      `json:"created_at"`
	RevokedAt      *time.Time     `json:"revoked_at,omitempty"`
	RevokeReason   string         `json:"revoke_reason,omitempty"`
}

// DefaultGroup is the TAK group a device joins when none is given.
const DefaultGroup = "mission"

var (
	deviceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	groupNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)
)

// ValidGroupName reports whether s may name a TAK group.
func ValidGroupName(s string) bool { return groupNameRE.MatchString(s) }

// Validate checks the fields an administrator chooses.
func (d *Device) Validate() error {
	if !deviceNameRE.MatchString(d.Name) {
		return Invalid("name", "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if d.UserID == 0 {
		return Invalid("user", "is required")
	}
	if len(d.Groups) == 0 {
		return Invalid("groups", "at least one group is required")
	}
	if len(d.Groups) > 32 {
		return Invalid("groups", "at most 32 groups")
	}
	for _, g := range d.Groups {
		if !ValidGroupName(g) {
			return Invalid("groups", "%q is not a valid group name", g)
		}
	}
	if d.Classification < Unclassified || d.Classification > StrictlyConfidential {
		return Invalid("classification", "unknown classification")
	}
	return nil
}

// Active reports whether the device's certificate may still be used at t.
func (d *Device) Active(t time.Time) bool {
	return d.RevokedAt == nil && t.Before(d.NotAfter)
}

type DeviceStore interface {
	// CreateDevice sets d.ID; ECONFLICT if the name or serial is taken.
	CreateDevice(ctx context.Context, d *Device, e AuditEntry) error
	Device(ctx context.Context, id int64) (*Device, error)
	DeviceByName(ctx context.Context, name string) (*Device, error)
	DeviceBySerial(ctx context.Context, serial string) (*Device, error)
	// Devices lists all devices, or those of one user when userID is not 0.
	Devices(ctx context.Context, userID int64) ([]*Device, error)
	// RevokeDevice marks the device revoked at the given time; revoking twice is ECONFLICT.
	RevokeDevice(ctx context.Context, id int64, at time.Time, reason string, e AuditEntry) error
}

// IdentifyDevice is the rule for who a device certificate acts as, used by every
// listener that accepts one (the CoT stream, the Marti API): the device registered
// under the certificate's serial, holding exactly that certificate (fingerprint),
// neither revoked nor expired at now, whose user exists and is enabled. Any other
// case is EUNAUTHENTICATED; a store failure is returned as it is.
func IdentifyDevice(ctx context.Context, devices interface {
	DeviceBySerial(ctx context.Context, serial string) (*Device, error)
}, users interface {
	User(ctx context.Context, id int64) (*User, error)
}, serial, fingerprint string, now time.Time) (*User, *Device, error) {
	d, err := devices.DeviceBySerial(ctx, serial)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, Errorf(EUNAUTHENTICATED, "unknown device certificate (serial %s)", serial)
	}
	if err != nil {
		return nil, nil, err
	}
	// The serial alone could collide with a certificate from another CA a listener
	// might trust; the fingerprint pins the exact certificate issued.
	if subtle.ConstantTimeCompare([]byte(fingerprint), []byte(d.Fingerprint)) != 1 {
		return nil, nil, Errorf(EUNAUTHENTICATED, "unknown device certificate (serial %s)", serial)
	}
	if !d.Active(now) {
		return nil, nil, Errorf(EUNAUTHENTICATED, "device %s: certificate revoked or expired", d.Name)
	}
	u, err := users.User(ctx, d.UserID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil, Errorf(EUNAUTHENTICATED, "device %s: its user no longer exists", d.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	if u.Disabled {
		return nil, nil, Errorf(EUNAUTHENTICATED, "device %s: user %s is disabled", d.Name, u.Username)
	}
	return u, d, nil
}
