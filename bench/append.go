package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// DurableAppend is P1: one writer appending one event per Append, each
// durable before the next, against write+fdatasync per record on a plain file.
func DurableAppend() Metric {
	return appendMetric("P1", "durable append, 1 event/append, 1 writer", 1, 0.8,
		"plain file + fdatasync")
}

// BatchAppend is P2: one writer appending 100 events per Append, against a
// plain file that writes 100 records per fdatasync.
func BatchAppend() Metric {
	return appendMetric("P2", "durable append, 100 events/append, 1 writer", 100, 0.6,
		"plain file, 100 records per fdatasync")
}

func appendMetric(id, name string, batch int, target float64, baseName string) Metric {
	m := Metric{ID: id, Name: name, Unit: "events/s"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		store, file, cleanup, err := openBoth(env)
		if err != nil {
			return Result{}, err
		}
		defer cleanup()
		rates, err := compare(ctx, env, true,
			storeSide(store, newWriters(env.Seed, 1, batch)),
			fileSide(file, nil, newWriters(env.Seed, 1, batch)))
		if err != nil {
			return Result{}, err
		}
		return Result{
			Value:     rates[0],
			Baselines: []Baseline{{Name: baseName, Value: rates[1], Target: target}},
			Note:      fmt.Sprintf("median of %d × %s", env.Plan.Reps, env.Plan.Duration),
		}, nil
	}
	return m
}

// ConcurrentAppend is P3: Plan.Writers writers on distinct streams, one
// event per Append, where the store's group commit should shine. Baselines:
// PostgreSQL as an event store (what a Marten user runs) with the same number
// of connections, and the plain file shared by all writers with group commit.
func ConcurrentAppend() Metric {
	m := Metric{ID: "P3", Unit: "events/s"}
	m.Name = "concurrent durable append, 1 event/append, 64 writers on distinct streams"
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		n := env.Plan.Writers
		store, file, cleanup, err := openBoth(env)
		if err != nil {
			return Result{}, err
		}
		defer cleanup()
		gc := newGroupCommitter(file, n)
		defer gc.stop()
		sides := []side{
			storeSide(store, newWriters(env.Seed, n, 1)),
			fileSide(file, gc, newWriters(env.Seed, n, 1)),
		}
		pgName := fmt.Sprintf("PostgreSQL events table, unique (stream, revision), %d connections, 1 event/transaction, synchronous_commit=on (pgbench)", n)
		pg, pgErr := startPostgres(ctx, env, n)
		if pg != nil {
			defer pg.stop()
			sides = append(sides, side{name: "postgres", run: func(ctx context.Context, d time.Duration) (float64, error) {
				if pgErr != nil {
					return 0, nil
				}
				v, err := pg.bench(ctx, d)
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				if err != nil {
					pgErr = err // reported as a skipped baseline, not a failed run
					return 0, nil
				}
				return v, nil
			}})
		}
		rates, err := compare(ctx, env, true, sides...)
		if err != nil {
			return Result{}, err
		}
		pgBase := Baseline{Name: pgName, Target: 3}
		if pgErr != nil {
			pgBase.Skipped = "PostgreSQL baseline skipped: " + pgErr.Error()
			env.Log.Warn(pgBase.Skipped)
		} else {
			pgBase.Value = rates[2]
		}
		return Result{
			Value: rates[0],
			Baselines: []Baseline{
				pgBase,
				{Name: fmt.Sprintf("plain file shared by %d writers, grouped write+fdatasync", n), Value: rates[1]},
			},
			Note: fmt.Sprintf("%d writers, median of %d × %s", n, env.Plan.Reps, env.Plan.Duration),
		}, nil
	}
	return m
}

// openBoth opens the store under test and the plain baseline file side by
// side in env.Dir.
func openBoth(env Env) (eventstore.Store, *plainFile, func(), error) {
	store, err := env.Open(env.sub("store"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open store: %w", err)
	}
	file, err := createPlain(env.sub("plain.log"))
	if err != nil {
		store.Close()
		return nil, nil, nil, err
	}
	return store, file, func() { store.Close(); file.Close() }, nil
}

// writer is one client of an append workload. It appends to streams of its
// own, with the exact expected revision a client would send, and starts a
// new stream every max(batch, 10) events: many small streams, as the
// ledger's per-aggregate streams are.
type writer struct {
	gen       *Gen
	pool      []eventstore.EventData // generated before the clock starts
	used      int
	id        int
	batch     int
	perStream int
	streams   int
	inStream  int
	rev       uint64
	events    []eventstore.EventData
	buf       []byte
	resp      chan error
}

// poolEvents is how many distinct events a writer cycles through. Making an
// event costs microseconds of JSON encoding, as much as a grouped append of
// it, so bodies are made before the clock starts and only the IDs are new
// in the timed loop.
const poolEvents = 256

// newWriters returns n writers; equal arguments give equal event sequences,
// so the store and its baseline write the same events.
func newWriters(seed uint64, n, batch int) []*writer {
	ws := make([]*writer, n)
	for i := range ws {
		w := &writer{
			gen: NewGen(seed*1_000_003 + uint64(i)), id: i, batch: batch,
			perStream: max(batch, 10), resp: make(chan error, 1),
		}
		for range max(poolEvents, batch) {
			w.pool = append(w.pool, w.gen.Event())
		}
		ws[i] = w
	}
	return ws
}

// next prepares the next Append in w.events.
func (w *writer) next() (stream string, expected eventstore.ExpectedRevision, firstRev uint64) {
	if w.streams == 0 || w.inStream >= w.perStream {
		w.streams++
		w.inStream = 0
	}
	stream = fmt.Sprintf("submission-w%d-%d", w.id, w.streams)
	expected, firstRev = eventstore.NoStream(), 0
	if w.inStream > 0 {
		expected, firstRev = eventstore.Exact(w.rev), w.rev+1
	}
	w.events = w.events[:0]
	for range w.batch {
		e := w.pool[w.used%len(w.pool)]
		e.ID = w.gen.uuid() // a new event, not an idempotent repeat
		w.events = append(w.events, e)
		w.used++
	}
	return stream, expected, firstRev
}

// appended records that the prepared events were stored from firstRev on.
func (w *writer) appended(firstRev uint64) {
	w.inStream += len(w.events)
	w.rev = firstRev + uint64(len(w.events)) - 1
}

func storeSide(s eventstore.Store, ws []*writer) side {
	return side{name: "store", run: func(ctx context.Context, d time.Duration) (float64, error) {
		return rate(ctx, d, len(ws), func(i int) (int, error) {
			w := ws[i]
			stream, expected, first := w.next()
			if _, err := s.Append(ctx, stream, expected, w.events...); err != nil {
				return 0, fmt.Errorf("append to %s: %w", stream, err)
			}
			w.appended(first)
			return len(w.events), nil
		})
	}}
}

// fileSide writes the same events as the store side would, encoded to the
// same bytes; with gc nil each writer writes and syncs by itself.
func fileSide(p *plainFile, gc *groupCommitter, ws []*writer) side {
	return side{name: "plain file", run: func(ctx context.Context, d time.Duration) (float64, error) {
		return rate(ctx, d, len(ws), func(i int) (int, error) {
			w := ws[i]
			stream, _, first := w.next()
			w.buf = p.encode(w.buf[:0], stream, first, w.events)
			var err error
			if gc == nil {
				err = p.writeSync(w.buf)
			} else {
				err = gc.commit(w.buf, w.resp)
			}
			if err != nil {
				return 0, err
			}
			w.appended(first)
			return len(w.events), nil
		})
	}}
}
