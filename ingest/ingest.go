// Package ingest is the one write path of bluehelm. Every observation and every change
// — a position from a TAK device, a JSON POST, a simulated patrol, an imported UCDP
// row, an incident workflow step — goes through a Pipeline:
//
//	decode (adapter) → validate → authorise → persist → apply to the live picture
//	(geofences → alerts) → fan out.
//
// Persisting before applying is deliberate: the live picture and every subscriber
// only ever show what the store has acknowledged, so a crash cannot leave clients
// having seen a report that is gone after restart.
package ingest

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/plan"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the pipeline needs from storage.
type Store interface {
	bluehelm.IncidentStore
	bluehelm.TrackStore
	bluehelm.AreaStore
	bluehelm.AlertStore
	bluehelm.AuditStore
	bluehelm.UnitStore
	bluehelm.PatrolStore
	bluehelm.TaskStore
	bluehelm.MedicalStore
	bluehelm.ProximityRuleStore
	bluehelm.SensorStore
	bluehelm.CampStore
	bluehelm.CasevacStore
	bluehelm.CommunityStore
}

// Options configure a Pipeline.
type Options struct {
	Now        func() time.Time      // defaults to time.Now
	Logger     *slog.Logger          // defaults to slog.Default()
	Registerer prometheus.Registerer // nil: metrics are not registered
	// MaxBatch is the largest number of positions accepted in one call.
	MaxBatch int
	// AuditEvery is how often position reports are summarised into the audit chain
	// (they are too many to chain one by one).
	AuditEvery time.Duration
	// Plan tunes route risk and medical reachability (zero fields: defaults).
	Plan plan.Config
	// ETA estimates travel times for dispatch; nil: plan.DefaultStraightLine.
	ETA plan.ETAEstimator
	// Surface gives the early-warning surface route risk weighs (nil, or a
	// func returning nil: none yet).
	Surface func() plan.Surface
	// Monitor watches patrols, tasks and proximity rules; nil: a monitor with
	// default options over the picture.
	Monitor *live.Monitor
	// MonitorEvery is how often the monitor's clock checks run (silent, late
	// start, late return). Zero means 15 seconds.
	MonitorEvery time.Duration
	// Out receives every change the pipeline applied, in the order applied; nil
	// means the hub given to New. A bus that carries changes to other nodes or
	// over a federation link wraps the hub here (see Publisher).
	Out Publisher
	// Leading, if set, tells whether this node leads the cluster's singleton
	// jobs: only the leader runs the monitor's clock checks (a silent patrol, a
	// late return), so that N nodes sharing one picture raise one alert, not N.
	// nil: always (a single node).
	Leading func() bool
}

// Publisher is where the pipeline sends the changes it has stored and applied:
// the node's own hub, or a bus that also carries them to other nodes (which
// apply them to their own pictures and hubs) and to federation links. Publish
// is called after the change is durable, from the goroutine that made it, and
// must not drop what it is given.
type Publisher interface {
	Publish(ev live.Event)
}

// BatchPublisher is a Publisher that takes the position events of one batch
// at once, under the same contract, so that a publisher waiting for a
// cluster's acknowledgements waits once per batch rather than per report.
type BatchPublisher interface {
	Publisher
	PublishBatch(evs []live.Event)
}

// publishAll gives evs to out, as one batch when it takes batches.
func publishAll(out Publisher, evs []live.Event) {
	if len(evs) == 0 {
		return
	}
	if bp, ok := out.(BatchPublisher); ok {
		bp.PublishBatch(evs)
		return
	}
	for _, ev := range evs {
		out.Publish(ev)
	}
}

// Pipeline validates, authorises, persists, applies and fans out every write.
type Pipeline struct {
	store   Store
	picture *live.Picture
	fence   *live.Geofencer
	monitor *live.Monitor
	out     Publisher // the hub, or Options.Out
	now     func() time.Time
	log     *slog.Logger
	opts    Options
	m       metrics

	mu      sync.Mutex
	pending map[string]*positionTally // per-poster summary for the next audit entry

	covMu    sync.Mutex
	covCache map[string]coverageEntry // CASEVAC coverage for route risk, by viewer (see riskCoverage)

	sensors sensorPath // camp sensor readings, alarms and roll-ups (camp_engine.go)
}

