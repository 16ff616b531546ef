package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
)

// ExportNDJSON is P9: an auditor export of the whole log (events.ndjson of
// canonical bytes, hashed and fsynced, with the signed checkpoint, history
// and manifest) against a raw ReadAll scan of the same store that does
// nothing with the events. The export must keep at least half the scan
// rate: formatting, hashing and writing may cost no more than reading.
func ExportNDJSON() Metric {
	m := Metric{ID: "P9", Name: "auditor export (NDJSON) of the whole log", Unit: "events/s"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		store, err := env.Open(env.sub("store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer store.Close()
		n := env.Plan.ScanEvents
		if err := fillStore(ctx, env, store, n); err != nil {
			return Result{}, err
		}
		ilog, err := integrity.Open(env.Dir)
		if err != nil {
			return Result{}, err
		}
		defer ilog.Close()
		if err := ilog.CatchUp(ctx, store); err != nil {
			return Result{}, err
		}
		src := export.Source{Store: store, Log: ilog, HistoryFile: filepath.Join(env.Dir, "integrity", "checkpoints")}
		var size, ndjson int64
		runs := 0
		env.Plan.Reps = max(1, env.Plan.ScanReps)
		rates, err := compare(ctx, env, false,
			side{name: "export", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				runs++
				out := env.sub(fmt.Sprintf("export-%d", runs))
				defer os.RemoveAll(out)
				start := time.Now()
				res, err := export.Run(ctx, src, export.Options{Kind: export.Audit, Dir: out})
				elapsed := time.Since(start)
				if err != nil {
					return 0, err
				}
				if res.Manifest.EventCount != int64(n) {
					return 0, fmt.Errorf("exported %d events, want %d", res.Manifest.EventCount, n)
				}
				size = 0
				for _, f := range res.Manifest.Files {
					size += f.Bytes
					if f.Name == export.EventsFile {
						ndjson = f.Bytes
					}
				}
				return float64(n) / elapsed.Seconds(), nil
			}},
			side{name: "raw scan", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				start := time.Now()
				got, err := rawScan(ctx, store)
				if err == nil && got != n {
					err = fmt.Errorf("scanned %d events, want %d", got, n)
				}
				return float64(got) / time.Since(start).Seconds(), err
			}})
		if err != nil {
			return Result{}, err
		}
		perMillion := 1e6 / float64(n)
		return Result{
			Value:     rates[0],
			Baselines: []Baseline{{Name: "raw ReadAll scan of the same store, events untouched", Value: rates[1], Target: 0.5}},
			Note: fmt.Sprintf("%d events (~400-byte bodies), median of %d exports to the same disk, warm page cache; export = whole run incl. checkpoint, fsync, manifest",
				n, env.Plan.Reps),
			More: []Extra{
				{ID: "P9-size", Name: "auditor export size per 1M events (all files)", Unit: "MB", Value: float64(size) * perMillion / 1e6},
				{ID: "P9-ndjson", Name: "events.ndjson per 1M events", Unit: "MB", Value: float64(ndjson) * perMillion / 1e6},
			},
		}, nil
	}
	return m
}

// fillStore appends n generated events in batches of 1000 (not timed).
func fillStore(ctx context.Context, env Env, s eventstore.Store, n int) error {
	const batch = 1000
	env.Log.Info("writing events to export", "events", n)
	g := NewGen(env.Seed)
	events := make([]eventstore.EventData, 0, batch)
	for i := 0; i < n; i += batch {
		events = events[:0]
		for range min(batch, n-i) {
			events = append(events, g.Event())
		}
		stream := fmt.Sprintf("submission-%d", i/batch)
		if _, err := s.Append(ctx, stream, eventstore.NoStream(), events...); err != nil {
			return fmt.Errorf("append to %s: %w", stream, err)
		}
	}
	return nil
}

// rawScan reads the whole log in pages and counts the events.
func rawScan(ctx context.Context, s eventstore.Store) (int, error) {
	var after eventstore.Position
	n := 0
	for {
		page, err := s.ReadAll(ctx, after, scanPage)
		if err != nil || len(page) == 0 {
			return n, err
		}
		n += len(page)
		after = page[len(page)-1].Position
	}
}
