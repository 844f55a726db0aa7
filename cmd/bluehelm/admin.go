package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/acled"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/export"
	"github.com/bluehelm/bluehelm/ged"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
)

// cliPipeline opens the store and a pipeline for a one-shot command. The live picture
// is empty: the command's writes reach a running server's clients when they reload.
func cliPipeline(sf storeFlags, stderr io.Writer) (*ingest.Pipeline, func() error, error) {
	store, err := openStore(sf)
	if err != nil {
		return nil, nil, err
	}
	p := ingest.New(store, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{Logger: newLogger(stderr)})
	return p, store.Close, nil
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", stderr)
	var sf storeFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bluehelm import ucdp|acled|fatalities FILE.csv [--data DIR] [--json]")
		fs.PrintDefaults()
	}
	if len(args) < 2 {
		fs.Usage()
		return errUsage
	}
	kind, file := args[0], args[1]
	if err := parse(fs, args[2:]); err != nil {
		return err
	}
	if kind == "fatalities" {
		return importFatalities(ctx, file, sf, *asJSON, stdout)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()

	var (
		incs    []*bluehelm.Incident
		skipped []string
	)
	switch kind {
	case "ucdp", "ged":
		var rowErrs []ged.RowError
		incs, rowErrs, err = ged.Read(bufio.NewReader(f))
		for _, e := range rowErrs {
			skipped = append(skipped, e.Error())
		}
	case "acled":
		var rowErrs []acled.RowError
		incs, rowErrs, err = acled.Read(bufio.NewReader(f))
		for _, e := range rowErrs {
			skipped = append(skipped, e.Error())
		}
	default:
		return fmt.Errorf("unknown source %q: want ucdp, acled or fatalities", kind)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	p, closeStore, err := cliPipeline(sf, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	created, updated, err := p.ImportIncidents(ctx, bluehelm.SystemPrincipal("cli"), kind+":"+file, incs)
	if err != nil {
		return err
	}
	return printImport(stdout, *asJSON, file, "incidents", len(incs), created, updated, skipped)
}

// printImport reports an import: counts, and the first skipped rows with why.
func printImport(stdout io.Writer, asJSON bool, file, what string, read, created, updated int, skipped []string) error {
	res := struct {
		Read    int      `json:"read"`
		Created int      `json:"created"`
		Updated int      `json:"updated"`
		Skipped []string `json:"skipped"`
	}{read, created, updated, skipped}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d %s read, %d created, %d updated, %d rows skipped\n", file, read, what, created, updated, len(skipped))
	for i, s := range skipped {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more\n", len(skipped)-20)
			break
		}
		fmt.Fprintln(stdout, "  skipped:", s)
	}
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	var sf storeFlags
	sf.register(fs)
	format := fs.String("format", "geojson", "geojson, csv or kml")
	out := fs.String("o", "", "output file (default standard output)")
	as := fs.String("as", "", "export only what this user may see")
	bbox := fs.String("bbox", "", "minLon,minLat,maxLon,maxLat")
	from := fs.String("from", "", "occurred at or after (RFC 3339)")
	to := fs.String("to", "", "occurred before (RFC 3339)")
	cats := fs.String("category", "", "comma-separated categories")
	statuses := fs.String("status", "", "comma-separated statuses")
	text := fs.String("q", "", "full-text query")
	if err := parse(fs, args); err != nil {
		return err
	}
	ff, err := export.ParseFormat(*format)
	if err != nil {
		return err
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	who, err := principalFor(ctx, store, *as)
	if err != nil {
		return err
	}
	f := bluehelm.IncidentFilter{Viewer: who, Text: *text, Limit: 1000}
	if *bbox != "" {
		b, err := bluehelm.ParseBBox(*bbox)
		if err != nil {
			return err
		}
		f.BBox = &b
	}
	for _, t := range []struct {
		s   string
		dst *time.Time
		n   string
	}{{*from, &f.From, "from"}, {*to, &f.To, "to"}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.s)
		if err != nil {
			return bluehelm.Invalid(t.n, "not an RFC 3339 time: %q", t.s)
		}
		*t.dst = v
	}
	for _, c := range splitList(*cats) {
		f.Categories = append(f.Categories, bluehelm.Category(c))
	}
	for _, s := range splitList(*statuses) {
		f.Statuses = append(f.Statuses, bluehelm.Status(s))
	}
	w := stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriter(w)
	n := 0
	var page *bluehelm.IncidentPage
	i := 0
	next := func() (*bluehelm.Incident, error) {
		for page == nil || i == len(page.Incidents) {
			if page != nil && page.NextCursor == "" {
				return nil, io.EOF
			}
			if page != nil {
				f.Cursor = page.NextCursor
			}
			var err error
			if page, err = store.FindIncidents(ctx, f); err != nil {
				return nil, err
			}
			i = 0
			if len(page.Incidents) == 0 {
				return nil, io.EOF
			}
		}
		i++
		n++
		return page.Incidents[i-1], nil
	}
	if err := export.Write(bw, ff, next); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	e := bluehelm.NewAudit(who, "incident.export", "incidents", map[string]any{"format": *format, "count": n, "via": "cli"})
	if err := store.AppendAudit(ctx, e); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stderr, "exported %d incidents to %s\n", n, *out)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usageText = `usage:
  bluehelm user create --username NAME --role ROLE --component COMP --clearance LEVEL [--name "Full Name"] [--password-stdin]
  bluehelm user list [--json]
  bluehelm user disable|enable NAME
  bluehelm user token NAME --name WHAT [--ttl 720h]
roles: admin commander operations analyst reporter camp_manager medical viewer
components: military police civilian support; clearance: U, C or SC
`
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return errUsage
	}
	sub, rest := args[0], args[1:]
	fs := newFlagSet("user "+sub, stderr)
	var sf storeFlags
	sf.register(fs)
	svcFor := func() (*auth.Service, func() error, error) {
		store, err := openStore(sf)
		if err != nil {
			return nil, nil, err
		}
		return &auth.Service{Store: store}, store.Close, nil
	}
	sys := bluehelm.SystemPrincipal("cli")
	switch sub {
	case "create":
		username := fs.String("username", "", "login name")
		name := fs.String("name", "", "full name")
		role := fs.String("role", "", "role")
		comp := fs.String("component", "", "component")
		clr := fs.String("clearance", "U", "clearance: U, C or SC")
		pwStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
		if err := parse(fs, rest); err != nil {
			return err
		}
		c, err := bluehelm.ParseClassification(*clr)
		if err != nil {
			return bluehelm.PrefixField("clearance", err)
		}
		pw := auth.NewSecret("")[:16]
		if *pwStdin {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		svc, closeFn, err := svcFor()
		if err != nil {
			return err
		}
		defer closeFn()
		u := &bluehelm.User{Username: *username, Name: *name, Role: bluehelm.Role(*role), Component: bluehelm.Component(*comp), Clearance: c}
		if err := svc.CreateUser(ctx, sys, u, pw); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (id %d)\n", u.Username, u.ID)
		if !*pwStdin {
			fmt.Fprintf(stdout, "password: %s\n", pw)
		}
		return nil
	case "list":
		asJSON := fs.Bool("json", false, "print JSON")
		if err := parse(fs, rest); err != nil {
			return err
		}
		svc, closeFn, err := svcFor()
		if err != nil {
			return err
		}
		defer closeFn()
		users, err := svc.Store.Users(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(users)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLE\tCOMPONENT\tCLEARANCE\tDISABLED\tNAME")
		for _, u := range users {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%v\t%s\n", u.ID, u.Username, u.Role, u.Component, u.Clearance, u.Disabled, u.Name)
		}
		return tw.Flush()
	case "disable", "enable", "token":
		tokenName := fs.String("name", "", "what the token is for (token only)")
		ttl := fs.Duration("ttl", 0, "token lifetime, e.g. 720h; 0 never expires (token only)")
		if len(rest) == 0 {
			fmt.Fprint(stderr, usageText)
			return errUsage
		}
		username := rest[0]
		if err := parse(fs, rest[1:]); err != nil {
			return err
		}
		svc, closeFn, err := svcFor()
		if err != nil {
			return err
		}
		defer closeFn()
		u, err := svc.Store.UserByUsername(ctx, username)
		if err != nil {
			return err
		}
		if sub == "token" {
			secret, _, err := svc.IssueToken(ctx, sys, u.ID, *tokenName, *ttl)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, secret)
			return nil
		}
		u.Disabled = sub == "disable"
		if err := svc.UpdateUser(ctx, sys, u, ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s %sd\n", u.Username, sub)
		return nil
	}
	fmt.Fprint(stderr, usageText)
	return errUsage
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: bluehelm audit verify [--data DIR]")
		return errUsage
	}
	fs := newFlagSet("audit verify", stderr)
	var sf storeFlags
	sf.register(fs)
	head := fs.String("head", "", "a head printed by an earlier verify (SEQ:HASH): also check it is still in the chain, which detects deletion of the newest entries")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit chain INVALID after %d good entries: %w", n, err)
	}
	if *head != "" {
		var seq int64
		var hash string
		if _, err := fmt.Sscanf(strings.Replace(*head, ":", " ", 1), "%d %s", &seq, &hash); err != nil || seq < 1 {
			return bluehelm.Invalid("head", "want SEQ:HASH as printed by audit verify")
		}
		es, err := store.AuditLog(ctx, seq-1, 1)
		if err != nil {
			return err
		}
		if len(es) == 0 || es[0].Hash != hash {
			return fmt.Errorf("audit chain INVALID: recorded head %d is missing or different (entries were deleted or rewritten)", seq)
		}
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries verified\n", n)
	if n > 0 {
		es, err := store.AuditLog(ctx, n-1, 1)
		if err != nil {
			return err
		}
		if len(es) == 1 {
			// The chain cannot show that its newest entries were cut off; a head kept
			// somewhere else (a log book, another machine) can.
			fmt.Fprintf(stdout, "head: %d:%s\n", es[0].Seq, es[0].Hash)
		}
	}
	return nil
}
