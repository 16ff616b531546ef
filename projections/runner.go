package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Config configures a Runner. The zero value works: no persistence, no
// metrics, logs discarded.
type Config struct {
	// Dir holds checkpoints (Dir/<model>.json) and as-of snapshots
	// (Dir/snapshots/<model>/<position>.json), e.g. DATA/projections.
	// Empty: the runner keeps nothing and starts from zero every time.
	Dir string
	// CheckpointEvery and CheckpointInterval say how often checkpoints are
	// written: after that many events or that much time with unsaved
	// events, whichever comes first (defaults 10000 and 5s). Checkpoints
	// of a big log take long (they marshal whole models, and a model waits
	// for its marshalling), so they are spaced further apart in time than
	// that when needed, to take at most a tenth of the runner's time while
	// it catches up or rebuilds, and a two-hundredth while it follows live
	// appends, where the pauses would delay live notifications.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// SnapshotEvery keeps some checkpoints of each model as snapshots, at
	// least that many events apart (default 50000; negative disables), so
	// that as-of queries start near the position asked for. Snapshots are
	// copies of checkpoints (Dir/snapshots/<model>/<position>.json), so
	// they inherit their spacing in time: on a big log catching up, as-of
	// may fold more than SnapshotEvery events. Append-only models keep
	// none (see appendOnly).
	SnapshotEvery int
	// Options are handed to the models' constructors.
	Options Options
	// Kinds are the models to run when NewRunner is given none (nil:
	// every registered model, Kinds()).
	Kinds []Kind
	// Registerer receives the runner's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Runner feeds models from a store subscription: it resumes each model from
// its checkpoint, catches up, then follows live appends, checkpointing as it
// goes. The models are reached only through Read, which excludes Apply.
type Runner struct {
	store  eventstore.Store
	cfg    Config
	log    *slog.Logger
	models []Model
	kinds  []Kind // kinds[i] describes models[i]
	// changes maps an event type to the models it changes (besides the
	// ByActor ones); from kinds.
	changes map[string][]string
	byActor []string
	index   *Index
	hub     *Hub

	// The state database of the kv models (nil without any): their
	// writes go to kvBatch, committed with their positions after each
	// event. Guarded by mu.
	db      *pebble.DB
	kvBatch *pebble.Batch

	running atomic.Bool
	head    atomic.Uint64 // last known store head, for the lag metric

	mu       sync.RWMutex
	pos      eventstore.Position   // every model has applied every event up to pos
	modelPos []eventstore.Position // per model: the position its state is at
	unsaved  int                   // events applied since the last checkpoint
	loaded   bool
	lastCP   time.Time     // when the last checkpoint was written
	cpCost   time.Duration // how long it took
	live     bool          // Run has caught up with the head it knew of

	cpMu     sync.Mutex            // one checkpoint at a time, so files never go back in time
	lastSnap []eventstore.Position // per model: position of its newest snapshot; guarded by cpMu
	cpNow    chan struct{}         // capacity 1: "a checkpoint is due", from Run to tick

	lag, position  prometheus.Gauge
	applied        prometheus.Counter
	checkpointErrs prometheus.Counter
}

// NewRunner returns a runner over every registered model (Kinds), built
// with cfg.Options, or over models when some are given (tests and tools
// that need only a few). It always adds the Index model, which live
// notifications use to name the process of an event.
func NewRunner(store eventstore.Store, cfg Config, models ...Model) (*Runner, error) {
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 10_000
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = 5 * time.Second
	}
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 50_000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	idx := NewIndex()
	all, kinds := []Model{idx}, []Kind{{Name: NameIndex, New: func(Options) Model { return NewIndex() }}}
	if len(models) == 0 {
		if cfg.Kinds == nil {
			cfg.Kinds = Kinds()
		}
		for _, k := range cfg.Kinds {
			all, kinds = append(all, k.New(cfg.Options)), append(kinds, k)
		}
	} else {
		for _, m := range models {
			k, ok := KindOf(m.Name())
			if !ok {
				k = Kind{Name: m.Name()}
			}
			all, kinds = append(all, m), append(kinds, k)
		}
	}
	seen := map[string]bool{}
	for _, m := range all {
		if seen[m.Name()] {
			return nil, fmt.Errorf("projections: two models named %q", m.Name())
		}
		seen[m.Name()] = true
	}
	f := promauto.With(cfg.Registerer)
	r := &Runner{
		store:    store,
		cfg:      cfg,
		log:      log,
		models:   all,
		kinds:    kinds,
		index:    idx,
		modelPos: make([]eventstore.Position, len(all)),
		lastSnap: make([]eventstore.Position, len(all)),
		cpNow:    make(chan struct{}, 1),
		lag: f.NewGauge(prometheus.GaugeOpts{Name: "ledger_projection_lag_events",
			Help: "Store head position minus the position the projections have applied."}),
		position: f.NewGauge(prometheus.GaugeOpts{Name: "ledger_projection_position",
			Help: "Global position the projections have applied."}),
		applied: f.NewCounter(prometheus.CounterOpts{Name: "ledger_projection_events_applied_total",
			Help: "Events applied to the read models."}),
		checkpointErrs: f.NewCounter(prometheus.CounterOpts{Name: "ledger_projection_checkpoint_errors_total",
			Help: "Checkpoints or snapshots that could not be written."}),
	}
	r.changes = map[string][]string{}
	for _, k := range kinds {
		if k.ByActor {
			r.byActor = append(r.byActor, k.Name)
		}
		for _, typ := range k.Handles {
			r.changes[typ] = append(r.changes[typ], k.Name)
		}
	}
	r.hub = newHub(store, r.describe)
	return r, nil
}

