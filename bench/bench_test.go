package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
)

// tinyEnv runs every metric in well under a second of measuring.
func tinyEnv(t *testing.T) bench.Env {
	return bench.Env{
		Dir:  t.TempDir(),
		Open: func(dir string) (eventstore.Store, error) { return embedded.Open(dir) },
		Plan: bench.Plan{
			Warmup: 10 * time.Millisecond, Duration: 50 * time.Millisecond,
			Reps: 1, Writers: 4, ScanEvents: 250,
		},
		Seed:       7,
		NoPostgres: true,
	}
}

func TestRunJSONLines(t *testing.T) {
	env := tinyEnv(t)
	metrics := []bench.Metric{bench.DurableAppend(), bench.BatchAppend(), bench.ConcurrentAppend(), bench.Scan()}
	var out bytes.Buffer
	require.NoError(t, bench.Run(context.Background(), env, metrics, bench.JSONEmitter(&out)))

	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		for _, f := range []string{"metric", "name", "value", "unit", "baseline", "baseline_name", "ratio", "target", "met"} {
			assert.Contains(t, m, f, "line %q", sc.Text())
		}
		lines = append(lines, m)
	}
	// P1, P2, P3 against PostgreSQL and against the file, P5-scan.
	require.Len(t, lines, 5)
	var ids []string
	for _, l := range lines {
		ids = append(ids, l["metric"].(string))
		assert.Equal(t, "events/s", l["unit"])
		assert.Greater(t, l["value"].(float64), 0.0)
		if l["skipped"] != nil {
			continue
		}
		value, base, ratio := l["value"].(float64), l["baseline"].(float64), l["ratio"].(float64)
		assert.Greater(t, base, 0.0)
		assert.InEpsilon(t, value/base, ratio, 0.006, "ratio is value/baseline (rounded to 3 digits)")
		if target := l["target"].(string); target != "" {
			var want float64
			_, err := fmt.Sscan(strings.TrimPrefix(target, "≥"), &want)
			require.NoError(t, err)
			assert.Equal(t, ratio >= want, l["met"], "met follows ratio %v and target %s", ratio, target)
		} else {
			assert.Nil(t, l["met"])
		}
	}
	assert.Equal(t, []string{"P1", "P2", "P3", "P3", "P5-scan"}, ids)
	assert.Equal(t, "≥0.8", lines[0]["target"])
	assert.Equal(t, "≥0.6", lines[1]["target"])

	// The PostgreSQL baseline was turned off: reported, not measured.
	pg := lines[2]
	assert.Contains(t, pg["baseline_name"], "PostgreSQL")
	assert.Equal(t, "≥3", pg["target"])
	assert.Contains(t, pg["skipped"], "--no-postgres")
	assert.Nil(t, pg["baseline"])
	assert.Nil(t, pg["ratio"])
	assert.Nil(t, pg["met"])

	// Everything a metric wrote is gone.
	left, err := os.ReadDir(env.Dir)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestSelect(t *testing.T) {
	all := []bench.Metric{bench.DurableAppend(), bench.BatchAppend(), bench.ConcurrentAppend(), bench.Scan()}
	got, err := bench.Select(all, []string{"P3", "P1"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "P1", got[0].ID, "listed order, not flag order")
	assert.Equal(t, "P3", got[1].ID)
	_, err = bench.Select(all, []string{"P9"})
	assert.ErrorContains(t, err, `"P9"`)
	got, err = bench.Select(all, nil)
	require.NoError(t, err)
	assert.Len(t, got, 4)
}

func TestLinesAndTable(t *testing.T) {
	m := bench.Metric{ID: "PX", Name: "example", Unit: "events/s"}
	lines := bench.Lines(m, bench.Result{
		Value: 1234.5678,
		Baselines: []bench.Baseline{
			{Name: "fast file", Value: 2000, Target: 0.8},
			{Name: "missing db", Target: 3, Skipped: "not installed"},
		},
	})
	require.Len(t, lines, 2)
	assert.Equal(t, 1235.0, lines[0].Value, "four significant digits")
	require.NotNil(t, lines[0].Ratio)
	assert.Equal(t, 0.618, *lines[0].Ratio)
	require.NotNil(t, lines[0].Met)
	assert.False(t, *lines[0].Met)
	assert.Nil(t, lines[1].Baseline)
	assert.Equal(t, "not installed", lines[1].Skipped)

	var table bytes.Buffer
	require.NoError(t, bench.WriteTable(&table, lines))
	s := table.String()
	for _, want := range []string{"METRIC", "PX", "1235 events/s", "0.618×", "≥0.8", "NO", "vs fast file", "skipped", "not installed"} {
		assert.Contains(t, s, want)
	}
}

func TestGenIsDeterministicAndRealistic(t *testing.T) {
	a, b := bench.NewGen(42), bench.NewGen(42)
	for range 100 {
		ea, eb := a.Event(), b.Event()
		require.Equal(t, ea, eb)
		require.NoError(t, eventstore.ValidateAppend("submission-1", eventstore.Any(), []eventstore.EventData{ea}))
		assert.InDelta(t, 400, len(ea.Data), 100, "about 400 bytes of data")
		assert.NotEmpty(t, ea.Metadata.Actor)
		assert.NotEmpty(t, ea.Metadata.CorrelationID)
		assert.False(t, ea.Metadata.OccurredAt.IsZero())
		var s bench.Submission
		require.NoError(t, json.Unmarshal(ea.Data, &s))
		assert.NotEmpty(t, s.Sealed.Body)
	}
	assert.NotEqual(t, bench.NewGen(1).Event(), bench.NewGen(2).Event())
}
