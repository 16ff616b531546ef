// Package bench measures the ledger's event store against baselines run in the
// same process, on the same disk, in the same run, and reports the ratios.
package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// Metric is one measurement: the store under test against one or more
// baselines. New metrics (rebuild, integrity overhead, restart-to-ready, …)
// are added by writing a constructor like DurableAppend and listing it in
// cmd/ledger/bench.go.
type Metric struct {
	ID   string // short, stable id used by --only and in reports: "P1"
	Name string // what is measured, in words
	Unit string // unit of Result.Value and of every Baseline.Value
	// Run measures. It gets a private, empty scratch directory in env.Dir
	// that the harness removes afterwards.
	Run func(ctx context.Context, env Env) (Result, error)
}

// Result is what a Metric measured.
type Result struct {
	Value     float64
	Baselines []Baseline
	Note      string // how it was measured, when the name does not say it all
	// AtMost is the largest Value the product promises, for metrics
	// measured against a budget rather than a baseline (0: none).
	AtMost float64
	// More are further measurements taken in the same run, such as the
	// memory a restart used, each reported on a line of its own.
	More []Extra
}

// Extra is a further measurement of a Metric's run.
type Extra struct {
	ID, Name, Unit string
	Value, AtMost  float64
}

// Baseline is a reference measured in the same run on the same disk.
type Baseline struct {
	Name  string
	Value float64
	// Target is the minimum Value/baseline ratio the product promises; 0
	// means the comparison is reported without a target.
	Target float64
	// Skipped says why the baseline could not be measured (Value is then
	// meaningless). A missing tool is a skipped baseline, not a failure.
	Skipped string
}

// Plan is how long and how often measurements run.
type Plan struct {
	Warmup     time.Duration // discarded run before the repetitions
	Duration   time.Duration // length of one timed repetition
	Reps       int           // repetitions; the median is reported
	Writers    int           // concurrent writers for the group-commit metric
	ScanEvents int           // events written and then scanned by the scan metric
	ScanReps   int           // full scans per side (a full scan is a long sample)
}

// QuickPlan finishes every metric in well under a minute on a small machine.
func QuickPlan() Plan {
	return Plan{Warmup: 200 * time.Millisecond, Duration: time.Second, Reps: 3, Writers: 64, ScanEvents: 100_000, ScanReps: 2}
}

// FullPlan is the reference run (a few minutes).
func FullPlan() Plan {
	return Plan{Warmup: time.Second, Duration: 5 * time.Second, Reps: 5, Writers: 64, ScanEvents: 1_000_000, ScanReps: 3}
}

// Env is what a Metric runs with.
type Env struct {
	// Dir is a scratch directory on the disk under test. Stores, baseline
	// files and database clusters all live below it.
	Dir string
	// Open opens (creating) the store under test in dir.
	Open func(dir string) (eventstore.Store, error)
	Plan Plan
	// Seed makes the generated events reproducible.
	Seed uint64
	// NoPostgres skips the PostgreSQL baseline (it is then reported as
	// skipped).
	NoPostgres bool
	// Ledger returns a command running the ledger binary with args, for
	// metrics that measure a child process (restart-to-ready and its
	// memory); nil when there is no binary, and those metrics fail.
	Ledger func(ctx context.Context, args ...string) *exec.Cmd
	// Serve starts a whole ledger in dir serving HTTP on loopback, with
	// the given number of registered participants, for P4; nil when there
	// is none, and P4 fails.
	Serve func(ctx context.Context, dir string, participants int) (*Server, error)
	Log   *slog.Logger
}

// Line is one reported comparison: a metric against one baseline. It is the
// JSON object `ledger bench --json` prints, one per line.
type Line struct {
	Metric       string   `json:"metric"`
	Name         string   `json:"name"`
	Value        float64  `json:"value"`
	Unit         string   `json:"unit"`
	Baseline     *float64 `json:"baseline"`
	BaselineName string   `json:"baseline_name"`
	Ratio        *float64 `json:"ratio"`
	Target       string   `json:"target"`
	Met          *bool    `json:"met"`
	Skipped      string   `json:"skipped,omitempty"`
	Note         string   `json:"note,omitempty"`
}

// Select returns the metrics whose ids are in only (all when only is empty),
// in their listed order, or an error naming an unknown id.
func Select(metrics []Metric, only []string) ([]Metric, error) {
	if len(only) == 0 {
		return metrics, nil
	}
	var out []Metric
	for _, id := range only {
		i := slices.IndexFunc(metrics, func(m Metric) bool { return m.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("bench: unknown metric %q", id)
		}
	}
	for _, m := range metrics {
		if slices.Contains(only, m.ID) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Run runs each metric in its own subdirectory of env.Dir and passes every
// resulting line to emit as soon as the metric is done.
func Run(ctx context.Context, env Env, metrics []Metric, emit func(Line) error) error {
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	if env.Plan.Reps < 1 {
		return errors.New("bench: plan needs at least one repetition")
	}
	for _, m := range metrics {
		dir, err := os.MkdirTemp(env.Dir, m.ID+"-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		// PostgreSQL runs as another user when we are root; it must be able
		// to reach its data directory below this one.
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		menv := env
		menv.Dir = dir
		menv.Log = env.Log.With("metric", m.ID)
		menv.Log.Info("start", "name", m.Name)
		start := time.Now()
		res, err := m.Run(ctx, menv)
		rmErr := os.RemoveAll(dir)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", m.ID, err)
		}
		if rmErr != nil {
			return fmt.Errorf("bench: %w", rmErr)
		}
		menv.Log.Info("done", "elapsed", time.Since(start).Round(time.Millisecond))
		for _, l := range Lines(m, res) {
			if err := emit(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Lines turns a result into report lines: one per baseline, or one without a
// baseline when there is none. Values are rounded to four significant digits
// and the ratio is computed from the rounded numbers, so a reader can check it.
func Lines(m Metric, r Result) []Line {
	base := Line{Metric: m.ID, Name: m.Name, Value: round(r.Value, 4), Unit: m.Unit, Note: r.Note}
	var more []Line
	for _, x := range r.More {
		more = append(more, budget(Line{Metric: x.ID, Name: x.Name, Value: round(x.Value, 4), Unit: x.Unit}, x.AtMost))
	}
	if len(r.Baselines) == 0 {
		return append([]Line{budget(base, r.AtMost)}, more...)
	}
	out := make([]Line, 0, len(r.Baselines)+len(more))
	for _, b := range r.Baselines {
		l := base
		l.BaselineName = b.Name
		if b.Target > 0 {
			l.Target = fmt.Sprintf("≥%g", b.Target)
		}
		if b.Skipped != "" {
			l.Skipped = b.Skipped
			out = append(out, l)
			continue
		}
		bv := round(b.Value, 4)
		l.Baseline = &bv
		if bv > 0 {
			ratio := round(l.Value/bv, 3)
			l.Ratio = &ratio
			if b.Target > 0 {
				met := ratio >= b.Target
				l.Met = &met
			}
		}
		out = append(out, l)
	}
	return append(out, more...)
}

// budget sets l's target to "at most limit" (when limit > 0).
func budget(l Line, limit float64) Line {
	if limit > 0 {
		l.Target = fmt.Sprintf("≤%g", limit)
		met := l.Value <= limit
		l.Met = &met
	}
	return l
}

// round rounds v to n significant digits.
func round(v float64, n int) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	scale := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*scale) / scale
}

// median of xs (xs is sorted in place).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// sub makes a subdirectory path of env.Dir.
func (e Env) sub(name string) string { return filepath.Join(e.Dir, name) }
