// Package integrity keeps the ledger's tamper-evident log: an RFC 6962 Merkle
// tree over the global order of events, signed C2SP checkpoints, inclusion and
// consistency proofs, receipts, and the offline verification of exports.
package integrity

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

// Named errors; the concrete errors wrap them with the details.
var (
	// ErrMalformed: a checkpoint, key, receipt or exported event cannot be
	// parsed.
	ErrMalformed = errors.New("integrity: malformed input")
	// ErrSignature: a checkpoint is not signed by the expected key.
	ErrSignature = errors.New("integrity: bad checkpoint signature")
	// ErrMismatch: events do not hash to what a checkpoint or stored hash
	// says — something was altered, dropped, inserted or reordered.
	ErrMismatch = errors.New("integrity: log does not match")
	// ErrFork: two checkpoints disagree about the same tree.
	ErrFork = errors.New("integrity: fork")
	// ErrRollback: a newer checkpoint describes a smaller tree than an
	// older one.
	ErrRollback = errors.New("integrity: rollback")
	// ErrNotCovered: the requested index or size is beyond the tree or the
	// latest checkpoint.
	ErrNotCovered = errors.New("integrity: not covered by the log")
	// ErrClosed: the log has been closed.
	ErrClosed = errors.New("integrity: log closed")
)

// paths are the files of DIR/integrity.
type paths struct {
	dir, hashes, key, verifier, latest, all, lock string
}

func pathsIn(dataDir string) paths {
	d := filepath.Join(dataDir, "integrity")
	return paths{
		dir:      d,
		hashes:   filepath.Join(d, "hashes"),      // stored hashes, see hashfile.go
		key:      filepath.Join(d, "signing.key"), // note signer key, mode 0600
		verifier: filepath.Join(d, "verifier"),    // the matching verifier key
		latest:   filepath.Join(d, "checkpoint"),  // latest signed checkpoint note
		all:      filepath.Join(d, "checkpoints"), // every note issued, blank-line separated
		lock:     filepath.Join(d, "LOCK"),
	}
}

// Option configures Open and KeyVerifier.
type Option func(*config)

type config struct {
	origin   string
	keyFile  string
	interval time.Duration
	log      *slog.Logger
	reg      prometheus.Registerer
	now      func() time.Time
}

// WithOrigin sets the checkpoint origin line, which also names a newly
// generated signing key (default DefaultOrigin).
func WithOrigin(origin string) Option { return func(c *config) { c.origin = origin } }

// WithSigningKeyFile signs with the note key in path instead of the one kept
// in the data directory (LEDGER_SIGNING_KEY_FILE). The file is never created.
func WithSigningKeyFile(path string) Option { return func(c *config) { c.keyFile = path } }

// WithCheckpointInterval sets the least time between two checkpoints under
// load (default one second). The first change after a quiet spell is
// checkpointed at once.
func WithCheckpointInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMetrics registers the log's metrics with reg.
func WithMetrics(reg prometheus.Registerer) Option { return func(c *config) { c.reg = reg } }

