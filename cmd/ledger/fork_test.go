package main

import (
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
)

// copyTree copies a data directory the way an operator would (cp -r).
func copyTree(t *testing.T, from, to string) {
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
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	}))
}

func headOf(t *testing.T, data string) uint64 {
	t.Helper()
	s, err := embedded.Open(filepath.Join(data, "store"))
	require.NoError(t, err)
	defer s.Close()
	h, err := s.Head(context.Background())
	require.NoError(t, err)
	return uint64(h)
}

// TestExportOnACopySignsNothing: a copy of a data directory (made while
// the original is served: the store is locked, so an operator copies it)
// exports without signing a checkpoint or recording ExportIssued, refuses
// writes and serving, and signs again only after `ledger adopt`.
func TestExportOnACopySignsNothing(t *testing.T) {
	data := exportData(t)
	// The original signs once, as a served ledger does, and is bound.
	_, stderr, err := runLedger(t, "export", "--data", data, "--kind", "audit", "--out", filepath.Join(t.TempDir(), "a"), "--quiet")
	require.NoError(t, err, stderr)
	cp := filepath.Join(t.TempDir(), "copy")
	copyTree(t, data, cp)
	history := func() string {
		b, err := os.ReadFile(filepath.Join(cp, "integrity", "checkpoints"))
		require.NoError(t, err)
		return string(b)
	}
	signed, head := history(), headOf(t, cp)

	for _, kind := range []string{"audit", "research"} {
		out := filepath.Join(t.TempDir(), kind)
		stdout, stderr, err := runLedger(t, "export", "--data", cp, "--kind", kind, "--recipient", map[string]string{"research": "eva"}[kind], "--out", out, "--quiet")
		require.NoError(t, err, stderr)
		assert.Contains(t, stderr, "is a copy of ledger")
		assert.Contains(t, stdout, "not recorded")
		assert.Equal(t, signed, history(), "%s export on a copy signed nothing", kind)
		assert.Equal(t, head, headOf(t, cp), "%s export on a copy appended nothing", kind)
		if kind == "audit" {
			_, stderr, err = runLedger(t, "verify", "--export", out)
			require.NoError(t, err, stderr) // what it wrote is still a verifiable export of the signed log
		}
	}
	_, _, err = runLedger(t, "token", "create", "--data", cp, "--role", "admin", "--name", "x")
	assert.ErrorIs(t, err, integrity.ErrNotOfRecord, "no writes to a copy")
	_, err = openNode(context.Background(), nodeConfig{dataDir: cp})
	assert.ErrorIs(t, err, integrity.ErrNotOfRecord, "a copy is not served")
	assert.Equal(t, signed, history())

	stdout, stderr, err := runLedger(t, "adopt", "--data", cp)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "is now the ledger of record")
	stdout, stderr, err = runLedger(t, "export", "--data", cp, "--kind", "audit", "--out", filepath.Join(t.TempDir(), "b"), "--quiet")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "recorded as ExportIssued")
	assert.NotEqual(t, signed, history(), "an adopted directory signs")
	stdout, _, err = runLedger(t, "adopt", "--data", data)
	require.NoError(t, err)
	assert.Contains(t, stdout, "already the ledger of record")
}

// TestExportFromARunningLedger: `ledger export --url` asks the served
// ledger for the export, downloads it and verifies it; `ledger verify
// --export` accepts the result.
func TestExportFromARunningLedger(t *testing.T) {
	ctx := testCtx(t)
	dir := exportData(t)
	n, err := openNode(ctx, nodeConfig{dataDir: dir, integrityOpt: []integrity.Option{integrity.WithCheckpointInterval(20 * time.Millisecond)}})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	srv := httptest.NewServer(n.Handler()) // loopback
	t.Cleanup(func() {
		srv.Close()
		stop()
		require.NoError(t, <-done)
		require.NoError(t, n.Close())
	})
	boot := domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin}
	tok := func(name string, role domain.Role) string {
		res, err := n.svc.IssueToken(ctx, boot, rq("boot-"+name, ledger.IssueToken{Name: name, Role: role}))
		require.NoError(t, err)
		return res.Token
	}
	auditor, researcher := tok("per.wallin", domain.RoleAuditor), tok("eva.strand", domain.RoleResearcher)
	require.Eventually(t, func() bool { return n.integrity.Checkpoint().Size >= 5 }, 10*time.Second, 5*time.Millisecond)

	out := filepath.Join(t.TempDir(), "audit")
	stdout, stderr, err := runLedger(t, "export", "--url", srv.URL, "--token", auditor, "--kind", "audit", "--out", out)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "audit export of positions 1..")
	assert.Contains(t, stdout, "recorded by the ledger as ExportIssued")
	stdout, stderr, err = runLedger(t, "verify", "--export", out, "--key", n.integrity.Verifier())
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "ok:")

	out = filepath.Join(t.TempDir(), "research")
	stdout, stderr, err = runLedger(t, "export", "--url", srv.URL, "--token", researcher, "--kind", "research", "--out", out)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "research export")
	_, err = os.Stat(filepath.Join(out, "submissions.parquet"))
	assert.NoError(t, err)

	_, _, err = runLedger(t, "export", "--url", srv.URL, "--token", researcher, "--kind", "audit", "--out", filepath.Join(t.TempDir(), "x"))
	assert.ErrorContains(t, err, "403", "a researcher may not have an auditor export")
	_, _, err = runLedger(t, "export", "--url", srv.URL, "--kind", "audit", "--out", filepath.Join(t.TempDir(), "y"))
	assert.ErrorContains(t, err, "--token")
}

// TestErasureEndsWebSessions: the node wires the erasure hook to the web
// sessions: a resident's session ends in the request that grants their
// erasure.
func TestErasureEndsWebSessions(t *testing.T) {
	ctx := testCtx(t)
	n, err := openNode(ctx, nodeConfig{dataDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { n.Close() })
	intake := domain.Actor{ID: "intake-1", Role: domain.RoleIntake}
	who, err := n.svc.RegisterParticipant(ctx, intake, rq("reg", domain.RegisterParticipant{Pseudonym: "Lykta", Language: "sv"}))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	n.sessions.Start(rec, httptest.NewRequest("GET", "/", nil), auth.Session{
		Principal: ledger.Principal{Name: who.ID, Role: domain.RoleParticipant, Participant: who.ID}}, "")
	again := httptest.NewRequest("GET", "/", nil)
	for _, c := range rec.Result().Cookies() {
		again.AddCookie(c)
	}
	_, ok := n.sessions.Get(again)
	require.True(t, ok)

	p := domain.Actor{ID: who.ID, Role: domain.RoleParticipant}
	req, err := n.svc.RequestErasure(ctx, p, who.ID, rq("er", domain.RequestErasure{Channel: domain.ChannelWeb}))
	require.NoError(t, err)
	_, err = n.svc.DecideErasure(ctx, domain.Actor{ID: "admin-1", Role: domain.RoleAdmin}, who.ID,
		rq("ed", domain.DecideErasure{RequestID: req.ID, Outcome: domain.ErasureGranted, Basis: "GDPR art. 17(1)(a)"}))
	require.NoError(t, err)
	_, ok = n.sessions.Get(again)
	assert.False(t, ok, "the session ended with the erasure")
}
