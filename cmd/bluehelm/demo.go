package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/auth"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/mqtt"
	"github.com/bluehelm/bluehelm/sim"
)

// demoUsers are the accounts a demo creates: one per kind of mission user, so that a
// visitor can see how the picture differs by role, component and clearance.
var demoUsers = []bluehelm.User{
	{Username: "admin", Name: "System administrator", Role: bluehelm.RoleAdmin, Component: bluehelm.Support, Clearance: bluehelm.Confidential},
	{Username: "joc", Name: "JOC duty officer", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential},
	{Username: "chief-joc", Name: "Chief JOC", Role: bluehelm.RoleCommander, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential},
	{Username: "jmac", Name: "JMAC analyst", Role: bluehelm.RoleAnalyst, Component: bluehelm.Civilian, Clearance: bluehelm.Confidential},
	{Username: "unpol", Name: "UNPOL patrol leader", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Unclassified},
	{Username: "camp", Name: "Camp manager, Juba base", Role: bluehelm.RoleCamp, Component: bluehelm.Support, Clearance: bluehelm.Unclassified},
	{Username: "viewer", Name: "Liaison officer (read only)", Role: bluehelm.RoleViewer, Component: bluehelm.Civilian, Clearance: bluehelm.Unclassified},
	{Username: "cla", Name: "Community liaison assistant", Role: bluehelm.RoleLiaison, Component: bluehelm.Civilian, Clearance: bluehelm.Confidential},
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	listen := fs.String("listen", env("listen", "127.0.0.1:8080"), "HTTP address [BLUEHELM_LISTEN]")
	data := fs.String("data", env("data", ""), "data directory; empty for a fresh temporary one removed on exit [BLUEHELM_DATA]")
	speedup := fs.Float64("speedup", 30, "how much faster than real time the patrols move")
	var mf missionFlags
	mf.register(fs, 2*time.Hour) // South Sudan time, the scenario's
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "scenario random seed")
	var tf takFlags
	tf.register(fs, takFlags{cotTLS: "127.0.0.1:8089", cotTCP: "127.0.0.1:8087", martiAddr: "127.0.0.1:8443", enrollAddr: "127.0.0.1:8446", hosts: "127.0.0.1,localhost"})
	var wf webFlags
	wf.register(fs)
	var cf campFlags
	cf.register(fs, mqtt.DefaultAddr)
	var comf communityFlags
	comf.register(fs, "SS") // the scenario's country
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "bluehelm-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	log := newLogger(stderr)
	basemap, err := wf.openBasemap(log)
	if err != nil {
		return err
	}
	defer basemap.Close()
	a, err := openApp(ctx, storeFlags{data: dir}, mf, log)
	if err != nil {
		return err
	}
	defer a.Close()

	logins, reporters, err := demoAccounts(ctx, a.auth)
	if err != nil {
		return err
	}
	scen := sim.SouthSudan(*seed)
	scen.Speedup = *speedup
	scen.Reporters = reporters
	// Units report before the operations are laid out, so that the unit sent to
	// the opening alert has a position to estimate its arrival from.
	if err := a.pipeline.Positions(ctx, bluehelm.SystemPrincipal("sim"), scen.Positions(time.Now())); err != nil {
		return err
	}
	if len(logins) > 0 { // a fresh data directory: lay out the scenario once
		if err := scen.Seed(ctx, a.pipeline, time.Now()); err != nil {
			return err
		}
		if err := scen.SeedOperations(ctx, a.pipeline, time.Now()); err != nil {
			return err
		}
		// A casualty from a demo incident with a running CASEVAC (issue 8).
		if _, err := scen.SeedCasevac(ctx, a.pipeline, time.Now()); err != nil {
			log.Warn("demo CASEVAC not seeded", "err", err)
		}
	}
	if err := a.startDemoCommunity(ctx, comf, dir, len(logins) > 0); err != nil {
		return err
	}
	// TAK is part of the demo when its ports are free; a demo must not fail because
	// another TAK server already runs on this laptop.
	tctx, stopTAK := context.WithCancel(ctx)
	defer stopTAK()
	tak, err := a.startTAK(tctx, tf, dir)
	if err != nil {
		log.Warn("TAK listeners not started", "err", err)
		tak = &takRuntime{done: make(chan struct{})}
		close(tak.done)
	}
	defer func() { stopTAK(); <-tak.done }()
	// Camp sensors: the MQTT broker is optional like TAK (its port may be taken).
	cctx, stopCamp := context.WithCancel(ctx)
	camp, err := a.startCamp(cctx, cf, true)
	if err != nil {
		stopCamp()
		return err
	}
	defer func() { stopCamp(); <-camp.done }()
	// Escalation of unacknowledged camp alarms and the stock and maintenance
	// checks run in the demo as in serve (no webhook: nothing to post to).
	stopCampOps, err := a.startCampOps(ctx, defaultEscalationFlags(), log)
	if err != nil {
		return err
	}
	defer stopCampOps()

	// The demo camp: the first base with its zones, sensors, assets and stock
	// book, laid out once on a fresh data directory, then reporting every minute.
	democamp := sim.NewDemoCamp(scen.Camps[0], *seed, mf.utcOffset)
	campLive := false
	if len(logins) > 0 {
		if err := democamp.Seed(ctx, demoCampWriter{a.pipeline}, scen.CampAreaIDs[0], time.Now()); err != nil {
			return fmt.Errorf("demo camp: %w", err)
		}
		campLive = true
	} else if ss, err := a.store.Sensors(ctx); err == nil {
		campLive = democamp.Resume(ss, a.pipeline.LastReadings(), time.Now())
	}

	simErr := make(chan error, 1)
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	go func() { simErr <- scen.Run(simCtx, a.pipeline, 2*time.Second, 45*time.Second) }()
	if campLive {
		go democamp.Run(simCtx, demoCampWriter{a.pipeline}, time.Minute, func(err error) { log.Warn("demo camp readings", "err", err) })
	}

	return a.serve(ctx, *listen, basemap, func(addr string) {
		fmt.Fprintf(stdout, "\nbluehelm demo — %s\n\n  open http://%s/\n\n", scen.Name, addr)
		if len(logins) == 0 {
			fmt.Fprintf(stdout, "  existing data directory %s: use its accounts\n", dir)
		} else {
			fmt.Fprintln(stdout, "  sign in as (username / password):")
			for _, l := range logins {
				fmt.Fprintf(stdout, "    %-10s %-22s %s\n", l.user.Username, l.password, l.user.Name)
			}
		}
		if camp.mqttAddr != "" {
			fmt.Fprintf(stdout, "\n  camp sensors (MQTT): mqtt://%s  user = sensor code, password = its token\n", camp.mqttAddr)
		}
		if len(tak.lines) > 0 {
			fmt.Fprintln(stdout, "\n  TAK devices (ATAK, WinTAK, iTAK):")
			for _, l := range tak.lines {
				fmt.Fprintln(stdout, "    "+l)
			}
			fmt.Fprintln(stdout, "    device certificates: bluehelm device add NAME --user USER --data "+dir)
		}
		fmt.Fprintf(stdout, "\n  %d units patrolling from 5 bases; incidents arrive every 45 s.\n", len(scen.Units))
		if campLive {
			fmt.Fprintf(stdout, "  camp dashboard: http://%s/#/camp/%d (%d sensors report every minute; an intrusion every %s)\n",
				addr, democamp.CampID, democamp.SensorCount(), democamp.IntrusionEvery)
		}
		fmt.Fprintf(stdout, "  Ctrl-C stops.\n\n")
		go func() {
			if err := <-simErr; err != nil {
				log.Error("scenario stopped", "err", err)
			}
		}()
	})
}