// Hub returns the runner's live notification hub.
func (r *Runner) Hub() *Hub { return r.hub }

// Position returns the position every model has applied.
func (r *Runner) Position() eventstore.Position {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.pos
}

// States returns every model's state (its MarshalJSON) by name, all at
// the position returned: what a rebuild or an as-of fold must reproduce.
func (r *Runner) States() (eventstore.Position, map[string][]byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string][]byte{}
	for _, m := range r.models {
		b, err := m.MarshalJSON()
		if err != nil {
			return r.pos, nil, fmt.Errorf("projections: marshal %s: %w", m.Name(), err)
		}
		out[m.Name()] = b
	}
	return r.pos, out, nil
}

// Wait blocks until the models have applied pos (read-your-writes for a
// client that has just appended at pos) or ctx is done.
func (r *Runner) Wait(ctx context.Context, pos eventstore.Position) error {
	return r.hub.Wait(ctx, pos)
}

// Load reads each model's checkpoint; Run calls it when it has not been
// called. Models without a checkpoint start from zero, and the runner
// resumes from the oldest model position, skipping events a model has
// already applied.
func (r *Runner) Load() error {
	r.cpMu.Lock() // lock order: cpMu before mu
	defer r.cpMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked()
}

func (r *Runner) loadLocked() (err error) {
	if r.loaded {
		return nil
	}
	if err := r.openState(); err != nil {
		return err
	}
	if r.cfg.Dir != "" {
		// Decoding a model's checkpoint is pure CPU and the models are
		// independent: on a big log, loading them side by side is most
		// of a restart's time saved.
		errs := make([]error, len(r.models))
		parallel(len(r.models), func(i int) {
			if _, ok := r.models[i].(kvModel); ok {
				r.modelPos[i], errs[i] = readKVPos(r.db, r.models[i].Name())
				return
			}
			r.modelPos[i], errs[i] = readCheckpoint(checkpointPath(r.cfg.Dir, r.models[i].Name()), r.models[i])
		})
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i, m := range r.models {
			// The state loaded is as good as a snapshot for spacing the
			// next one.
			if r.lastSnap[i], err = snapshotAtOrBefore(r.cfg.Dir, m.Name(), Latest); err != nil {
				return err
			}
			r.lastSnap[i] = max(r.lastSnap[i], r.modelPos[i])
		}
	}
	r.pos = r.minPos()
	r.loaded = true
	r.position.Set(float64(r.pos))
	r.hub.advance(r.pos)
	r.log.Info("projections loaded", "position", uint64(r.pos))
	return nil
}

func (r *Runner) minPos() eventstore.Position {
	p := r.modelPos[0]
	for _, q := range r.modelPos[1:] {
		p = min(p, q)
	}
	return p
}

