package marti

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// maxCSRBody bounds a signClient body: a base64 RSA-4096 CSR is under 2 KB.
const maxCSRBody = 64 << 10

type enroll struct {
	*core
	cfg   Config
	fails *failLimiter
}

// NewEnrollHandler returns the certificate enrollment handler, for the TAK
// enrollment port (8446): HTTPS with the server certificate from the mission CA,
// no client certificate. It needs cfg.Auth, cfg.Signer and cfg.Devices.
//
// Every route except the version ones requires HTTP Basic authentication with a
// bluehelm username and password; a wrong one is 401 with a Basic challenge, a
// disabled account 403, and an address with too many recent failures 429.
func NewEnrollHandler(cfg Config) (http.Handler, error) {
	if cfg.Auth == nil || cfg.Signer == nil || cfg.Devices == nil {
		return nil, fmt.Errorf("%w: enrollment needs Auth, Signer and Devices", errMissing)
	}
	cfg.defaults()
	e := &enroll{core: newCore("enroll", &cfg, `Basic realm="bluehelm TAK enrollment", charset="UTF-8"`), cfg: cfg,
		fails: newFailLimiter(cfg.LoginRate, cfg.LoginBurst)}
	v := versionRoutes{cfg: &e.cfg}
	e.handle("GET", "/Marti/api/version", v.version)
	e.handle("GET", "/Marti/api/version/config", v.config)
	e.handle("GET", "/Marti/api/tls/config", e.authed(e.tlsConfig))
	e.handle("POST", "/Marti/api/tls/signClient/v2", e.authed(e.signClient))
	e.handle("GET", "/Marti/api/tls/profile/enrollment", e.authed(e.profile))
	return e.handler(), nil
}

// clientIP is the peer address. X-Forwarded-For is ignored: bluehelm is served
// directly, and a forged header would let a guesser pick a fresh bucket per try.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authed checks Basic credentials before h runs.
func (e *enroll) authed(h func(http.ResponseWriter, *http.Request, *bluehelm.User) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ip, now := clientIP(r), e.now()
		done, wait, ok := e.fails.begin(ip, now)
		if !ok {
			e.metrics.loginsLimited.Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return bluehelm.Errorf(bluehelm.ERATELIMIT, "too many failed logins from this address; try again later")
		}
		failed := false
		defer func() { done(failed) }()
		username, password, ok := r.BasicAuth()
		if !ok {
			// Not counted as a failure: a client may first try without credentials
			// and answer the challenge.
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "HTTP Basic authentication with your bluehelm username and password is required")
		}
		if len(username) > 256 || len(password) > 1024 {
			failed = true
			e.metrics.loginFailures.Inc()
			return bluehelm.Errorf(bluehelm.EUNAUTHENTICATED, "wrong username or password")
		}
		u, err := e.cfg.Auth.Authenticate(r.Context(), username, password)
		if err != nil {
			if bluehelm.ErrorCode(err) == bluehelm.EUNAUTHENTICATED {
				failed = true
				e.metrics.loginFailures.Inc()
				e.log.Info("tak enrollment login failed", "remote", ip, "username", username)
			}
			return err
		}
		if u == nil {
			return fmt.Errorf("marti: authenticator returned no user and no error")
		}
		// auth.Service already refuses disabled accounts (as a 401, so that it does
		// not reveal them); an Authenticator that returns them gets a 403 here.
		if u.Disabled {
			return bluehelm.Errorf(bluehelm.EFORBIDDEN, "account %q is disabled", u.Username)
		}
		return h(w, r, u)
	}
}

// tlsConfig tells the client what to put in its CSR subject. ATAK reads the
// nameEntries (CN=<username> followed by these, in order) and ignores the rest;
// the root element name and namespaces are those TAK Server emits, which CloudTAK
// checks literally (ns2:certificateConfig). validityDays is informational.
func (e *enroll) tlsConfig(w http.ResponseWriter, r *http.Request, _ *bluehelm.User) error {
	days := int(e.cfg.CertValidity / (24 * time.Hour))
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	fmt.Fprintf(&b, `<ns2:certificateConfig xmlns="http://bbn.com/marti/xml/config" xmlns:ns2="com.bbn.marti.config" validityDays="%d">`, days)
	b.WriteString(`<nameEntries>`)
	fmt.Fprintf(&b, `<nameEntry name="O" value="%s"/>`, xmlAttr(e.cfg.Organization))
	fmt.Fprintf(&b, `<nameEntry name="OU" value="%s"/>`, xmlAttr(e.cfg.OrganizationalUnit))
	b.WriteString(`</nameEntries></ns2:certificateConfig>`)
	return writeText(w, "application/xml", b.String())
}

