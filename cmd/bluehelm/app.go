package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/mbtiles"
	"github.com/bluehelm/bluehelm/ogcapi"
	"github.com/bluehelm/bluehelm/places"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/bluehelm/bluehelm/warn"
	"github.com/bluehelm/bluehelm/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// env returns the BLUEHELM_* variable for a flag, or def.
func env(flagName, def string) string {
	if v, ok := os.LookupEnv("BLUEHELM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))); ok {
		return v
	}
	return def
}

// storeFlags are the flags of every command that opens the data directory.
type storeFlags struct {
	data string
	db   string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", env("data", "./bluehelm-data"), "data directory (SQLite file, uploads) [BLUEHELM_DATA]")
	fs.StringVar(&s.db, "db", env("db", ""), "database: empty for SQLite in the data directory, or postgres://user:pass@host/db for PostgreSQL + PostGIS [BLUEHELM_DB]")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bluehelm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	return nil
}

// Store is what the commands need of a store: the domain's, and a readiness probe.
type Store interface {
	bluehelm.Store
	Ping(ctx context.Context) error
}

// openStore opens the configured store: PostgreSQL for a postgres:// URL (a mission
// HQ whose nodes share it), else the SQLite file in the data directory.
func openStore(sf storeFlags) (Store, error) {
	if sf.db != "" {
		if !strings.HasPrefix(sf.db, "postgres://") && !strings.HasPrefix(sf.db, "postgresql://") {
			return nil, fmt.Errorf("--db %q: give a postgres:// URL, or nothing for SQLite in the data directory", redactURL(sf.db))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		db, err := postgres.Open(ctx, sf.db, postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("--db %s: %w", redactURL(sf.db), err)
		}
		return db, nil
	}
	if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	return sqlite.Open(filepath.Join(sf.data, "bluehelm.db"))
}

// redactURL hides a password in a database URL before it is printed.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// app is one running bluehelm: store, live picture, pipeline and the services on top.
type app struct {
	log      *slog.Logger
	store    Store
	picture  *live.Picture
	fence    *live.Geofencer
	hub      *live.Hub
	pipeline *ingest.Pipeline
	warn     *warn.Service
	auth     *auth.Service
	registry *prometheus.Registry
	// community is the community alert intake (issue 8, community.go); nil: off.
	community *http.CommunityOptions
	// out is what the pipeline publishes to (issue 9, cluster.go: the NATS bus);
	// nil: the hub. closers run in reverse order before the store closes.
	out     ingest.Publisher
	closers []func()
	// remote receive the other cluster nodes' changes after this node
	// applied them (cluster.go applyRemote): the federation links (federation.go).
	remote []func(live.Event)
	// lead says whether this node runs the mission's singleton jobs (leader.go);
	// nil with SQLite: a single node always does.
	lead *leaderState
}

// openApp opens the store and builds the live state and the pipeline; hooks run
// before the pipeline is built (e.g. to set a.out) and before the picture loads.
func openApp(ctx context.Context, sf storeFlags, mf missionFlags, log *slog.Logger, hooks ...func(*app) error) (*app, error) {
	cfg, err := mf.config()
	if err != nil {
		return nil, err
	}
	store, err := openStore(sf)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{
		log: log, store: store, registry: reg,
		picture: live.NewPicture(), fence: live.NewGeofencer(), hub: live.NewHub(live.HubOptions{}),
		auth: &auth.Service{Store: store},
	}
	for _, h := range hooks {
		if err := h(a); err != nil {
			a.Close()
			return nil, err
		}
	}
	if pg, ok := store.(*postgres.DB); ok {
		// Nodes sharing one database elect one of them to run the clock-driven
		// jobs, so that N nodes raise one alert, not N.
		a.lead = &leaderState{}
		lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		l := pg.Lead(lctx, "jobs", 5*time.Second, log, a.lead.set)
		a.closers = append(a.closers, func() { stop(); <-l.Done() })
	}
	a.pipeline = ingest.New(store, a.picture, a.fence, a.hub, ingest.Options{Logger: log, Registerer: reg, Plan: cfg, ETA: mf.eta(), Out: a.out,
		Leading: a.lead.Leading,
		// Route risk weighs the early-warning surface once there is one.
		Surface: func() plan.Surface { return a.warn.Surface() }})
	a.warn = warn.New(store, a.pipeline, warn.Config{}, nil, log)
	start := time.Now()
	if err := a.pipeline.Load(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("loading the live picture: %w", err)
	}
	log.Info("live picture loaded", "tracks", a.picture.Len(), "took", time.Since(start).Round(time.Millisecond))
	return a, nil
}

func (a *app) Close() error {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	return a.store.Close()
}

// serve runs the HTTP server until ctx ends, then shuts down gracefully: in-flight
// requests finish and the position audit summary is flushed before the store closes.
func (a *app) serve(ctx context.Context, listen string, basemap *mbtiles.Tileset, started func(addr string)) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	srv := http.New(http.Config{
		Pipeline: a.pipeline, Store: a.store, Auth: a.auth, Hub: a.hub, Picture: a.picture,
		Logger: a.log, Registry: a.registry, WebFS: web.FS(),
		Ready:   func() error { return a.store.Ping(context.Background()) },
		Basemap: basemap, Places: newGazetteer(a.log), PlacesAttribution: places.Attribution,
		// The stale time bluehelm gives the tracks it sends to TAK devices (cot's
		// default PositionStale), so the map and the devices grey a track alike.
		StaleAfter: 5 * time.Minute, Version: Version, Forecasts: a.warn,
		Community: a.community,
	})
	srv.SetOGC(ogcapi.New(ogcapi.Config{Store: a.store, Picture: a.picture, Principal: srv.PrincipalOf}))
	hs := &nethttp.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pipelineDone := make(chan struct{})
	go func() { a.pipeline.Run(runCtx); close(pipelineDone) }()
	go a.lead.led(runCtx, a.warn.Run)
	go a.lead.led(runCtx, a.runCasevac) // issue 8 (casevac.go)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if started != nil {
		started(ln.Addr().String())
	}
	select {
	case err := <-errc:
		cancel()
		<-pipelineDone
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	err = hs.Shutdown(shutCtx)
	cancel()
	<-pipelineDone
	return err
}

