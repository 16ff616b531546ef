package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
)

// TestWriteAnswersWithPromise: a write over HTTP is answered as soon as it
// is durable, with a signed inclusion promise, although no checkpoint will
// cover it for an hour; `ledger verify --receipt` accepts the promise, and
// once a checkpoint is signed the completion from /v1/ledger/receipt merged
// into it is a full receipt that verifies too.
func TestWriteAnswersWithPromise(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	n, err := openNode(ctx, nodeConfig{dataDir: dir,
		integrityOpt: []integrity.Option{integrity.WithCheckpointInterval(time.Hour)}})
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
	res, err := n.svc.IssueToken(ctx, domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin},
		rq("boot-official", ledger.IssueToken{Name: "official-1", Role: domain.RoleOfficial}))
	require.NoError(t, err)
	official := res.Token
	// Let the first checkpoint (signed at once after a quiet spell) pass, so
	// that the next one is an hour away.
	require.Eventually(t, func() bool { return n.integrity.Checkpoint().Size > 0 }, 10*time.Second, 5*time.Millisecond)

	post := func(key string) (int, []byte, time.Duration) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/processes", strings.NewReader(`{"title":{"sv":"Trygghet i Möllevången"},
			"kind":"proposal","owner_body":"Kommunstyrelsen","case_number":"KS-2024-622","administrations":["Stadskontoret"],
			"phases":[{"name":"förslag","starts_at":"2024-09-01T00:00:00Z","accepts":["submissions"]}],
			"support_threshold":2,"moderation_mode":"post","policy_reference":"Riktlinjer 2023"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+official)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		start := time.Now()
		r, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return r.StatusCode, b, time.Since(start)
	}
	status, body, took := post("promise-1")
	require.Equal(t, http.StatusCreated, status, "%s", body)
	assert.Less(t, took, 500*time.Millisecond, "the answer does not wait for a checkpoint")
	var answer struct {
		Position int64           `json:"position"`
		Receipt  json.RawMessage `json:"receipt"`
	}
	require.NoError(t, json.Unmarshal(body, &answer))
	r, err := integrity.ParseReceipt(answer.Receipt)
	require.NoError(t, err)
	require.NotEmpty(t, r.Promise)
	require.False(t, r.Full())
	require.Equal(t, answer.Position-1, r.LeafIndex)
	require.Less(t, n.integrity.Checkpoint().Size, answer.Position, "no checkpoint covers the event yet")

	verifier := n.integrity.Verifier()
	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	verify := func(path string) (string, error) {
		var out strings.Builder
		err := runVerify(ctx, []string{"--receipt", path, "--key", verifier}, func(string) string { return "" }, &out, io.Discard, openEmbeddedStore)
		return out.String(), err
	}
	out, err := verify(write("promise.json", answer.Receipt))
	require.NoError(t, err)
	assert.Contains(t, out, "the ledger promised")
	assert.Contains(t, out, "a promise only")

	// A retry with the same key gets the same answer, promise included.
	status, again, _ := post("promise-1")
	require.Equal(t, http.StatusCreated, status)
	require.JSONEq(t, string(body), string(again))

	// A tampered promise fails.
	bad := r
	bad.LeafIndex++
	b, err := json.Marshal(bad)
	require.NoError(t, err)
	_, err = verify(write("bad.json", b))
	require.ErrorIs(t, err, integrity.ErrMismatch)

	// Completion: not before a checkpoint covers the leaf, then merged.
	get := func() (int, []byte) {
		resp, err := srv.Client().Get(srv.URL + "/v1/ledger/receipt?index=" + strconv.FormatInt(r.LeafIndex, 10))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	status, _ = get()
	require.Equal(t, http.StatusNotFound, status)
	_, err = n.integrity.SignCheckpoint()
	require.NoError(t, err)
	status, completion := get()
	require.Equal(t, http.StatusOK, status, "%s", completion)
	var merged map[string]any
	require.NoError(t, json.Unmarshal(answer.Receipt, &merged))
	var extra map[string]any
	require.NoError(t, json.Unmarshal(completion, &extra))
	for k, v := range extra {
		merged[k] = v
	}
	full, err := json.Marshal(merged)
	require.NoError(t, err)
	out, err = verify(write("full.json", full))
	require.NoError(t, err, out)
	assert.Contains(t, out, "of the signed tree of size")
	assert.NotContains(t, out, "a promise only")

	// The log's own completion agrees.
	fr, err := n.integrity.Complete(r)
	require.NoError(t, err)
	require.NoError(t, integrity.VerifyReceipt(fr, verifier))
}
