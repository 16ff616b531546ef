package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	ledgerhttp "github.com/malmo/participation-ledger/http"
)

// cmdServe runs the ledger: the HTTP API (and web pages) over one store,
// with the integrity log and read models following it.
func cmdServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", envOr(getenv, "LEDGER_ADDR", "127.0.0.1:8080"), "listen address (LEDGER_ADDR)")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics on this separate address only, e.g. 127.0.0.1:9090 (LEDGER_METRICS_ADDR; default: on --addr)")
	data := dataFlag(fs, getenv)
	logger := logFlags(fs)
	rate := fs.Float64("rate", 20, "requests per second per token (burst 2×); 0 disables rate limiting")
	proxies := fs.String("trusted-proxies", "", "comma-separated addresses or CIDR prefixes of reverse proxies whose Forwarded / X-Forwarded-For header names the client, e.g. 127.0.0.1,::1")
	proveAll := fs.Bool("prove-all", false, "at start-up check every stored tree hash against the store's events, not only the newest 10 000")
	storeURL, user, pass := storeFlags(fs, getenv)
	iopts := integrityFlags(fs, getenv)
	signin := signinFlags(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0); err != nil {
		return err
	}
	if *rate < 0 {
		return usagef("--rate %v: want 0 (no limit) or more", *rate)
	}
	trusted, err := parsePrefixes(*proxies)
	if err != nil {
		return err
	}
	log, err := logger(stderr)
	if err != nil {
		return err
	}
	sc, err := signin()
	if err != nil {
		return err
	}
	// Listen first: the sign-in redirect URLs of the development provider
	// name the address actually bound.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if sc.devAddr != "" {
		dev, stop, err := startDevProvider(sc.devAddr, "http://"+ln.Addr().String(), log)
		if err != nil {
			return err
		}
		defer stop()
		sc.providers = append(sc.providers, dev...)
		fmt.Fprintf(stdout, "ledger: development sign-in (demo people, loopback only) at %s\n", dev[0].Issuer)
	}
	n, err := openNode(ctx, nodeConfig{
		dataDir: *data, storeURL: *storeURL, kurrentUser: user, kurrentPass: pass,
		integrityOpt: iopts(), proveAll: *proveAll, logger: log, metricsElsewhere: *metricsAddr != "", trustedProxies: trusted, signin: sc,
		rateLimit: ledgerhttp.RateLimit{PerSecond: *rate, Burst: int(2 * *rate)},
	})
	if err != nil {
		return err
	}
	defer n.Close()

	if *metricsAddr != "" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		go serveMetrics(ctx, mln, n.api.MetricsHandler(), log)
	}
	return serve(ctx, n, ln, stdout, log)
}

// serveMetrics serves /metrics alone on ln until ctx ends: an address the
// operators keep internal, apart from the public API.
func serveMetrics(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	log.Info("serving metrics", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("metrics listener stopped", "err", err)
	}
}

// serve runs n on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets requests in flight finish (their appends are already
// durable when they answer), and stops the followers.
func serve(ctx context.Context, n *node, ln net.Listener, stdout io.Writer, log *slog.Logger) error {
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(runCtx) }()

	// Live feeds (SSE) never finish by themselves: end them when shutdown
	// starts, so Shutdown only waits for ordinary requests such as writes.
	liveCtx, endLive := context.WithCancel(context.Background())
	defer endLive()
	srv := &http.Server{
		Handler:           endOnShutdown(liveCtx, n.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(endLive)
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ledger: serving %s on %s (web %s/ , API %s/v1/openapi.json)\n", n.dataDir, url, url, url)
	log.Info("serving", "addr", ln.Addr().String())

	var err error
	runStopped := false
	select {
	case <-ctx.Done():
	case err = <-srvErr:
	case err = <-runErr:
		runStopped = true
		if err != nil {
			err = fmt.Errorf("followers stopped: %w", err)
		}
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && err == nil {
		err = serr
	}
	stopRun()
	if !runStopped {
		<-runErr // the followers write their last state before the node closes
	}
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// logFlags registers --log-level and --log-format; the function it returns
// makes the logger they choose.
func logFlags(fs *flag.FlagSet) func(w io.Writer) (*slog.Logger, error) {
	level := fs.String("log-level", "info", "debug, info, warn or error (LEDGER_LOG_LEVEL)")
	format := fs.String("log-format", "text", "text (logfmt) or json, one object per line (LEDGER_LOG_FORMAT)")
	return func(w io.Writer) (*slog.Logger, error) { return newLogger(w, *level, *format) }
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug", "info", "warn", "error":
		l.UnmarshalText([]byte(level))
	default:
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// endOnShutdown cancels the context of live-feed requests (Accept:
// text/event-stream or a path ending in /live) when live is done.
func endOnShutdown(live context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" || strings.HasSuffix(r.URL.Path, "/live") {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(live, cancel)()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// parsePrefixes reads --trusted-proxies: addresses (one host each) or CIDR
// prefixes, comma-separated.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		} else {
			return nil, usagef("--trusted-proxies: %q is neither an address nor a CIDR prefix (e.g. 10.0.0.0/8)", f)
		}
	}
	return out, nil
}
