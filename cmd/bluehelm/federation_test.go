package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name string
		f    federationFlags
		err  string // empty: starts
	}{
		{"off", federationFlags{}, ""},
		{"link without a role", federationFlags{link: hq}, "--link needs"},
		{"no link file", federationFlags{leafListen: "127.0.0.1:0"}, "needs a link file"},
		{"bad link file", federationFlags{leafListen: "127.0.0.1:0", link: bad}, "classification"},
		{"camp with two peers", federationFlags{federateTo: "nats-leaf://127.0.0.1:1", link: hq}, "names one peer"},
		{"bad hub url", federationFlags{federateTo: "http://hq:7422", link: write("camp.json", `{"node":"camp1","links":[{"peer":"hq","max_classification":"U"}]}`)}, "scheme"},
		{"hq", federationFlags{leafListen: "127.0.0.1:0", link: hq}, ""},
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
