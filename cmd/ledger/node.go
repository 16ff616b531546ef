package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/export"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
	"github.com/malmo/participation-ledger/web"
)

// node is one running ledger: the store and everything that follows it.
// It is the only place the packages are wired together; serve and the
// end-to-end tests build it with openNode.
type node struct {
	dataDir   string
	log       *slog.Logger
	reg       *prometheus.Registry
	store     eventstore.Store
	keys      *privacy.Keys
	svc       *ledger.Service
	integrity *integrity.Log
	runner    *projections.Runner
	health    *health
	api       *ledgerhttp.Server
	sessions  *auth.Sessions // the web's signed-in browsers
}

// nodeConfig is what the flags of serve (and demo, replay …) choose.
type nodeConfig struct {
	dataDir      string
	storeURL     string // "" = embedded store in dataDir/store
	kurrentUser  string
	kurrentPass  string
	integrityOpt []integrity.Option
	// proveAll checks every stored tree hash against the store at start-up
	// (default: the last proveTail leaves).
	proveAll  bool
	rateLimit ledgerhttp.RateLimit
	logger    *slog.Logger
	// metricsElsewhere leaves /metrics out of the API: serve puts it on
	// --metrics-addr.
	metricsElsewhere bool
	trustedProxies   []netip.Prefix // reverse proxies whose Forwarded header names the client
	signin           signinConfig
	kurrentOpts      []kurrent.Option // tests: e.g. a namespace on a shared server
}

// storeFlags registers --store (LEDGER_STORE) and reads the KurrentDB
// credentials from LEDGER_KURRENT_USER / LEDGER_KURRENT_PASSWORD.
func storeFlags(fs *flag.FlagSet, getenv env) (url *string, user, pass string) {
	url = fs.String("store", getenv("LEDGER_STORE"),
		"event store: empty for the embedded store in DATA/store, or a KurrentDB connection string esdb://… (LEDGER_STORE)")
	return url, getenv("LEDGER_KURRENT_USER"), getenv("LEDGER_KURRENT_PASSWORD")
}

// openStore opens the embedded store of dataDir (with eopts), or KurrentDB
// when url is a connection string.
func openStore(ctx context.Context, dataDir, url, user, pass string, log *slog.Logger, eopts ...embedded.Option) (eventstore.Store, error) {
	if url == "" {
		s, err := embedded.Open(filepath.Join(dataDir, "store"), append([]embedded.Option{embedded.WithLogger(log)}, eopts...)...)
		if err != nil {
			return nil, fmt.Errorf("opening the embedded store (is another ledger using %s?): %w", dataDir, err)
		}
		return s, nil
	}
	if !strings.HasPrefix(url, "esdb://") && !strings.HasPrefix(url, "esdb+discover://") && !strings.HasPrefix(url, "kurrentdb://") {
		return nil, fmt.Errorf("--store %q: want an esdb:// connection string, or nothing for the embedded store", url)
	}
	return openKurrent(ctx, dataDir, url, user, pass, log)
}

// openKurrent opens the KurrentDB store named by url for dataDir (where it
// keeps its Position index).
func openKurrent(ctx context.Context, dataDir, url, user, pass string, log *slog.Logger, extra ...kurrent.Option) (eventstore.Store, error) {
	opts := []kurrent.Option{kurrent.WithLogger(log)}
	if dataDir != "" {
		// The Position index on disk: a restart reads only what is new.
		opts = append(opts, kurrent.WithIndexFile(filepath.Join(dataDir, "kurrent", "positions")))
	}
	if user != "" {
		opts = append(opts, kurrent.WithCredentials(user, pass))
	}
	return kurrent.Open(ctx, url, append(opts, extra...)...)
}

// openKeys opens the participants' data keys: in DATA/keys beside the
// embedded store; in the database beside a KurrentDB store, so that every
// node shares them (key files a node kept before are moved there first).
func openKeys(dataDir string, store eventstore.Store, log *slog.Logger) (*privacy.Keys, error) {
	dir := filepath.Join(dataDir, "keys")
	ks, ok := store.(*kurrent.Store)
	if !ok {
		return privacy.Open(dir)
	}
	moved, conflicts, err := privacy.MoveKeys(dir, ks.Vault())
	if err != nil {
		return nil, fmt.Errorf("moving the data keys of %s into KurrentDB: %w", dir, err)
	}
	if moved > 0 {
		log.Info("moved data keys into KurrentDB", "keys", moved)
	}
	if len(conflicts) > 0 {
		log.Warn("data keys left in the data directory: KurrentDB holds other keys for these subjects, so their data sealed on this node cannot be opened", "dir", dir, "subjects", len(conflicts))
	}
	return privacy.New(ks.Vault()), nil
}

