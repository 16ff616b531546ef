package main

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
)

// p4Env is a small P4 run against a real ledger node on loopback.
func p4Env(t *testing.T, serve func(context.Context, string, int) (*bench.Server, error)) bench.Env {
	writers := 8
	if w, err := strconv.Atoi(os.Getenv("LEDGER_TEST_P4_WRITERS")); err == nil {
		writers = w // for profiling: LEDGER_TEST_P4_WRITERS=64
	}
	return bench.Env{
		Dir:   t.TempDir(),
		Open:  func(dir string) (eventstore.Store, error) { return embedded.Open(dir) },
		Plan:  bench.Plan{Duration: 300 * time.Millisecond, Reps: 1, Writers: writers},
		Serve: serve,
	}
}

// TestHTTPWriteMetric runs P4 end to end and checks that it reports a
// throughput against the store, latencies and the receipt's costs.
func TestHTTPWriteMetric(t *testing.T) {
	var lines []bench.Line
	err := bench.Run(testCtx(t), p4Env(t, benchServe), []bench.Metric{bench.HTTPWrite()}, func(l bench.Line) error {
		lines = append(lines, l)
		return nil
	})
	require.NoError(t, err)
	byID := map[string]bench.Line{}
	for _, l := range lines {
		byID[l.Metric] = l
		t.Logf("%s %v %s (ratio %v, met %v) %s", l.Metric, l.Value, l.Unit, deref(l.Ratio), deref(l.Met), l.Note)
	}
	require.Contains(t, byID, "P4")
	assert.Greater(t, byID["P4"].Value, 0.0)
	require.NotNil(t, byID["P4"].Ratio)
	assert.Equal(t, "≥0.4", byID["P4"].Target)
	for _, id := range []string{"P4-p50", "P4-p99", "P4-promise", "P4-proof"} {
		require.Contains(t, byID, id)
		assert.Greater(t, byID[id].Value, 0.0, id)
	}
	assert.Equal(t, "≤25", byID["P4-p99"].Target)
}

// TestHTTPWriteMetricRefused: when the server refuses the writes (here:
// the participants' tokens are not the ledger's), P4 fails and says so
// instead of reporting the rate of refusals.
func TestHTTPWriteMetricRefused(t *testing.T) {
	refusing := func(ctx context.Context, dir string, n int) (*bench.Server, error) {
		srv, err := benchServe(ctx, dir, n)
		if err != nil {
			return nil, err
		}
		for i := range srv.Participants {
			srv.Participants[i] = "not-a-token-" + strconv.Itoa(i)
		}
		return srv, nil
	}
	var lines []bench.Line
	err := bench.Run(testCtx(t), p4Env(t, refusing), []bench.Metric{bench.HTTPWrite()}, func(l bench.Line) error {
		lines = append(lines, l)
		return nil
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused")
	assert.Contains(t, err.Error(), "401")
	assert.Empty(t, lines, "no rate is reported")
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
