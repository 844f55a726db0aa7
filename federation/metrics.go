package federation

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent       *prometheus.CounterVec // peer, kind: what was stored for the peer
	filtered   *prometheus.CounterVec // peer, kind: what the link may not carry (not sent)
	received   *prometheus.CounterVec // peer, kind: what was applied
	refused    *prometheus.CounterVec // peer, reason: inbound beyond the link, or invalid
	stale      *prometheus.CounterVec // peer: replays and versions already merged
	conflicts  *prometheus.CounterVec // peer: incidents edited on both sides
	skew       *prometheus.GaugeVec   // peer: peer clock minus ours, seconds
	skewBad    *prometheus.CounterVec // peer: times the skew went beyond the limit
	up         *prometheus.GaugeVec   // peer: 1 when heartbeats arrive
	resent     *prometheus.CounterVec // kind: changes sent again at start (catchup.go)
	queueBytes prometheus.Gauge       // positions waiting for links that are down
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_sent_total",
			Help: "Changes stored for a federation peer (positions, incidents)."}, []string{"peer", "kind"}),
		filtered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_filtered_total",
			Help: "Changes not sent because the link may not carry them."}, []string{"peer", "kind"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_received_total",
			Help: "Changes received from a federation peer and applied."}, []string{"peer", "kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_refused_total",
			Help: "Inbound changes refused: beyond the link's classification, releasability or categories, or invalid."}, []string{"peer", "reason"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_stale_total",
			Help: "Inbound incident versions already merged (replays)."}, []string{"peer"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_conflicts_total",
			Help: "Incidents edited on both sides of a link during a cut."}, []string{"peer"}),
		skew: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bluehelm_federation_clock_skew_seconds",
			Help: "The peer's clock minus this node's, from its last heartbeat."}, []string{"peer"}),
		skewBad: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_clock_skew_alarms_total",
			Help: "Times a peer's clock was found beyond the allowed skew."}, []string{"peer"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bluehelm_federation_link_up",
			Help: "1 while the peer's heartbeats arrive."}, []string{"peer"}),
		resent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_federation_resent_total",
			Help: "Changes the store committed around the last stop, sent again at start in case they never reached the links."}, []string{"kind"}),
		queueBytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "bluehelm_federation_queue_bytes",
			Help: "Bytes of positions queued for links that are down (bounded: the oldest are dropped past the bound)."}),
	}
	if reg != nil {
		reg.MustRegister(m.collectors()...)
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sent, m.filtered, m.received, m.refused, m.stale, m.conflicts, m.skew, m.skewBad, m.up, m.resent, m.queueBytes}
}

// Register registers the node's metrics, for a node made before the
// registry (Options.Registerer nil).
func (n *Node) Register(reg prometheus.Registerer) error {
	for _, c := range n.m.collectors() {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
