package export_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/export"
)

// TestErasureWithdrawsKeptExports: the research exports a running ledger
// keeps that hold an erased participant's rows are withdrawn (files
// deleted, WITHDRAWN says why); one that does not hold them stays.
func TestErasureWithdrawsKeptExports(t *testing.T) {
	f := newFixture(t)
	kept := filepath.Join(t.TempDir(), "exports")
	svc := export.NewService(f.source(), kept)
	whole, narrow := uuid.NewString(), uuid.NewString()
	_, err := svc.Create(f.ctx, whole, export.Options{Kind: export.Research, Recipient: "eva.strand", Now: fixedNow})
	require.NoError(t, err)
	// The other process holds only b's submission, not c's rows.
	_, err = svc.Create(f.ctx, narrow, export.Options{Kind: export.Research, Recipient: "olle.berg", Process: f.other, Now: fixedNow})
	require.NoError(t, err)

	n, err := svc.Withdraw(f.ctx, f.c, "erasure granted")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, _, err = svc.Open(whole, export.ManifestName)
	assert.ErrorIs(t, err, export.ErrNotFound)
	b, err := os.ReadFile(filepath.Join(kept, whole, export.WithdrawnFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), "erasure granted")
	fh, _, err := svc.Open(narrow, "submissions.csv")
	require.NoError(t, err)
	fh.Close()

	// Retrying the withdrawn export's id does not bring it back.
	_, err = svc.Create(f.ctx, whole, export.Options{Kind: export.Research, Recipient: "eva.strand", Now: fixedNow})
	assert.Error(t, err)
}
