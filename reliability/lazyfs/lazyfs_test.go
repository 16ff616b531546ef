package lazyfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/reliability/lazyfs"
)

func mount(t *testing.T) (*lazyfs.FS, string) {
	t.Helper()
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	f, err := lazyfs.Mount(dir)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, f.Unmount()) })
	return f, dir
}

func write(t *testing.T, path, data string, sync bool) {
	t.Helper()
	fd, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	require.NoError(t, err)
	_, err = fd.WriteString(data)
	require.NoError(t, err)
	if sync {
		require.NoError(t, fd.Sync())
	}
	require.NoError(t, fd.Close())
}

func appendTo(t *testing.T, path, data string, sync bool) {
	t.Helper()
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fd.WriteString(data)
	require.NoError(t, err)
	if sync {
		require.NoError(t, fd.Sync())
	}
	require.NoError(t, fd.Close())
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	fd, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, fd.Sync())
	require.NoError(t, fd.Close())
}

// content is a file's content after a restart, or "<absent>".
func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	require.NoError(t, err)
	return string(b)
}

func restart(t *testing.T, f *lazyfs.FS) {
	t.Helper()
	require.NoError(t, f.Restart())
}

// Before a power cut the file system behaves like any other; each case
// then checks what POSIX lets a power cut forget, and what it must keep.
func TestPowerCutForgetsExactlyWhatWasNotSynced(t *testing.T) {
	f, dir := mount(t)
	p := func(name string) string { return filepath.Join(dir, name) }

	// Data and names made durable.
	write(t, p("synced"), "durable", true)
	// Data synced; its name becomes durable with the next directory fsync.
	write(t, p("named-later"), "lost", true)
	syncDir(t, dir) // makes both names durable after all
	write(t, p("late-name"), "first version", true)
	// Name durable (by the directory fsync above) but the data never synced.
	write(t, p("data-unsynced"), "", false)
	syncDir(t, dir)
	appendTo(t, p("data-unsynced"), "not synced", false)
	// A synced prefix, and an unsynced tail.
	write(t, p("tail"), "head|", true)
	syncDir(t, dir)
	appendTo(t, p("tail"), "tail", false)
	// Before the cut everything is visible.
	assert.Equal(t, "head|tail", content(t, p("tail")))
	assert.Equal(t, "not synced", content(t, p("data-unsynced")))

	// Removed and created anew after the last directory fsync: neither
	// change to the name is durable, so the old file comes back.
	require.NoError(t, os.Remove(p("late-name")))
	write(t, p("late-name"), "second version", true)
	write(t, p("never-named"), "x", true)

	restart(t, f)
	assert.Equal(t, "durable", content(t, p("synced")))
	assert.Equal(t, "lost", content(t, p("named-later")), "its name was made durable by the directory fsync")
	assert.Equal(t, "first version", content(t, p("late-name")), "unlink and re-create were not made durable")
	assert.Equal(t, "<absent>", content(t, p("never-named")), "created after the last directory fsync")
	assert.Equal(t, "", content(t, p("data-unsynced")), "a durable name with no durable data is an empty file")
	assert.Equal(t, "head|", content(t, p("tail")), "only the synced prefix survives")
}

func TestRenameIsDurableOnlyWithItsDirectory(t *testing.T) {
	f, dir := mount(t)
	p := func(name string) string { return filepath.Join(dir, name) }

	// The classic atomic replace: write tmp, fsync it, rename over the old
	// file — and forget the directory fsync.
	write(t, p("state"), "v1", true)
	syncDir(t, dir)
	write(t, p("state.tmp"), "v2", true)
	require.NoError(t, os.Rename(p("state.tmp"), p("state")))
	assert.Equal(t, "v2", content(t, p("state")))
	restart(t, f)
	assert.Equal(t, "v1", content(t, p("state")), "rename without the directory fsync is forgotten")
	assert.Equal(t, "<absent>", content(t, p("state.tmp")))

	// Done right, with the directory fsync.
	write(t, p("state.tmp"), "v2", true)
	require.NoError(t, os.Rename(p("state.tmp"), p("state")))
	syncDir(t, dir)
	restart(t, f)
	assert.Equal(t, "v2", content(t, p("state")))
	assert.Equal(t, "<absent>", content(t, p("state.tmp")))

	// Renamed, directory synced, but the data was never synced.
	write(t, p("unsynced.tmp"), "v3", false)
	require.NoError(t, os.Rename(p("unsynced.tmp"), p("state")))
	syncDir(t, dir)
	restart(t, f)
	assert.Equal(t, "", content(t, p("state")), "a durable name over data that was never synced")
}