type positionTally struct {
	Count    int       `json:"count"`
	Tracks   int       `json:"tracks"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Source   string    `json:"source,omitempty"`
	trackSet map[string]struct{}
}

type metrics struct {
	positions *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	storeDur  *prometheus.HistogramVec
	alerts    prometheus.Counter
}

// New returns a pipeline over the given store and live state.
func New(store Store, picture *live.Picture, fence *live.Geofencer, hub *live.Hub, opts Options) *Pipeline {
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 10000
	}
	if opts.AuditEvery <= 0 {
		opts.AuditEvery = time.Minute
	}
	if opts.ETA == nil {
		opts.ETA = plan.DefaultStraightLine()
	}
	if opts.Monitor == nil {
		opts.Monitor = live.NewMonitor(live.MonitorOptions{Last: picture.Get})
	}
	if opts.MonitorEvery <= 0 {
		opts.MonitorEvery = 15 * time.Second
	}
	if opts.Out == nil {
		opts.Out = hub
	}
	p := &Pipeline{
		store: store, picture: picture, fence: fence, monitor: opts.Monitor, out: opts.Out,
		now: opts.Now, log: opts.Logger, opts: opts,
		pending: map[string]*positionTally{},
		m: metrics{
			positions: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "bluehelm_ingest_positions_total", Help: "Position reports accepted, by source."}, []string{"source"}),
			rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "bluehelm_ingest_rejected_total", Help: "Writes refused, by kind and error code."}, []string{"kind", "code"}),
			storeDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name: "bluehelm_store_duration_seconds", Help: "Store write latency by operation.",
				Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"op"}),
			alerts: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "bluehelm_alerts_raised_total", Help: "Alerts raised."}),
		},
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(p.m.positions, p.m.rejected, p.m.storeDur, p.m.alerts)
	}
	return p
}

// Load fills the live picture and the geofences from the store. Call it once before
// serving.
func (p *Pipeline) Load(ctx context.Context) error {
	states, err := p.store.LatestStates(ctx)
	if err != nil {
		return err
	}
	p.picture.Load(states)
	areas, err := p.store.Areas(ctx)
	if err != nil {
		return err
	}
	for _, a := range areas {
		p.fence.SetArea(a)
		p.monitor.SetArea(a)
	}
	return p.loadOperations(ctx)
}

// CheckNow runs the monitor's clock checks once (silent patrols, late starts
// and returns): Run does it every MonitorEvery; simulations and tests call it.
func (p *Pipeline) CheckNow(ctx context.Context) {
	for _, f := range p.monitor.Tick(p.now()) {
		p.handleFinding(ctx, f)
	}
}

// Run does the pipeline's periodic work until ctx ends: dwell checks and the audit
// summary of position reports. It flushes the summary once more on the way out.
func (p *Pipeline) Run(ctx context.Context) {
	dwell := time.NewTicker(10 * time.Second)
	audit := time.NewTicker(p.opts.AuditEvery)
	watch := time.NewTicker(p.opts.MonitorEvery)
	defer watch.Stop()
	defer dwell.Stop()
	defer audit.Stop()
	for {
		select {
		case <-ctx.Done():
			p.FlushAudit(context.WithoutCancel(ctx))
			return
		case <-dwell.C:
			for _, c := range p.fence.Tick(p.now()) {
				p.raiseCrossing(ctx, c)
			}
		case <-watch.C:
			if p.opts.Leading == nil || p.opts.Leading() {
				p.CheckNow(ctx)
			}
		case <-audit.C:
			p.FlushAudit(ctx)
		}
	}
}

func (p *Pipeline) reject(kind string, err error) error {
	p.m.rejected.WithLabelValues(kind, bluehelm.ErrorCode(err)).Inc()
	return err
}

func (p *Pipeline) timed(op string, start time.Time) {
	p.m.storeDur.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// message is the envelope of every live event; it is encoded once per change.
type message struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

func encode(typ string, data any) []byte {
	b, err := json.Marshal(message{typ, data})
	if err != nil {
		// Every published type is a plain struct; failing here is a programming error.
		panic("ingest: encoding " + typ + ": " + err.Error())
	}
	return b
}

func pointBox(pt bluehelm.Point) bluehelm.BBox {
	return bluehelm.BBox{MinLon: pt.Lon, MinLat: pt.Lat, MaxLon: pt.Lon, MaxLat: pt.Lat}
}

func objectID(kind string, id int64) string { return kind + "/" + strconv.FormatInt(id, 10) }
