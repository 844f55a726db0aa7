package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
)

const deviceUsage = `usage:
  bluehelm device add NAME --user USERNAME [--group G]... [--classification U] [--days 365]
  bluehelm device list [--user USERNAME] [--json]
  bluehelm device revoke NAME [--reason TEXT]
  bluehelm device package NAME --host HOST [--port 8089] [--out NAME.zip] [--qr FILE.png]
                          [--password atakatak] [--description TEXT]
A device is a TAK client (ATAK, WinTAK, iTAK) acting for a user. "add" issues its
certificate from the mission CA ("bluehelm ca init" first); "package" writes the data
package to import on the device, and --qr the iTAK quick-connect code.
`

// deviceStore is what the device commands need from the store.
type deviceStore interface {
	bluehelm.UserStore
	bluehelm.DeviceStore
	bluehelm.AuditStore
	Close() error
}

func openDeviceStore(sf storeFlags) (deviceStore, error) {
	store, err := openStore(sf)
	if err != nil {
		return nil, err // not store itself: a nil *sqlite.DB in an interface is not nil
	}
	return store, nil
}

// openDevice opens the store and finds the named device; the caller closes the store.
func openDevice(ctx context.Context, sf storeFlags, name string) (deviceStore, *bluehelm.Device, error) {
	store, err := openDeviceStore(sf)
	if err != nil {
		return nil, nil, err
	}
	d, err := store.DeviceByName(ctx, name)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		err = bluehelm.Invalid("name", "no device %q (see bluehelm device list)", name)
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, d, nil
}

// listFlag is a flag that may be repeated; each value may also be a comma-separated
// list (group names cannot contain commas).
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, splitList(v)...)
	return nil
}

// parseNamed parses "NAME [flags]" or "[flags] NAME": administrators type both.
func parseNamed(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := parse(fs, fs.Args()[1:]); err != nil { // flags after the name
			return "", err
		}
	}
	if name == "" || fs.NArg() > 0 {
		fs.Usage()
		return "", errUsage
	}
	return name, nil
}

func runDevice(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, deviceUsage)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	// The store flags are bound to sf here and filled when the subcommand parses, so
	// the subcommands take a pointer and read it only after parsing.
	fs := newFlagSet("device "+sub, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, deviceUsage); fs.PrintDefaults() }
	var sf storeFlags
	sf.register(fs)
	switch sub {
	case "add":
		return deviceAdd(ctx, fs, &sf, rest, stdout)
	case "list":
		return deviceList(ctx, fs, &sf, rest, stdout)
	case "revoke":
		return deviceRevoke(ctx, fs, &sf, rest, stdout)
	case "package":
		return devicePackage(ctx, fs, &sf, rest, stdout)
	}
	fmt.Fprint(stderr, deviceUsage)
	return errUsage
}

