package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	nethttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ca"
	"github.com/bluehelm/bluehelm/cot"
	"github.com/bluehelm/bluehelm/marti"
)

// takFlags configure what TAK devices talk to: the CoT stream listeners, the Marti
// API (file sharing) and certificate enrollment.
type takFlags struct {
	cotTLS, cotTCP, martiAddr, enrollAddr string
	hosts                                 string
	labComponent, labGroup                string
}

func (f *takFlags) register(fs *flag.FlagSet, defaults takFlags) {
	fs.StringVar(&f.cotTLS, "cot-tls", env("cot-tls", defaults.cotTLS), "CoT over TLS with device certificates; empty = off [BLUEHELM_COT_TLS]")
	fs.StringVar(&f.cotTCP, "cot-tcp", env("cot-tcp", defaults.cotTCP), "plain CoT over TCP for labs (devices act as the lab identity); empty = off [BLUEHELM_COT_TCP]")
	fs.StringVar(&f.martiAddr, "marti", env("marti", defaults.martiAddr), "TAK Marti API over TLS (file sharing, contacts); empty = off [BLUEHELM_MARTI]")
	fs.StringVar(&f.enrollAddr, "enroll", env("enroll", defaults.enrollAddr), "TAK certificate enrollment over TLS; empty = off [BLUEHELM_ENROLL]")
	fs.StringVar(&f.hosts, "hostname", env("hostname", defaults.hosts), "comma-separated names and addresses devices use to reach this server (server certificate) [BLUEHELM_HOSTNAME]")
	fs.StringVar(&f.labComponent, "cot-lab-component", env("cot-lab-component", "military"), "component of the plain-TCP lab identity [BLUEHELM_COT_LAB_COMPONENT]")
	fs.StringVar(&f.labGroup, "cot-lab-group", env("cot-lab-group", "lab"), "the one TAK group of plain-TCP lab devices [BLUEHELM_COT_LAB_GROUP]")
}

func (f takFlags) any() bool {
	return f.cotTLS != "" || f.cotTCP != "" || f.martiAddr != "" || f.enrollAddr != ""
}

// serverHosts are the names in the server certificate: what was configured, or
// this machine's name and addresses.
func (f takFlags) serverHosts() []string {
	var hosts []string
	for _, h := range strings.Split(f.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) > 0 {
		return hosts
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				hosts = append(hosts, ipn.IP.String())
			}
		}
	}
	return hosts
}

// loadOrInitCA returns the mission CA of the data directory, creating it on first
// use: a TAK server that needs a manual PKI step before it starts is the first
// thing its users trip over.
func loadOrInitCA(dataDir string, log interface{ Info(string, ...any) }) (*ca.CA, error) {
	dir := filepath.Join(dataDir, "ca")
	c, err := ca.Load(dir)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		c, err = ca.Init(dir, "bluehelm mission CA", time.Now())
		if err == nil {
			log.Info("created the mission CA", "dir", dir)
		}
	}
	return c, err
}

// takRuntime is what startTAK started.
type takRuntime struct {
	cot       *cot.Server
	lines     []string          // what to tell the operator
	addrs     map[string]string // bound address by flag name ("cot-tls", "marti", …)
	listeners []net.Listener
	servers   []*nethttp.Server
	done      chan struct{}
}