func newLogger(w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if env("log-level", "") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// principalFor returns the principal a CLI command acts as: the local administrator,
// or with --as the named user's access rule (to export what that user may see).
func principalFor(ctx context.Context, store bluehelm.UserStore, as string) (bluehelm.Principal, error) {
	if as == "" {
		return bluehelm.SystemPrincipal("cli"), nil
	}
	u, err := store.UserByUsername(ctx, as)
	if err != nil {
		return bluehelm.Principal{}, fmt.Errorf("--as %s: %w", as, err)
	}
	if u.Disabled {
		return bluehelm.Principal{}, fmt.Errorf("--as %s: the account is disabled", as)
	}
	return u.Principal(), nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	var mf missionFlags
	mf.register(fs, 0)
	listen := fs.String("listen", env("listen", "127.0.0.1:8080"), "HTTP address for the API, web app and stream [BLUEHELM_LISTEN]")
	var clf clusterFlags
	clf.register(fs)
	var tf takFlags
	tf.register(fs, takFlags{cotTLS: ":8089", martiAddr: ":8443", enrollAddr: ":8446"})
	var wf webFlags
	wf.register(fs)
	var cf campFlags
	cf.register(fs, "") // MQTT off unless asked for: a broker is exposed on purpose
	var ef escalationFlags
	ef.register(fs)
	var comf communityFlags
	comf.register(fs, "")
	var ff federationFlags // issue 9 (federation.go)
	ff.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log := newLogger(stderr)
	basemap, err := wf.openBasemap(log)
	if err != nil {
		return err
	}
	defer basemap.Close()
	fed, err := ff.start(ctx, sf.data, log)
	if err != nil {
		return err
	}
	// The cluster bus wraps the hub, and the federation tap wraps that.
	a, err := openApp(ctx, sf, mf, log, fed.remoteHook(), clf.hook(ctx, sf.data), fed.hook())
	if err != nil {
		fed.close()
		return err
	}
	defer a.Close()
	defer fed.close() // before the store closes
	if err := fed.run(ctx, a); err != nil {
		return err
	}
	if err := a.startCommunity(comf, sf.data, nil); err != nil {
		return err
	}
	stopCampOps, err := a.startCampOps(ctx, ef, log)
	if err != nil {
		return err
	}
	defer stopCampOps() // before the store closes
	users, err := a.store.Users(ctx)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		log.Warn("no users yet: create an administrator with 'bluehelm user create --role admin ...'")
	}
	tctx, stopTAK := context.WithCancel(ctx)
	tak, err := a.startTAK(tctx, tf, sf.data)
	if err != nil {
		stopTAK()
		return err
	}
	// TAK devices write through the store: stop them before it closes.
	defer func() { stopTAK(); <-tak.done }()
	for _, l := range tak.lines {
		log.Info("TAK: " + l)
	}
	cctx, stopCamp := context.WithCancel(ctx)
	camp, err := a.startCamp(cctx, cf, false)
	if err != nil {
		stopCamp()
		return err
	}
	defer func() { stopCamp(); <-camp.done }() // flushes roll-ups before the store closes
	return a.serve(ctx, *listen, basemap, func(addr string) {
		log.Info("bluehelm serving", "url", "http://"+addr, "data", sf.data, "version", Version)
	})
}
