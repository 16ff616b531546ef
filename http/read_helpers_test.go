package ledgerhttp_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/projections"
)

// withReads wires the read side into newEnv's server: a projections runner
// (snapshots every few events, so as-of folds start from snapshots) and an
// integrity log, both following the env's store until the test ends.
func withReads(t *testing.T, more ...func(*ledgerhttp.Config)) func(*ledgerhttp.Config) {
	return func(cfg *ledgerhttp.Config) {
		store := cfg.Service.Store()
		dir := t.TempDir()
		runner, err := projections.NewRunner(store, projections.Config{Dir: dir, SnapshotEvery: 7,
			Options: projections.Options{PseudonymKey: []byte("test pseudonym key")}})
		require.NoError(t, err)
		il, err := integrity.Open(t.TempDir(), integrity.WithCheckpointInterval(10*time.Millisecond))
		require.NoError(t, err)

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := runner.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("runner: %v", err)
			}
		})
		wg.Go(func() {
			if err := il.Run(ctx, store); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("integrity: %v", err)
			}
		})
		t.Cleanup(func() {
			cancel()
			wg.Wait()
			il.Close()
		})
		cfg.Read = &ledgerhttp.ReadSide{Runner: runner, Integrity: il}
		for _, f := range more {
			f(cfg)
		}
	}
}

// position returns the X-Ledger-Position of a read answer, or of a write
// answer's "position" field.
func (r reply) position(t testing.TB) string {
	t.Helper()
	if p := r.header.Get("X-Ledger-Position"); p != "" {
		return p
	}
	return itoa(int64(r.json(t)["position"].(float64)))
}

// waitForReads waits until the read models have applied pos and a
// checkpoint is signed, so that reads of what was written succeed.
func (e *env) waitForReads(pos string) {
	e.t.Helper()
	want, err := strconv.ParseUint(pos, 10, 64)
	require.NoError(e.t, err)
	// A read waits at most MinPositionWait for the position, then answers
	// older: on a loaded machine a big fold can take longer than that.
	require.Eventually(e.t, func() bool {
		r := e.must(200, e.do("GET", "/v1/processes", "", "", "X-Ledger-Min-Position", pos))
		got, err := strconv.ParseUint(r.position(e.t), 10, 64)
		return err == nil && got >= want
	}, 60*time.Second, time.Millisecond)
	require.Eventually(e.t, func() bool {
		return e.do("GET", "/v1/ledger/checkpoint", "", "").status == 200
	}, 5*time.Second, 5*time.Millisecond)
}

// peek sends a GET and returns the status and headers without reading the
// body (for streams that never end).
func (e *env) peek(path, who string) reply {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	require.NoError(e.t, err)
	if who != "" {
		tok, ok := e.tokens[who]
		if !ok {
			tok = who
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	res.Body.Close()
	return reply{status: res.StatusCode, header: res.Header}
}
