package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
)

// caDir is where the mission CA lives in a data directory. It sits beside the database
// so that one backup of the data directory holds both the device register and the
// keys that make its entries usable.
func caDir(sf storeFlags) string { return filepath.Join(sf.data, "ca") }

const caUsage = `usage:
  bluehelm ca init [--name "UNMISS Mission CA"] [--data DIR]
  bluehelm ca server-cert --hostname NAMES [--data DIR]
init creates the mission certificate authority in DATA/ca. TAK clients trust it; every
device certificate ("bluehelm device add") and the server's TLS certificate come from it.
server-cert issues (or renews) the server's certificate for NAMES (comma-separated DNS
names and addresses) into DATA/ca/server.pem and server-key.pem, as serve does for its
TLS listeners: for HQ's federation listener (--leaf-tls-cert, --leaf-tls-key) before
the first serve. Camps trust DATA/ca/ca.pem (--leaf-tls-ca).
`

func runCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "server-cert" {
		return runCAServerCert(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprint(stderr, caUsage)
		return errUsage
	}
	fs := newFlagSet("ca init", stderr)
	var sf storeFlags
	sf.register(fs)
	name := fs.String("name", env("ca-name", "bluehelm Mission CA"), "the CA's name, shown to users when their device imports the truststore [BLUEHELM_CA_NAME]")
	fs.Usage = func() { fmt.Fprint(stderr, caUsage); fs.PrintDefaults() }
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	// The store first: a data directory the store cannot open gets no CA either.
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := ca.Init(caDir(sf), *name, time.Now())
	if err != nil {
		return err
	}
	cert := c.Certificate()
	e := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "ca.init", "ca", map[string]any{
		"name": cert.Subject.CommonName, "serial": ca.Serial(cert), "fingerprint": ca.Fingerprint(cert),
		"not_after": cert.NotAfter.UTC(),
	})
	if err := store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("the CA was created in %s but could not be audited: %w", c.Dir(), err)
	}
	fmt.Fprintf(stdout, "created mission CA %q in %s\n", cert.Subject.CommonName, c.Dir())
	fmt.Fprintf(stdout, "fingerprint (SHA-256): %s\n", ca.Fingerprint(cert))
	fmt.Fprintf(stdout, "valid until:           %s\n", cert.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "keep %s secret and backed up: losing it means re-enrolling every device\n", filepath.Join(c.Dir(), ca.KeyFile))
	fmt.Fprintln(stdout, "next: bluehelm device add NAME --user USERNAME")
	return nil
}

// runCAServerCert issues the server certificate of the data directory's CA.
func runCAServerCert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ca server-cert", stderr)
	var sf storeFlags
	sf.register(fs)
	hosts := fs.String("hostname", env("hostname", ""), "comma-separated names and addresses the server is reached by [BLUEHELM_HOSTNAME]")
	fs.Usage = func() { fmt.Fprint(stderr, caUsage); fs.PrintDefaults() }
	if err := parse(fs, args); err != nil {
		return err
	}
	names := takFlags{hosts: *hosts}.serverHosts()
	if fs.NArg() > 0 || strings.TrimSpace(*hosts) == "" {
		fmt.Fprintln(stderr, "ca server-cert: --hostname names the server (for example hq.mission.example,10.0.0.10)")
		return errUsage
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	c, err := ca.Load(caDir(sf))
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return fmt.Errorf("no mission CA in %s: run bluehelm ca init first", caDir(sf))
	}
	if err != nil {
		return err
	}
	tc, err := c.ServerCertificate(names, time.Now())
	if err != nil {
		return err
	}
	cert := tc.Leaf
	if cert == nil {
		if cert, err = x509.ParseCertificate(tc.Certificate[0]); err != nil {
			return err
		}
	}
	e := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "ca.server_cert", "ca", map[string]any{
		"serial": ca.Serial(cert), "names": names, "not_after": cert.NotAfter.UTC(),
	})
	if err := store.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("the certificate is in %s but could not be audited: %w", c.Dir(), err)
	}
	fmt.Fprintf(stdout, "server certificate for %s\n", strings.Join(append(cert.DNSNames, ipStrings(cert.IPAddresses)...), ", "))
	fmt.Fprintf(stdout, "certificate: %s\n", filepath.Join(c.Dir(), ca.ServerCertFile))
	fmt.Fprintf(stdout, "key:         %s\n", filepath.Join(c.Dir(), ca.ServerKeyFile))
	fmt.Fprintf(stdout, "valid until: %s\n", cert.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "camps trust: %s\n", filepath.Join(c.Dir(), ca.CertFile))
	return nil
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}
