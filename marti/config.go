// Package marti serves the part of the TAK Server HTTP API ("Marti") that ATAK,
// WinTAK and iTAK call, as two http.Handlers for cmd/bluehelm to mount on two TLS
// listeners:
//
//   - NewEnrollHandler, for the certificate enrollment port (TAK default 8446):
//     HTTPS with the mission CA's server certificate, no client certificate, HTTP
//     Basic authentication with the bluehelm username and password.
//     GET  /Marti/api/tls/config
//     POST /Marti/api/tls/signClient/v2?clientUid=…&version=…
//     GET  /Marti/api/tls/profile/enrollment
//     GET  /Marti/api/version, /Marti/api/version/config (no authentication)
//
//   - NewAPIHandler, for the API port (TAK default 8443): HTTPS with a client
//     certificate required; Config.Identify turns the request into a principal and
//     its device (CertIdentifier does that from the TLS peer certificate).
//     GET  /Marti/api/version, /Marti/api/version/config (no identification needed)
//     GET  /Marti/api/clientEndPoints, /Marti/api/groups/all
//     POST /Marti/sync/upload, POST|PUT /Marti/sync/missionupload
//     GET  /Marti/sync/missionquery, /Marti/sync/content, /Marti/sync/search
//
// Wire shapes follow what the clients are known to parse (TAK Server's own
// responses as described by OpenTAKServer, goatak and client projects; each
// handler says what it relied on). Only facts were taken from those projects.
//
// The package decides nothing about access: what a caller may see is
// bluehelm.Principal.CanSee, what it may do is Principal.Can, and which devices
// exist is the store's business.
package marti

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Authenticator checks a username and password (auth.Service has this method).
// It returns an EUNAUTHENTICATED error for wrong credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (*bluehelm.User, error)
}

// Signer issues client certificates from the mission CA (the ca package has
// exactly these methods).
type Signer interface {
	// SignClientCSR returns a client certificate for the CSR's public key with
	// common name cn, valid for validity from now.
	SignClientCSR(csr *x509.CertificateRequest, cn string, validity time.Duration, now time.Time) (*x509.Certificate, error)
	// CACerts is the chain the client must trust, issuing CA first.
	CACerts() []*x509.Certificate
}

// Devices is what enrollment needs from the device store.
type Devices interface {
	// CreateDevice sets d.ID; ECONFLICT if the name or serial is taken.
	CreateDevice(ctx context.Context, d *bluehelm.Device, e bluehelm.AuditEntry) error
	// DeviceByName returns ENOTFOUND when no device has that name.
	DeviceByName(ctx context.Context, name string) (*bluehelm.Device, error)
}

// Attachments is the part of bluehelm.AttachmentStore that file sharing uses.
type Attachments interface {
	CreateAttachment(ctx context.Context, a *bluehelm.Attachment, e bluehelm.AuditEntry) error
	AttachmentsByHash(ctx context.Context, sha256 string) ([]*bluehelm.Attachment, error)
	Attachments(ctx context.Context, f bluehelm.AttachmentFilter) ([]*bluehelm.Attachment, error)
	LinkAttachment(ctx context.Context, id, incidentID int64, e bluehelm.AuditEntry) error
}

// Contact is a TAK client as /Marti/api/clientEndPoints reports it.
type Contact struct {
	UID           string
	Callsign      string
	Username      string
	Team          string // ATAK team colour, e.g. "Cyan"; may be empty
	Role          string // ATAK role, e.g. "Team Member"; may be empty
	LastEventTime time.Time
	Connected     bool
}

// ContactQuery asks a Directory for contacts.
type ContactQuery struct {
	Viewer bluehelm.Principal
	Device *bluehelm.Device // the caller's device; nil for a caller without one
	Since  time.Time        // zero = any time
}

// Directory lists connected and recently seen TAK contacts. It must return only
// the contacts q.Viewer (through q.Device) may see: the live CoT server knows the
// markings and groups, this package does not.
type Directory interface {
	Contacts(ctx context.Context, q ContactQuery) ([]Contact, error)
}

// IncidentLinker says which incident a map marker (a CoT uid) documents.
type IncidentLinker interface {
	IncidentForMarker(ctx context.Context, markerUID string) (incidentID int64, ok bool)
}

// Config wires both handlers. Each constructor says which fields it needs.
type Config struct {
	// Enrollment.
	Auth    Authenticator
	Signer  Signer
	Devices Devices
	// Organization and OrganizationalUnit are the O and OU that ATAK puts in its
	// CSR subject (from /Marti/api/tls/config). Empty means "bluehelm" and "TAK".
	Organization       string
	OrganizationalUnit string
	// CertValidity is the lifetime of issued client certificates; zero means 90 days.
	CertValidity time.Duration
	// LoginRate and LoginBurst limit failed Basic logins per client address;
	// zero means 5 a minute with a burst of 5 (as the web login).
	LoginRate  rate.Limit
	LoginBurst int

	// API.
	// Identify resolves the caller (normally from its TLS client certificate; see
	// CertIdentifier). Errors carry bluehelm codes: EUNAUTHENTICATED → 401,
	// EFORBIDDEN → 403, anything else → 500.
	Identify    func(*http.Request) (bluehelm.Principal, *bluehelm.Device, error)
	Attachments Attachments
	Files       *Files
	Directory   Directory      // nil: no contacts
	Incidents   IncidentLinker // nil: uploads are never linked to incidents

	// Both.
	Version  string // bluehelm's version, e.g. "0.9.0"
	Hostname string // announced in /version/config and used in content URLs when a request has no Host
	NodeID   string // TAK's "nodeId"; empty means "bluehelm"
	Logger   *slog.Logger
	// Registry receives the handlers' metrics; nil gives a private registry. Both
	// handlers may share one (they label their series by listener).
	Registry *prometheus.Registry
	Now      func() time.Time
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.NodeID == "" {
		c.NodeID = "bluehelm"
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Organization == "" {
		c.Organization = "bluehelm"
	}
	if c.OrganizationalUnit == "" {
		c.OrganizationalUnit = "TAK"
	}
	if c.CertValidity <= 0 {
		c.CertValidity = 90 * 24 * time.Hour
	}
	if c.LoginRate == 0 {
		c.LoginRate = rate.Every(time.Minute / 5)
	}
	if c.LoginBurst <= 0 {
		c.LoginBurst = 5
	}
}

var errMissing = errors.New("marti: missing configuration")
