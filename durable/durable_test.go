package durable_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/reliability/lazyfs"
)

// Everything durable reports written survives a power cut on a file system
// that forgets whatever was not fsync'd (file and directory).
func TestSurvivesPowerCut(t *testing.T) {
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	mnt := t.TempDir()
	lfs, err := lazyfs.Mount(mnt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, lfs.Unmount()) })
	p := func(name string) string { return filepath.Join(mnt, name) }

	require.NoError(t, durable.MkdirAll(p("a/b/c"), 0o750))
	require.NoError(t, durable.WriteFile(p("a/b/c/state"), []byte("v1"), 0o600))
	require.NoError(t, durable.WriteFile(p("a/b/c/state"), []byte("v2"), 0o600))
	require.NoError(t, durable.CreateExclusive(p("a/key"), []byte("secret"), 0o600))
	assert.ErrorIs(t, durable.CreateExclusive(p("a/key"), []byte("other"), 0o600), os.ErrExist)
	require.NoError(t, durable.Append(p("a/log"), []byte("one\n"), 0o644))
	require.NoError(t, durable.Append(p("a/log"), []byte("two\n"), 0o644))

	require.NoError(t, lfs.Restart())
	read := func(name string) string {
		b, err := os.ReadFile(p(name))
		require.NoError(t, err, name)
		return string(b)
	}
	assert.Equal(t, "v2", read("a/b/c/state"))
	assert.Equal(t, "secret", read("a/key"))
	assert.Equal(t, "one\ntwo\n", read("a/log"))
	left, err := filepath.Glob(p("a/b/c/.*tmp*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file outlives the write")
	st, err := os.Stat(p("a/key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// The same calls with plain os functions lose data on the same file
// system: the test above would fail without durable's fsyncs.
func TestPlainWritesAreLost(t *testing.T) {
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	mnt := t.TempDir()
	lfs, err := lazyfs.Mount(mnt)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, lfs.Unmount()) })
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "a"), 0o750))
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "a", "key"), []byte("secret"), 0o600))
	require.NoError(t, lfs.Restart())
	_, err = os.Stat(filepath.Join(mnt, "a"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