func deviceAdd(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, args []string, stdout io.Writer) error {
	username := fs.String("user", "", "the user the device acts for (required)")
	var groups listFlag
	fs.Var(&groups, "group", "TAK group (channel) the device shares with; repeat for several (default \""+bluehelm.DefaultGroup+"\")")
	class := fs.String("classification", env("classification", "U"), "marking of what the device reports: U, C or SC [BLUEHELM_CLASSIFICATION]")
	days := fs.Int("days", envInt("days", 365), "certificate lifetime in days [BLUEHELM_DAYS]")
	name, err := parseNamed(fs, args)
	if err != nil {
		return err
	}
	if *username == "" {
		return bluehelm.Invalid("user", "is required: the user this device acts for (see bluehelm user list)")
	}
	if *days < 1 {
		return bluehelm.Invalid("days", "must be at least 1")
	}
	c, err := bluehelm.ParseClassification(*class)
	if err != nil {
		return bluehelm.PrefixField("classification", err)
	}
	if len(groups) == 0 {
		groups = listFlag{bluehelm.DefaultGroup}
	}
	// Everything that can be refused is checked before a key is made or a file
	// written: a failed add leaves nothing behind.
	authority, err := ca.Load(caDir(*sf))
	if err != nil {
		return err
	}
	store, err := openDeviceStore(*sf)
	if err != nil {
		return err
	}
	defer store.Close()
	u, err := store.UserByUsername(ctx, *username)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return bluehelm.Invalid("user", "no user %q (see bluehelm user list)", *username)
	}
	if err != nil {
		return err
	}
	if u.Disabled {
		return bluehelm.Invalid("user", "user %q is disabled", u.Username)
	}
	// A device reports as its user: marking its reports above what the user may
	// read would make the user's own device produce data the user cannot see.
	if c > u.Clearance {
		return bluehelm.Invalid("classification", "%s is above user %q's clearance (%s)", c, u.Username, u.Clearance)
	}
	d := &bluehelm.Device{Name: name, UserID: u.ID, Username: u.Username, Groups: groups, Classification: c}
	if err := d.Validate(); err != nil {
		return err
	}
	if _, err := store.DeviceByName(ctx, name); err == nil {
		return bluehelm.Errorf(bluehelm.ECONFLICT, "a device named %q exists already (names stay taken after revocation, so that the audit log stays unambiguous)", name)
	} else if bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		return err
	}

	now := time.Now()
	creds, err := authority.IssueDevice(name, time.Duration(*days)*24*time.Hour, now)
	if err != nil {
		return err
	}
	cert := creds.Certificate
	d.Serial, d.Fingerprint, d.NotAfter, d.CreatedAt = ca.Serial(cert), ca.Fingerprint(cert), cert.NotAfter, now
	e := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "device.create", "", map[string]any{
		"name": name, "user": u.Username, "groups": d.Groups, "classification": c.String(),
		"serial": d.Serial, "fingerprint": d.Fingerprint, "not_after": d.NotAfter.UTC(),
	})
	e.At = now
	// The record first, the key file second: a name taken by a concurrent add fails
	// here, before this command could overwrite the other device's key.
	if err := store.CreateDevice(ctx, d, e); err != nil {
		return err
	}
	if err := authority.SaveDevice(name, creds); err != nil {
		return fmt.Errorf("device %q is registered but its key could not be saved (%w); revoke it and add it again", name, err)
	}
	fmt.Fprintf(stdout, "added device %s for user %s (id %d)\n", d.Name, d.Username, d.ID)
	fmt.Fprintf(stdout, "serial:      %s\n", d.Serial)
	fmt.Fprintf(stdout, "fingerprint: %s\n", d.Fingerprint)
	fmt.Fprintf(stdout, "groups:      %s\n", strings.Join(d.Groups, ", "))
	fmt.Fprintf(stdout, "marking:     %s\n", d.Classification)
	fmt.Fprintf(stdout, "expires:     %s\n", d.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "next: bluehelm device package %s --host HOST\n", d.Name)
	return nil
}

func envInt(flagName string, def int) int {
	if v := env(flagName, ""); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// deviceStatus is what an administrator needs to know at a glance.
func deviceStatus(d *bluehelm.Device, now time.Time) string {
	switch {
	case d.RevokedAt != nil:
		return "revoked " + d.RevokedAt.UTC().Format(time.DateOnly)
	case !d.Active(now):
		return "expired"
	case d.NotAfter.Sub(now) < 30*24*time.Hour:
		return "expires soon"
	}
	return "active"
}

func deviceList(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, args []string, stdout io.Writer) error {
	username := fs.String("user", "", "only this user's devices")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	store, err := openDeviceStore(*sf)
	if err != nil {
		return err
	}
	defer store.Close()
	var userID int64
	if *username != "" {
		u, err := store.UserByUsername(ctx, *username)
		if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
			return bluehelm.Invalid("user", "no user %q", *username)
		}
		if err != nil {
			return err
		}
		userID = u.ID
	}
	devices, err := store.Devices(ctx, userID)
	if err != nil {
		return err
	}
	if *asJSON {
		if devices == nil {
			devices = []*bluehelm.Device{}
		}
		return json.NewEncoder(stdout).Encode(devices)
	}
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUSER\tGROUPS\tMARKING\tEXPIRES\tSTATUS\tSERIAL")
	for _, d := range devices {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Username, strings.Join(d.Groups, ","),
			d.Classification, d.NotAfter.UTC().Format(time.DateOnly), deviceStatus(d, now), d.Serial)
	}
	return tw.Flush()
}

func deviceRevoke(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, args []string, stdout io.Writer) error {
	reason := fs.String("reason", "", "why (lost, stolen, user left …), kept in the register and the audit log")
	name, err := parseNamed(fs, args)
	if err != nil {
		return err
	}
	store, d, err := openDevice(ctx, *sf, name)
	if err != nil {
		return err
	}
	defer store.Close()
	if d.RevokedAt != nil {
		return bluehelm.Errorf(bluehelm.ECONFLICT, "device %q was already revoked on %s", d.Name, d.RevokedAt.UTC().Format(time.DateOnly))
	}
	now := time.Now()
	e := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "device.revoke", "", map[string]any{
		"name": d.Name, "user": d.Username, "serial": d.Serial, "reason": *reason,
	})
	e.At = now
	if err := store.RevokeDevice(ctx, d.ID, now, *reason, e); err != nil {
		return err
	}
	// The key can no longer be used; keeping it would only let it leak.
	if authority, err := ca.Load(caDir(*sf)); err == nil {
		if err := authority.RemoveDevice(d.Name); err != nil {
			fmt.Fprintf(stdout, "warning: could not delete the device's key file: %v\n", err)
		}
	}
	fmt.Fprintf(stdout, "revoked device %s (user %s); the server refuses its certificate and cuts it off within 30 s if connected\n", d.Name, d.Username)
	return nil
}