// proveTail is how many of the newest leaves the start-up proof checks
// against the store (all of them with --prove-all).
const proveTail = 10_000

// openNode opens every component of a ledger over cfg.dataDir. Close it.
func openNode(ctx context.Context, cfg nodeConfig) (_ *node, err error) {
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Whatever logs with a request's context (API, pages, sign-in) names
	// the request id the client got.
	log = slog.New(ledgerhttp.LogRequestIDs(log.Handler()))
	if err := durable.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return nil, err
	}
	n := &node{dataDir: cfg.dataDir, log: log, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	n.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	if len(cfg.kurrentOpts) > 0 {
		n.store, err = openKurrent(ctx, cfg.dataDir, cfg.storeURL, cfg.kurrentUser, cfg.kurrentPass, log, cfg.kurrentOpts...)
	} else {
		n.store, err = openStore(ctx, cfg.dataDir, cfg.storeURL, cfg.kurrentUser, cfg.kurrentPass, log, embedded.WithMetrics(n.reg))
	}
	if err != nil {
		return nil, err
	}
	if n.keys, err = openKeys(cfg.dataDir, n.store, log); err != nil {
		return nil, err
	}
	iopts := append([]integrity.Option{integrity.WithLogger(log), integrity.WithMetrics(n.reg)}, cfg.integrityOpt...)
	if n.integrity, err = integrity.Open(cfg.dataDir, iopts...); err != nil {
		return nil, err
	}
	if err := n.integrity.OfRecord(); err != nil {
		return nil, err // a copy never serves: it would sign a fork
	}
	// Before anything is written: is the store still the log that was
	// signed? If not, the node serves reads and says why, and takes no write
	// (a write now would get a position that already has a receipt).
	n.health = &health{}
	if n.health.startHead, err = n.store.Head(ctx); err != nil {
		return nil, err
	}
	tail := int64(proveTail)
	if _, local := n.store.(*embedded.Store); !local {
		// A KurrentDB cluster keeps its own checksums and replicas; reading
		// its newest events at every start would make start-up grow with
		// the log. The checkpoint and the store's head are still checked.
		tail = 0
	}
	if cfg.proveAll {
		tail = integrity.All
	}
	if perr := n.integrity.Prove(ctx, n.store, tail); perr != nil {
		n.health.refuse(perr)
		log.Error("refusing writes: the log does not match what was signed; see `ledger verify --data` and `ledger restore`",
			"err", perr)
	}
	pseudonymKey, err := secret(filepath.Join(cfg.dataDir, "pseudonym.key"))
	if err != nil {
		return nil, err
	}
	// The runner keeps every registered read model (projections.Kinds).
	n.runner, err = projections.NewRunner(n.store, projections.Config{
		Dir: filepath.Join(cfg.dataDir, "projections"), Registerer: n.reg, Logger: log,
		Options: projections.Options{PseudonymKey: pseudonymKey},
	})
	if err != nil {
		return nil, err
	}
	n.sessions = auth.NewSessions(cfg.signin.sessions)
	exports := export.NewService(export.Source{Store: n.store, Log: n.integrity, Keys: n.keys, Secret: pseudonymKey,
		HistoryFile: filepath.Join(cfg.dataDir, "integrity", "checkpoints")}, filepath.Join(cfg.dataDir, "exports"))
	n.svc = ledger.New(gatedStore{n.store, n.health}, n.keys, ledger.WithLogger(log), ledger.WithAppendObserver(ledgerhttp.AppendObserver(n.reg)),
		// A granted erasure (or a participant's disposal) ends their web
		// sessions in the same request, and reaches the research exports
		// kept here.
		ledger.WithErasureHook(func(_ context.Context, participantID string) error {
			n.sessions.EndParticipant(participantID)
			return nil
		}),
		ledger.WithErasureHook(func(ctx context.Context, participantID string) error {
			_, err := exports.Withdraw(ctx, participantID, "erasure granted or disposal decided for a participant whose rows it held")
			return err
		}))
	var signIn *auth.RelyingParty
	var link *auth.Link
	if len(cfg.signin.providers) > 0 {
		if signIn, err = auth.NewRelyingParty(cfg.signin.providers, auth.WithLogger(log)); err != nil {
			return nil, err
		}
		key, err := linkKey(cfg.dataDir)
		if err != nil {
			return nil, err
		}
		if link, err = auth.NewLink(key, n.store); err != nil {
			return nil, err
		}
	}
	pages, err := web.New(web.Config{
		Service: n.svc, Store: n.store, Runner: n.runner, Integrity: n.integrity, Logger: log,
		Sessions: n.sessions, SignIn: signIn, Link: link, SecureCookies: cfg.signin.sessions.Secure, Receipt: n.receipt,
		Live: ledgerhttp.LiveFeed(n.runner.Hub(), log),
	})
	if err != nil {
		return nil, err
	}
	n.api, err = ledgerhttp.NewServer(ledgerhttp.Config{
		Mount:            pages.Mount, // the web pages: /, /processes/…, /dashboard, /static/…
		Sessions:         n.sessions,  // GET /v1/me answers for a web session too
		Service:          n.svc,
		Logger:           log,
		Registry:         n.reg,
		DataDir:          filepath.Join(cfg.dataDir, "http"),
		RateLimit:        cfg.rateLimit,
		Build:            ledgerhttp.BuildInfo(currentBuild()),
		MetricsElsewhere: cfg.metricsElsewhere,
		TrustedProxies:   cfg.trustedProxies,
		Ready:            n.ready,
		Receipt:          n.receipt,
		Exports:          exports,
		Backup:           n.backup,
		Read:             &ledgerhttp.ReadSide{Runner: n.runner, Integrity: n.integrity},
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Run keeps the integrity log and the read models following the store until
// ctx ends.
func (n *node) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() {
		if err := n.health.err(); err != nil {
			errc <- nil // the proof failed: sign nothing more for this log
			return
		}
		// A failing integrity log stops the writes, not the node: reads go
		// on, and /readyz and every write say why.
		if err := n.integrity.Run(ctx, n.store); err != nil && ctx.Err() == nil {
			n.health.refuse(err)
			n.log.Error("refusing writes: the integrity log stopped", "err", err)
		}
		errc <- nil
	}()
	go func() { errc <- n.runner.Run(ctx) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && !errors.Is(err, context.Canceled) && first == nil {
			first = err
		}
	}
	return first
}

// ready is /readyz: 200 only while the node takes writes (the start-up
// proof held, the integrity log runs, the disk has room), the read models
// have caught up with the head seen at start-up, and the Merkle log covers
// it too.
func (n *node) ready(ctx context.Context) error {
	if err := n.health.err(); err != nil {
		return err
	}
	if _, err := n.store.Head(ctx); err != nil {
		return err
	}
	if st, ok := n.store.(interface{ SpaceErr() error }); ok {
		if err := st.SpaceErr(); err != nil {
			return err
		}
	}
	if pos := n.runner.Position(); pos < n.health.startHead {
		return fmt.Errorf("read models catching up: at %d of %d", pos, n.health.startHead)
	}
	if size := n.integrity.Size(); size < int64(n.health.startHead) {
		return fmt.Errorf("the Merkle log is catching up: at %d of %d", size, n.health.startHead)
	}
	return nil
}

// receipt answers a durable write at once with a signed inclusion promise
// (docs/integrity.md §6); the checkpoint and inclusion proof that complete
// it are fetched later from /v1/ledger/receipt.
func (n *node) receipt(_ context.Context, ev ledger.Appended) (any, error) {
	return n.integrity.Promise(ev.Stored)
}

// Handler is everything the node serves over HTTP.
func (n *node) Handler() http.Handler { return n.api }

// Close releases every component; it is safe on a partly opened node.
func (n *node) Close() error {
	var errs []error
	if n.runner != nil {
		errs = append(errs, n.runner.Checkpoint(), n.runner.Close())
	}
	if n.api != nil {
		errs = append(errs, n.api.Close())
	}
	if n.integrity != nil {
		errs = append(errs, n.integrity.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// secret reads a 32-byte secret from path, creating it (mode 0600) on first
// use. The pseudonym key lives here: it must stay the same across restarts
// so public pseudonyms are stable, and never leave the data directory.
func secret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s: want 32 bytes, found %d", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	// Durably and exclusively: a pseudonym key lost to a power cut, or two
	// processes each making one, would give staff other pseudonyms.
	if err := durable.CreateExclusive(path, b, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return secret(path)
		}
		return nil, err
	}
	return b, nil
}
