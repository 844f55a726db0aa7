package cot

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	connections *prometheus.GaugeVec
	accepted    *prometheus.CounterVec
	received    *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	delivered   prometheus.Counter
	dropped     *prometheus.CounterVec
	coalesced   prometheus.Counter
	disconnects *prometheus.CounterVec
	latency     prometheus.Histogram
	skipped     prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bluehelm_cot_connections",
			Help: "CoT connections open, by listener."}, []string{"listener"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_cot_connections_total",
			Help: "CoT connections accepted, by listener."}, []string{"listener"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_cot_events_received_total",
			Help: "CoT events decoded from devices, by wire format."}, []string{"format"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_cot_events_rejected_total",
			Help: "CoT events refused, by reason; the connection goes on."}, []string{"reason"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_cot_events_sent_total",
			Help: "CoT events written to devices."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_cot_events_dropped_total",
			Help: "CoT events a device did not get, by reason."}, []string{"reason"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_cot_events_coalesced_total",
			Help: "Queued positions replaced by a newer one of the same uid before a slow device read them."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bluehelm_cot_disconnects_total",
			Help: "CoT connections closed, by reason."}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bluehelm_cot_route_seconds",
			Help:    "Time from receiving a CoT event to writing it to a device.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "bluehelm_cot_junk_bytes_total",
			Help: "Bytes skipped between v1 frames while resynchronising."}),
	}
	reg.MustRegister(m.connections, m.accepted, m.received, m.rejected, m.delivered, m.dropped,
		m.coalesced, m.disconnects, m.latency, m.skipped)
	return m
}
