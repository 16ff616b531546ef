package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// side is one contestant of a comparison: it runs for about d and returns
// its rate.
type side struct {
	name string
	run  func(ctx context.Context, d time.Duration) (float64, error)
}

// compare warms every side up (when warm is set), then alternates their timed repetitions, so
// that drift during the run (page cache, compactions, other load on the
// machine) hits all sides alike. It returns each side's median.
func compare(ctx context.Context, env Env, warm bool, sides ...side) ([]float64, error) {
	for _, s := range sides {
		if !warm || env.Plan.Warmup <= 0 {
			break
		}
		if _, err := s.run(ctx, env.Plan.Warmup); err != nil {
			return nil, err
		}
	}
	samples := make([][]float64, len(sides))
	for rep := range env.Plan.Reps {
		for i, s := range sides {
			v, err := s.run(ctx, env.Plan.Duration)
			if err != nil {
				return nil, err
			}
			env.Log.Info("rep", "n", rep+1, "side", s.name, "rate", round(v, 4))
			samples[i] = append(samples[i], v)
		}
	}
	out := make([]float64, len(sides))
	for i := range samples {
		out[i] = median(samples[i])
	}
	return out, nil
}

// rate runs op in n goroutines until d has passed and returns events per
// second. op does one unit of work and returns how many events it covered.
// The clock stops when the last goroutine finishes, so work that overruns
// the deadline is counted and timed.
func rate(ctx context.Context, d time.Duration, n int, op func(worker int) (int, error)) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		total   atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		firstEr error
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				k, err := op(w)
				if err != nil {
					errOnce.Do(func() { firstEr = err; cancel() })
					return
				}
				total.Add(int64(k))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstEr != nil {
		return 0, firstEr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(total.Load()) / elapsed.Seconds(), nil
}