// Run follows the store until ctx is done or the store fails, then writes
// a last checkpoint. It returns ctx.Err() when cancelled. A runner runs once
// at a time.
func (r *Runner) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("projections: runner already running")
	}
	defer r.running.Store(false)
	if err := r.Load(); err != nil {
		return err
	}
	r.refreshHead(ctx)

	tickCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.tick(tickCtx) })
	defer func() {
		stop()
		wg.Wait()
		if err := r.Checkpoint(); err != nil {
			r.log.Error("final projection checkpoint", "err", err)
		}
		// The state database is the running runner's; the next Run (or
		// another runner over the same directory) opens it again.
		if err := r.Close(); err != nil {
			r.log.Error("closing the projection state", "err", err)
		}
	}()

	err := fold(ctx, r.store.Subscribe(ctx, r.Position()), func(ev eventstore.Event, de domain.Event) error {
		if err := r.apply(ev, de, true); err != nil {
			return err
		}
		if ev.Position >= eventstore.Position(r.head.Load()) {
			r.setLive(true)
		}
		if err := r.snapshotIfDue(ev.Position); err != nil {
			r.checkpointErrs.Inc()
			r.log.Error("projection checkpoint", "err", err)
		} else if r.dueForCheckpoint() {
			// The tick goroutine writes it, so that the files are written
			// while this loop goes on folding.
			select {
			case r.cpNow <- struct{}{}:
			default:
			}
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (r *Runner) setLive(live bool) {
	r.mu.RLock()
	same := r.live == live
	r.mu.RUnlock()
	if !same {
		r.mu.Lock()
		r.live = live
		r.mu.Unlock()
	}
}

// tick writes time-based checkpoints and refreshes the lag metric, which
// would otherwise go stale while nothing is appended.
func (r *Runner) tick(ctx context.Context) {
	t := time.NewTicker(r.cfg.CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.refreshHead(ctx)
			if !r.checkpointAffordable() {
				continue
			}
		case <-r.cpNow:
		}
		r.mu.RLock()
		dirty := r.unsaved > 0
		r.mu.RUnlock()
		if dirty {
			if err := r.Checkpoint(); err != nil {
				r.checkpointErrs.Inc()
				r.log.Error("projection checkpoint", "err", err)
			}
		}
	}
}

func (r *Runner) refreshHead(ctx context.Context) {
	h, err := r.store.Head(ctx)
	if err != nil {
		return
	}
	r.head.Store(uint64(h))
	r.updateLag(r.Position())
}

func (r *Runner) updateLag(pos eventstore.Position) {
	h := r.head.Load()
	if uint64(pos) > h {
		h = uint64(pos)
		r.head.Store(h)
	}
	r.lag.Set(float64(h - uint64(pos)))
}

func (r *Runner) dueForCheckpoint() bool {
	if r.cfg.Dir == "" {
		return false
	}
	r.mu.RLock()
	due := r.unsaved >= r.cfg.CheckpointEvery
	r.mu.RUnlock()
	return due && r.checkpointAffordable()
}

// What a position calls for, besides folding.
const (
	nothingDue    = iota
	checkpointDue // a checkpoint, with the snapshots that are due
	snapshotsDue  // only the snapshots that are overdue
)

// snapshotGap caps how far apart (in SnapshotEvery units) a model's
// snapshots get when checkpoints are spaced out by their time share: the
// overdue snapshots are then written alone, without the checkpoints of
// the append-only models (most of the bytes), so that as-of never folds
// more than that many events.
const snapshotGap = 4

// snapshotDue says whether some model's newest snapshot is at least
// SnapshotEvery events behind pos and a checkpoint is affordable
// (checkpointDue), or it is snapshotGap times that behind (snapshotsDue).
func (r *Runner) snapshotDue(pos eventstore.Position) int {
	if r.cfg.Dir == "" || r.cfg.SnapshotEvery <= 0 || !r.cpMu.TryLock() {
		return nothingDue // a checkpoint being written now will do
	}
	every := eventstore.Position(r.cfg.SnapshotEvery)
	due, overdue := false, false
	for i, m := range r.models {
		if _, ok := m.(appendOnly); !ok {
			due = due || pos >= r.lastSnap[i]+every
			overdue = overdue || pos >= r.lastSnap[i]+snapshotGap*every
		}
	}
	r.cpMu.Unlock()
	switch {
	case due && r.checkpointAffordable():
		return checkpointDue
	case overdue:
		return snapshotsDue
	}
	return nothingDue
}

// snapshotIfDue writes what snapshotDue calls for. A snapshot is kept at
// its position, so it is written here, before the next event moves the
// models on.
func (r *Runner) snapshotIfDue(pos eventstore.Position) error {
	switch r.snapshotDue(pos) {
	case checkpointDue:
		return r.Checkpoint()
	case snapshotsDue:
		return r.snapshots()
	}
	return nil
}

// snapshots writes the overdue snapshots alone.
func (r *Runner) snapshots() error {
	r.cpMu.Lock()
	defer r.cpMu.Unlock()
	errs := make([]error, len(r.models))
	parallel(len(r.models), func(i int) { errs[i] = r.checkpointModel(i, true) })
	return errors.Join(errs...)
}

// checkpointAffordable reports whether enough time has passed since the
// last checkpoint for the next one to stay within its share of the time.
// Checkpoints marshal whole models, which grow with the log: bounding
// their share keeps catch-up of a big log from turning quadratic, and, when
// live, keeps their pauses off all but a few live notifications.
func (r *Runner) checkpointAffordable() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	share := time.Duration(10)
	if r.live {
		share = 200
	}
	return time.Since(r.lastCP) >= share*r.cpCost
}

// apply folds one event into every model that has not seen it; de is its
// decoded body. With publish, the change goes to the hub's subscribers
// (a rebuild publishes none: it starts the feed over).
func (r *Runner) apply(ev eventstore.Event, de domain.Event, publish bool) error {
	if de == nil {
		r.log.Warn("projections skip an event they cannot decode", "position", uint64(ev.Position), "type", ev.Type)
	}
	r.mu.Lock()
	for i, m := range r.models {
		if ev.Position > r.modelPos[i] {
			m.Apply(ev, de)
			r.modelPos[i] = ev.Position
		}
	}
	r.pos = ev.Position
	r.unsaved++
	if r.db != nil {
		if err := r.commitState(); err != nil {
			r.mu.Unlock()
			return err
		}
	}
	var c Change
	if publish {
		c = r.changeLocked(ev, de)
	}
	r.mu.Unlock()

	r.applied.Inc()
	r.position.Set(float64(ev.Position))
	r.updateLag(ev.Position)
	if publish {
		r.hub.publish(c)
	} else {
		r.hub.advance(ev.Position)
	}
	return nil
}

// openState opens the state database when some model keeps its state
// there, and attaches those models to it. The caller holds mu.
func (r *Runner) openState() error {
	if r.db != nil {
		return nil
	}
	var kv []kvModel
	for _, m := range r.models {
		if k, ok := m.(kvModel); ok {
			kv = append(kv, k)
		}
	}
	if len(kv) == 0 {
		return nil
	}
	dir := ""
	if r.cfg.Dir != "" {
		dir = filepath.Join(r.cfg.Dir, "state")
	}
	db, err := openStateDB(dir)
	if err != nil {
		return fmt.Errorf("projections: opening the state database: %w", err)
	}
	r.db, r.kvBatch = db, db.NewBatch()
	for _, m := range kv {
		m.kvSpace().attach(db, r.kvBatch)
	}
	return nil
}

// commitState commits what the kv models wrote with their positions, in
// one batch. The caller holds mu.
func (r *Runner) commitState() error {
	for i, m := range r.models {
		if _, ok := m.(kvModel); ok {
			if err := r.kvBatch.Set(kvPosKey(m.Name()), posBytes(r.modelPos[i]), nil); err != nil {
				return err
			}
		}
	}
	if err := r.kvBatch.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("projections: committing the state database: %w", err)
	}
	r.kvBatch.Reset()
	return nil
}

