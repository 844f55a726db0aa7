package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is a private PostgreSQL server for a fault test that stops, kills or
// restarts it, which the shared test database must not suffer. It needs the
// server binaries (Debian postgresql-15 and postgresql-15-postgis-3) and, run
// as root, the postgres account; it skips without them, and fails under CI=true.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	as   string // "" to run as the current user, else the account to run as
}

// pgBin is where Debian puts the server binaries.
const pgBin = "/usr/lib/postgresql/15/bin"

// StartServer initialises and starts a server on a free 127.0.0.1 port, with
// a database "bluehelm" holding PostGIS. It is stopped at the end of the test.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "postgres")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL server binaries missing (%v): CI must install postgresql-15", err)
		}
		t.Skipf("PostgreSQL server binaries missing: %v", err)
	}
	s := &Server{t: t, bin: pgBin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatalf("running as root needs the postgres account: %v", err)
		}
		s.as = "postgres"
	}
	dir, err := os.MkdirTemp("", "bluehelm-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if s.as != "" {
		s.run("chown", "-R", s.as+":"+s.as, dir)
	}
	s.port = freePort(t)
	s.pg("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
	s.Start()
	t.Cleanup(func() { s.ctl("stop", "-m", "immediate") })
	s.psql("postgres", "CREATE DATABASE bluehelm")
	s.psql("bluehelm", "CREATE EXTENSION IF NOT EXISTS postgis")
	return s
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// URL is the server's bluehelm database.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/bluehelm?sslmode=disable", s.port)
}

// Start starts the server and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.ctl("start", "-w", "-t", "60", "-l", filepath.Join(s.dir, "server.log"),
		"-o", "-h 127.0.0.1 -p "+strconv.Itoa(s.port)+" -k "+s.dir)
}

// Stop stops the server: "fast" disconnects clients and shuts down cleanly,
// "immediate" is a crash (recovery from the WAL at the next start).
func (s *Server) Stop(mode string) {
	s.t.Helper()
	s.ctl("stop", "-w", "-m", mode)
}

// Restart stops the server in mode and starts it again.
func (s *Server) Restart(mode string) {
	s.t.Helper()
	s.Stop(mode)
	s.Start()
}

func (s *Server) ctl(args ...string) {
	s.t.Helper()
	s.pg("pg_ctl", append([]string{"-D", s.data()}, args...)...)
}

func (s *Server) psql(db, sql string) {
	s.t.Helper()
	s.run("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qc", sql)
}

// pg runs a server program as the server's account.
func (s *Server) pg(prog string, args ...string) {
	s.t.Helper()
	path := filepath.Join(s.bin, prog)
	if s.as != "" {
		s.run("runuser", append([]string{"-u", s.as, "--", path}, args...)...)
		return
	}
	s.run(path, args...)
}

func (s *Server) run(prog string, args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, prog, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}
