package projections

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// At names the state a read is for: the live models, the log as of a
// position, or as of a time — recorded-at, what the ledger knew then. The
// zero At is live.
type At struct {
	kind atKind
	pos  eventstore.Position
	t    time.Time
}

type atKind uint8

const (
	atLive atKind = iota
	atPosition
	atTime
)

// Live is the models as they are.
func Live() At { return At{} }

// AtPosition is the models as they stood when pos was the head.
func AtPosition(pos eventstore.Position) At { return At{kind: atPosition, pos: pos} }

// AtTime is the models as they stood after the last event recorded at or
// before t.
func AtTime(t time.Time) At { return At{kind: atTime, t: t} }

// ErrBadAt is a malformed as-of value.
var ErrBadAt = errors.New("as_of is neither a position nor an RFC 3339 time")

// ParseAt reads the as_of syntax the API and the pages share: empty is
// live, digits are a position, anything else an RFC 3339 time.
func ParseAt(s string) (At, error) {
	if s == "" {
		return Live(), nil
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return AtPosition(eventstore.Position(n)), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return AtTime(t), nil
	}
	return At{}, fmt.Errorf("%w: %q", ErrBadAt, s)
}

// IsLive reports whether a is the live models.
func (a At) IsLive() bool { return a.kind == atLive }

// Position returns the position of an as-of At (for a time, only once
// resolved: see Runner.Resolve).
func (a At) Position() (eventstore.Position, bool) { return a.pos, a.kind == atPosition }

// Resolve turns an as-of time into the position of the last event recorded
// then and caps a position at the head: the ledger cannot show what it has
// not recorded. Live stays live. This is the one place as-of is resolved.
func (r *Runner) Resolve(ctx context.Context, at At) (At, error) {
	if at.kind == atLive {
		return at, nil
	}
	pos := at.pos
	if at.kind == atTime {
		var err error
		if pos, err = PositionAt(ctx, r.store, at.t); err != nil {
			return At{}, err
		}
	}
	head, err := r.store.Head(ctx)
	if err != nil {
		return At{}, err
	}
	return AtPosition(min(pos, head)), nil
}

// ErrNotCaughtUp says the live models have not reached the position an
// as-of read needs of them, within asOfWait.
var ErrNotCaughtUp = errors.New("the read models have not reached the position asked for yet")

// asOfWait bounds how long an as-of read waits for an append-only model
// (cut at the position, not folded) to reach it.
const asOfWait = 5 * time.Second

// View is the read models at one position, handed to the fn of Runner.Read:
// the live models (under the runner's lock, so no event is applied while
// fn runs) or the models as of a past position. Models are reached only
// through Get, only inside fn, so nothing reads a model while the runner
// writes it.
type View struct {
	r    *Runner
	ctx  context.Context
	pos  eventstore.Position
	live bool

	locked bool // holding r.mu.RLock
	pinned bool // an as-of view handed out a live model that Apply would change: keep the lock
	// cut: an as-of view handed out a live append-only model, which needs
	// the lock back after a fold.
	cut    bool
	folded map[int]Model // as-of: models folded for this view
	err    error
}

// Position is the position the view reflects: every model it hands out
// has applied exactly the events up to it (append-only models hand out
// more, and their readers cut at Position).
func (v *View) Position() eventstore.Position { return v.pos }

// IsLive reports whether the view is of the live models.
func (v *View) IsLive() bool { return v.live }

// Read calls fn with a view of the read models at `at` (resolved first when
// it is a time) and returns the position fn saw. fn must not keep the
// models, or anything that points into their state, after it returns; the
// models' accessors return copies.
//
// A live view holds the runner's read lock while fn runs: fn should encode
// and return, not block. An as-of view folds the models fn gets, each from
// its nearest snapshot; append-only models (trails) are the live ones, cut
// at the position by their readers, and reading them waits briefly for
// the runner to reach the position.
func (r *Runner) Read(ctx context.Context, at At, fn func(v *View) error) (eventstore.Position, error) {
	if at.kind == atTime {
		var err error
		if at, err = r.Resolve(ctx, at); err != nil {
			return 0, err
		}
	}
	v := &View{r: r, ctx: ctx, live: at.kind == atLive, pos: at.pos}
	defer v.unlock()
	if v.live {
		r.mu.RLock()
		v.locked, v.pos = true, r.pos
	}
	err := fn(v)
	return v.pos, errors.Join(v.err, err)
}

func (v *View) unlock() {
	if v.locked {
		v.r.mu.RUnlock()
		v.locked = false
	}
}

// Get returns the view's model of type M (*Processes, *Submissions …).
// Call it only inside Runner.Read's fn. An as-of model that cannot be
// folded (the store failed) is returned empty, and Read returns the error.
func Get[M Model](v *View) M {
	for i, m := range v.r.models {
		if _, ok := m.(M); ok {
			got, err := v.model(i)
			if err != nil {
				v.err = errors.Join(v.err, err)
			}
			return got.(M)
		}
	}
	var zero M
	v.err = errors.Join(v.err, fmt.Errorf("projections: the runner has no model of type %T", zero))
	return zero
}

