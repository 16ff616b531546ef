package reliability_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/reliability/lazyfs"
)

// damaged prepares a ledger whose latest signed checkpoint covers every
// event and whose newest events are still in the store's write-ahead log
// (the ledger is killed, not stopped), and returns the run and its data
// directory.
func damaged(t *testing.T) *ledgerRun {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	r := &ledgerRun{w: setup(t, dataDir, 4), dataDir: dataDir}
	p := start(t, dataDir)
	p.ready(t)
	for i := range 300 {
		o := &op{key: uuid.NewString(), token: r.w.participants[i%4], title: fmt.Sprint("Förslag ", i)}
		r.ops = append(r.ops, o)
		r.send(context.Background(), p.url, o)
		require.True(t, o.acked, o.last)
	}
	head := r.head(t, p.url)
	deadline := time.Now().Add(20 * time.Second)
	for r.checkKeys(t, p.url); float64(r.signed) < head; r.checkKeys(t, p.url) {
		require.True(t, time.Now().Before(deadline), "no checkpoint covers the head %v", head)
		time.Sleep(100 * time.Millisecond)
	}
	p.kill()
	return r
}

// newest returns the newest file in dir matching pattern.
func newest(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	require.NoError(t, err)
	require.NotEmpty(t, m, "no %s in %s", pattern, dir)
	sort.Strings(m)
	return m[len(m)-1]
}

// flip flips one bit of the byte at offset (negative: from the end).
func flip(t *testing.T, path string, offset int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if offset < 0 {
		offset += int64(len(b))
	}
	b[offset] ^= 0x10
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// refusesWrites starts the ledger on a damaged directory and checks that it
// answers instead of panicking: reads served, /readyz 503 with the reason,
// every write 503 with a stable problem type, an error line in its log;
// and that `ledger verify --data` finds the damage and says so.
func (r *ledgerRun) refusesWrites(t *testing.T, wantReason string) {
	t.Helper()
	p := spawn(t, r.dataDir)
	defer p.kill()
	var url string
	deadline := time.Now().Add(60 * time.Second)
	for url == "" {
		select {
		case <-p.done:
			require.NotContains(t, p.logs(), "panic", "the ledger panicked on damage")
			// Refusing to start, with a sentence, is also an answer.
			require.Contains(t, strings.ToLower(p.logs()), wantReason)
			r.verifyFails(t)
			return
		case <-time.After(50 * time.Millisecond):
		}
		if m := servingRE.FindStringSubmatch(p.stdout()); m != nil {
			url = m[1]
		}
		require.True(t, time.Now().Before(deadline), "the ledger neither served nor stopped:\n%s", p.logs())
	}
	status, answer, err := call(context.Background(), "GET", url+"/readyz", "", "", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "/readyz on a damaged ledger: %v", answer)
	require.Contains(t, strings.ToLower(fmt.Sprint(answer["reason"])), wantReason)
	o := &op{key: uuid.NewString(), token: r.w.participants[0], title: "Efter skadan"}
	status, answer, err = call(context.Background(), "POST", url+"/v1/processes/"+r.w.process+"/submissions", o.token, o.key, o.body())
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status, "a write on a damaged ledger: %v", answer)
	require.Equal(t, "https://ledger.malmo.se/problems/write-unavailable", answer["type"])
	status, _, err = call(context.Background(), "GET", url+"/v1/processes", "", "", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "reads go on")
	require.Contains(t, p.logs(), "refusing writes")
	require.NotContains(t, p.logs(), "panic")
	p.kill()
	r.verifyFails(t)
}

// verifyFails runs `ledger verify --data` and wants a non-zero exit with a
// sentence, not a stack trace.
func (r *ledgerRun) verifyFails(t *testing.T) {
	t.Helper()
	out, err := exec.Command(ledger, "verify", "--data", r.dataDir).CombinedOutput()
	require.Error(t, err, "ledger verify passed a damaged ledger:\n%s", out)
	require.NotContains(t, string(out), "goroutine ", "ledger verify panicked:\n%s", out)
	require.NotEmpty(t, strings.TrimSpace(string(out)))
}

func TestTornWriteAheadLog(t *testing.T) {
	r := damaged(t)
	wal := newest(t, filepath.Join(r.dataDir, "store"), "*.log")
	st, err := os.Stat(wal)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(4096), "the newest events are in the write-ahead log")
	require.NoError(t, os.Truncate(wal, st.Size()-200))
	r.refusesWrites(t, "lost")
}

