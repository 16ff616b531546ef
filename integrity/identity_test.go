package integrity

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyDir copies a directory tree as cp -r does: same bytes, new inodes.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	}))
}

// TestACopySignsNothingUntilAdopted: a copied data directory keeps the
// signing key and the history, but not the identity of the directory of
// record, so it signs no checkpoint and promises nothing — even with more
// events than the original, which is how a fork would start. After Adopt
// it signs; the original, moved, still signs.
func TestACopySignsNothingUntilAdopted(t *testing.T) {
	root := t.TempDir()
	orig := filepath.Join(root, "orig")
	s := newStore(t, 20)
	l := openLog(t, orig, s)
	require.NoError(t, l.Close())
	id, ok, err := ReadIdentity(orig)
	require.NoError(t, err)
	require.True(t, ok, "the first signer binds the directory")
	assert.Equal(t, "created", id.How)
	assert.Equal(t, int64(0), id.CheckpointSize, "bound at its first checkpoint, of the empty tree")

	cp := filepath.Join(root, "copy")
	copyDir(t, orig, cp)
	assert.ErrorIs(t, CheckIdentity(cp), ErrNotOfRecord)
	history := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "integrity", "checkpoints"))
		require.NoError(t, err)
		return string(b)
	}
	before := history(cp)

	fill(t, s, 5) // the copy's store now holds events the original never signed
	c := openLog(t, cp, s)
	assert.ErrorIs(t, c.OfRecord(), ErrNotOfRecord)
	got, err := c.SignCheckpoint()
	assert.ErrorIs(t, err, ErrNotOfRecord)
	assert.Equal(t, int64(20), got.Size, "the copy hands out the checkpoint it inherited")
	evs := allEvents(t, s)
	_, err = c.Promise(evs[len(evs)-1])
	assert.ErrorIs(t, err, ErrNotOfRecord)
	require.NoError(t, c.Close(), "closing a copy is not an error")
	assert.Equal(t, before, history(cp), "the copy signed nothing")

	_, err = Adopt(cp)
	require.NoError(t, err)
	require.NoError(t, CheckIdentity(cp))
	adopted, _, err := ReadIdentity(cp)
	require.NoError(t, err)
	assert.Equal(t, id.LedgerID, adopted.LedgerID, "still the same ledger")
	assert.Equal(t, "adopted", adopted.How)
	c = openLog(t, cp, s)
	got, err = c.SignCheckpoint()
	require.NoError(t, err)
	assert.Equal(t, int64(25), got.Size)

	moved := filepath.Join(root, "moved")
	require.NoError(t, os.Rename(orig, moved))
	assert.NoError(t, CheckIdentity(moved), "a moved directory is still the ledger of record")

	_, err = Adopt(filepath.Join(root, "nothing"))
	assert.Error(t, err)
	assert.False(t, errors.Is(CheckIdentity(filepath.Join(root, "nothing")), ErrNotOfRecord), "no identity yet: the first signer binds")
}