func (e *enroll) profile(w http.ResponseWriter, r *http.Request, _ *bluehelm.User) error {
	// ATAK fetches this after enrolling and accepts 204 as "no profile"; bluehelm
	// has no per-user device profiles yet.
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signClient issues a client certificate for the authenticated user and records
// the device it belongs to.
//
// What the clients send and expect (from OpenTAKServer's and goatak's
// enrollment handlers and from client projects that document ATAK's requests):
// ATAK posts the CSR as base64 DER without PEM armour (Content-Type
// application/octet-stream) with Accept: application/xml and wants
// <enrollment><signedCert>…</signedCert><ca>…</ca>…</enrollment>, every value bare
// base64 DER and every child other than signedCert a CA; it treats any status but
// 200 as failure. iTAK and CloudTAK want JSON {"signedCert", "ca0", "ca1", …}
// (iTAK sends Accept: text/plain and still parses JSON). Some senders add PEM
// armour, so both are accepted.
func (e *enroll) signClient(w http.ResponseWriter, r *http.Request, u *bluehelm.User) error {
	q := r.URL.Query()
	clientUID := q.Get("clientUid")
	if clientUID == "" {
		clientUID = q.Get("clientUID")
	}
	if clientUID == "" || len(clientUID) > 128 || strings.ContainsFunc(clientUID, isControl) {
		return invalid("clientUid", "the client's uid (1-128 printable characters) is required")
	}
	version := q.Get("version")
	if len(version) > 100 || strings.ContainsFunc(version, isControl) {
		return invalid("version", "longer than 100 characters or not printable")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCSRBody))
	if err != nil {
		return err
	}
	csr, err := parseCSR(body)
	if err != nil {
		return err
	}
	// The CSR's subject is not used: the certificate's common name is the device
	// name chosen here, so a client cannot pick someone else's name. (TAK Server
	// insists that the CSR's CN is the username; ATAK does that, other clients
	// vary, and nothing depends on it here.)
	now := e.now()
	p := u.Principal()
	var (
		cert *x509.Certificate
		dev  *bluehelm.Device
	)
	// A name is free when looked up but another enrollment may take it before
	// CreateDevice: then sign again under the next free name. A certificate whose
	// device was not created is never handed out and matches no device, so it
	// cannot be used.
	for attempt := 0; ; attempt++ {
		name, err := e.freeDeviceName(r.Context(), u.Username, clientUID)
		if err != nil {
			return err
		}
		cert, err = e.cfg.Signer.SignClientCSR(csr, name, e.cfg.CertValidity, now)
		if err != nil {
			return fmt.Errorf("marti: signing client certificate: %w", err)
		}
		if cert == nil || len(cert.Raw) == 0 {
			return fmt.Errorf("marti: signer returned no certificate")
		}
		fp := sha256.Sum256(cert.Raw)
		dev = &bluehelm.Device{
			Name: name, UserID: u.ID, Username: u.Username,
			Serial:         strings.ToLower(cert.SerialNumber.Text(16)),
			Fingerprint:    hex.EncodeToString(fp[:]),
			Groups:         []string{bluehelm.DefaultGroup},
			Classification: bluehelm.Unclassified,
			NotAfter:       cert.NotAfter,
			CreatedAt:      now,
		}
		if err := dev.Validate(); err != nil {
			return fmt.Errorf("marti: derived device %q is invalid: %w", name, err)
		}
		audit := bluehelm.NewAudit(p, "device.enroll", "device/"+name, map[string]any{
			"client_uid": clientUID, "client_version": version, "serial": dev.Serial,
			"fingerprint": dev.Fingerprint, "not_after": dev.NotAfter, "remote": clientIP(r)})
		audit.At = now
		err = e.cfg.Devices.CreateDevice(r.Context(), dev, audit)
		if err == nil {
			break
		}
		if bluehelm.ErrorCode(err) != bluehelm.ECONFLICT || attempt >= 3 {
			return err
		}
	}
	e.metrics.enrollments.Inc()
	e.log.Info("tak device enrolled", "user", u.Username, "device", dev.Name, "client_uid", clientUID,
		"client_version", version, "serial", dev.Serial)

	cas := e.cfg.Signer.CACerts()
	accept := strings.ToLower(r.Header.Get("Accept"))
	if wantsXML(accept) {
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<enrollment><signedCert>")
		b.WriteString(base64.StdEncoding.EncodeToString(cert.Raw))
		b.WriteString("</signedCert>")
		for _, c := range cas {
			b.WriteString("<ca>" + base64.StdEncoding.EncodeToString(c.Raw) + "</ca>")
		}
		b.WriteString("</enrollment>")
		return writeText(w, "application/xml", b.String())
	}
	out := map[string]string{"signedCert": base64.StdEncoding.EncodeToString(cert.Raw)}
	for i, c := range cas {
		out["ca"+strconv.Itoa(i)] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	if accept == "text/plain" {
		// iTAK asks for text/plain and parses the body as JSON (OpenTAKServer's
		// enrollment code notes the same); give it the type it asked for.
		b, err := jsonBytes(out)
		if err != nil {
			return err
		}
		return writeText(w, "text/plain", string(b))
	}
	return writeJSON(w, http.StatusOK, out)
}

// wantsXML: JSON unless the client names XML and not JSON. ATAK sends
// "Accept: application/xml"; no Accept, */* and text/plain get JSON.
func wantsXML(accept string) bool {
	if strings.Contains(accept, "application/json") {
		return false
	}
	return strings.Contains(accept, "application/xml") || strings.Contains(accept, "text/xml")
}

// parseCSR accepts a PKCS#10 request as base64 DER (ATAK), PEM, or raw DER, and
// checks its self-signature and key.
func parseCSR(body []byte) (*x509.CertificateRequest, error) {
	// Raw DER is binary: trimming "spaces" would cut a request whose last
	// byte happens to be 0x20, 0x0a, … (about one in forty).
	if len(body) == 0 || body[0] != 0x30 {
		body = []byte(strings.TrimSpace(string(body)))
	}
	if len(body) == 0 {
		return nil, invalid("csr", "the request body must be a certificate signing request")
	}
	var der []byte
	switch {
	case body[0] != 0x30 && strings.Contains(string(body), "-----BEGIN"):
		blk, _ := pem.Decode(body)
		if blk == nil || (blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST") {
			return nil, invalid("csr", "PEM body is not a CERTIFICATE REQUEST")
		}
		der = blk.Bytes
	case body[0] == 0x30:
		// A DER SEQUENCE: base64 text never starts with this byte.
		der = body
	default:
		compact := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(body))
		var err error
		if der, err = base64.StdEncoding.DecodeString(compact); err != nil {
			if der, err = base64.RawStdEncoding.DecodeString(compact); err != nil {
				return nil, invalid("csr", "body is neither PEM nor base64 DER")
			}
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, invalid("csr", "not a valid PKCS#10 certificate signing request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, invalid("csr", "the request's signature does not verify: %v", err)
	}
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, invalid("csr", "RSA keys must have at least 2048 bits, not %d", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return nil, invalid("csr", "ECDSA keys must use P-256 or larger")
		}
	case ed25519.PublicKey:
	default:
		return nil, invalid("csr", "unsupported key type %T", csr.PublicKey)
	}
	return csr, nil
}

// freeDeviceName derives the device name from the username and the client uid
// ("alpha-1-ANDROID-5f2c…"), so an administrator can tell whose device it is and
// which app; and adds "-2", "-3"… when the name is taken (a re-enrollment, or two
// uids that agree in their first characters).
func (e *enroll) freeDeviceName(ctx context.Context, username, clientUID string) (string, error) {
	base := deviceNameBase(username, clientUID)
	for i := 1; i <= 100; i++ {
		name := base
		if i > 1 {
			name = base + "-" + strconv.Itoa(i)
		}
		_, err := e.cfg.Devices.DeviceByName(ctx, name)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", bluehelm.Errorf(bluehelm.ECONFLICT, "user %q already has too many devices for client %q; revoke old ones", username, clientUID)
}

// deviceNameBase keeps within bluehelm's device name rule (64 characters of
// letters, digits, '.', '_', '-'), leaving room for a "-NNN" suffix.
func deviceNameBase(username, clientUID string) string {
	uid := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, clientUID)
	uid = strings.Trim(uid, "-._")
	if uid == "" {
		uid = "tak"
	}
	base := username + "-" + uid
	if len(base) > 60 {
		base = strings.TrimRight(base[:60], "-._")
	}
	return base
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// xmlAttr escapes s for a double-quoted XML attribute.
func xmlAttr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			if r < 0x20 && r != '\t' {
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
