package nats

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestStartServer(t *testing.T) {
	tests := []struct {
		name    string
		opts    ServerOptions
		wantErr string
		check   func(t *testing.T, s *Server)
	}{
		{name: "no store dir", opts: ServerOptions{Name: "x"}, wantErr: "StoreDir"},
		{name: "no name", opts: ServerOptions{StoreDir: "dir"}, wantErr: "Name"},
		{name: "bad route", opts: ServerOptions{Name: "x", StoreDir: "dir", ClusterListen: "127.0.0.1:0", Routes: []string{"::nope"}}, wantErr: "route"},
		{name: "routes without a listen address", opts: ServerOptions{Name: "x", StoreDir: "dir", Routes: []string{"nats://127.0.0.1:1"}}, wantErr: "cluster listen"},
		{name: "bad listen", opts: ServerOptions{Name: "x", StoreDir: "dir", LeafListen: "nohost"}, wantErr: "leaf listen"},
		{name: "standalone, in-process only", opts: ServerOptions{Name: "solo"}, check: func(t *testing.T, s *Server) {
			if s.ClusterURL() != "" || s.LeafURL() != "" {
				t.Errorf("cluster %q, leaf %q: want none", s.ClusterURL(), s.LeafURL())
			}
			nc, err := s.Connect()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := js.AccountInfo(ctx); err != nil {
				t.Errorf("JetStream: %v", err)
			}
		}},
		{name: "leaf listener for a camp", opts: ServerOptions{Name: "hq", LeafListen: "127.0.0.1:0", JetStreamDomain: "hq"}, check: func(t *testing.T, s *Server) {
			u, err := url.Parse(s.LeafURL())
			if err != nil || u.Port() == "" || u.Port() == "0" || strings.HasPrefix(u.Port(), "-") {
				t.Fatalf("leaf URL %q", s.LeafURL())
			}
			c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err != nil {
				t.Fatalf("dialling the leaf port: %v", err)
			}
			c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			if o.StoreDir == "" && tt.wantErr == "" {
				o.StoreDir = t.TempDir()
			}
			o.Logger = testLogger()
			s, err := StartServer(o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Shutdown(); s.WaitForShutdown() }()
			tt.check(t, s)
		})
	}
}
