package http

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/live"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type serverMetrics struct {
	requests      *prometheus.HistogramVec
	loginsLimited prometheus.Counter
	streams       prometheus.Gauge
	streamSent    prometheus.Counter
	streamResyncs prometheus.Counter
	streamSlow    prometheus.Counter
	handler       http.Handler
}

func newServerMetrics(reg *prometheus.Registry, hub *live.Hub, log *slog.Logger) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bluehelm_http_request_duration_seconds", Help: "HTTP request latency by route pattern and status.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"route", "code"}),
		loginsLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_http_logins_rate_limited_total", Help: "Sign-in attempts refused by the rate limit."}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bluehelm_stream_connections", Help: "Open WebSocket stream connections."}),
		streamSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_stream_messages_sent_total", Help: "Messages written to stream clients, snapshots included."}),
		streamResyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_stream_resyncs_total", Help: "Snapshots resent because a client fell behind and lost events."}),
		streamSlow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_stream_slow_disconnects_total", Help: "Stream clients dropped because a write timed out."}),
	}
	cs := []prometheus.Collector{m.requests, m.loginsLimited, m.streams, m.streamSent, m.streamResyncs, m.streamSlow}
	if hub != nil {
		cs = append(cs, hubCollector{hub})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			// A second server on the same registry (tests, a restart in-process) reuses
			// the first one's series instead of failing.
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				log.Error("registering metrics", "err", err)
			}
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)})
	return m
}

// hubCollector reads the hub's counters at scrape time rather than mirroring them:
// the hub owns them and counts without knowing Prometheus.
type hubCollector struct{ hub *live.Hub }

var (
	hubSubscribers = prometheus.NewDesc("bluehelm_hub_subscribers", "Live subscribers of the fan-out hub.", nil, nil)
	hubPublished   = prometheus.NewDesc("bluehelm_hub_events_published_total", "Events published to the hub.", nil, nil)
	hubDelivered   = prometheus.NewDesc("bluehelm_hub_events_delivered_total", "Events handed to subscribers.", nil, nil)
	hubDropped     = prometheus.NewDesc("bluehelm_hub_events_dropped_total", "Events a subscriber lost to a full queue.", nil, nil)
	hubCoalesced   = prometheus.NewDesc("bluehelm_hub_events_coalesced_total", "Queued events replaced by a newer one for the same key.", nil, nil)
)

func (c hubCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- hubSubscribers
	ch <- hubPublished
	ch <- hubDelivered
	ch <- hubDropped
	ch <- hubCoalesced
}

func (c hubCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub.Stats()
	ch <- prometheus.MustNewConstMetric(hubSubscribers, prometheus.GaugeValue, float64(st.Subscribers))
	ch <- prometheus.MustNewConstMetric(hubPublished, prometheus.CounterValue, float64(st.Published))
	ch <- prometheus.MustNewConstMetric(hubDelivered, prometheus.CounterValue, float64(st.Delivered))
	ch <- prometheus.MustNewConstMetric(hubDropped, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(hubCoalesced, prometheus.CounterValue, float64(st.Coalesced))
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.handler.ServeHTTP(w, r)
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			s.log.Warn("not ready", "err", err)
			return bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the store is not reachable")
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

type requestInfoKey struct{}

// requestInfo is filled in by inner handlers for the access log.
type requestInfo struct{ user string }

func requestInfoOf(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return i
}

// instrument measures every request by route pattern, logs it, sets the headers
// every response needs, and turns the mux's own plain-text 404 and 405 under /api/
// into problem+json, so API clients parse one error format.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The page's links and requests go nowhere else, and its URLs (with
		// incident ids in the hash) are nobody else's business.
		h.Set("Referrer-Policy", "no-referrer")
		sw := &statusWriter{ResponseWriter: w, r: r,
			api: strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/ogc" || strings.HasPrefix(r.URL.Path, "/ogc/")}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
				if sw.status == 0 {
					s.writeProblem(sw, r, errors.New("panic"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
			level := slog.LevelDebug
			if status >= 500 {
				level = slog.LevelWarn
			}
			// The query string is not logged: ?access_token= would put a secret in the log.
			s.log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "route", route,
				"status", status, "duration", d, "user", info.user, "bytes", sw.bytes)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter records the status, and replaces the mux's plain-text errors for
// unmatched API requests (r.Pattern is empty only when the mux found no route).
type statusWriter struct {
	http.ResponseWriter
	r       *http.Request
	api     bool
	status  int
	bytes   int
	swallow bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.api && code >= 400 && w.r.Pattern == "" {
		w.swallow = true
		c := codeMethod
		if code == http.StatusNotFound {
			c = bluehelm.ENOTFOUND
		}
		msg := "no such endpoint " + w.r.Method + " " + w.r.URL.Path + " (see /api/v1/openapi.json and /ogc/api)"
		if code == http.StatusMethodNotAllowed {
			msg = w.r.Method + " is not allowed on " + w.r.URL.Path + "; allowed: " + w.Header().Get("Allow")
		}
		writeProblemJSON(w.ResponseWriter, Problem{Type: problemType(c), Title: titles[c], Status: code,
			Detail: msg, Instance: w.r.URL.Path, Code: c})
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController and the WebSocket library reach Flush and
// Hijack on the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
