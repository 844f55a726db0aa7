package marti

import (
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// handlerFunc is an endpoint: it writes a success response or returns the error
// to be written as a problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// core is what both handlers share: the route table, error writing and metrics.
type core struct {
	listener  string // "enroll" or "api": the metrics label and log field
	log       *slog.Logger
	now       func() time.Time
	challenge string // WWW-Authenticate value for 401s; empty on the API port
	mux       *http.ServeMux
	methods   map[string][]string // path → methods, for 405 on a known path
	metrics   *metrics
}

func newCore(listener string, cfg *Config, challenge string) *core {
	return &core{listener: listener, log: cfg.Logger, now: cfg.Now, challenge: challenge,
		mux: http.NewServeMux(), methods: map[string][]string{}, metrics: newMetrics(cfg.Registry, cfg.Logger)}
}

func (c *core) handle(method, path string, h handlerFunc) {
	c.methods[path] = append(c.methods[path], method)
	c.mux.Handle(method+" "+path, c.endpoint(h))
}

func (c *core) endpoint(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			c.writeError(w, r, err)
		}
	})
}

// handler finishes the route table: anything unmatched is a problem (404, or 405
// on a known path), and every request is counted.
func (c *core) handler() http.Handler {
	c.mux.Handle("/", c.endpoint(func(w http.ResponseWriter, r *http.Request) error {
		if ms, ok := c.methods[r.URL.Path]; ok {
			if slices.Contains(ms, http.MethodGet) && !slices.Contains(ms, http.MethodHead) {
				ms = append(slices.Clone(ms), http.MethodHead)
			}
			return &methodNotAllowed{allow: strings.Join(ms, ", ")}
		}
		return notFound("no such endpoint %s", r.URL.Path)
	}))
	return c.instrument(c.mux)
}

// statusWriter remembers the status for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (c *core) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		// The mux sets r.Pattern on the request it dispatched; the catch-all "/"
		// means no route matched. Patterns keep label cardinality bounded where
		// raw paths would not.
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		c.metrics.requests.WithLabelValues(c.listener, route, strconv.Itoa(sw.status)).Inc()
		c.metrics.duration.WithLabelValues(c.listener, route).Observe(time.Since(start).Seconds())
	})
}

type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	uploadBytes   prometheus.Counter
	uploads       *prometheus.CounterVec
	enrollments   prometheus.Counter
	loginFailures prometheus.Counter
	loginsLimited prometheus.Counter
	linked        prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, log *slog.Logger) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bluehelm_marti_requests_total", Help: "TAK (Marti) HTTP requests by listener, route pattern and status code."},
			[]string{"listener", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bluehelm_marti_request_duration_seconds", Help: "TAK (Marti) HTTP request latency by listener and route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"listener", "route"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_marti_upload_bytes_total", Help: "Bytes of files accepted from TAK clients (stored uploads only)."}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bluehelm_marti_uploads_total", Help: "Files accepted from TAK clients, by route kind (upload, missionupload)."}, []string{"kind"}),
		enrollments: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_marti_enrollments_total", Help: "Client certificates issued through TAK enrollment."}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_marti_login_failures_total", Help: "Failed Basic logins on the enrollment port."}),
		loginsLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_marti_logins_rate_limited_total", Help: "Enrollment requests refused because their address failed to log in too often."}),
		linked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bluehelm_marti_attachments_linked_total", Help: "Uploaded files linked to an incident through a marker uid."}),
	}
	m.requests = register(reg, log, m.requests)
	m.duration = register(reg, log, m.duration)
	m.uploadBytes = register(reg, log, m.uploadBytes)
	m.uploads = register(reg, log, m.uploads)
	m.enrollments = register(reg, log, m.enrollments)
	m.loginFailures = register(reg, log, m.loginFailures)
	m.loginsLimited = register(reg, log, m.loginsLimited)
	m.linked = register(reg, log, m.linked)
	return m
}

// register adds c to reg, or returns the collector already registered under the
// same name: both handlers (and tests building several) share one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, log *slog.Logger, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		log.Error("registering marti metrics", "err", err)
	}
	return c
}
