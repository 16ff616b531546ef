package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/dsa"
)

// TestExportDSA seeds the small demo and exports its restrictions: every
// file is a bulk body the database's rules accept, and nothing is held back.
func TestExportDSA(t *testing.T) {
	data := t.TempDir()
	_, _, err := runLedger(t, "demo", "--data", data, "--size", "small")
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "dsa")
	stdout, stderr, err := runLedger(t, "export", "--data", data, "--kind", "dsa", "--out", out)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, ", 0 held back")
	files, err := filepath.Glob(filepath.Join(out, "statements-*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	n := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		errs, err := dsa.ValidateBulk(body)
		require.NoError(t, err)
		assert.Empty(t, errs, f)
		n += strings.Count(string(body), `"puid"`)
	}
	assert.Contains(t, stdout, " restricting decisions, ")
	t.Logf("%s: %d statements", strings.TrimSpace(stdout), n)

	// A second export into the same directory is refused.
	_, _, err = runLedger(t, "export", "--data", data, "--kind", "dsa", "--out", out)
	assert.Error(t, err)
}

// TestExportDSASubmits submits the demo's statements to a loopback stand-in
// for the database that applies the same rules, then again: the second run
// finds everything accepted (from the recorded events) and posts nothing.
func TestExportDSASubmits(t *testing.T) {
	data := t.TempDir()
	_, _, err := runLedger(t, "demo", "--data", data, "--size", "small")
	require.NoError(t, err)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		errs, err := dsa.ValidateBulk(body)
		if r.Header.Get("Authorization") != "Bearer tok" || err != nil || len(errs) > 0 || r.URL.Path != "/api/v1/statements" {
			http.Error(w, "refused", http.StatusUnprocessableEntity)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	stdout, stderr, err := runLedger(t, "export", "--data", data, "--kind", "dsa", "--out", filepath.Join(t.TempDir(), "a"),
		"--dsa-url", srv.URL, "--dsa-token", "tok")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, ": accepted (HTTP 201, 1 attempts)")
	assert.Equal(t, int32(1), calls.Load())
	stdout, _, err = runLedger(t, "export", "--data", data, "--kind", "dsa", "--out", filepath.Join(t.TempDir(), "b"),
		"--dsa-url", srv.URL, "--dsa-token", "tok")
	require.NoError(t, err)
	assert.NotContains(t, stdout, "submitted")
	assert.Equal(t, int32(1), calls.Load(), "nothing is submitted twice")

	_, _, err = runLedger(t, "export", "--data", data, "--kind", "dsa", "--out", filepath.Join(t.TempDir(), "c"), "--dsa-url", srv.URL)
	assert.Error(t, err, "a URL without a token")
}