func devicePackage(ctx context.Context, fs *flag.FlagSet, sf *storeFlags, args []string, stdout io.Writer) error {
	host := fs.String("host", env("host", ""), "DNS name or IPv4 address devices reach the server at (required) [BLUEHELM_HOST]")
	port := fs.Int("port", envInt("tak-port", ca.DefaultPort), "TAK TLS port [BLUEHELM_TAK_PORT]")
	out := fs.String("out", "", "data package file (default NAME.zip)")
	qrFile := fs.String("qr", "", "also write the iTAK quick-connect QR code to this PNG file")
	password := fs.String("password", "", "password of the keystores in the package (default \""+ca.DefaultPassword+"\", the TAK convention)")
	description := fs.String("description", env("description", "bluehelm"), "the server's name in the client's server list [BLUEHELM_DESCRIPTION]")
	name, err := parseNamed(fs, args)
	if err != nil {
		return err
	}
	if *host == "" {
		return bluehelm.Invalid("host", "is required: the DNS name or IPv4 address devices reach this server at")
	}
	if *out == "" {
		*out = name + ".zip"
	}
	authority, err := ca.Load(caDir(*sf))
	if err != nil {
		return err
	}
	store, d, err := openDevice(ctx, *sf, name)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	if d.RevokedAt != nil {
		return bluehelm.Errorf(bluehelm.ECONFLICT, "device %q was revoked on %s: add a new device instead", d.Name, d.RevokedAt.UTC().Format(time.DateOnly))
	}
	if !d.Active(now) {
		return bluehelm.Errorf(bluehelm.ECONFLICT, "the certificate of device %q expired on %s: add a new device instead", d.Name, d.NotAfter.UTC().Format(time.DateOnly))
	}
	creds, err := authority.LoadDevice(d.Name)
	if err != nil {
		return err
	}
	if ca.Serial(creds.Certificate) != d.Serial || ca.Fingerprint(creds.Certificate) != d.Fingerprint {
		return fmt.Errorf("the key file of device %q holds another certificate (serial %s) than the register (serial %s); revoke the device and add it again", d.Name, ca.Serial(creds.Certificate), d.Serial)
	}
	zipData, err := ca.Package(ca.PackageOptions{
		Name: d.Name, Host: *host, Port: *port, Description: *description,
		Device: creds, CACerts: authority.CACerts(), Password: *password,
	})
	if err != nil {
		return err
	}
	var qrText string
	var qrPNG []byte
	if *qrFile != "" {
		qrText = ca.ITAKQuickConnect(*description, *host, *port)
		if qrPNG, err = ca.QR(qrText); err != nil {
			return err
		}
	}
	// The package holds the device's private key: readable by the owner only.
	if err := writePrivate(*out, zipData); err != nil {
		return err
	}
	if *qrFile != "" {
		if err := os.WriteFile(*qrFile, qrPNG, 0o644); err != nil {
			return err
		}
	}
	e := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "device.package", "device/"+strconv.FormatInt(d.ID, 10), map[string]any{
		"name": d.Name, "user": d.Username, "serial": d.Serial, "host": *host, "port": *port, "qr": *qrFile != "",
	})
	e.At = now
	if err := store.AppendAudit(ctx, e); err != nil {
		return err
	}
	pw := *password
	if pw == "" {
		pw = ca.DefaultPassword
	}
	p := *port
	if p == 0 {
		p = ca.DefaultPort
	}
	fmt.Fprintf(stdout, "wrote %s: data package for %s (user %s) connecting to %s:%d over TLS\n", *out, d.Name, d.Username, *host, p)
	fmt.Fprintf(stdout, "import it on the device (ATAK/WinTAK: Import; iTAK: Settings > Network > Servers > + > Upload Server Package); keystore password %q\n", pw)
	fmt.Fprintln(stdout, "it holds the device's private key: hand it over directly and delete it once imported")
	if *qrFile != "" {
		fmt.Fprintf(stdout, "wrote %s: iTAK quick-connect code %q\n", *qrFile, qrText)
	}
	return nil
}

// writePrivate writes data to path with mode 0600, also when path exists with a
// wider mode.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