// Close closes the state database (Run does when it ends; call it after
// Rebuild). The models it holds read as empty until the next Load.
func (r *Runner) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.db == nil {
		return nil
	}
	for _, m := range r.models {
		if k, ok := m.(kvModel); ok {
			k.kvSpace().detach()
		}
	}
	err := r.db.Close()
	r.db, r.kvBatch, r.loaded = nil, nil, false
	return err
}

// Checkpoint writes every model's state and position now (a no-op without
// Dir), and keeps a copy as a snapshot for the models due one.
//
// Each model is marshalled under the read lock, which keeps Apply out
// while queries go on, and written after the lock is released; one model
// at a time, so Apply waits for at most one model's marshalling, not
// all of them, and no more than two models' bytes are held at once. The
// models' checkpoints may so be at different positions, which Load
// handles.
func (r *Runner) Checkpoint() error {
	if r.cfg.Dir == "" {
		return nil
	}
	r.cpMu.Lock()
	defer r.cpMu.Unlock()
	began := time.Now()
	r.mu.RLock()
	saved := r.unsaved
	r.mu.RUnlock()
	errs := make([]error, len(r.models))
	parallel(len(r.models), func(i int) { errs[i] = r.checkpointModel(i, false) })
	err := errors.Join(errs...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastCP, r.cpCost = time.Now(), time.Since(began)
	if err != nil {
		return err
	}
	r.unsaved = max(0, r.unsaved-saved)
	return nil
}

// checkpointModel writes model i's checkpoint (unless overdueOnly) and,
// when due, its snapshot; with overdueOnly, only a snapshot snapshotGap
// behind. The caller holds cpMu.
func (r *Runner) checkpointModel(i int, overdueOnly bool) error {
	m := r.models[i]
	if _, ok := m.(kvModel); ok {
		return nil // committed with every event
	}
	_, appendOnly := m.(appendOnly)
	every := eventstore.Position(r.cfg.SnapshotEvery)
	snapshotAt := func(pos eventstore.Position) bool {
		if appendOnly || every <= 0 {
			return false
		}
		if overdueOnly {
			return pos >= r.lastSnap[i]+snapshotGap*every
		}
		return pos >= r.lastSnap[i]+every
	}
	r.mu.RLock()
	pos := r.modelPos[i]
	if overdueOnly && !snapshotAt(pos) {
		r.mu.RUnlock()
		return nil
	}
	b, err := encodeCheckpoint(m, pos)
	r.mu.RUnlock()
	if err != nil {
		return err
	}
	if !overdueOnly {
		if err := writeFileAtomic(checkpointPath(r.cfg.Dir, m.Name()), b); err != nil {
			return err
		}
	}
	if !snapshotAt(pos) {
		return nil
	}
	if err := writeFileAtomic(snapshotPath(r.cfg.Dir, m.Name(), pos), b); err != nil {
		return err
	}
	r.lastSnap[i] = pos
	return nil
}

// parallel calls fn(0) … fn(n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// Rebuild empties every model, deletes its checkpoint and snapshots, and
// folds the log from the first event to the head as it is now, writing
// snapshots and a final checkpoint. It returns the number of events
// folded. The runner must not be running: stop Run, Rebuild, Run again.
func (r *Runner) Rebuild(ctx context.Context) (int, error) {
	if !r.running.CompareAndSwap(false, true) {
		return 0, errors.New("projections: cannot rebuild while running")
	}
	defer r.running.Store(false)

	head, err := r.store.Head(ctx)
	if err != nil {
		return 0, err
	}
	if err := r.reset(); err != nil {
		return 0, err
	}
	r.hub.reset()

	n := 0
	err = fold(ctx, Events(ctx, r.store, 0, head), func(ev eventstore.Event, de domain.Event) error {
		if err := r.apply(ev, de, false); err != nil {
			return err
		}
		n++
		// Only snapshots interrupt a rebuild: a rebuild that fails is
		// started again from zero, so checkpoints on the way buy nothing.
		return r.snapshotIfDue(ev.Position)
	})
	if err != nil {
		return n, err
	}
	return n, r.Checkpoint()
}

// reset empties every model and deletes its checkpoint and snapshots.
func (r *Runner) reset() error {
	r.cpMu.Lock() // lock order: cpMu before mu
	defer r.cpMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.lastSnap)
	if err := r.openState(); err != nil {
		return err
	}
	for i, m := range r.models {
		m.Reset()
		r.modelPos[i] = 0
		if r.cfg.Dir != "" {
			if err := removeSnapshots(r.cfg.Dir, m.Name()); err != nil {
				return err
			}
			if err := os.Remove(checkpointPath(r.cfg.Dir, m.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	if r.db != nil {
		if err := r.commitState(); err != nil {
			return err
		}
	}
	r.pos, r.unsaved, r.loaded, r.live = 0, 0, true, false
	r.lastCP, r.cpCost = time.Time{}, 0
	return nil
}
