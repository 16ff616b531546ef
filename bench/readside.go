package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/projections"
)

// runnerConfig configures a runner over every registered read model, as
// cmd/ledger's node runs them.
func runnerConfig(dir string, env Env) projections.Config {
	return projections.Config{Dir: dir, Logger: env.Log,
		Options: projections.Options{PseudonymKey: []byte("bench pseudonym key, 32 bytes..")}}
}

// Rebuild is P5: rebuild every read model from the first event, as
// `Runner.Rebuild` does in production (checkpoints and as-of snapshots
// written to disk), against reading the same events and decoding their
// bodies into domain events without folding them.
func Rebuild() Metric {
	m := Metric{ID: "P5", Unit: "events/s",
		Name: "full rebuild of all read models (with checkpoints and as-of snapshots)"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		store, err := env.Open(env.sub("store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer store.Close()
		n := env.Plan.ScanEvents
		env.Log.Info("writing domain events", "events", n)
		if err := fillDomain(ctx, store, NewLogGen(env.Seed), n); err != nil {
			return Result{}, err
		}
		dir := env.sub("projections")
		var disk int64
		env.Plan.Reps = max(1, env.Plan.ScanReps)
		rates, err := compare(ctx, env, false,
			side{name: "rebuild", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				if err := os.RemoveAll(dir); err != nil {
					return 0, err
				}
				r, err := projections.NewRunner(store, runnerConfig(dir, env))
				if err != nil {
					return 0, err
				}
				start := time.Now()
				count, err := r.Rebuild(ctx)
				if cerr := r.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return 0, err
				}
				el := time.Since(start)
				if count != n {
					return 0, fmt.Errorf("rebuild folded %d events, want %d", count, n)
				}
				disk, err = dirBytes(dir)
				return float64(count) / el.Seconds(), err
			}},
			side{name: "scan+decode", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				start := time.Now()
				count, err := scanDecode(ctx, store)
				if err == nil && count != n {
					err = fmt.Errorf("scan decoded %d events, want %d", count, n)
				}
				return float64(count) / time.Since(start).Seconds(), err
			}})
		if err != nil {
			return Result{}, err
		}
		// As-of over the rebuilt log, from the snapshots the last rebuild
		// left: just before the head, the newest usable snapshot is the
		// furthest back, so this is near the worst case.
		asOf, worst := 0.0, ""
		r, err := projections.NewRunner(store, runnerConfig(dir, env))
		if err != nil {
			return Result{}, err
		}
		defer r.Close()
		for _, c := range []struct {
			name string
			get  func(v *projections.View)
		}{
			{projections.NameTransparency, func(v *projections.View) { projections.Get[*projections.Transparency](v) }},
			{projections.NameProcesses, func(v *projections.View) { projections.Get[*projections.Processes](v) }},
			{projections.NameSubmissions, func(v *projections.View) { projections.Get[*projections.Submissions](v) }},
		} {
			start := time.Now()
			if _, err := r.Read(ctx, projections.AtPosition(eventstore.Position(n-1)), func(v *projections.View) error {
				c.get(v)
				return nil
			}); err != nil {
				return Result{}, err
			}
			if el := time.Since(start).Seconds(); el > asOf {
				asOf, worst = el, c.name
			}
		}
		return Result{
			More: []Extra{{ID: "P5-asof", Unit: "s", Value: asOf,
				Name: fmt.Sprintf("as-of at position head−1 from the rebuild's snapshots, slowest of transparency, processes, submissions (%s)", worst)}},
			Value: rates[0],
			Baselines: []Baseline{{Name: "ReadAll scan + domain.Decode of the same events, nothing folded",
				Value: rates[1], Target: 0.6}},
			Note: fmt.Sprintf("%d generated domain events, %d models, %.0f MB of checkpoints and snapshots, median of %d",
				n, len(projections.Kinds()), float64(disk)/1e6, env.Plan.Reps),
		}, nil
	}
	return m
}

// scanDecode reads the whole log in pages and decodes every body, the
// work a fold does before it reaches any model.
func scanDecode(ctx context.Context, s eventstore.Store) (int, error) {
	n := 0
	for after := eventstore.Position(0); ; {
		page, err := s.ReadAll(ctx, after, scanPage)
		if err != nil {
			return n, err
		}
		if len(page) == 0 {
			return n, nil
		}
		for _, e := range page {
			if _, err := domain.Decode(e.Type, e.Version, e.Data); err != nil {
				return n, fmt.Errorf("event %d: %w", e.Position, err)
			}
			n++
		}
		after = page[len(page)-1].Position
	}
}

// dirBytes is the size of the files below dir.
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	return total, err
}
