package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	ledgerhttp "github.com/malmo/participation-ledger/http"
)

// cmdServe runs the ledger: the HTTP API (and web pages) over one store,
// with the integrity log and read models following it.
func cmdServe(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", envOr(getenv, "LEDGER_ADDR", "127.0.0.1:8080"), "listen address (LEDGER_ADDR)")
	data := dataFlag(fs, getenv)
	level := fs.String("log-level", envOr(getenv, "LEDGER_LOG_LEVEL", "info"), "debug, info, warn or error (LEDGER_LOG_LEVEL)")
	rate := fs.Float64("rate", 20, "requests per second per token (burst 2×); 0 disables rate limiting")
	storeURL, user, pass := storeFlags(fs, getenv)
	iopts := integrityFlags(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, nodeConfig{
		dataDir: *data, storeURL: *storeURL, kurrentUser: user, kurrentPass: pass,
		integrityOpt: iopts(), logger: log,
		rateLimit: ledgerhttp.RateLimit{PerSecond: *rate, Burst: int(2 * *rate)},
	})
	if err != nil {
		return err
	}
	defer n.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	return serve(ctx, n, ln, stdout, log)
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
	select {
	case <-ctx.Done():
	case err = <-srvErr:
	case err = <-runErr:
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
	log.Info("stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
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