type login struct {
	user     bluehelm.User
	password string
}

// demoAccounts creates the demo users with fresh random passwords on an empty data
// directory. On a directory that already has users it creates nothing.
func demoAccounts(ctx context.Context, svc *auth.Service) ([]login, []bluehelm.Principal, error) {
	existing, err := svc.Store.Users(ctx)
	if err != nil {
		return nil, nil, err
	}
	var reporters []bluehelm.Principal
	if len(existing) > 0 {
		for _, u := range existing {
			if u.Role == bluehelm.RoleReporter && !u.Disabled {
				reporters = append(reporters, u.Principal())
			}
		}
		return nil, reporters, nil
	}
	sys := bluehelm.SystemPrincipal("demo")
	var out []login
	for _, u := range demoUsers {
		u := u
		pw := auth.NewSecret("")[:16]
		if err := svc.CreateUser(ctx, sys, &u, pw); err != nil {
			return nil, nil, fmt.Errorf("creating demo user %s: %w", u.Username, err)
		}
		out = append(out, login{u, pw})
		if u.Role == bluehelm.RoleReporter {
			reporters = append(reporters, u.Principal())
		}
	}
	return out, reporters, nil
}

// demoCampWriter gives the demo camp (sim.CampWriter) the pipeline's paths:
// sensors and alarm rules through the reading path's registry, the camp records
// through the camp operations, readings through IngestReadings, as a camp's own
// gateway and tools would send them.
type demoCampWriter struct{ p *ingest.Pipeline }

