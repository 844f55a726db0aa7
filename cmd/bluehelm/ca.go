package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
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
Creates the mission certificate authority in DATA/ca. TAK clients trust it; every
device certificate ("bluehelm device add") and the server's TLS certificate come from it.
`

func runCA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
