package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm/ca"
)

func TestFederationFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hq := write("hq.json", `{"node":"hq","links":[{"peer":"camp1","max_classification":"C","releasable_to":["military"]},{"peer":"camp2","max_classification":"U"}]}`)
	bad := write("bad.json", `{"node":"hq","links":[{"peer":"camp1","max_classification":"TOP SECRET"}]}`)
	camp := write("camp.json", `{"node":"camp1","links":[{"peer":"hq","max_classification":"U"}]}`)
	// The mission CA's server certificate serves the leaf listener too.
	caDir := filepath.Join(dir, "ca")
	mission, err := ca.Init(caDir, "Test Mission CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mission.ServerCertificate([]string{"hq.example"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	cert, key, caPEM := filepath.Join(caDir, ca.ServerCertFile), filepath.Join(caDir, ca.ServerKeyFile), filepath.Join(caDir, ca.CertFile)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name string
		f    federationFlags
		err  string // empty: starts
	}{
		{"off", federationFlags{}, ""},
		{"link without a role", federationFlags{link: hq}, "need --leaf-listen"},
		{"no link file", federationFlags{leafListen: "127.0.0.1:0"}, "needs a link file"},
		{"bad link file", federationFlags{leafListen: "127.0.0.1:0", link: bad}, "classification"},
		{"camp with two peers", federationFlags{federateTo: "nats-leaf://127.0.0.1:1", link: hq}, "names one peer"},
		{"bad hub url", federationFlags{federateTo: "http://hq:7422", link: camp}, "scheme"},
		{"hq", federationFlags{leafListen: "127.0.0.1:0", link: hq}, ""},
		{"hq with TLS", federationFlags{leafListen: "127.0.0.1:0", link: hq, tlsCert: cert, tlsKey: key}, ""},
		{"camp with TLS", federationFlags{federateTo: "tls://127.0.0.1:1", link: camp, tlsCA: caPEM}, ""},
		{"TLS without a role", federationFlags{tlsCA: caPEM}, "need --leaf-listen"},
		{"certificate without key", federationFlags{leafListen: "127.0.0.1:0", link: hq, tlsCert: cert}, "go together"},
		{"certificate at a camp", federationFlags{federateTo: "tls://127.0.0.1:1", link: camp, tlsCert: cert, tlsKey: key}, "a camp gives --leaf-tls-ca"},
		{"authority at HQ", federationFlags{leafListen: "127.0.0.1:0", link: hq, tlsCA: caPEM}, "for a camp"},
		{"authority not PEM", federationFlags{federateTo: "tls://127.0.0.1:1", link: camp, tlsCA: hq}, "no PEM certificate"},
		{"key of another certificate", federationFlags{leafListen: "127.0.0.1:0", link: hq, tlsCert: cert, tlsKey: filepath.Join(caDir, ca.KeyFile)}, "--leaf-tls-key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fed, err := c.f.start(context.Background(), t.TempDir(), log)
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				fed.close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				fed.close()
				t.Fatalf("got %v, want an error about %q", err, c.err)
			}
		})
	}
}
