// Package ledgerhttp is the ledger's HTTP API: routes.go lists every route;
// this file holds the server, its middleware and the write pipeline.
package ledgerhttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/ledger"
)

// Config is what NewServer needs. Service is required; the rest default.
type Config struct {
	Service *ledger.Service
	Logger  *slog.Logger
	// Registry receives the HTTP metrics and is served at /metrics
	// (default: a fresh registry).
	Registry *prometheus.Registry
	// RateLimit is per token (per client address for anonymous calls).
	// The zero value disables limiting.
	RateLimit RateLimit
	// DataDir is where idempotency records are kept (DIR/http); "" keeps
	// them in memory only.
	DataDir string
	// IdempotencyRecords bounds the records kept (default 100 000).
	IdempotencyRecords int
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
	// Receipt, if set, returns the integrity receipt for an appended event
	// (the lead wires integrity here); it is included in write answers.
	Receipt func(ctx context.Context, ev ledger.Appended) (any, error)
	// Ready reports readiness for /readyz (default: always ready).
	Ready func(ctx context.Context) error
	// Mount, if set, adds routes (the read side) to the router; they must
	// also be listed in routes.go's table to appear in the OpenAPI document.
	Mount func(r chi.Router)
	// Now is the clock for rate limiting (default time.Now).
	Now func() time.Time
	// Read serves the GET routes of the read side (projections, raw log,
	// live feed, integrity); without it they answer 503.
	Read *ReadSide
	// Exports writes and serves exports (POST /v1/exports, GET
	// /v1/exports/{id}/{file}); without it those routes answer 404.
	Exports Exports
	// Build describes the binary: /healthz shows it and the registry gets
	// ledger_build_info.
	Build BuildInfo
	// TrustedProxies are the reverse proxies whose Forwarded (or
	// X-Forwarded-For) header names the client, for per-client rate
	// limiting of anonymous calls.
	TrustedProxies []netip.Prefix
	// MetricsElsewhere leaves /metrics out of the API (and its document):
	// the caller serves MetricsHandler on an internal address.
	MetricsElsewhere bool
	// Sessions, if set, lets GET /v1/me answer for a browser session
	// (the web pages' sign-in) as well as for a bearer token.
	Sessions Sessions
	// Backup, if set, writes a consistent backup of the node as a tar
	// stream (POST /v1/admin/backup); without it that route answers 404.
	Backup func(ctx context.Context, w io.Writer) error
	// Failures limits failed authentications per client address (default:
	// 10, then one more every 6 seconds).
	Failures *auth.Failures
}

// BuildInfo is the version of the running binary.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Time      string `json:"build_time"`
	GoVersion string `json:"go_version"`
}

// Server is the HTTP API. It implements http.Handler.
type Server struct {
	cfg     Config
	svc     *ledger.Service
	log     *slog.Logger
	router  chi.Router
	idem    *idempotency
	limiter *limiter
	metrics *metrics
	routes  []route

	docOnce sync.Once // the table does not change after NewServer
	doc     map[string]any
}

var _ http.Handler = (*Server)(nil)

// NewServer builds the API. Close it to flush idempotency records.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Failures == nil {
		cfg.Failures = auth.NewFailures(10, 6*time.Second, cfg.Now)
	}
	if cfg.Read != nil && cfg.Read.MinPositionWait <= 0 {
		rs := *cfg.Read // the caller's value stays as given
		rs.MinPositionWait = 5 * time.Second
		cfg.Read = &rs
	}
	idem, err := openIdempotency(cfg.DataDir, cfg.IdempotencyRecords)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, svc: cfg.Service, log: slog.New(LogRequestIDs(cfg.Logger.Handler())), idem: idem,
		limiter: newLimiter(cfg.RateLimit, cfg.Now),
		metrics: newMetrics(cfg.Registry, cfg.Build),
	}
	for _, rt := range s.table() {
		if rt.pattern == "/metrics" && cfg.MetricsElsewhere {
			continue
		}
		s.routes = append(s.routes, rt)
	}
	s.router = s.build()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Close flushes and closes the idempotency file.
func (s *Server) Close() error { return s.idem.close() }

// Router returns the chi router (tests walk it).
func (s *Server) Router() chi.Router { return s.router }

