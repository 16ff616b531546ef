package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
)

// servedNode runs a node on dir behind a loopback server until the test
// ends; stop ends it earlier (and is safe to call twice).
func servedNode(t *testing.T, ctx context.Context, dir string) (n *node, srv *httptest.Server, stop func()) {
	t.Helper()
	n, err := openNode(ctx, nodeConfig{dataDir: dir, integrityOpt: []integrity.Option{integrity.WithCheckpointInterval(20 * time.Millisecond)}})
	require.NoError(t, err)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	srv = httptest.NewServer(n.Handler())
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			cancel()
			require.NoError(t, <-done)
			require.NoError(t, n.Close())
		})
	}
	t.Cleanup(stop)
	return n, srv, stop
}

func adminToken(t *testing.T, ctx context.Context, n *node) string {
	t.Helper()
	res, err := n.svc.IssueToken(ctx, domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin},
		rq("boot-admin", ledger.IssueToken{Name: "admin", Role: domain.RoleAdmin}))
	require.NoError(t, err)
	return res.Token
}

// canonicalLog is every event of dir's store, in canonical bytes.
func canonicalLog(t *testing.T, dir string, upTo eventstore.Position) []byte {
	t.Helper()
	s, err := embedded.Open(filepath.Join(dir, "store"))
	require.NoError(t, err)
	defer s.Close()
	evs, err := s.ReadAll(context.Background(), 0, int(upTo))
	require.NoError(t, err)
	var b []byte
	for _, e := range evs {
		b = append(eventstore.AppendCanonical(b, e), '\n')
	}
	return b
}

// TestBackupWhileServingRestores: a served ledger is backed up over HTTP
// while writers write; the backup restores into a new directory that
// verifies, is adopted, and serves the same events.
func TestBackupWhileServingRestores(t *testing.T) {
	ctx := testCtx(t)
	dir := exportData(t)
	n, srv, stop := servedNode(t, ctx, dir)
	admin := adminToken(t, ctx, n)
	require.Eventually(t, func() bool { return n.integrity.Checkpoint().Size >= 4 }, 10*time.Second, 5*time.Millisecond)

	// Bounded writers: 3 × at most 150 registrations, stopped once the
	// backup is made.
	var quit atomic.Bool
	var wrote atomic.Int64
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; i < 150 && !quit.Load(); i++ {
				_, err := n.svc.RegisterParticipant(ctx, domain.Actor{ID: "sara.nilsson", Role: domain.RoleIntake}, rq(fmt.Sprintf("w%d-%d", w, i),
					domain.RegisterParticipant{Pseudonym: "x", Name: "Namn", Email: fmt.Sprintf("p%d.%d@example.se", w, i), Language: "sv"}))
				if !assert.NoError(t, err) {
					return
				}
				wrote.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return wrote.Load() >= 20 }, 10*time.Second, time.Millisecond)
	file := filepath.Join(t.TempDir(), "ledger.tar")
	stdout, stderr, err := runLedger(t, "backup", "--url", srv.URL, "--token", admin, "--out", file)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "keep it like the signing key")
	during := wrote.Load()
	quit.Store(true)
	wg.Wait()
	t.Logf("writes acknowledged before the backup returned: %d, in all: %d", during, wrote.Load())

	// A stopped ledger's --data backup needs --url while it is served.
	_, _, err = runLedger(t, "backup", "--data", dir, "--out", filepath.Join(t.TempDir(), "x.tar"))
	assert.ErrorContains(t, err, "--url")
	_, _, err = runLedger(t, "backup", "--url", srv.URL, "--token", "nonsense", "--out", filepath.Join(t.TempDir(), "y.tar"))
	assert.ErrorContains(t, err, "401")
	stop()

	restored := filepath.Join(t.TempDir(), "restored")
	stdout, stderr, err = runLedger(t, "restore", "--from", file, "--data", restored)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "every file matches the manifest")
	assert.Contains(t, stdout, "ok:")
	assert.Contains(t, stdout, "is now the ledger of record")
	_, stderr, err = runLedger(t, "verify", "--data", restored)
	require.NoError(t, err, stderr)

	// The restored copy holds a prefix of the original log, at least what
	// its signed checkpoint covers, byte for byte.
	head := eventstore.Position(headOf(t, restored))
	ck, err := os.ReadFile(filepath.Join(restored, "integrity", "checkpoint"))
	require.NoError(t, err)
	require.NotEmpty(t, ck)
	want := canonicalLog(t, dir, head)
	require.Equal(t, want, canonicalLog(t, restored, head))

	// A node opened on it is of record, takes writes and serves the same
	// events (the admin token was in the log, so it works there too).
	n2, srv2, _ := servedNode(t, ctx, restored)
	require.NoError(t, n2.integrity.OfRecord())
	require.NoError(t, n2.health.err())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/events?from=0&limit=%d", srv2.URL, min(head, 1000)), nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Accept", ledgerhttp.NDJSON)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(served))
	assert.Equal(t, string(canonicalLog(t, dir, min(head, 1000))), string(served))
	_, err = n2.svc.RegisterParticipant(ctx, domain.Actor{ID: "sara.nilsson", Role: domain.RoleIntake}, rq("after-restore",
		domain.RegisterParticipant{Pseudonym: "x", Name: "Ny", Email: "ny@example.se", Language: "sv"}))
	require.NoError(t, err, "the restored ledger takes writes")
}

