package main

import (
	"os"
	"path/filepath"
	"strings"
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