// State returns the state of the model called name as the view sees it,
// in its MarshalJSON form: an append-only model's state cut at the view's
// position. It is what a fold of the log up to Position gives, which
// projections/modeltest checks.
func (v *View) State(name string) ([]byte, error) {
	for i, m := range v.r.models {
		if m.Name() != name {
			continue
		}
		got, err := v.model(i)
		if err != nil {
			return nil, err
		}
		if a, ok := got.(appendOnly); ok {
			return a.stateUpTo(v.pos)
		}
		return got.MarshalJSON()
	}
	return nil, fmt.Errorf("projections: the runner has no model %q", name)
}

// model returns model i as the view sees it.
func (v *View) model(i int) (Model, error) {
	r := v.r
	live := r.models[i]
	if v.live {
		return live, nil
	}
	if _, ok := live.(appendOnly); ok {
		if err := v.lockAt(i); err != nil {
			return r.empty(i), err
		}
		return live, nil
	}
	if m := v.folded[i]; m != nil {
		return m, nil
	}
	// The live model may stand exactly at the position: no fold needed,
	// but the lock must then be kept until fn returns.
	if !v.locked {
		r.mu.RLock()
		v.locked = true
	}
	if r.modelPos[i] == v.pos {
		v.pinned = true
		return live, nil
	}
	// Fold without holding up the runner, unless a live model handed out
	// needs the lock; the append-only models fn may hold are cut at the
	// position, which later appends do not change.
	if !v.pinned {
		v.unlock()
	}
	m, err := r.asOf(v.ctx, i, v.pos)
	if v.cut && !v.locked {
		r.mu.RLock()
		v.locked = true
	}
	if err != nil {
		return r.empty(i), err
	}
	if v.folded == nil {
		v.folded = map[int]Model{}
	}
	v.folded[i] = m
	return m, nil
}

// lockAt takes the lock once append-only model i has applied the view's
// position, waiting up to asOfWait for the runner to get there.
func (v *View) lockAt(i int) error {
	r := v.r
	for {
		if !v.locked {
			r.mu.RLock()
			v.locked = true
		}
		if r.modelPos[i] >= v.pos {
			v.cut = true
			return nil
		}
		if v.pinned {
			return fmt.Errorf("%w (%d)", ErrNotCaughtUp, v.pos)
		}
		v.unlock()
		ctx, cancel := context.WithTimeout(v.ctx, asOfWait)
		err := r.hub.Wait(ctx, v.pos)
		cancel()
		if err != nil {
			return fmt.Errorf("%w (%d): %v", ErrNotCaughtUp, v.pos, err)
		}
	}
}

// empty returns an empty model i, for a view to hand out when it cannot
// give the real one (Read returns the error).
func (r *Runner) empty(i int) Model {
	if k := r.kinds[i]; k.New != nil {
		return k.New(r.cfg.Options)
	}
	e := reflect.New(reflect.TypeOf(r.models[i]).Elem()).Interface().(Model)
	e.Reset()
	return e
}

// asOf folds a fresh model i over the events up to pos, from its newest
// snapshot at or before pos.
func (r *Runner) asOf(ctx context.Context, i int, pos eventstore.Position) (Model, error) {
	k := r.kinds[i]
	if k.New == nil {
		return nil, fmt.Errorf("projections: model %q is not registered, so it cannot be folded as of a position", k.Name)
	}
	m := k.New(r.cfg.Options)
	return m, foldAsOf(ctx, r.store, r.cfg.Dir, m, pos)
}

// foldAsOf folds m, empty, over the events up to pos, starting from its
// newest snapshot at or before pos in dir ("": from the first event).
func foldAsOf(ctx context.Context, store eventstore.Store, dir string, m Model, pos eventstore.Position) error {
	from, err := snapshotAtOrBefore(dir, m.Name(), pos)
	if err != nil {
		return err
	}
	if from > 0 {
		if _, err := readCheckpoint(snapshotPath(dir, m.Name(), from), m); err != nil {
			return err
		}
	}
	_, _, err = Fold(ctx, Events(ctx, store, from, pos), m)
	return err
}

// PositionAt resolves an as_of time to a position: the last event the
// ledger had recorded at t (recorded-at, not occurred-at: what the ledger
// knew then), or 0 when it had recorded nothing. Stores stamp RecordedAt
// in append order, so a binary search over positions finds it in
// O(log head) reads of one event.
func PositionAt(ctx context.Context, store eventstore.Store, t time.Time) (eventstore.Position, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return 0, err
	}
	// Invariant: RecordedAt(lo) <= t (or lo == 0) and RecordedAt(hi+1) > t.
	lo, hi := eventstore.Position(0), head
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		evs, err := store.ReadAll(ctx, mid-1, 1)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			hi = mid - 1
			continue
		}
		if evs[0].RecordedAt.After(t) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	return lo, nil
}
