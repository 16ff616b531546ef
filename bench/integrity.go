package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
)

// IntegrityOverhead is P6: the P2 workload (one writer, 100 events per
// Append) on a store that the integrity log follows — leaf and subtree
// hashes, hash-file writes and a signed checkpoint every second — against
// the same workload on a store alone. A repetition with the log ends only
// when the log has hashed everything appended, so lag cannot hide cost.
func IntegrityOverhead() Metric {
	m := Metric{ID: "P6", Unit: "events/s",
		Name: "durable append, 100 events/append, with Merkle log + signed checkpoints following"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		alone, err := env.Open(env.sub("alone"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer alone.Close()
		store, err := env.Open(env.sub("store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer store.Close()
		ilog, err := integrity.Open(env.sub("data"))
		if err != nil {
			return Result{}, err
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = ilog.Run(runCtx, store) }) // a failure shows as a log that stops growing
		defer func() {
			stop()
			wg.Wait()
			ilog.Close()
		}()

		const batch = 100
		withLog := storeSide(store, newWriters(env.Seed, 1, batch))
		rates, err := compare(ctx, env, true,
			storeSide(alone, newWriters(env.Seed, 1, batch)),
			side{name: "store + integrity", run: func(ctx context.Context, d time.Duration) (float64, error) {
				h0, err := store.Head(ctx)
				if err != nil {
					return 0, err
				}
				start := time.Now()
				if _, err := withLog.run(ctx, d); err != nil {
					return 0, err
				}
				h1, err := store.Head(ctx)
				if err != nil {
					return 0, err
				}
				if err := waitHashed(ctx, ilog, h1); err != nil {
					return 0, err
				}
				return float64(h1-h0) / time.Since(start).Seconds(), nil
			}})
		if err != nil {
			return Result{}, err
		}
		return Result{
			Value:     rates[1],
			Baselines: []Baseline{{Name: "the same appends to a store without the integrity log", Value: rates[0], Target: 0.9}},
			Note: fmt.Sprintf("median of %d × %s; target: overhead ≤ 10%%; latest checkpoint covers %d events",
				env.Plan.Reps, env.Plan.Duration, ilog.Checkpoint().Size),
		}, nil
	}
	return m
}

// waitHashed waits until the log has every event up to head.
func waitHashed(ctx context.Context, l *integrity.Log, head eventstore.Position) error {
	deadline := time.Now().Add(time.Minute)
	for l.Size() < int64(head) {
		if time.Now().After(deadline) {
			return errors.New("the integrity log did not catch up within a minute")
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}