func (s *Server) build() chi.Router {
	r := chi.NewRouter()
	r.Use(s.instrument, s.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { writeProblem(w, r, s.log, errNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { writeProblem(w, r, s.log, errMethodNotAllowed) })
	for _, rt := range s.routes {
		r.With(s.authorize(rt)).Method(rt.method, rt.pattern, rt.handler)
	}
	if s.cfg.Mount != nil {
		s.cfg.Mount(r)
	}
	return r
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer, b BuildInfo) *metrics {
	f := promauto.With(reg)
	f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ledger_build_info", Help: "The running binary's version, commit, build time and Go version; always 1.",
	}, []string{"version", "commit", "build_time", "go_version"}).WithLabelValues(b.Version, b.Commit, b.Time, b.GoVersion).Set(1)
	return &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ledger_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ledger_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route", "method"}),
	}
}

// AppendObserver returns an observer for ledger.WithAppendObserver that
// counts appends and their latency on reg. The lead passes it when building
// the service, so append metrics share the server's registry.
func AppendObserver(reg prometheus.Registerer) func(d time.Duration, events int, err error) {
	f := promauto.With(reg)
	appends := f.NewCounterVec(prometheus.CounterOpts{
		Name: "ledger_appends_total", Help: "Appends by the command service, by outcome.",
	}, []string{"outcome"})
	events := f.NewCounter(prometheus.CounterOpts{
		Name: "ledger_appended_events_total", Help: "Events appended by the command service.",
	})
	latency := f.NewHistogram(prometheus.HistogramOpts{
		Name: "ledger_append_duration_seconds", Help: "Append latency seen by the command service.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
	})
	return func(d time.Duration, n int, err error) {
		latency.Observe(d.Seconds())
		if err != nil {
			appends.WithLabelValues("error").Inc()
			return
		}
		appends.WithLabelValues("ok").Inc()
		events.Add(float64(n))
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
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
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets SSE handlers behind this wrapper stream.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument assigns a request id, counts and times requests by route
// pattern (never by raw path: ids would explode the label space) and
// writes one access-log line per request at info: method, route pattern,
// status, bytes, duration and request id — never the path (it holds
// participant ids), the query, headers, bodies or tokens.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c > '~' }) {
			var b [12]byte
			rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		next.ServeHTTP(sw, r)
		pattern := chi.RouteContext(r.Context()).RoutePattern()
		if pattern == "" {
			// Answered before routing (a bad token, the rate limit): name
			// the route it was for.
			if mx, ok := s.router.(*chi.Mux); ok {
				pattern = mx.Find(chi.NewRouteContext(), r.Method, r.URL.Path)
			}
		}
		if pattern == "" {
			pattern = "unmatched"
		}
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(pattern, r.Method, strconv.Itoa(status)).Inc()
		s.metrics.latency.WithLabelValues(pattern, r.Method).Observe(elapsed.Seconds())
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "route", pattern, "status", status,
			"bytes", sw.bytes, "duration_ms", float64(elapsed.Microseconds())/1000)
	})
}

// withRequestID adds the request id to every record logged with a
// request's context, so an error line carries the id the client saw.
type withRequestID struct{ slog.Handler }

// LogRequestIDs wraps h so that records logged with the context of a
// request this server handles carry its request_id: for the components
// mounted under it (the web pages) or called from it.
func LogRequestIDs(h slog.Handler) slog.Handler {
	if _, ok := h.(withRequestID); ok {
		return h
	}
	return withRequestID{h}
}

func (h withRequestID) Handle(ctx context.Context, rec slog.Record) error {
	if id := requestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h withRequestID) WithAttrs(as []slog.Attr) slog.Handler {
	return withRequestID{h.Handler.WithAttrs(as)}
}

func (h withRequestID) WithGroup(name string) slog.Handler {
	return withRequestID{h.Handler.WithGroup(name)}
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"status": "ok", "build": s.cfg.Build})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(r.Context()); err != nil {
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			// The reason is the node's own sentence (catching up, the disk is
			// full, the log does not match what was signed), for operators.
			writeJSON(w, "application/json", http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]string{"status": "ready"})
}

// MetricsHandler serves the registry's metrics (Prometheus text format).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
}