func TestFlippedByteInTheHashFile(t *testing.T) {
	r := damaged(t)
	hashes := filepath.Join(r.dataDir, "integrity", "hashes")
	flip(t, hashes, -100) // among the newest stored hashes
	r.refusesWrites(t, "hash")
}

func TestBrokenCheckpointSignature(t *testing.T) {
	r := damaged(t)
	// Another valid base64 character inside the signature: the note still
	// parses, the signature no longer holds.
	path := filepath.Join(r.dataDir, "integrity", "checkpoint")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
	r.refusesWrites(t, "does not verify")
}

func TestMalformedCheckpoint(t *testing.T) {
	r := damaged(t)
	path := filepath.Join(r.dataDir, "integrity", "checkpoint")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[len(b)-10] = '*' // not base64: the note does not even parse
	require.NoError(t, os.WriteFile(path, b, 0o644))
	r.refusesWrites(t, "malformed")
}

func TestFlippedByteInTheWriteAheadLog(t *testing.T) {
	r := damaged(t)
	wal := newest(t, filepath.Join(r.dataDir, "store"), "*.log")
	st, err := os.Stat(wal)
	require.NoError(t, err)
	flip(t, wal, st.Size()/2)
	r.refusesWrites(t, "store")
}

func TestFlippedByteInATable(t *testing.T) {
	r := damaged(t)
	// A clean start and stop moves the write-ahead log into tables.
	p := start(t, r.dataDir)
	p.ready(t)
	p.stop(t)
	tables, err := filepath.Glob(filepath.Join(r.dataDir, "store", "*.sst"))
	require.NoError(t, err)
	require.NotEmpty(t, tables)
	biggest, size := "", int64(0)
	for _, f := range tables {
		st, err := os.Stat(f)
		require.NoError(t, err)
		if st.Size() > size {
			biggest, size = f, st.Size()
		}
	}
	flip(t, biggest, size/3) // inside a data block
	r.refusesWrites(t, "store")
}

// TestDiskFull fills the disk under a serving ledger: writes are answered
// 507 with Retry-After and change nothing, /readyz says why, and once space
// is freed the same ledger takes writes again without a restart; SIGTERM
// stops it in time.
func TestDiskFull(t *testing.T) {
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	mnt := t.TempDir()
	lfs, err := lazyfs.Mount(mnt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lfs.Unmount() })
	dataDir := filepath.Join(mnt, "data")
	r := &ledgerRun{w: setup(t, dataDir, 2), dataDir: dataDir}
	p := start(t, dataDir)
	p.ready(t)
	write := func() (int, map[string]any, *op) {
		o := &op{key: uuid.NewString(), token: r.w.participants[0], title: "Förslag " + uuid.NewString()}
		status, answer, err := call(context.Background(), "POST", p.url+"/v1/processes/"+r.w.process+"/submissions", o.token, o.key, o.body())
		require.NoError(t, err)
		return status, answer, o
	}
	status, _, _ := write()
	require.Equal(t, http.StatusCreated, status)
	before := len(readLog(t, p.url, r.w.admin))

	lfs.SetFull(true)
	time.Sleep(200 * time.Millisecond) // the store looks at the disk at most every 100 ms
	statuses := map[int]int{}
	for range 20 {
		status, answer, _ := write()
		statuses[status]++
		if status == http.StatusInsufficientStorage {
			require.Equal(t, "https://ledger.malmo.se/problems/insufficient-storage", answer["type"])
		}
	}
	require.Equal(t, map[int]int{http.StatusInsufficientStorage: 20}, statuses, "every write on a full disk is a 507:\n%s", p.logs())
	req, _ := http.NewRequest("POST", p.url+"/v1/processes/"+r.w.process+"/submissions", strings.NewReader(`{"language":"sv","title":"x","body":"y"}`))
	req.Header.Set("Authorization", "Bearer "+r.w.participants[1])
	req.Header.Set("Idempotency-Key", uuid.NewString())
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusInsufficientStorage, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	status, answer, err := call(context.Background(), "GET", p.url+"/readyz", "", "", "")
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, fmt.Sprint(answer["reason"]), "free")
	require.NotContains(t, p.logs(), "panic")

	lfs.SetFull(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, _, _ = write()
		if status == http.StatusCreated {
			break
		}
		require.True(t, time.Now().Before(deadline), "no write taken after space was freed (last %d)", status)
		time.Sleep(100 * time.Millisecond)
	}
	p.ready(t)
	after := readLog(t, p.url, r.w.admin)
	require.Len(t, after, before+1, "the refused writes left nothing: %v", after[before:])
	p.stop(t)
	t.Logf("disk full: %v; after space returned: 201 and ready", statuses)
}