func (w demoCampWriter) CreateArea(ctx context.Context, by bluehelm.Principal, a *bluehelm.Area) error {
	return w.p.CreateArea(ctx, by, a)
}

func (w demoCampWriter) CreateSensor(ctx context.Context, by bluehelm.Principal, s *bluehelm.Sensor) error {
	_, err := w.p.CreateSensor(ctx, by, s) // no token needed: the demo posts as the system
	return err
}

func (w demoCampWriter) CreateAlarmRule(ctx context.Context, by bluehelm.Principal, r *bluehelm.AlarmRule) error {
	return w.p.CreateAlarmRule(ctx, by, r)
}

func (w demoCampWriter) SetCampProfile(ctx context.Context, by bluehelm.Principal, p *sim.CampProfile) error {
	pr := &bluehelm.CampProfile{Population: p.Population, WaterStandardLPD: p.WaterStandardLPD,
		ZoneIDs: p.ZoneIDs, AdjacentZones: p.AdjacentZones,
		GeneratorLitresPerKWh: p.GeneratorLitresPerKWh, DieselKgCO2PerLitre: p.DieselKgCO2PerLitre}
	for _, s := range p.Escalation {
		pr.Escalation = append(pr.Escalation, bluehelm.EscalationStep{Role: s.Role, AfterMinutes: s.AfterMinutes})
	}
	_, err := w.p.PutCampProfile(ctx, by, p.CampID, 0, pr)
	return err
}

func (w demoCampWriter) CreateAsset(ctx context.Context, by bluehelm.Principal, a *sim.CampAsset) error {
	as := &bluehelm.Asset{CampID: a.CampID, ZoneID: a.ZoneID, Kind: bluehelm.AssetKind(a.Kind), Name: a.Name, Position: a.Position,
		RatedKW: a.RatedKW, SensorIDs: a.SensorIDs, HourMeterBase: a.HourMeterBase,
		Marking: bluehelm.Marking{Classification: bluehelm.Unclassified, Component: bluehelm.Support}}
	for _, p := range a.ServicePlans {
		as.ServicePlans = append(as.ServicePlans, bluehelm.ServicePlan{Task: p.Task, EveryHours: p.EveryHours, LeadHours: p.LeadHours, LastDoneAtHours: p.LastDoneAtHours})
	}
	if err := w.p.CreateAsset(ctx, by, as); err != nil {
		return err
	}
	a.ID = as.ID
	return nil
}

func (w demoCampWriter) CreateStockItem(ctx context.Context, by bluehelm.Principal, it *bluehelm.StockItem) error {
	return w.p.CreateStockItem(ctx, by, it)
}

func (w demoCampWriter) AddStockMovement(ctx context.Context, by bluehelm.Principal, m *bluehelm.StockMovement) error {
	_, err := w.p.AppendStockMovement(ctx, by, m.ItemID, m)
	return err
}

func (w demoCampWriter) IngestReadings(ctx context.Context, by bluehelm.Principal, rs []bluehelm.Reading) (int, error) {
	r, err := w.p.IngestReadings(ctx, by, rs)
	if err == nil && len(r.Rejected) > 0 {
		err = fmt.Errorf("%d of %d demo camp readings refused, the first: %s", len(r.Rejected), len(rs), r.Rejected[0].Reason)
	}
	return r.Accepted, err
}
