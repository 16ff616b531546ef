// Package reliability_test runs the ledger (`ledger serve`, the real binary)
// under faults — kill -9, and power cuts on a file system that forgets what
// was not synced — with concurrent HTTP writers, and checks after every
// fault that no acknowledged write was lost, moved or duplicated.
package reliability_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/reliability/lazyfs"
)

const writers = 16

// faultCycles runs n cycles of: start the ledger, let writers write, then
// fault. One cycle in five faults during start-up instead. After every
// restart the writes whose outcome was unknown are retried with their keys
// and the oracle runs.
func faultCycles(t *testing.T, n int, dataDir string, fault func(p *proc), recover func()) {
	src := rng(t)
	r := &ledgerRun{w: setup(t, dataDir, 8), dataDir: dataDir}
	recover() // the set-up's acknowledged writes must survive a fault too
	startup := 0
	for i := range n {
		if src.IntN(5) == 0 {
			p := spawn(t, dataDir)
			time.Sleep(time.Duration(src.IntN(400)) * time.Millisecond)
			fault(p)
			recover()
			startup++
			continue
		}
		p := start(t, dataDir)
		p.ready(t)
		r.retry(t, p.url)
		r.check(t, p.url, src)
		// Drawn before the writers start: they share src under their lock.
		export, wait := src.IntN(3) == 0, time.Duration(100+src.IntN(900))*time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.write(ctx, p.url, writers, src); close(done) }()
		if export {
			go r.export(ctx, p.url) // a fault may cut it half-way
		}
		time.Sleep(wait)
		fault(p)
		cancel()
		<-done
		recover()
		if testing.Verbose() {
			acked, maybe := r.counts()
			t.Logf("cycle %d: %d acknowledged so far, %d unknown", i+1, acked, maybe)
		}
	}
	p := start(t, dataDir)
	p.ready(t)
	r.retry(t, p.url)
	r.check(t, p.url, src)
	receipts := r.checkReceipts(t, p.url, src)
	at := r.head(t, p.url)
	survived := r.models(t, p.url, at)
	p.stop(t)
	verify(t, dataDir)
	// The read models that lived through every fault equal a fresh replay.
	require.DirExists(t, filepath.Join(dataDir, "projections"), "where the read models keep their state")
	require.NoError(t, os.RemoveAll(filepath.Join(dataDir, "projections")))
	p = start(t, dataDir)
	p.ready(t)
	require.Equal(t, survived, r.models(t, p.url, at), "read models after the faults differ from a fresh replay")
	p.stop(t)
	exports := r.verifyExports(t)
	acked, _ := r.counts()
	t.Logf("%d cycles (%d during start-up), %d writes sent, %d acknowledged (after retries), 0 lost, 0 duplicated; "+
		"%d receipts still hold their promised leaf; ledger verify passed, and on all %d exports asked for during faults",
		n, startup, len(r.ops), acked, receipts, exports)
}

// TestKill: kill -9 under concurrent writers.
func TestKill(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	faultCycles(t, *kills, dataDir, func(p *proc) { p.kill() }, func() {})
}

// TestPowerLoss: power cuts under concurrent writers, on a file system that
// forgets everything not made durable by fsync.
func TestPowerLoss(t *testing.T) {
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	mnt := t.TempDir()
	lfs, err := lazyfs.Mount(mnt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lfs.Unmount() })
	dataDir := filepath.Join(mnt, "data")
	require.NoError(t, os.MkdirAll(dataDir, 0o700))
	syncDir(t, mnt)
	faultCycles(t, *cuts, dataDir,
		func(p *proc) { lfs.PowerCut(); p.kill() },
		func() { require.NoError(t, lfs.Restart()) })
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}
