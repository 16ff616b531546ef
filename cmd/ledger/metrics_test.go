package main

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// TestStoreMetricsServed: the embedded store's metrics (append latency,
// commit/fsync time, group size) reach /metrics once something is appended,
// and the node's whole registry passes promtool's lint.
func TestStoreMetricsServed(t *testing.T) {
	ctx := testCtx(t)
	n, err := openNode(ctx, nodeConfig{dataDir: t.TempDir()})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	srv := httptest.NewServer(n.Handler())
	t.Cleanup(func() {
		srv.Close()
		stop()
		require.NoError(t, <-done)
		require.NoError(t, n.Close())
	})
	_, err = n.svc.IssueToken(ctx, domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin},
		rq("boot-official", ledger.IssueToken{Name: "official-1", Role: domain.RoleOfficial}))
	require.NoError(t, err)

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	for _, name := range []string{
		"ledger_eventstore_append_seconds_count 1",
		"ledger_eventstore_commit_seconds_count 1",
		"ledger_eventstore_group_requests_count 1",
		"ledger_eventstore_group_events_sum 1",
		"ledger_eventstore_syncs_total 1",
		"ledger_eventstore_events_total 1",
	} {
		assert.Contains(t, string(body), name)
	}
	problems, err := testutil.GatherAndLint(n.reg)
	require.NoError(t, err)
	assert.Empty(t, problems, "promtool lint")
}