func newConfig(opts []Option) config {
	c := config{origin: DefaultOrigin, interval: time.Second, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Log is the Merkle tree over the ledger's events and its checkpoints. Add
// and the proofs are safe for concurrent use; one goroutine (Run, or a
// caller of Add) feeds it events in position order.
type Log struct {
	cfg     config
	paths   paths
	key     signingKey
	lock    *os.File
	metrics *metrics

	mu     sync.RWMutex
	hf     *hashFile
	scrap  []byte      // canonical bytes of the event being added
	anchor *Checkpoint // a signed tree the rebuilt hashes must reproduce
	failed error       // set when the store contradicts a signed checkpoint
	closed bool
	// notOfRecord, when set, keeps a copied data directory from signing
	// (see Identity).
	notOfRecord error

	signMu sync.Mutex // one checkpoint signing at a time

	cmu        sync.Mutex
	latest     SignedCheckpoint
	latestCh   chan struct{} // closed and replaced when latest moves
	lastSigned time.Time

	dirty chan struct{} // capacity 1: "leaves were added since the last checkpoint"
}

// Open opens the integrity log kept in DIR/integrity, creating it (and a
// signing key, unless WithSigningKeyFile) on first use. Only one process may
// have a directory open.
//
// Hashes past the latest signed checkpoint are dropped: they were never
// fsync'd, so after a crash they may be torn. CatchUp or Run recompute them
// from the store — about one checkpoint interval of events.
func Open(dir string, opts ...Option) (*Log, error) {
	cfg := newConfig(opts)
	p := pathsIn(dir)
	if err := durable.MkdirAll(p.dir, 0o755); err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	lock, err := lockFile(p.lock)
	if err != nil {
		return nil, err
	}
	l := &Log{
		cfg: cfg, paths: p, lock: lock, metrics: newMetrics(cfg.reg),
		latestCh: make(chan struct{}), dirty: make(chan struct{}, 1),
	}
	if err := l.open(); err != nil {
		lock.Close()
		if l.hf != nil {
			l.hf.close()
		}
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	key, err := resolveKey(l.cfg, l.paths)
	if err != nil {
		return err
	}
	l.key = key
	l.notOfRecord = CheckIdentity(filepath.Dir(l.paths.dir))
	if l.notOfRecord != nil && !errors.Is(l.notOfRecord, ErrNotOfRecord) {
		return l.notOfRecord
	}
	if l.hf, err = openHashFile(l.paths.hashes); err != nil {
		return err
	}
	if err := repairAll(l.paths.all); err != nil {
		return err
	}
	msg, err := os.ReadFile(l.paths.latest)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// No checkpoint was ever signed, so no hash was ever synced.
		if err := l.hf.truncate(0); err != nil {
			return err
		}
		if l.notOfRecord != nil {
			return nil
		}
		c, err := l.SignCheckpoint()
		l.lastSigned = time.Time{} // the first real checkpoint need not wait
		if err == nil {
			err = l.bindIfNew(c.Checkpoint)
		}
		return err
	case err != nil:
		return fmt.Errorf("integrity: read checkpoint: %w", err)
	}
	c, err := parseUnverified(msg)
	if err != nil {
		return fmt.Errorf("integrity: latest checkpoint: %w", err)
	}
	l.latest = SignedCheckpoint{Checkpoint: c, Note: msg}
	if st, err := os.Stat(l.paths.latest); err == nil {
		l.lastSigned = st.ModTime()
	}
	l.metrics.checkpointSize.Set(float64(c.Size))
	if l.notOfRecord == nil {
		// A directory that signed before identities existed is bound at
		// its first open: from then on its copies do not sign.
		if err := l.bindIfNew(c); err != nil {
			return err
		}
	}

	ok := false
	if l.hf.n >= c.Size {
		root, err := tlog.TreeHash(c.Size, l.hf)
		ok = err == nil && root == c.Root
	}
	if ok {
		if err := l.hf.truncate(c.Size); err != nil {
			return err
		}
	} else {
		// The synced part of the hash file is damaged or missing. Rebuild
		// it from the store, and insist that the store still produces the
		// tree we signed.
		l.cfg.log.Warn("integrity: hash file does not match the latest checkpoint; rebuilding from the store",
			"checkpoint_size", c.Size, "hash_file_leaves", l.hf.n)
		if err := l.hf.truncate(0); err != nil {
			return err
		}
		l.anchor = &c
	}
	l.metrics.size.Set(float64(l.hf.n))
	return nil
}

// resolveKey loads the signing key named by the options and records its
// verifier key in DIR/integrity/verifier.
func resolveKey(cfg config, p paths) (signingKey, error) {
	var key signingKey
	var err error
	if cfg.keyFile != "" {
		key, err = loadKey(cfg.keyFile, cfg.origin, false)
	} else {
		key, err = loadKey(p.key, cfg.origin, true)
	}
	if err != nil {
		return signingKey{}, err
	}
	if old, err := os.ReadFile(p.verifier); err != nil || string(old) != key.verifier+"\n" {
		if err := writeAtomic(p.verifier, []byte(key.verifier+"\n"), 0o644); err != nil {
			return signingKey{}, err
		}
	}
	return key, nil
}

// KeyVerifier returns the verifier key for the signing key Open would use
// with the same options, creating the data directory's key if there is none.
// It does not open the log, so it is safe while a server runs.
func KeyVerifier(dir string, opts ...Option) (string, error) {
	cfg := newConfig(opts)
	p := pathsIn(dir)
	if err := durable.MkdirAll(p.dir, 0o755); err != nil {
		return "", fmt.Errorf("integrity: %w", err)
	}
	key, err := resolveKey(cfg, p)
	if err != nil {
		return "", err
	}
	return key.verifier, nil
}

// ReadVerifier returns the verifier key recorded in DIR/integrity/verifier.
func ReadVerifier(dir string) (string, error) {
	b, err := os.ReadFile(pathsIn(dir).verifier)
	if err != nil {
		return "", fmt.Errorf("integrity: read verifier key: %w", err)
	}
	return string(trimNL(b)), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Verifier returns the note verifier key of the log's signing key, as
// printed by `ledger key` and served at /v1/ledger/key.
func (l *Log) Verifier() string { return l.key.verifier }

// Origin returns the origin line of new checkpoints.
func (l *Log) Origin() string { return l.cfg.origin }

// Size returns the number of leaves in the tree: the Position of the last
// event added.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.hf.n
}

// Add appends events to the tree. They must continue the log: the first has
// Position Size()+1 and the rest follow densely. Add does no I/O beyond an
// occasional unsynced write of hashes, so it costs a SHA-256 of the event's
// canonical bytes (which it encodes) and about two more of 65 bytes.
func (l *Log) Add(events ...eventstore.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range events {
		l.scrap = eventstore.AppendCanonical(l.scrap[:0], ev)
		if err := l.addLocked(ev.Position, l.scrap); err != nil {
			return err
		}
	}
	if cap(l.scrap) > 1<<20 {
		l.scrap = nil // do not pin one huge event's buffer
	}
	l.added()
	return nil
}

// AddCanonical is Add for events given as the canonical bytes a store keeps
// (the leaf input by design): it hashes them as they are, without parsing or
// re-encoding. That the bytes are canonical is the store's promise; `ledger
// verify` checks it.
func (l *Log) AddCanonical(events ...eventstore.CanonicalEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range events {
		if err := l.addLocked(ev.Position, ev.Bytes); err != nil {
			return err
		}
	}
	l.added()
	return nil
}

// addLocked adds the leaf at pos with leaf input canon.
func (l *Log) addLocked(pos eventstore.Position, canon []byte) error {
	if l.closed {
		return ErrClosed
	}
	if l.failed != nil {
		return l.failed
	}
	if int64(pos) != l.hf.n+1 {
		return fmt.Errorf("integrity: event at position %d does not follow the tree of size %d", pos, l.hf.n)
	}
	if err := l.hf.add(tlog.RecordHash(canon)); err != nil {
		return err
	}
	if l.anchor != nil && l.hf.n == l.anchor.Size {
		return l.checkAnchorLocked()
	}
	return nil
}

// added tells the metrics and the checkpoint loop that leaves were added.
func (l *Log) added() {
	l.metrics.size.Set(float64(l.hf.n))
	select {
	case l.dirty <- struct{}{}:
	default:
	}
}

func (l *Log) checkAnchorLocked() error {
	a := l.anchor
	root, err := tlog.TreeHash(a.Size, l.hf)
	if err != nil {
		return err
	}
	if root != a.Root {
		l.failed = fmt.Errorf("%w: the store's first %d events hash to %s, but the log signed %s for that size",
			ErrMismatch, a.Size, root, a.Root)
		l.cfg.log.Error("integrity: store does not match the signed checkpoint", "err", l.failed)
		return l.failed
	}
	l.anchor = nil
	l.cfg.log.Info("integrity: hash file rebuilt and matches the signed checkpoint", "size", a.Size)
	return nil
}

// Root returns the root hash of the tree of the given size (<= Size()).
func (l *Log) Root(size int64) (tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size < 0 || size > l.hf.n {
		return tlog.Hash{}, fmt.Errorf("%w: tree size %d (the tree has %d leaves)", ErrNotCovered, size, l.hf.n)
	}
	return tlog.TreeHash(size, l.hf)
}

// Close signs a last checkpoint if leaves were added since the latest one,
// so that reopening recomputes nothing, and releases the directory.
func (l *Log) Close() error {
	_, serr := l.SignCheckpoint()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	// A log that is closed, failed, still rebuilding or a copy has nothing
	// new it may sign; that is not a failure to close.
	if errors.Is(serr, ErrClosed) || errors.Is(serr, ErrNotCovered) || errors.Is(serr, ErrNotOfRecord) || l.failed != nil {
		serr = nil
	}
	return errors.Join(serr, l.hf.close(), l.lock.Close())
}

// bindIfNew binds a directory that has no identity yet to its signing
// history (see Identity).
func (l *Log) bindIfNew(latest Checkpoint) error {
	if _, ok, err := ReadIdentity(filepath.Dir(l.paths.dir)); err != nil || ok {
		return err
	}
	_, err := bind(l.paths, "created", latest, l.cfg.now())
	return err
}

// lockFile takes an exclusive advisory lock so that two processes never
// append to the same hash file.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("integrity: %s is in use by another process: %w", filepath.Dir(path), err)
	}
	return f, nil
}

type metrics struct {
	size           prometheus.Gauge
	checkpointSize prometheus.Gauge
	checkpoints    prometheus.Counter
	promises       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg) // a nil registerer makes unregistered metrics
	return &metrics{
		size: f.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_integrity_tree_size", Help: "Leaves in the Merkle tree.",
		}),
		checkpointSize: f.NewGauge(prometheus.GaugeOpts{
			Name: "ledger_integrity_checkpoint_size", Help: "Tree size of the latest signed checkpoint.",
		}),
		checkpoints: f.NewCounter(prometheus.CounterOpts{
			Name: "ledger_integrity_checkpoints_total", Help: "Checkpoints signed.",
		}),
		promises: f.NewCounter(prometheus.CounterOpts{
			Name: "ledger_integrity_promises_total", Help: "Inclusion promises signed for receipts.",
		}),
	}
}