func TestDeletesAndDirectories(t *testing.T) {
	f, dir := mount(t)
	p := func(name string) string { return filepath.Join(dir, name) }

	write(t, p("kept"), "x", true)
	require.NoError(t, os.Mkdir(p("sub"), 0o755))
	write(t, p("sub/inner"), "inner", true)
	syncDir(t, dir)
	// sub's own names are not durable yet: inner is lost, sub survives.
	restart(t, f)
	assert.Equal(t, "x", content(t, p("kept")))
	st, err := os.Stat(p("sub"))
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	assert.Equal(t, "<absent>", content(t, p("sub/inner")))

	write(t, p("sub/inner"), "inner", true)
	syncDir(t, p("sub"))
	// A delete not followed by a directory fsync comes back.
	require.NoError(t, os.Remove(p("kept")))
	assert.Equal(t, "<absent>", content(t, p("kept")))
	restart(t, f)
	assert.Equal(t, "x", content(t, p("kept")), "unlink without directory fsync is forgotten")
	assert.Equal(t, "inner", content(t, p("sub/inner")))

	// A delete made durable stays deleted; a directory removed and synced too.
	require.NoError(t, os.Remove(p("kept")))
	require.NoError(t, os.Remove(p("sub/inner")))
	require.NoError(t, os.Remove(p("sub")))
	syncDir(t, dir)
	restart(t, f)
	assert.Equal(t, "<absent>", content(t, p("kept")))
	_, err = os.Stat(p("sub"))
	assert.ErrorIs(t, err, os.ErrNotExist)

	// Truncation is data: unsynced, it is forgotten.
	write(t, p("t"), "0123456789", true)
	syncDir(t, dir)
	require.NoError(t, os.Truncate(p("t"), 3))
	assert.Equal(t, "012", content(t, p("t")))
	restart(t, f)
	assert.Equal(t, "0123456789", content(t, p("t")))
}

func TestFaults(t *testing.T) {
	f, dir := mount(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	write(t, p("a"), "a", true)
	syncDir(t, dir)

	f.SetFull(true)
	err := os.WriteFile(p("b"), []byte("b"), 0o644)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	fd, err := os.OpenFile(p("a"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = fd.WriteString("more")
	assert.ErrorIs(t, err, syscall.ENOSPC)
	require.NoError(t, fd.Close())
	assert.Equal(t, "a", content(t, p("a")), "reads still work on a full disk")
	f.SetFull(false)
	write(t, p("b"), "b", true)

	f.SetFailing(true)
	_, err = os.ReadFile(p("a"))
	assert.ErrorIs(t, err, syscall.EIO)
	f.SetFailing(false)

	// After a cut nothing works until the restart.
	f.PowerCut()
	_, err = os.ReadFile(p("a"))
	assert.ErrorIs(t, err, syscall.EIO)
	restart(t, f)
	assert.Equal(t, "a", content(t, p("a")))
	assert.Equal(t, "<absent>", content(t, p("b")), "b's name was never synced")
	assert.Positive(t, f.Syncs())
}

func TestHardLinkCreatesExclusively(t *testing.T) {
	f, dir := mount(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	write(t, p("key.tmp"), "secret", true)
	require.NoError(t, os.Link(p("key.tmp"), p("key")))
	assert.ErrorIs(t, os.Link(p("key.tmp"), p("key")), os.ErrExist)
	require.NoError(t, os.Remove(p("key.tmp")))
	assert.Equal(t, "secret", content(t, p("key")))
	restart(t, f)
	assert.Equal(t, "<absent>", content(t, p("key")), "the link was never made durable")

	write(t, p("key.tmp"), "secret", true)
	require.NoError(t, os.Link(p("key.tmp"), p("key")))
	require.NoError(t, os.Remove(p("key.tmp")))
	syncDir(t, dir)
	restart(t, f)
	assert.Equal(t, "secret", content(t, p("key")))
	assert.Equal(t, "<absent>", content(t, p("key.tmp")))
}
