package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

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
	// events, whichever comes first (defaults 10000 and 5s), but never
	// taking more than a tenth of the runner's time.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// SnapshotEvery keeps a snapshot of every model at each position that
	// is a multiple of it, so that as-of queries fold at most that many
	// events (default 50000; negative disables). Snapshots cost disk in
	// proportion to the models' size: measured on a generated log, about
	// 2 kB per event of log per snapshot kept, all models together.
	SnapshotEvery int
	// Registerer receives the runner's metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Runner feeds models from a store subscription: it resumes each model from
// its checkpoint, catches up, then follows live appends, checkpointing as it
// goes. Reads of the models go through Read, which excludes Apply.
type Runner struct {
	store  eventstore.Store
	cfg    Config
	log    *slog.Logger
	models []Model
	index  *Index
	hub    *Hub

	running atomic.Bool
	head    atomic.Uint64 // last known store head, for the lag metric

	mu       sync.RWMutex
	pos      eventstore.Position   // every model has applied every event up to pos
	modelPos []eventstore.Position // per model: the position its state is at
	unsaved  int                   // events applied since the last checkpoint
	loaded   bool
	lastCP   time.Time     // when the last checkpoint was written
	cpCost   time.Duration // how long it took

	lag, position  prometheus.Gauge
	applied        prometheus.Counter
	checkpointErrs prometheus.Counter
}

// NewRunner returns a runner over models. It always adds the Index model,
// which live notifications use to name the process of an event.
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
	all := append([]Model{idx}, models...)
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
		index:    idx,
		modelPos: make([]eventstore.Position, len(all)),
		lag: f.NewGauge(prometheus.GaugeOpts{Name: "ledger_projection_lag_events",
			Help: "Store head position minus the position the projections have applied."}),
		position: f.NewGauge(prometheus.GaugeOpts{Name: "ledger_projection_position",
			Help: "Global position the projections have applied."}),
		applied: f.NewCounter(prometheus.CounterOpts{Name: "ledger_projection_events_applied_total",
			Help: "Events applied to the read models."}),
		checkpointErrs: f.NewCounter(prometheus.CounterOpts{Name: "ledger_projection_checkpoint_errors_total",
			Help: "Checkpoints or snapshots that could not be written."}),
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

// Read calls fn while no event is being applied, so fn sees every model at
// the same position pos. fn must not keep references into model state.
func (r *Runner) Read(fn func(pos eventstore.Position)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.pos)
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
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked()
}

func (r *Runner) loadLocked() error {
	if r.loaded {
		return nil
	}
	if r.cfg.Dir != "" {
		for i, m := range r.models {
			p, err := readCheckpoint(checkpointPath(r.cfg.Dir, m.Name()), m)
			if err != nil {
				return err
			}
			r.modelPos[i] = p
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
	}()

	for ev, err := range r.store.Subscribe(ctx, r.Position()) {
		if err != nil {
			return err
		}
		r.apply(ev)
		if r.dueForCheckpoint() {
			if err := r.Checkpoint(); err != nil {
				r.checkpointErrs.Inc()
				r.log.Error("projection checkpoint", "err", err)
			}
		}
	}
	return ctx.Err()
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
		}
		r.refreshHead(ctx)
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
	r.mu.RLock()
	defer r.mu.RUnlock()
	// Checkpoints marshal whole models, which grow with the log; spending
	// at most a tenth of the time on them keeps catch-up of a big log from
	// turning quadratic.
	return r.cfg.Dir != "" && r.unsaved >= r.cfg.CheckpointEvery && time.Since(r.lastCP) >= 10*r.cpCost
}

// apply folds one event into every model that has not seen it.
func (r *Runner) apply(ev eventstore.Event) {
	de := decode(ev)
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
	r.mu.Unlock()

	r.applied.Inc()
	r.position.Set(float64(ev.Position))
	r.updateLag(ev.Position)
	if r.cfg.Dir != "" && r.cfg.SnapshotEvery > 0 && uint64(ev.Position)%uint64(r.cfg.SnapshotEvery) == 0 {
		if err := r.snapshot(ev.Position); err != nil {
			r.checkpointErrs.Inc()
			r.log.Error("projection snapshot", "position", uint64(ev.Position), "err", err)
		}
	}
	r.hub.advance(ev.Position)
}

// snapshot keeps every model's state at pos for as-of queries.
func (r *Runner) snapshot(pos eventstore.Position) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var errs []error
	for i, m := range r.models {
		if _, ok := m.(appendOnly); ok {
			continue
		}
		if r.modelPos[i] == pos {
			errs = append(errs, writeCheckpoint(snapshotPath(r.cfg.Dir, m.Name(), pos), m, pos))
		}
	}
	return errors.Join(errs...)
}

// Checkpoint writes every model's state and position now (a no-op without
// Dir).
func (r *Runner) Checkpoint() error {
	if r.cfg.Dir == "" {
		return nil
	}
	// The write lock keeps Apply out while states are marshalled; writing
	// is per model, so a crash between files leaves models at different
	// positions, which Load handles.
	r.mu.Lock()
	defer r.mu.Unlock()
	began := time.Now()
	var errs []error
	for i, m := range r.models {
		errs = append(errs, writeCheckpoint(checkpointPath(r.cfg.Dir, m.Name()), m, r.modelPos[i]))
	}
	r.lastCP, r.cpCost = time.Now(), time.Since(began)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.unsaved = 0
	return nil
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
	r.mu.Lock()
	for i, m := range r.models {
		m.Reset()
		r.modelPos[i] = 0
		if r.cfg.Dir != "" {
			if err := removeSnapshots(r.cfg.Dir, m.Name()); err != nil {
				r.mu.Unlock()
				return 0, err
			}
			if err := os.Remove(checkpointPath(r.cfg.Dir, m.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.mu.Unlock()
				return 0, err
			}
		}
	}
	r.pos, r.unsaved, r.loaded = 0, 0, true
	r.mu.Unlock()
	r.hub.reset()

	n := 0
	for after := eventstore.Position(0); after < head; {
		evs, err := r.store.ReadAll(ctx, after, min(int(head-after), readPage))
		if err != nil {
			return n, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			r.apply(ev)
			n++
		}
		after = evs[len(evs)-1].Position
	}
	return n, r.Checkpoint()
}

// readPage is how many events a fold reads per store call.
const readPage = 1000