// startTAK starts the CoT server and the Marti/enrollment listeners configured in f.
// It returns once every listener is bound; everything stops when ctx ends.
func (a *app) startTAK(ctx context.Context, f takFlags, dataDir string) (*takRuntime, error) {
	rt := &takRuntime{done: make(chan struct{}), addrs: map[string]string{}}
	if !f.any() {
		close(rt.done)
		return rt, nil
	}
	comp := bluehelm.Component(f.labComponent)
	if !comp.Valid() {
		return nil, fmt.Errorf("--cot-lab-component %q: want military, police, civilian or support", f.labComponent)
	}
	if !bluehelm.ValidGroupName(f.labGroup) {
		return nil, fmt.Errorf("--cot-lab-group %q is not a valid group name", f.labGroup)
	}
	// The lab identity is not an account: nobody can sign in as it. It reports at
	// UNCLASSIFIED only, and sees only what UNCLASSIFIED readers see.
	lab := &bluehelm.User{Username: "tak-lab", Name: "plain-TCP TAK lab devices", Role: bluehelm.RoleReporter,
		Component: comp, Clearance: bluehelm.Unclassified}
	rt.cot = cot.New(cot.Config{
		Ingest: a.pipeline, Directory: a.store, Auth: a.auth, Chat: a.store, Hub: a.hub, Picture: a.picture,
		Records: a.store, Logger: a.log, Registry: a.registry, LabUser: lab, LabGroups: []string{f.labGroup},
		NodeID: "bluehelm", Version: Version,
	})
	var mission *ca.CA
	var serverCert tls.Certificate
	if f.cotTLS != "" || f.martiAddr != "" || f.enrollAddr != "" {
		var err error
		if mission, err = loadOrInitCA(dataDir, a.log); err != nil {
			return nil, err
		}
		if serverCert, err = mission.ServerCertificate(f.serverHosts(), time.Now()); err != nil {
			return nil, fmt.Errorf("server certificate: %w", err)
		}
	}
	fail := func(err error) (*takRuntime, error) {
		for _, ln := range rt.listeners {
			ln.Close()
		}
		return nil, err
	}
	listen := func(addr, what string, cfg *tls.Config) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s on %s: %w", what, addr, err)
		}
		rt.addrs[what] = ln.Addr().String()
		if cfg != nil {
			ln = tls.NewListener(ln, cfg)
		}
		rt.listeners = append(rt.listeners, ln)
		return ln, nil
	}
	type cotListener struct {
		ln   net.Listener
		kind string
	}
	var cotLns []cotListener
	if f.cotTLS != "" {
		ln, err := listen(f.cotTLS, "cot-tls", mission.ServerTLSConfig(serverCert, mission.DeviceCheck(a.store, nil)))
		if err != nil {
			return fail(err)
		}
		cotLns = append(cotLns, cotListener{ln, cot.ListenerTLS})
		rt.lines = append(rt.lines, "CoT over TLS (device certificates) on "+ln.Addr().String())
	}
	if f.cotTCP != "" {
		ln, err := listen(f.cotTCP, "cot-tcp", nil)
		if err != nil {
			return fail(err)
		}
		cotLns = append(cotLns, cotListener{ln, cot.ListenerTCP})
		rt.lines = append(rt.lines, "plain CoT for labs on "+ln.Addr().String()+" (as "+lab.Username+", group "+f.labGroup+")")
	}
	mcfg := marti.Config{
		Auth: a.auth, Signer: mission, Devices: a.store, Attachments: a.store,
		Directory: martiDirectory{rt.cot}, Incidents: incidentLinker{a.store},
		Version: Version, NodeID: "bluehelm", Logger: a.log, Registry: a.registry,
		Identify: marti.CertIdentifier(a.store, a.store, nil),
	}
	if hosts := f.serverHosts(); len(hosts) > 0 {
		mcfg.Hostname = hosts[0]
	}
	var handlers []struct {
		ln net.Listener
		h  nethttp.Handler
	}
	if f.martiAddr != "" {
		files, err := marti.NewFiles(filepath.Join(dataDir, "files"))
		if err != nil {
			return fail(err)
		}
		mcfg.Files = files
		h, err := marti.NewAPIHandler(mcfg)
		if err != nil {
			return fail(err)
		}
		ln, err := listen(f.martiAddr, "marti", mission.ServerTLSConfig(serverCert, mission.DeviceCheck(a.store, nil)))
		if err != nil {
			return fail(err)
		}
		handlers = append(handlers, struct {
			ln net.Listener
			h  nethttp.Handler
		}{ln, h})
		rt.lines = append(rt.lines, "TAK Marti API (files, contacts) on https://"+ln.Addr().String())
	}
	if f.enrollAddr != "" {
		h, err := marti.NewEnrollHandler(mcfg)
		if err != nil {
			return fail(err)
		}
		ln, err := listen(f.enrollAddr, "enroll", &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return fail(err)
		}
		handlers = append(handlers, struct {
			ln net.Listener
			h  nethttp.Handler
		}{ln, h})
		rt.lines = append(rt.lines, "TAK certificate enrollment on https://"+ln.Addr().String())
	}

	runCtx, cancel := context.WithCancel(ctx)
	var pending []chan struct{}
	start := func(fn func()) {
		ch := make(chan struct{})
		pending = append(pending, ch)
		go func() { defer close(ch); fn() }()
	}
	start(func() { rt.cot.Run(runCtx) })
	for _, l := range cotLns {
		start(func() {
			if err := rt.cot.Serve(runCtx, l.ln, l.kind); err != nil {
				a.log.Error("CoT listener stopped", "err", err)
			}
		})
	}
	for _, h := range handlers {
		hs := &nethttp.Server{Handler: h.h, ReadHeaderTimeout: 10 * time.Second}
		rt.servers = append(rt.servers, hs)
		start(func() {
			if err := hs.Serve(h.ln); err != nil && !errors.Is(err, nethttp.ErrServerClosed) {
				a.log.Error("TAK HTTPS listener stopped", "err", err)
			}
		})
	}
	go func() {
		<-ctx.Done()
		shut, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		for _, hs := range rt.servers {
			hs.Shutdown(shut)
		}
		cancel()
		for _, ch := range pending {
			<-ch
		}
		rt.cot.Wait()
		close(rt.done)
	}()
	return rt, nil
}

// martiDirectory shows the CoT server's contacts to /Marti/api/clientEndPoints.
type martiDirectory struct{ srv *cot.Server }

func (d martiDirectory) Contacts(_ context.Context, q marti.ContactQuery) ([]marti.Contact, error) {
	var groups []string
	if q.Device != nil {
		groups = q.Device.Groups
	}
	var out []marti.Contact
	for _, c := range d.srv.Contacts(q.Viewer, groups) {
		if q.Since.IsZero() || !c.LastSeen.Before(q.Since) {
			out = append(out, marti.Contact{UID: c.UID, Callsign: c.Callsign, Username: c.Username,
				LastEventTime: c.LastSeen, Connected: c.Connected})
		}
	}
	return out, nil
}

// incidentLinker finds the report a TAK marker became.
type incidentLinker struct {
	store interface {
		IncidentByExternalID(ctx context.Context, externalID string) (*bluehelm.Incident, error)
	}
}

func (l incidentLinker) IncidentForMarker(ctx context.Context, uid string) (int64, bool) {
	inc, err := l.store.IncidentByExternalID(ctx, cot.MarkerExternalID(uid))
	if err != nil {
		return 0, false
	}
	return inc.ID, true
}