// TestBackupStoppedAndTampered: a stopped ledger is backed up with
// --data; one changed byte makes restore refuse the file and leave the
// directory empty; restore never writes into a directory with files.
func TestBackupStoppedAndTampered(t *testing.T) {
	ctx := testCtx(t)
	dir := exportData(t)
	n, _, stop := servedNode(t, ctx, dir) // served once, so it has signed
	require.Eventually(t, func() bool { return n.integrity.Checkpoint().Size >= 3 }, 10*time.Second, 5*time.Millisecond)
	stop()

	file := filepath.Join(t.TempDir(), "ledger.tar")
	_, stderr, err := runLedger(t, "backup", "--data", dir, "--out", file)
	require.NoError(t, err, stderr)
	_, _, err = runLedger(t, "backup", "--data", dir, "--out", file)
	assert.ErrorContains(t, err, "already exists")

	good, err := os.ReadFile(file)
	require.NoError(t, err)
	// One byte of a stored file's content (not a tar header, whose own
	// checksum would catch it): the last byte of the signed checkpoint.
	ck, err := os.ReadFile(filepath.Join(dir, "integrity", "checkpoint"))
	require.NoError(t, err)
	at := bytes.Index(good, ck)
	require.Positive(t, at)
	bad := bytes.Clone(good)
	bad[at+len(ck)/2] ^= 0x01
	badFile := filepath.Join(t.TempDir(), "bad.tar")
	require.NoError(t, os.WriteFile(badFile, bad, 0o600))
	into := filepath.Join(t.TempDir(), "r")
	_, _, err = runLedger(t, "restore", "--from", badFile, "--data", into)
	require.ErrorContains(t, err, "does not match the manifest")
	left, _ := os.ReadDir(into)
	assert.Empty(t, left, "a refused backup leaves nothing behind")

	// A cut-short file (no manifest) is refused too.
	require.NoError(t, os.WriteFile(badFile, good[:len(good)/2], 0o600))
	_, _, err = runLedger(t, "restore", "--from", badFile, "--data", into)
	require.Error(t, err)

	_, _, err = runLedger(t, "restore", "--from", file, "--data", dir)
	assert.ErrorContains(t, err, "not empty")

	stdout, stderr, err := runLedger(t, "restore", "--from", file, "--data", into)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "ledger of record")
	assert.Equal(t, canonicalLog(t, dir, 1000), canonicalLog(t, into, 1000))
}
